package router

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"/", "/", true},
		{"", "/", true},
		{"/foo/bar", "/foo/bar", true},
		// Kong's documented examples (routing-traffic.md, normalization).
		{"/foo%3a", "/foo%3A", true},
		{"/fo%6F", "/foo", true},
		{"/foo/./bar/../baz", "/foo/baz", true},
		{"/foo//bar", "/foo/bar", true},
		// Dot segments.
		{"/a/../b", "/b", true},
		{"/a/./b", "/a/b", true},
		{"/a/b/..", "/a/", true},
		{"/a/b/../", "/a/", true},
		{"/a/.", "/a/", true},
		{"/a/..b/.c", "/a/..b/.c", true},
		{"/./", "/", true},
		{"/a/%2e%2e/b", "/b", true},
		{"/a/%2E./b", "/b", true},
		{"/a/.%2e", "/", true},
		{"/route./req", "/route./req", true},
		{"/route%2E%2E/req", "/route../req", true},
		// Slashes.
		{"//", "/", true},
		{"///a//b///", "/a/b/", true},
		{"/a//../b", "/b", true},
		// Reserved characters stay encoded, uppercased; others are decoded.
		{"/endel%2fst", "/endel%2Fst", true},
		{"/a%2F..%2Fb", "/a%2F..%2Fb", true},
		{"/%41%62%2d%5f%7e", "/Ab-_~", true},
		{"/a%20b", "/a b", true},
		{"/%25", "/%25", true},
		{"/%3F%23%5B%5D%40", "/%3F%23%5B%5D%40", true},
		{"/caf%C3%A9", "/café", true},
		{"/users/%6aohn%20doe/profile", "/users/john doe/profile", true},
		// What nginx refuses with 400.
		{"/%zz", "", false},
		{"/%a", "", false},
		{"/a%", "", false},
		{"/%00", "", false},
		{"/..", "", false},
		{"/../a", "", false},
		{"/a/../..", "", false},
		{"/%2e%2e/a", "", false},
		{"/..%2Fa", "", false},
		{"/a%2F..%2F..%2Fb", "", false},
		{"a/b", "", false},
		// nginx counts "x%2Fy" as two segments: Kong then stops at the root.
		{"/x%2Fy/../..", "/", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := Normalize([]byte("keep"), []byte(tt.in))
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (got %q)", ok, tt.ok, got)
			}
			want := "keep" + tt.want
			if string(got) != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}
