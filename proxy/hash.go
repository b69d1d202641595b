package proxy

import (
	"net/netip"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/proxy/router"
)

// hashInput gives consistent hashing the request's values
// (balancer.HashInput).
type hashInput struct {
	ctx    *fasthttp.RequestCtx
	client netip.Addr
	match  *router.Match
	ip     [64]byte
}

// ConsumerID is empty until authentication plugins identify consumers.
func (h *hashInput) ConsumerID() string { return "" }

func (h *hashInput) ClientIP() string {
	return string(appendAddr(h.ip[:0], h.client))
}

func (h *hashInput) Header(name string) []byte { return h.ctx.Request.Header.Peek(name) }

func (h *hashInput) Cookie(name string) []byte { return h.ctx.Request.Header.Cookie(name) }

func (h *hashInput) Path() []byte { return h.match.Path }

func (h *hashInput) QueryArg(name string) []byte { return h.ctx.QueryArgs().Peek(name) }

func (h *hashInput) URICapture(name string) []byte {
	v, _ := h.match.Capture(name)
	return v
}
