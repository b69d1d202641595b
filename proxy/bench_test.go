package proxy

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// BenchmarkProxy runs the whole handler for one request routed to a real
// fasthttp upstream on loopback: matching, the upstream request with Kong's
// headers, the pooled connection, the response headers.
func BenchmarkProxy(b *testing.B) {
	for _, c := range []struct {
		routes   int
		parallel bool
	}{{1, false}, {1001, false}, {1, true}} {
		routes, parallel := c.routes, c.parallel
		b.Run(fmt.Sprintf("routes=%d/parallel=%v", routes, parallel), func(b *testing.B) {
			tp := newTestProxy(b, nil)
			svc := tp.insert("services", map[string]any{"url": "http://" + okUpstream(b)})
			for i := 1; i < routes; i++ {
				tp.db.Insert(b.Context(), tp.db.Entity("routes"), map[string]any{
					"paths": []any{fmt.Sprintf("/other/%d", i)}, "hosts": []any{fmt.Sprintf("h%d.example.com", i)},
					"service": map[string]any{"id": svc["id"]}}, nil)
			}
			tp.insert("routes", map[string]any{"paths": []any{"/bench"}, "service": map[string]any{"id": svc["id"]}})
			for deadline := time.Now().Add(5 * time.Second); tp.p.Router().Len() < routes; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatalf("%d routes in the router", tp.p.Router().Len())
				}
			}
			h := tp.p.Handler()
			if parallel {
				b.ReportAllocs()
				b.SetParallelism(25)
				b.RunParallel(func(pb *testing.PB) {
					var ctx fasthttp.RequestCtx
					var req fasthttp.Request
					req.SetRequestURI("/bench/x?y=1")
					req.Header.SetHost("gateway.test")
					ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
					for pb.Next() {
						ctx.Response.Reset()
						h(&ctx)
						ctx.Response.Body()
						ctx.Response.CloseBodyStream()
					}
				})
				return
			}
			var ctx fasthttp.RequestCtx
			var req fasthttp.Request
			req.SetRequestURI("/bench/x?y=1")
			req.Header.SetHost("gateway.test")
			req.Header.Set("User-Agent", "wrk")
			ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ctx.Response.Reset()
				h(&ctx)
				if ctx.Response.StatusCode() != 200 {
					b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
				ctx.Response.Body() // read the streamed body, releasing the connection
				ctx.Response.CloseBodyStream()
			}
		})
	}
}

// A proxied request allocates nothing once pools are warm: matching, the
// upstream request, the pooled connection and the answer's headers.
func TestProxyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts need a build without -race (make test runs this test again without it)")
	}
	tp := newTestProxy(t, nil)
	svc := tp.insert("services", map[string]any{"url": "http://" + okUpstream(t) + "/base"})
	tp.insert("routes", map[string]any{"paths": []any{"/a"}, "hosts": []any{"*.example.com"},
		"headers": map[string]any{"x-env": []any{"prod"}}, "service": map[string]any{"id": svc["id"]}})
	// Let the watcher's own rebuild after those writes finish: allocation
	// counts are process-wide.
	time.Sleep(200 * time.Millisecond)
	h := tp.p.Handler()
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	req.SetRequestURI("/a/b?c=d")
	req.Header.SetHost("api.example.com")
	req.Header.Set("X-Env", "prod")
	req.Header.Set("X-Forwarded-For", "10.1.2.3")
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	run := func() {
		ctx.Response.Reset()
		h(&ctx)
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	run()
	if n := testing.AllocsPerRun(200, run); n > 0 {
		t.Fatalf("%.1f allocations per proxied request", n)
	}
}

// okUpstream is a fasthttp upstream on loopback answering "ok"; it returns
// its address.
func okUpstream(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") }}
	go up.Serve(ln)
	tb.Cleanup(func() { up.Shutdown() })
	return ln.Addr().String()
}
