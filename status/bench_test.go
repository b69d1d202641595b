package status

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkCountedRequest is what counting adds to one kept-alive request:
// the Active, handler and Idle transitions, on parallel connections.
func BenchmarkCountedRequest(b *testing.B) {
	c := &Connections{}
	h := c.Handler(func(*fasthttp.RequestCtx) {})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		client, server := net.Pipe()
		defer client.Close()
		var ctx fasthttp.RequestCtx
		ctx.Init2(server, nil, false)
		c.ConnState(server, fasthttp.StateNew)
		for pb.Next() {
			c.ConnState(server, fasthttp.StateActive)
			h(&ctx)
			c.ConnState(server, fasthttp.StateIdle)
		}
		c.ConnState(server, fasthttp.StateClosed)
	})
}
