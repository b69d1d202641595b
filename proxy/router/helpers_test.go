package router

import (
	"strings"
	"testing"
)

// testHeaders is a HeaderSource with repeated values, looked up without
// regard to case as fasthttp does.
type testHeaders map[string][]string

func (h testHeaders) PeekAll(key string) [][]byte {
	var out [][]byte
	for k, vs := range h {
		if strings.EqualFold(k, key) {
			for _, v := range vs {
				out = append(out, []byte(v))
			}
		}
	}
	return out
}

func (h testHeaders) Peek(key string) []byte {
	if all := h.PeekAll(key); len(all) > 0 {
		return all[0]
	}
	return nil
}

// firstOnly hides PeekAll: a HeaderSource giving one value per name.
type firstOnly struct{ h testHeaders }

func (f firstOnly) Peek(key string) []byte { return f.h.Peek(key) }

// req describes a request in tests; zero fields take defaults.
type req struct {
	method, host, path, scheme, sni string
	port                            int
	headers                         testHeaders
}

func (q req) request() *Request {
	r := &Request{
		Method: []byte(q.method),
		Host:   []byte(q.host),
		Path:   []byte(q.path),
		Scheme: q.scheme,
		SNI:    q.sni,
		Port:   q.port,
	}
	if q.method == "" {
		r.Method = []byte("GET")
	}
	if q.path == "" {
		r.Path = []byte("/")
	}
	if r.Scheme == "" {
		r.Scheme = "http"
	}
	if r.Port == 0 {
		r.Port = 8000
	}
	if q.headers != nil {
		r.Headers = q.headers
	}
	return r
}

func mustBuild(t testing.TB, routes []Route) *Router {
	t.Helper()
	r, errs := Build(routes)
	for _, err := range errs {
		t.Fatalf("Build: %v", err)
	}
	return r
}

// matchID returns the id of the route matching q, or "" for none.
func matchID(r *Router, q req) string {
	var m Match
	if !r.Match(q.request(), &m) {
		return ""
	}
	return m.Route.ID
}

type matchCase struct {
	name string
	req  req
	want string // route id, "" for no match
}

func runMatchCases(t *testing.T, r *Router, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := matchID(r, tc.req); got != tc.want {
				t.Errorf("got route %q, want %q", got, tc.want)
			}
		})
	}
}
