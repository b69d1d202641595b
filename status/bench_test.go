package status

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkCountedRequest is what counting adds to one kept-alive request:
// the Active, handler and Idle transitions, on parallel connections that
// the counting listener did not accept (their entries are in the map).
func BenchmarkCountedRequest(b *testing.B) {
	benchmarkCountedRequests(b, func(c net.Conn) net.Conn { return c })
}

// BenchmarkCountedRequestAccepted is a request on a connection the counting
// listener accepted: its entry travels with the connection.
func BenchmarkCountedRequestAccepted(b *testing.B) {
	benchmarkCountedRequests(b, func(c net.Conn) net.Conn { return &countedConn{Conn: c, f: new(followed)} })
}

func benchmarkCountedRequests(b *testing.B, accept func(net.Conn) net.Conn) {
	c := &Connections{}
	h := c.Handler(func(*fasthttp.RequestCtx) {})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		client, server := net.Pipe()
		defer client.Close()
		conn := accept(server)
		var ctx fasthttp.RequestCtx
		ctx.Init2(conn, nil, false)
		c.ConnState(conn, fasthttp.StateNew)
		for pb.Next() {
			c.ConnState(conn, fasthttp.StateActive)
			h(&ctx)
			c.ConnState(conn, fasthttp.StateIdle)
		}
		c.ConnState(conn, fasthttp.StateClosed)
	})
}
