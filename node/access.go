package node

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/logger"
)

func openAccessLog(path string) (*logger.AccessLog, error) {
	l, err := logger.OpenAccessLog(path)
	if err != nil {
		return nil, fmt.Errorf("opening access log %s: %w", path, err)
	}
	return l, nil
}

// withAccessLog logs each request in the combined format after h answers.
// The values of the query arguments named secret are masked: a token
// pasted into a URL must not end up in the log.
func withAccessLog(h fasthttp.RequestHandler, log *logger.AccessLog, secret ...string) fasthttp.RequestHandler {
	if !log.Enabled() {
		return h
	}
	return func(ctx *fasthttp.RequestCtx) {
		h(ctx)
		var addr netip.Addr
		if tcp, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
			addr, _ = netip.AddrFromSlice(tcp.IP)
		}
		req := &ctx.Request.Header
		log.Log(logger.AccessEntry{
			RemoteAddr: addr,
			Time:       ctx.Time(),
			Method:     req.Method(),
			URI:        maskQuery(req.RequestURI(), secret),
			Proto:      req.Protocol(),
			Status:     ctx.Response.StatusCode(),
			BodyBytes:  bodyBytes(&ctx.Response),
			Referer:    req.Referer(),
			UserAgent:  req.UserAgent(),
		})
	}
}

// bodyBytes is the size of the response body without reading a streamed
// one (which would pull a proxied download into memory): its
// Content-Length, or -1 when it is chunked.
func bodyBytes(r *fasthttp.Response) int64 {
	if r.IsBodyStream() {
		if n := r.Header.ContentLength(); n >= 0 {
			return int64(n)
		}
		return -1
	}
	return int64(len(r.Body()))
}

// maskQuery replaces the values of the named query arguments (compared
// without case) by "******".
func maskQuery(uri []byte, names []string) []byte {
	q := bytes.IndexByte(uri, '?')
	if q < 0 || len(names) == 0 {
		return uri
	}
	out := append([]byte(nil), uri[:q+1]...)
	for i, arg := range bytes.Split(uri[q+1:], []byte("&")) {
		if i > 0 {
			out = append(out, '&')
		}
		key, _, hasValue := bytes.Cut(arg, []byte("="))
		if hasValue && slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, unescape(key)) }) {
			out = append(append(out, key...), "=******"...)
			continue
		}
		out = append(out, arg...)
	}
	return out
}

func unescape(b []byte) string {
	if s, err := url.QueryUnescape(string(b)); err == nil {
		return s
	}
	return string(b)
}
