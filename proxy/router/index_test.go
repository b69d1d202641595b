package router

import (
	"fmt"
	"math/rand"
	"testing"
)

// linearMatch is the reference the index must agree with: every matcher in
// priority order, the first that matches wins.
func linearMatch(r *Router, q *Request, m *Match) (string, bool) {
	if !r.prepare(q, m) {
		return "", false
	}
	for i := range r.entries {
		if r.entries[i].matches(m) {
			return r.entries[i].route.ID, true
		}
	}
	return "", false
}

// randomRoutes draws routes from small vocabularies so that they overlap.
func randomRoutes(rng *rand.Rand, n int) []Route {
	hosts := []string{"a.test", "b.test", "*.test", "a.*", "x.a.test", "a.test:8000", "*.a.test:9"}
	paths := []string{"/", "/a", "/a/b", "/ab", "/a/b/c", "/b", `~/a/\d+`, `~/a`, `~/(a|b)/x`, `~/[ab]`, "/a%2Fb", "/c/"}
	methods := []string{"GET", "POST"}
	pick := func(set []string) []string {
		var out []string
		for _, s := range set {
			if rng.Intn(len(set)+1) == 0 {
				out = append(out, s)
			}
		}
		return out
	}
	var routes []Route
	for i := 0; i < n; i++ {
		r := Route{
			ID:            fmt.Sprintf("%04d", rng.Intn(10000)),
			Hosts:         pick(hosts),
			Paths:         pick(paths),
			Methods:       pick(methods),
			RegexPriority: rng.Intn(3),
		}
		if rng.Intn(4) == 0 {
			r.Headers = map[string][]string{"x-v": pick([]string{"1", "2", "~*^3"})}
			if len(r.Headers["x-v"]) == 0 {
				r.Headers = nil
			}
		}
		if len(r.Hosts)+len(r.Paths)+len(r.Methods)+len(r.Headers) == 0 {
			r.Paths = []string{"/"}
		}
		routes = append(routes, r)
	}
	return routes
}

func TestIndexAgreesWithLinearScan(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	hosts := []string{"a.test", "b.test", "x.a.test", "a.org", "a.test:8000", "y.x.a.test:9", "other", ""}
	paths := []string{"/", "/a", "/a/b", "/ab", "/a/b/c/d", "/a/12", "/b/x", "/a/x", "/c/", "/c", "/a%2fb/c"}
	for round := 0; round < 200; round++ {
		r := mustBuild(t, randomRoutes(rng, 1+rng.Intn(40)))
		var m1, m2 Match
		for i := 0; i < 50; i++ {
			q := req{
				method: []string{"GET", "POST"}[rng.Intn(2)],
				host:   hosts[rng.Intn(len(hosts))],
				path:   paths[rng.Intn(len(paths))],
			}
			if rng.Intn(3) == 0 {
				q.headers = testHeaders{"X-V": {[]string{"1", "2", "3x"}[rng.Intn(3)]}}
			}
			want, wantOK := linearMatch(r, q.request(), &m1)
			gotOK := r.Match(q.request(), &m2)
			got := ""
			if gotOK {
				got = m2.Route.ID
			}
			if got != want || gotOK != wantOK {
				t.Fatalf("round %d, %+v: index chose %q, linear scan %q", round, q, got, want)
			}
		}
	}
}
