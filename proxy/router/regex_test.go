package router

import (
	"strings"
	"testing"
)

func TestTranslateRegex(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: `/users/\d+/profile`, want: `/users/\d+/profile`},
		{in: `/(?<name>\w+)`, want: `/(?<name>\w+)`},
		{in: `/(?P<name>\w+)`, want: `/(?P<name>\w+)`},
		{in: `/\u00e9`, want: `/\x{00e9}`},
		{in: `/\u{e9}\U0001F600`, want: `/\x{e9}\x{0001F600}`},
		{in: `(?u)/a`, want: `/a`},
		{in: `(?iu:/a)`, want: `(?i:/a)`},
		{in: `(?u:/a)`, want: `(?:/a)`},
		{in: `/[[:alpha:]]+`, want: `/[[:alpha:]]+`},
		{in: `/[]a]`, want: `/[]a]`},
		{in: `/[^]a]`, want: `/[^]a]`},
		{in: `/[a-z]-[0-9]`, want: `/[a-z]-[0-9]`},
		{in: `/\[a&&b\]`, want: `/\[a&&b\]`},
		{in: `/[a[bc]]`, err: "nested"},
		{in: `/[a-z&&[^aeiou]]`, err: "set operation"},
		{in: `/[a-z&&b]`, err: "set operation"},
		{in: `/[a--b]`, err: "set operation"},
		{in: `/\<word\>`, err: "word boundary"},
		{in: `/\b{start}x`, err: "word boundary"},
		{in: `(?x) /a`, err: "flag x"},
		{in: `(?-u:\w)`, err: "flag -u"},
		{in: `/\Qa.b\E`, err: "escape"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := translateRegex(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %q, %v; want an error about %s", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestLiteralPrefix(t *testing.T) {
	tests := map[string]string{
		`/users/\d+`:    "/users/",
		`/users`:        "/users",
		`/a|/b`:         "",
		`(?i)/users`:    "",
		`/(x)/y`:        "/",
		`/v[12]/things`: "/v",
		`.*`:            "",
	}
	for in, want := range tests {
		re, lit, err := compilePathRegex(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if lit != want {
			t.Errorf("%s (%s): literal prefix %q, want %q", in, re, lit, want)
		}
	}
}

func TestAnchoring(t *testing.T) {
	// Kong prepends "^": a top-level alternation is anchored in its first
	// branch only, and strip_path removes the match's length.
	r := mustBuild(t, []Route{{ID: "alt", Paths: []string{`~/a|/b`}}})
	var m Match
	if !r.Match(req{path: "/xx/b/rest"}.request(), &m) {
		t.Fatal("no match for the unanchored branch")
	}
	if string(m.Prefix) != "/b" {
		t.Errorf("prefix %q, want /b", m.Prefix)
	}
	if got := string(UpstreamPath(nil, "/", true, &m)); got != "/x/b/rest" {
		t.Errorf("upstream %q, want /x/b/rest (Kong cuts the match's length)", got)
	}
}

func TestHeaderRegexLowercased(t *testing.T) {
	// Kong lowercases "~*" patterns: "[A-Z]" becomes "[a-z]" and still
	// matches any case, since values are lowercased too.
	r := mustBuild(t, []Route{{ID: "h", Headers: map[string][]string{"X-Agent": {`~*^Curl/[0-9]`}}}})
	for v, want := range map[string]string{"curl/8": "h", "CURL/8": "h", "xcurl/8": "", "Wget/1": ""} {
		if got := matchID(r, req{headers: testHeaders{"x-agent": {v}}}); got != want {
			t.Errorf("%s: got %q, want %q", v, got, want)
		}
	}
}
