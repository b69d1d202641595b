package node

import (
	"fmt"
	"net"
	"net/netip"

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
func withAccessLog(h fasthttp.RequestHandler, log *logger.AccessLog) fasthttp.RequestHandler {
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
			URI:        req.RequestURI(),
			Proto:      req.Protocol(),
			Status:     ctx.Response.StatusCode(),
			BodyBytes:  int64(len(ctx.Response.Body())),
			Referer:    req.Referer(),
			UserAgent:  req.UserAgent(),
		})
	}
}
