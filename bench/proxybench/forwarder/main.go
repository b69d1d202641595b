// Command forwarder is the smallest useful fasthttp reverse proxy: every
// request goes, as it came, to one upstream over kept-alive connections. It
// is the "Go ceiling" peer of scripts/bench-proxy.sh (what a fasthttp proxy
// costs with no routing, plugins or header work), not product code.
package main

import (
	"flag"
	"log"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9080", "address to serve on")
	upstream := flag.String("upstream", "127.0.0.1:9081", "upstream host:port (plain HTTP, kept alive)")
	flag.Parse()

	client := &fasthttp.HostClient{Addr: *upstream, MaxConns: 1024}
	handler := func(ctx *fasthttp.RequestCtx) {
		ctx.Request.Header.Del("Connection") // hop-by-hop: the upstream connection stays open
		if err := client.Do(&ctx.Request, &ctx.Response); err != nil {
			ctx.Error("bad gateway: "+err.Error(), fasthttp.StatusBadGateway)
			return
		}
		ctx.Response.Header.Del("Connection")
	}
	srv := &fasthttp.Server{Handler: handler, Name: "forwarder"}
	log.Printf("forwarder: %s -> %s", *listen, *upstream)
	log.Fatal(srv.ListenAndServe(*listen))
}
