package manager

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func serve(s *Server, host, path string) *fasthttp.RequestCtx {
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.SetRequestURI("http://" + host + path)
	ctx.Request.Header.SetHost(host)
	s.Handler(ctx)
	return ctx
}

func TestAPIURLAndPaths(t *testing.T) {
	s := New(Options{Path: "/manager", AdminPorts: func() (int, int) { return 8001, 8444 }, UserHeader: "Kong-Admin-User"})
	ctx := serve(s, "gw.test:8002", "/manager/kconfig.js")
	if body := string(ctx.Response.Body()); !strings.Contains(body, `"ADMIN_API_URL":"http://gw.test:8001"`) {
		t.Errorf("kconfig.js: %s", body)
	}
	if csp := string(ctx.Response.Header.Peek("Content-Security-Policy")); !strings.Contains(csp, "connect-src 'self' http://gw.test:8001;") {
		t.Errorf("CSP %q", csp)
	}
	for path, status := range map[string]int{"/manager": 301, "/manager/": 200, "/manager/assets/app.js": 200,
		"/manager/assets/../manager.go": 404, "/manager/assets/nope.js": 404, "/": 404, "/other/": 404} {
		if got := serve(s, "gw.test:8002", path).Response.StatusCode(); got != status {
			t.Errorf("%s: %d, want %d", path, got, status)
		}
	}
	// A Host that could break out of the header or the script is refused.
	if got := serve(s, `x"y`, "/manager/").Response.StatusCode(); got != 400 {
		t.Errorf("bad Host: %d", got)
	}
	// admin_gui_api_url without a scheme takes the page's.
	s = New(Options{Path: "/", APIURL: "api.test:9001/admin"})
	if body := string(serve(s, "gw.test", "/kconfig.js").Response.Body()); !strings.Contains(body, `"ADMIN_API_URL":"http://api.test:9001/admin"`) {
		t.Errorf("kconfig.js: %s", body)
	}
}

func TestOriginChecker(t *testing.T) {
	byPort := OriginChecker(nil, func() []int { return []int{8002, 443} })
	for origin, want := range map[string]bool{"http://gw.test:8002": true, "https://gw.test": true, "http://gw.test:8003": false,
		"null": false, "http://gw.test:8002/x": false} {
		if byPort([]byte(origin)) != want {
			t.Errorf("%s: %v", origin, !want)
		}
	}
	byURL := OriginChecker([]string{"https://manager.test/ui"}, func() []int { return []int{8002} })
	if !byURL([]byte("https://manager.test")) || byURL([]byte("http://manager.test:8002")) {
		t.Error("admin_gui_url origins")
	}
}

// TestETag: an unchanged asset revalidates to a 304 without a body.
func TestETag(t *testing.T) {
	s := New(Options{Path: "/", AdminPorts: func() (int, int) { return 8001, 8444 }})
	first := serve(s, "gw.test:8002", "/assets/plugins.js")
	tag := string(first.Response.Header.Peek("ETag"))
	if first.Response.StatusCode() != 200 || tag == "" || len(first.Response.Body()) == 0 {
		t.Fatalf("first: %d, ETag %q", first.Response.StatusCode(), tag)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.SetRequestURI("http://gw.test:8002/assets/plugins.js")
	ctx.Request.Header.SetHost("gw.test:8002")
	ctx.Request.Header.Set("If-None-Match", tag)
	s.Handler(ctx)
	if ctx.Response.StatusCode() != 304 || len(ctx.Response.Body()) != 0 {
		t.Errorf("revalidation: %d with %d bytes", ctx.Response.StatusCode(), len(ctx.Response.Body()))
	}
	if other := string(serve(s, "gw.test:8002", "/assets/app.js").Response.Header.Peek("ETag")); other == tag {
		t.Error("two assets share an ETag")
	}
}
