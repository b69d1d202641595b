package proxy

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestNoRouteMatched(t *testing.T) {
	h := New(Options{KongVersion: "3.9.1"}).Handler()
	for _, path := range []string{"/", "/anything?x=1", "/a/b/c"} {
		t.Run(path, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI(path)
			h(&ctx)
			if got := ctx.Response.StatusCode(); got != 404 {
				t.Fatalf("status %d, want 404", got)
			}
			var body map[string]string
			if err := json.Unmarshal(ctx.Response.Body(), &body); err != nil {
				t.Fatalf("body %q: %v", ctx.Response.Body(), err)
			}
			id := string(ctx.Response.Header.Peek("X-Kong-Request-Id"))
			if body["message"] != "no Route matched with those values" || body["request_id"] != id {
				t.Fatalf("body %v, request id %q", body, id)
			}
			if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
				t.Fatalf("request id %q", id)
			}
			if got := string(ctx.Response.Header.Peek("Server")); got != "kong/3.9.1" {
				t.Fatalf("Server %q", got)
			}
			if ctx.Response.Header.Peek("X-Kong-Response-Latency") == nil {
				t.Fatal("no X-Kong-Response-Latency")
			}
		})
	}
}
