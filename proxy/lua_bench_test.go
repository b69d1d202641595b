package proxy

import (
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/plugins"
	luaplugins "github.com/portico-gw/portico/plugins/lua"
)

// BenchmarkProxyLuaPlugin compares a proxied request without plugins and
// with one trivial Lua access handler (kong.service.request.set_header
// from its conf): the cost of the Lua plugin host per request.
func BenchmarkProxyLuaPlugin(b *testing.B) {
	host, err := luaplugins.New(luaplugins.Options{PackagePath: "../plugins/lua/testdata/?.lua"})
	if err != nil {
		b.Fatal(err)
	}
	defer host.Close()
	info, err := host.Load("trivial")
	if err != nil {
		b.Fatal(err)
	}
	reg := plugins.NewRegistry()
	reg.Register(info)
	for _, withLua := range []bool{false, true} {
		name := "plugins=none"
		if withLua {
			name = "plugins=lua-access"
		}
		b.Run(name, func(b *testing.B) {
			tp := newTestProxy(b, func(o *Options) { o.Plugins = reg })
			tp.db.Entity("plugins").AddSubschema(info.Schema)
			svc := tp.insert("services", map[string]any{"url": "http://" + okUpstream(b)})
			rt := tp.insert("routes", map[string]any{"paths": []any{"/bench"}, "service": map[string]any{"id": svc["id"]}})
			if withLua {
				tp.insert("plugins", map[string]any{"name": "trivial", "route": map[string]any{"id": rt["id"]}})
			}
			time.Sleep(50 * time.Millisecond)
			h := tp.p.Handler()
			var ctx fasthttp.RequestCtx
			var req fasthttp.Request
			req.SetRequestURI("/bench/x?y=1")
			req.Header.SetHost("gateway.test")
			ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				ctx.Request.Header.Del("X-Trivial")
				ctx.Response.Reset()
				h(&ctx)
				if ctx.Response.StatusCode() != 200 {
					b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
				ctx.Response.Body()
				ctx.Response.CloseBodyStream()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
