// Package proxy is the data plane: it matches requests to Routes, runs
// plugins and forwards to Services. This build answers every request the way
// Kong does when no Route matches; routing lands in a later release.
package proxy

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/internal/requestid"
)

// Kong's message when no Route matches (kong/runloop/handler.lua).
const msgNoRoute = "no Route matched with those values"

// Options configure the proxy handler.
type Options struct {
	// KongVersion goes into the Server header (server_tokens).
	KongVersion string
}

// Proxy is the proxy's request handler. It is safe for concurrent use.
type Proxy struct {
	server []byte
}

// New returns a proxy handler.
func New(opts Options) *Proxy {
	return &Proxy{server: []byte("kong/" + opts.KongVersion)}
}

// Handler returns the fasthttp handler serving proxied traffic.
func (p *Proxy) Handler() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		id := requestid.New()
		h := &ctx.Response.Header
		h.SetBytesV(fasthttp.HeaderServer, p.server)
		h.Set("X-Kong-Request-Id", id)
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		ctx.SetContentType("application/json; charset=utf-8")
		ctx.SetBodyString("{\n  \"message\":\"" + msgNoRoute + "\",\n  \"request_id\":\"" + id + "\"\n}")
		h.Set("X-Kong-Response-Latency", strconv.FormatInt(time.Since(start).Milliseconds(), 10))
	}
}
