package router

import (
	"bytes"
	"testing"
)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/%2e%2e/x", "//a//b/", "/a%2Fb/..", "/%zz", "/a/./b/.", "/x%2Fy/../..", "/caf%C3%A9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		out, ok := Normalize(nil, []byte(path))
		if !ok {
			return
		}
		if len(out) == 0 || out[0] != '/' {
			t.Fatalf("%q: %q does not start with /", path, out)
		}
		if bytes.Contains(out, []byte("//")) {
			t.Fatalf("%q: %q has //", path, out)
		}
		for _, seg := range bytes.Split(out, []byte("/")) {
			if string(seg) == "." || string(seg) == ".." {
				t.Fatalf("%q: %q has a dot segment", path, out)
			}
		}
		// Normalising is idempotent.
		again, ok := Normalize(nil, out)
		if !ok || !bytes.Equal(again, out) {
			t.Fatalf("%q: %q normalises again to %q (%v)", path, out, again, ok)
		}
	})
}

func FuzzMatch(f *testing.F) {
	routes := []Route{
		{ID: "prefix", Paths: []string{"/a", "/bb"}},
		{ID: "host-prefix", Hosts: []string{"a.test", "*.b.test"}, Paths: []string{"/a/b"}},
		{ID: "regex", Paths: []string{`~/u/(?<id>\d+)`, `~/(x|y)/`}},
		{ID: "method", Methods: []string{"POST"}, Paths: []string{"/"}},
		{ID: "header", Headers: map[string][]string{"x-v": {"1", "~*^v[0-9]"}}},
		{ID: "host", Hosts: []string{"c.*:8000"}},
	}
	r := mustBuild(f, routes)
	f.Add("GET", "a.test", "/a/b/c", "1")
	f.Add("POST", "x.b.test:80", "/u/12/x", "V2")
	f.Add("GET", "c.org:8000", "/%2e%2e", "")
	f.Fuzz(func(t *testing.T, method, host, path, header string) {
		var m Match
		q := req{method: method, host: host, path: path, headers: testHeaders{"X-V": {header}}}.request()
		if !r.Match(q, &m) {
			return
		}
		switch {
		case m.re == nil && m.Prefix != nil: // a plain prefix won
			if !bytes.HasPrefix(m.Path, m.Prefix) || !containsString(m.Route.Paths, string(m.Prefix)) {
				t.Fatalf("%q: route %s matched with prefix %q, path %q", path, m.Route.ID, m.Prefix, m.Path)
			}
		case m.re != nil && !bytes.Contains(m.Path, m.Prefix):
			t.Fatalf("%q: regex match %q is not in %q", path, m.Prefix, m.Path)
		}
		_ = UpstreamPath(nil, "/s", true, &m)
	})
}

func containsString(set []string, s string) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}
