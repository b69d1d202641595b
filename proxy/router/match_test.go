package router

import (
	"errors"
	"strings"
	"testing"
)

// id builds the route ids of Kong's router spec (spec/01-unit/08-router_spec.lua),
// whose order decides ties.
func id(n string) string { return "e8fb37f1-102d-461e-9c51-6608a6bb" + n }

// kongSelectRoutes is the use case of the spec's select() tests.
func kongSelectRoutes() []Route {
	return []Route{
		{ID: id("8101"), Hosts: []string{"domain-1.org", "domain-2.org"}},
		{ID: id("8102"), Methods: []string{"TRACE"}},
		{ID: id("8103"), Paths: []string{"/my-route"}},
		{ID: id("8104"), Paths: []string{"/route-4"}, Hosts: []string{"domain-1.org", "domain-2.org"}},
		{ID: id("8105"), Hosts: []string{"domain-1.org", "domain-2.org"}, Methods: []string{"POST", "PUT", "PATCH"}},
		{ID: id("8106"), Methods: []string{"POST", "PUT", "PATCH"}, Paths: []string{"/route-6"}},
		{ID: id("8107"), Hosts: []string{"domain-with-uri-1.org", "domain-with-uri-2.org"},
			Methods: []string{"POST", "PUT", "PATCH"}, Paths: []string{"/my-route-uri"}},
		{ID: id("8108"), Paths: []string{"/serviceless"}},
		{ID: id("8109"), Headers: map[string][]string{"location": {"my-location-1", "my-location-2"}}},
		{ID: id("8110"), Headers: map[string][]string{"location": {"my-location-1"}, "version": {"v1", "v2"}}},
		{ID: id("8111"), Headers: map[string][]string{"location": {"my-location-1", "my-location-2"}},
			Paths: []string{"/headers-uri"}},
		{ID: id("8112"), Hosts: []string{"domain-with-headers-1.org", "domain-with-headers-2.org"},
			Headers: map[string][]string{"location": {"my-location-1", "my-location-2"}},
			Methods: []string{"POST", "PUT", "PATCH"}, Paths: []string{"/headers-host-uri-method"}},
		{ID: id("8113"), Hosts: []string{"domain-1.org:321", "domain-2.org"}},
		{ID: id("8114"), Hosts: []string{"domain-3.org:321"}},
		{ID: id("8115"), Headers: map[string][]string{"user_agent": {`~*windows|linux|os\s+x\s*[\d\._]+|solaris|bsd`}}},
	}
}

func TestMatchKongSelect(t *testing.T) {
	r := mustBuild(t, kongSelectRoutes())
	h := func(kv ...string) testHeaders {
		out := testHeaders{}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = append(out[kv[i]], kv[i+1])
		}
		return out
	}
	runMatchCases(t, r, []matchCase{
		{"host", req{host: "domain-1.org"}, id("8101")},
		{"host ignores default port", req{host: "domain-1.org:80"}, id("8101")},
		{"host matches specific port", req{host: "domain-1.org:321"}, id("8113")},
		{"host matches specific port on port-only route", req{host: "domain-3.org:321"}, id("8114")},
		{"host fails because of port on port-only route", req{host: "domain-3.org:123"}, ""},
		{"host port from the connection", req{host: "domain-3.org", port: 321}, id("8114")},
		{"host port of the Host header wins", req{host: "domain-3.org:123", port: 321}, ""},
		{"host is case-insensitive", req{host: "Domain-1.ORG"}, id("8101")},
		{"uri", req{path: "/my-route", host: "domain.org"}, id("8103")},
		{"uri + empty host", req{path: "/my-route-uri"}, id("8103")},
		{"method", req{method: "TRACE", host: "domain.org"}, id("8102")},
		{"host + uri", req{path: "/route-4", host: "domain-1.org"}, id("8104")},
		{"host + method", req{method: "POST", host: "domain-1.org"}, id("8105")},
		{"uri + method", req{method: "PUT", path: "/route-6", host: "domain.org"}, id("8106")},
		{"host + uri + method", req{method: "PUT", path: "/my-route-uri", host: "domain-with-uri-2.org"}, id("8107")},
		{"serviceless", req{path: "/serviceless"}, id("8108")},
		{"single header value 1", req{headers: h("location", "my-location-1")}, id("8109")},
		{"single header value 2", req{headers: h("location", "my-location-2")}, id("8109")},
		{"repeated header, any value", req{headers: h("location", "my-location-3", "location", "my-location-2")}, id("8109")},
		{"header value miss", req{headers: h("location", "my-location-3")}, ""},
		{"repeated header miss", req{headers: h("location", "my-location-3", "location", "foo")}, ""},
		{"header regex, name with underscore", req{headers: h("User-Agent",
			"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/83.0.4103.116 Safari/537.36")}, id("8115")},
		{"two headers", req{headers: h("location", "my-location-1", "version", "v1")}, id("8110")},
		{"two headers, other value", req{headers: h("location", "my-location-1", "version", "v2")}, id("8110")},
		{"two headers, repeated", req{headers: h("location", "my-location-3", "location", "my-location-1", "version", "v2")}, id("8110")},
		{"two headers fall back to one", req{headers: h("location", "my-location-3", "location", "my-location-2", "version", "v2")}, id("8109")},
		{"headers + uri", req{path: "/headers-uri", headers: h("location", "my-location-2")}, id("8111")},
		{"host + headers + uri + method", req{method: "PUT", path: "/headers-host-uri-method",
			host: "domain-with-headers-1.org", headers: h("location", "my-location-2")}, id("8112")},
		{"uri prefix", req{path: "/my-route/some/path", host: "domain.org"}, id("8103")},
		{"invalid host", req{host: "domain-3.org"}, ""},
		{"invalid host in host + uri", req{path: "/route-4", host: "domain-3.org"}, ""},
		{"invalid method in host + uri + method", req{method: "GET", path: "/my-route-uri", host: "domain-with-uri-2.org"}, id("8103")},
		{"uri not a prefix", req{path: "/some/my-route", host: "domain.org"}, ""},
		{"header value case-insensitive", req{headers: h("LOCATION", "My-Location-1")}, id("8109")},
	})
}

func TestMatchFirstHeaderValueOnly(t *testing.T) {
	// A HeaderSource without PeekAll gives Kong's rule its first value only.
	r := mustBuild(t, kongSelectRoutes())
	q := req{}.request()
	q.Headers = firstOnly{testHeaders{"location": {"my-location-3", "my-location-2"}}}
	var m Match
	if r.Match(q, &m) {
		t.Fatalf("matched %s, want no match on the first value", m.Route.ID)
	}
}

func TestMatchWildcardHosts(t *testing.T) {
	routes := []Route{
		{ID: id("8101"), Hosts: []string{"*.route.com"}},
		{ID: id("8102"), Hosts: []string{"route.*"}},
		{ID: id("8103"), Hosts: []string{"*.route.net:123"}},
		{ID: id("8104"), Hosts: []string{"route.*:123"}},
		{ID: id("8105"), Hosts: []string{"plain.route.com"}},
		{ID: id("8106"), Hosts: []string{"route.com"}},
		{ID: id("8107"), Hosts: []string{"*.domain.com", "example.com"}, Paths: []string{"/path"}, Methods: []string{"GET", "TRACE"}},
	}
	r := mustBuild(t, routes)
	runMatchCases(t, r, []matchCase{
		{"leftmost", req{host: "foo.route.com"}, id("8101")},
		{"leftmost, several labels", req{host: "x.y.route.com"}, id("8101")},
		{"leftmost needs a label", req{host: "xroute.com"}, ""},
		{"rightmost", req{host: "route.org"}, id("8102")},
		{"any port", req{host: "route.org:9"}, id("8102")},
		{"port-specific", req{host: "foo.route.net:123"}, id("8103")},
		{"port-specific miss", req{host: "foo.route.net:456"}, ""},
		{"port-specific first", req{host: "route.org:123"}, id("8104")},
		{"plain over wildcard", req{host: "route.com"}, id("8106")},
		{"plain host", req{host: "plain.route.com"}, id("8105")},
		{"wildcard + uri + method", req{host: "foo.domain.com", path: "/path"}, id("8107")},
		{"wildcard + uri + wrong method", req{method: "POST", host: "foo.domain.com", path: "/path"}, ""},
		{"plain of mixed hosts", req{method: "TRACE", host: "example.com", path: "/path"}, id("8107")},
	})
}

func TestMatchSNIs(t *testing.T) {
	routes := []Route{
		{ID: id("8101"), SNIs: []string{"*.sni.test"}, Protocols: []string{"https"}},
		{ID: id("8102"), SNIs: []string{"sni.*"}, Protocols: []string{"https"}},
		{ID: id("8103"), SNIs: []string{"exact.test."}, Paths: []string{"/exact"}},
	}
	r := mustBuild(t, routes)
	runMatchCases(t, r, []matchCase{
		{"leftmost", req{scheme: "https", sni: "foo.sni.test"}, id("8101")},
		{"leftmost, several labels", req{scheme: "https", sni: "foo.bar.sni.test"}, id("8101")},
		{"rightmost", req{scheme: "https", sni: "sni.foo.bar"}, id("8102")},
		{"no wildcard match", req{scheme: "https", sni: "bar.sni.foo"}, ""},
		{"https without SNI", req{scheme: "https", path: "/exact"}, ""},
		{"trailing dot of the route dropped", req{scheme: "https", sni: "EXACT.test", path: "/exact"}, id("8103")},
		{"other SNI", req{scheme: "https", sni: "other.test", path: "/exact"}, ""},
		// Kong: `net.protocol != "https" || tls.sni == ...`.
		{"ignored on http", req{scheme: "http", path: "/exact"}, id("8103")},
		{"ignored on http, any SNI", req{scheme: "http", sni: "other.test", path: "/exact"}, id("8103")},
	})
}

func TestMatchPaths(t *testing.T) {
	routes := []Route{
		{ID: id("8101"), Paths: []string{"/my-route"}},
		{ID: id("8102"), Paths: []string{"/my-route/hello"}},
		{ID: id("8103"), Paths: []string{`~/users/\d+/profile`}},
		{ID: id("8104"), Paths: []string{`/users`}},
		{ID: id("8105"), Paths: []string{`~/regex$`}, RegexPriority: 1},
		{ID: id("8106"), Paths: []string{`~/regex`}, RegexPriority: 2},
		{ID: id("8107"), Paths: []string{"/.*"}}, // plain in Kong 3
		{ID: id("8108"), Paths: []string{"/endel%2Fst"}},
		{ID: id("8109"), Paths: []string{`~/case/(?i)ABC`}},
	}
	r := mustBuild(t, routes)
	runMatchCases(t, r, []matchCase{
		{"longest prefix", req{path: "/my-route/hello/world"}, id("8102")},
		{"shorter prefix", req{path: "/my-route/hell"}, id("8101")},
		{"prefix is not segment-aware", req{path: "/my-routes"}, id("8101")},
		{"regex over plain", req{path: "/users/123/profile"}, id("8103")},
		{"plain when the regex misses", req{path: "/users/abc/profile"}, id("8104")},
		{"regex anchored at the start", req{path: "/x/users/123/profile"}, ""},
		{"regex_priority", req{path: "/regex"}, id("8106")},
		{"plain path with regex characters", req{path: "/.*/x"}, id("8107")},
		{"plain path is literal", req{path: "/abc"}, ""},
		{"encoded slash", req{path: "/endel%2fst"}, id("8108")},
		{"encoded slash is no separator", req{path: "/endel/st"}, ""},
		{"normalised first", req{path: "/my-route/x/../hello/./y"}, id("8102")},
		{"decoded before matching", req{path: "/my-%72oute"}, id("8101")},
		{"case-insensitive regex flag", req{path: "/case/abc"}, id("8109")},
		{"not UTF-8 matches nothing", req{path: "/my-route/%FF"}, ""},
	})
	// Kong's spec: a regex path beats a plain one of the same route weight.
	r = mustBuild(t, []Route{
		{ID: id("8101"), Hosts: []string{"*.example.com"}, Paths: []string{`~/users/\d+/profile`}},
		{ID: id("8102"), Hosts: []string{"*.example.com"}, Paths: []string{"/users"}},
	})
	runMatchCases(t, r, []matchCase{
		{"wildcard host + regex", req{host: "test.example.com", path: "/users/123/profile"}, id("8101")},
		{"wildcard host + prefix", req{host: "test.example.com", path: "/users"}, id("8102")},
	})
}

func TestMatchPriority(t *testing.T) {
	tests := []struct {
		name   string
		routes []Route
		cases  []matchCase
	}{{
		name: "more fields first",
		routes: []Route{
			{ID: id("8101"), Hosts: []string{"example.com"}},
			{ID: id("8102"), Hosts: []string{"example.com"}, Methods: []string{"POST"}},
		},
		cases: []matchCase{
			{"GET", req{host: "example.com"}, id("8101")},
			{"POST", req{method: "POST", host: "example.com"}, id("8102")},
		},
	}, {
		name: "more headers over longer paths",
		routes: []Route{
			{ID: id("8101"), Headers: map[string][]string{"version": {"v1"}}, Paths: []string{"/my-route/hello"}},
			{ID: id("8102"), Headers: map[string][]string{"version": {"v1"}, "location": {"us-east"}}, Paths: []string{"/my-route"}},
		},
		cases: []matchCase{
			{"both headers", req{path: "/my-route/hello", headers: testHeaders{"version": {"v1"}, "location": {"us-east"}}}, id("8102")},
			{"one header", req{path: "/my-route/hello", headers: testHeaders{"version": {"v1"}}}, id("8101")},
		},
	}, {
		name: "method does not supersede uri prefix",
		routes: []Route{
			{ID: id("8101"), Methods: []string{"GET"}},
			{ID: id("8102"), Paths: []string{"/example"}},
		},
		cases: []matchCase{
			{"exact", req{path: "/example"}, id("8102")},
			{"below", req{path: "/example/status/200"}, id("8102")},
			{"elsewhere", req{path: "/other"}, id("8101")},
		},
	}, {
		name: "method does not supersede wildcard host (tie: greater id)",
		routes: []Route{
			{ID: id("8101"), Methods: []string{"GET"}},
			{ID: id("8102"), Hosts: []string{"domain.*"}},
		},
		cases: []matchCase{
			{"other host", req{host: "nothing.com"}, id("8101")},
			{"wildcard host", req{host: "domain.com"}, id("8102")},
		},
	}, {
		name: "half uri and host match does not supersede",
		routes: []Route{
			{ID: id("8101"), Hosts: []string{"host1.com"}, Paths: []string{"/v1/path"}},
			{ID: id("8102"), Hosts: []string{"host2.com"}, Paths: []string{"/"}},
		},
		cases: []matchCase{
			{"host1", req{host: "host1.com", path: "/v1/path"}, id("8101")},
			{"host2", req{host: "host2.com", path: "/v1/path"}, id("8102")},
		},
	}, {
		name: "regex_priority ignored for prefixes",
		routes: []Route{
			{ID: id("8101"), Hosts: []string{"domain-1.org"}, Paths: []string{"/.*"}},
			{ID: id("8102"), Hosts: []string{"domain-2.org"}, Paths: []string{"/"}, RegexPriority: 5},
			{ID: id("8103"), Hosts: []string{"domain-2.org"}, Paths: []string{"/v1"}},
		},
		cases: []matchCase{{"longer prefix", req{host: "domain-2.org", path: "/v1"}, id("8103")}},
	}, {
		name: "regex and prefix paths of one route split",
		routes: []Route{
			{ID: id("8101"), Hosts: []string{"domain-1.org"}, Paths: []string{"~/some/thing/else", "/foo"}},
			{ID: id("8102"), Hosts: []string{"domain-1.org"}, Paths: []string{"/foo/bar"}},
		},
		cases: []matchCase{
			{"regex", req{host: "domain-1.org", path: "/some/thing/else"}, id("8101")},
			{"longer prefix", req{host: "domain-1.org", path: "/foo/bar"}, id("8102")},
			{"short prefix", req{host: "domain-1.org", path: "/foo"}, id("8101")},
		},
	}, {
		name: "overlapping prefixes of one route split",
		routes: []Route{
			{ID: id("8101"), Hosts: []string{"domain-1.org"}, Paths: []string{"/foo", "/foo/bar/baz"}},
			{ID: id("8102"), Hosts: []string{"domain-1.org"}, Paths: []string{"/foo/bar"}},
		},
		cases: []matchCase{
			{"short", req{host: "domain-1.org", path: "/foo"}, id("8101")},
			{"middle", req{host: "domain-1.org", path: "/foo/bar"}, id("8102")},
			{"long", req{host: "domain-1.org", path: "/foo/bar/baz/x"}, id("8101")},
		},
	}, {
		name: "docs: regex evaluation order",
		routes: []Route{
			{ID: "a", Paths: []string{`~/status/\d+`}},
			{ID: "b", Paths: []string{`~/version/\d+/status/\d+`}, RegexPriority: 6},
			{ID: "c", Paths: []string{"/version"}},
			{ID: "d", Paths: []string{"~/version/any/"}},
		},
		cases: []matchCase{
			{"regex_priority 6", req{path: "/version/1/status/2"}, "b"},
			{"regex first", req{path: "/version/any/x"}, "d"},
			{"prefix last", req{path: "/version/x"}, "c"},
		},
	}, {
		name: "negative regex_priority stays below zero",
		routes: []Route{
			{ID: "a", Paths: []string{`~/x`}, RegexPriority: -1},
			{ID: "b", Paths: []string{`~/x`}},
		},
		cases: []matchCase{{"0 over -1", req{path: "/x"}, "b"}},
	}, {
		name: "plain hosts over wildcard",
		routes: []Route{
			{ID: id("8101"), Hosts: []string{"*.route.com"}, Paths: []string{"/path1"}},
			{ID: id("8102"), Hosts: []string{"plain.route.com"}, Paths: []string{"/path2"}},
		},
		cases: []matchCase{
			{"wildcard + path", req{host: "plain.route.com", path: "/path1"}, id("8101")},
			{"plain + path", req{host: "plain.route.com", path: "/path2"}, id("8102")},
		},
	}, {
		name: "same category, conflicting values",
		routes: []Route{
			{ID: id("8111"), Hosts: []string{"domain.org"}, Paths: []string{"/my-uri"}},
			{ID: id("8112"), Hosts: []string{"domain.org"}, Paths: []string{"/my-uri"}},
			{ID: id("8121"), Hosts: []string{"domain.org"}, Paths: []string{"/my-target-uri"}},
		},
		cases: []matchCase{{"target", req{host: "domain.org", path: "/my-target-uri"}, id("8121")}},
	}, {
		name: "tie: greater id first, not created_at",
		routes: []Route{
			{ID: "00000000-0000-0000-0000-000000000002", Hosts: []string{"a.test"}, CreatedAt: 2},
			{ID: "00000000-0000-0000-0000-000000000001", Hosts: []string{"a.test"}, CreatedAt: 1},
		},
		cases: []matchCase{{"greater id", req{host: "a.test"}, "00000000-0000-0000-0000-000000000002"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runMatchCases(t, mustBuild(t, tt.routes), tt.cases)
		})
	}
}

func TestMatchCaptures(t *testing.T) {
	r := mustBuild(t, []Route{
		{ID: "users", Paths: []string{`~/users/(?P<user_id>\d+)/profile/?(?P<scope>[a-z]*)`}},
		{ID: "names", Paths: []string{`~/names/(?P<fullname>[a-zA-Z\s\d%]+)/profile/?(?P<scope>[a-z]*)`}},
		{ID: "optional", Paths: []string{`~/(users/)?1984/(?<subpath>profile)$`}},
		{ID: "nogroup", Paths: []string{`~/nogroup/\d+`}},
		{ID: "prefix", Paths: []string{"/hello"}},
	})
	type capture struct {
		i     int
		name  string
		value string
		ok    bool
	}
	tests := []struct {
		path, route, prefix string
		has                 bool
		caps                []capture
	}{
		{"/users/1984/profile", "users", "/users/1984/profile", true, []capture{
			{0, "", "/users/1984/profile", true}, {1, "user_id", "1984", true}, {2, "scope", "", true}}},
		{"/users/1984/profile/email", "users", "/users/1984/profile/email", true, []capture{
			{1, "user_id", "1984", true}, {2, "scope", "email", true}, {3, "", "", false}}},
		// Kong's #7913: captures come from the normalised path.
		{"/names/%6aohn%20doe/profile", "names", "/names/john doe/profile", true, []capture{
			{1, "fullname", "john doe", true}, {2, "scope", "", true}}},
		// Kong's #13014: an optional group that took no part is absent.
		{"/1984/profile", "optional", "/1984/profile", true, []capture{
			{1, "", "", false}, {2, "subpath", "profile", true}}},
		{"/nogroup/12/x", "nogroup", "/nogroup/12", false, nil},
		{"/hello/world", "prefix", "/hello", false, nil},
	}
	var m Match
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if !r.Match(req{path: tt.path}.request(), &m) {
				t.Fatal("no match")
			}
			if m.Route.ID != tt.route || string(m.Prefix) != tt.prefix || m.HasCaptures() != tt.has {
				t.Fatalf("got route %s prefix %q captures %v, want %s %q %v",
					m.Route.ID, m.Prefix, m.HasCaptures(), tt.route, tt.prefix, tt.has)
			}
			for _, c := range tt.caps {
				got, ok := m.CaptureAt(c.i)
				if string(got) != c.value || ok != c.ok {
					t.Errorf("CaptureAt(%d) = %q, %v; want %q, %v", c.i, got, ok, c.value, c.ok)
				}
				if c.name == "" {
					continue
				}
				got, ok = m.Capture(c.name)
				if string(got) != c.value || ok != c.ok {
					t.Errorf("Capture(%s) = %q, %v; want %q, %v", c.name, got, ok, c.value, c.ok)
				}
			}
		})
	}
	if _, ok := m.Capture("nope"); ok {
		t.Error("Capture of an unknown name succeeded")
	}
}

func TestMatchBadPath(t *testing.T) {
	r := mustBuild(t, []Route{{ID: "all", Paths: []string{"/"}}})
	var m Match
	for _, p := range []string{"/%zz", "/a%", "/../x", "/%00"} {
		if r.Match(req{path: p}.request(), &m) || !m.BadPath() {
			t.Errorf("%s: matched=%v BadPath=%v, want a bad path", p, m.Route != nil, m.BadPath())
		}
	}
	if !r.Match(req{path: "/ok"}.request(), &m) || m.BadPath() {
		t.Error("BadPath stayed set")
	}
}

func TestBuildErrors(t *testing.T) {
	r, errs := Build([]Route{
		{ID: "bad-regex", Paths: []string{"~/(a"}},
		{ID: "lookahead", Paths: []string{"~/a(?=b)"}},
		{ID: "bad-header", Headers: map[string][]string{"x": {"~*(("}}},
		{ID: "empty"},
		{ID: "stream", Protocols: []string{"tcp"}, Paths: []string{"/x"}},
		{ID: "ok", Paths: []string{"/ok"}, Protocols: []string{"grpc"}},
	})
	if r.Len() != 1 {
		t.Errorf("Len() = %d, want 1", r.Len())
	}
	if len(errs) != 4 {
		t.Fatalf("got %d errors, want 4: %v", len(errs), errs)
	}
	for i, want := range []string{"bad-regex", "lookahead", "bad-header", "empty"} {
		if !strings.Contains(errs[i].Error(), want) {
			t.Errorf("error %d = %v, want it to name %s", i, errs[i], want)
		}
	}
	if !errors.Is(errs[3], errNoFields) {
		t.Errorf("error %v does not wrap errNoFields", errs[3])
	}
	if got := matchID(r, req{path: "/ok"}); got != "ok" {
		t.Errorf("got %q, want the valid route to route", got)
	}
}

func TestMatchConcurrent(t *testing.T) {
	r := mustBuild(t, kongSelectRoutes())
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			var m Match
			ok := true
			for i := 0; i < 200; i++ {
				q := req{method: "PUT", path: "/my-route-uri", host: "domain-with-uri-2.org"}.request()
				ok = ok && r.Match(q, &m) && m.Route.ID == id("8107")
			}
			done <- ok
		}()
	}
	for g := 0; g < 4; g++ {
		if !<-done {
			t.Error("a goroutine saw a wrong match")
		}
	}
}

func TestMatchPathWithoutRoute(t *testing.T) {
	// The normalised path is there even when no route matches (for logs).
	r := mustBuild(t, []Route{{ID: "a", Paths: []string{"/a"}}})
	var m Match
	if r.Match(req{path: "/b/./c"}.request(), &m) || string(m.Path) != "/b/c" || m.Route != nil || m.BadPath() {
		t.Errorf("got route %v path %q bad %v", m.Route, m.Path, m.BadPath())
	}
}
