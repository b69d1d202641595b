package proxy

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/plugins/bundled"
)

// bodyRecorder stands in for a plugin with the response phase: it
// appends "!" to the body and tells how long the body it saw was; a body
// "exit" makes it answer itself, one "fail" makes it fail.
type bodyRecorder struct{}

func (bodyRecorder) Response(c *plugins.Context) error {
	body := c.Response.Body()
	switch string(body) {
	case "exit":
		c.Exit(299, "replaced", nil)
		return nil
	case "fail":
		return fmt.Errorf("response failed")
	}
	c.Response.Header.Set("X-Seen", strconv.Itoa(len(body)))
	c.Response.SetBody(append(bytes.Clone(body), '!'))
	return nil
}

// bodyPhasePlugins runs bodyRecorder as "correlation-id" and the real
// response-transformer.
func bodyPhasePlugins() *plugins.Registry {
	all := plugins.NewRegistry()
	bundled.Register(all)
	r := plugins.NewRegistry()
	info, _ := all.Lookup("correlation-id")
	info.New = func(map[string]any) (plugins.Handler, error) { return bodyRecorder{}, nil }
	r.Register(info)
	info, _ = all.Lookup("response-transformer")
	r.Register(info)
	return r
}

// bodyUpstream answers /len/N with N bytes of "a" (Content-Length set),
// /chunked/N with the same sent chunked, /json/N with a JSON object whose
// "pad" member has N bytes, and /say/WORD with WORD.
func bodyUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.URL.Path, "/")
		n, _ := strconv.Atoi(parts[len(parts)-1])
		switch parts[1] {
		case "len":
			w.Header().Set("Content-Length", strconv.Itoa(n))
			w.Write(bytes.Repeat([]byte("a"), n))
		case "chunked":
			for i := 0; i < n; i += 1000 {
				w.Write(bytes.Repeat([]byte("a"), min(1000, n-i)))
				w.(http.Flusher).Flush()
			}
		case "json":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"drop":1,"keep":"yes","pad":"%s"}`, strings.Repeat("p", n))
		case "say":
			w.Write([]byte(parts[2]))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// The response phase sees the whole answer, read or streamed, and what it
// changes is what the client gets; answers over the buffer limit go
// through unmodified.
func TestResponsePhase(t *testing.T) {
	up := bodyUpstream(t)
	tp := newTestProxy(t, func(o *Options) {
		o.Plugins = bodyPhasePlugins()
		o.BodyBufferLimit = 50_000
	})
	svc := tp.insert("services", map[string]any{"url": up.URL})
	tp.insert("routes", map[string]any{"paths": []any{"/"}, "service": map[string]any{"id": svc["id"]}})
	tp.insert("plugins", map[string]any{"name": "correlation-id"})
	for _, c := range []struct {
		path   string
		status int
		seen   string
		body   string
	}{
		{"/len/100", 200, "100", strings.Repeat("a", 100) + "!"},
		{"/len/20000", 200, "20000", strings.Repeat("a", 20000) + "!"}, // streamed by the transport
		{"/chunked/20000", 200, "20000", strings.Repeat("a", 20000) + "!"},
		{"/len/60000", 200, "", strings.Repeat("a", 60000)},     // over the limit: as it came
		{"/chunked/60000", 200, "", strings.Repeat("a", 60000)}, // over the limit, found out while reading
		{"/say/exit", 299, "", "replaced"},
		{"/say/fail", 500, "", `"message":"An unexpected error occurred"`},
	} {
		t.Run(c.path, func(t *testing.T) {
			for range 2 { // the upstream connection is reused after either path
				r := tp.do("GET", c.path, nil, "")
				if r.status != c.status || r.headers.Get("X-Seen") != c.seen || !strings.Contains(string(r.body), c.body) {
					t.Fatalf("%d X-Seen %q, body of %d bytes %.80q", r.status, r.headers.Get("X-Seen"), len(r.body), r.body)
				}
				if c.status == 200 && string(r.body) != c.body {
					t.Fatalf("body of %d bytes, want %d", len(r.body), len(c.body))
				}
			}
		})
	}
}

// body_filter runs when a plugin asks for the body (response-transformer
// on a JSON answer): the new body goes with its own Content-Length.
func TestBodyFilterPhase(t *testing.T) {
	up := bodyUpstream(t)
	tp := newTestProxy(t, func(o *Options) {
		o.Plugins = bodyPhasePlugins()
		o.BodyBufferLimit = 50_000
	})
	svc := tp.insert("services", map[string]any{"url": up.URL})
	tp.insert("routes", map[string]any{"paths": []any{"/"}, "service": map[string]any{"id": svc["id"]}})
	tp.insert("plugins", map[string]any{"name": "response-transformer", "config": map[string]any{
		"remove": map[string]any{"json": []any{"drop"}}, "add": map[string]any{"headers": []any{"X-Added:1"}}}})
	for _, c := range []struct {
		path, prefix string
	}{
		{"/json/10", `{"keep":"yes","pad":"pppppppppp"}`},
		{"/json/20000", `{"keep":"yes","pad":"ppp`},
		{"/json/60000", `{"drop":1,"keep":"yes","pad":"ppp`}, // over the limit: as it came
		{"/len/10", `aaaaaaaaaa`},                            // not JSON
	} {
		r := tp.do("GET", c.path, nil, "")
		if r.status != 200 || r.headers.Get("X-Added") != "1" {
			t.Fatalf("%s: %d %v", c.path, r.status, r.headers)
		}
		if !strings.HasPrefix(string(r.body), c.prefix) {
			t.Errorf("%s: body %.60q, want %s", c.path, r.body, c.prefix)
		}
		if cl := r.headers.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(r.body)) {
			t.Errorf("%s: Content-Length %s for %d bytes", c.path, cl, len(r.body))
		}
	}
}
