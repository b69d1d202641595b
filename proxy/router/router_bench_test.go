package router

import (
	"fmt"
	"testing"

	"github.com/valyala/fasthttp"
)

// HeaderSource is fasthttp's request header, PeekAll included.
var (
	_ HeaderSource = (*fasthttp.RequestHeader)(nil)
	_ peekAller    = (*fasthttp.RequestHeader)(nil)
)

// benchRoutes makes n routes of the shapes a gateway carries: host + prefix,
// prefix + methods, wildcard host + prefix, prefix + header, and every 50th a
// regex path with a capture.
func benchRoutes(n int) []Route {
	routes := make([]Route, n)
	for i := range routes {
		r := Route{ID: fmt.Sprintf("%08d-0000-4000-8000-000000000000", i), Protocols: []string{"http", "https"}}
		switch {
		case i%50 == 49:
			r.Paths = []string{fmt.Sprintf(`~/users/%d/(?<id>\d+)`, i)}
		case i%4 == 0:
			r.Hosts, r.Paths = []string{fmt.Sprintf("svc%d.example.com", i)}, []string{"/api"}
		case i%4 == 1:
			r.Paths, r.Methods = []string{fmt.Sprintf("/svc%d", i)}, []string{"GET", "POST"}
		case i%4 == 2:
			r.Hosts, r.Paths = []string{fmt.Sprintf("*.tenant%d.test", i)}, []string{"/v1/orders"}
		default:
			r.Paths = []string{fmt.Sprintf("/h%d", i)}
			r.Headers = map[string][]string{"x-version": {"v1", "v2"}}
		}
		routes[i] = r
	}
	return routes
}

// benchRequests returns one request per route shape, aimed at routes near
// the middle of n, and the route ids they must match.
func benchRequests(n int) (reqs []*Request, want []string) {
	near := func(rem int) int {
		i := n/2 - n/2%4 + rem
		if i >= n || i%50 == 49 {
			i = rem
		}
		return i
	}
	var h fasthttp.RequestHeader
	h.Set("X-Version", "V2")
	add := func(i int, q *Request) {
		if i < n {
			reqs, want = append(reqs, q), append(want, fmt.Sprintf("%08d-0000-4000-8000-000000000000", i))
		}
	}
	i := near(0)
	add(i, &Request{Method: []byte("GET"), Host: []byte(fmt.Sprintf("svc%d.example.com", i)), Path: []byte("/api/items/42"), Scheme: "http", Port: 8000})
	i = near(1)
	add(i, &Request{Method: []byte("POST"), Host: []byte("gw.test"), Path: []byte(fmt.Sprintf("/svc%d/x", i)), Scheme: "http", Port: 8000})
	i = near(2)
	add(i, &Request{Method: []byte("GET"), Host: []byte(fmt.Sprintf("eu.tenant%d.test:8000", i)), Path: []byte("/v1/orders/7"), Scheme: "https", SNI: "eu.test", Port: 8443})
	i = near(3)
	add(i, &Request{Method: []byte("GET"), Host: []byte("gw.test"), Path: []byte(fmt.Sprintf("/h%d", i)), Scheme: "http", Port: 8000, Headers: &h})
	return reqs, want
}

func TestMatchAllocs(t *testing.T) {
	for _, n := range []int{1, 100, 10000} {
		r := mustBuild(t, benchRoutes(n))
		reqs, want := benchRequests(n)
		var m Match
		for i, q := range reqs {
			if !r.Match(q, &m) || m.Route.ID != want[i] {
				t.Fatalf("n=%d request %d: matched %v, want %s", n, i, m.Route, want[i])
			}
			if allocs := testing.AllocsPerRun(100, func() { r.Match(q, &m) }); allocs != 0 {
				t.Errorf("n=%d request %d: %v allocations per match, want 0", n, i, allocs)
			}
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		r := mustBuild(b, benchRoutes(n))
		reqs, _ := benchRequests(n)
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var m Match
			for i := 0; b.Loop(); i++ {
				if !r.Match(reqs[i%len(reqs)], &m) {
					b.Fatal("no match")
				}
			}
		})
	}
	b.Run("routes=10000/regex", func(b *testing.B) {
		r := mustBuild(b, benchRoutes(10000))
		q := &Request{Method: []byte("GET"), Host: []byte("gw.test"), Path: []byte("/users/4999/1234"), Scheme: "http"}
		b.ReportAllocs()
		var m Match
		for b.Loop() {
			if !r.Match(q, &m) || !m.HasCaptures() {
				b.Fatal("no match")
			}
		}
	})
	b.Run("routes=10000/parallel", func(b *testing.B) {
		r := mustBuild(b, benchRoutes(10000))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			reqs, _ := benchRequests(10000) // a HeaderSource is per request
			var m Match
			for i := 0; pb.Next(); i++ {
				r.Match(reqs[i%len(reqs)], &m)
			}
		})
	})
}

func BenchmarkBuild(b *testing.B) {
	routes := benchRoutes(10000)
	b.ReportAllocs()
	for b.Loop() {
		if _, errs := Build(routes); errs != nil {
			b.Fatal(errs)
		}
	}
}

func BenchmarkUpstreamPath(b *testing.B) {
	r := mustBuild(b, benchRoutes(100))
	reqs, _ := benchRequests(100)
	var m Match
	r.Match(reqs[0], &m)
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = UpstreamPath(buf[:0], "/backend/", true, &m)
	}
}
