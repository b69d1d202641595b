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

// BenchmarkCountedRequestAccepted is a request on a connection the counting
// listener accepted: its entry travels with the connection.
func BenchmarkCountedRequestAccepted(b *testing.B) {
	c := &Connections{}
	h := c.Handler(func(*fasthttp.RequestCtx) {})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		client, server := net.Pipe()
		defer client.Close()
		conn := &countedConn{Conn: server, f: new(followed)}
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
