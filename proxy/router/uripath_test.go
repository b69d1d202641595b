package router

import (
	"fmt"
	"testing"
)

type strip uint8

const (
	off strip = 1 << iota
	on
	both = off | on
)

// pathHandlingV0 is Kong's path handling table (spec/fixtures/router_path_handling_tests.lua),
// its v0 rows: service path, route path ("" for a route matched by host),
// strip_path, request path, upstream path.
var pathHandlingV0 = []struct {
	service, route string
	strip          strip
	request, want  string
}{
	{"/", "/", both, "/", "/"},
	{"/", "/", both, "/route", "/route"},
	{"/", "/", both, "/route/", "/route/"},
	{"/", "/", both, "/routereq", "/routereq"},
	{"/", "/", both, "/route/req", "/route/req"},
	{"/", "/route", off, "/route", "/route"},
	{"/", "/route", off, "/route/", "/route/"},
	{"/", "/route", off, "/routereq", "/routereq"},
	{"/", "/route", on, "/route", "/"},
	{"/", "/route", on, "/route/", "/"},
	{"/", "/route", on, "/routereq", "/req"},
	{"/", "/route/", off, "/route/", "/route/"},
	{"/", "/route/", off, "/route/req", "/route/req"},
	{"/", "/route/", on, "/route/", "/"},
	{"/", "/route/", on, "/route/req", "/req"},
	{"/srv", "/rou", off, "/roureq", "/srv/roureq"},
	{"/srv", "/rou", on, "/roureq", "/srv/req"},
	{"/srv/", "/rou", off, "/rou", "/srv/rou"},
	{"/srv/", "/rou", on, "/rou", "/srv"},
	{"/service", "/", both, "/", "/service"},
	{"/service", "/", both, "/route", "/service/route"},
	{"/service", "/", both, "/route/", "/service/route/"},
	{"/service", "/", both, "/routereq", "/service/routereq"},
	{"/service", "/", both, "/route/req", "/service/route/req"},
	{"/service", "/route", off, "/route", "/service/route"},
	{"/service", "/route", off, "/route/", "/service/route/"},
	{"/service", "/route", off, "/routereq", "/service/routereq"},
	{"/service", "/route", on, "/route", "/service"},
	{"/service", "/route", on, "/route/", "/service/"},
	{"/service", "/route", on, "/routereq", "/service/req"},
	{"/service", "/route/", off, "/route/", "/service/route/"},
	{"/service", "/route/", off, "/route/req", "/service/route/req"},
	{"/service", "/route/", on, "/route/", "/service/"},
	{"/service", "/route/", on, "/route/req", "/service/req"},
	{"/service/", "/", both, "/route/", "/service/route/"},
	{"/service/", "/", both, "/", "/service/"},
	{"/service/", "/", both, "/route", "/service/route"},
	{"/service/", "/", both, "/routereq", "/service/routereq"},
	{"/service/", "/", both, "/route/req", "/service/route/req"},
	{"/service/", "/route", off, "/route", "/service/route"},
	{"/service/", "/route", off, "/route/", "/service/route/"},
	{"/service/", "/route", off, "/routereq", "/service/routereq"},
	{"/service/", "/route", on, "/route", "/service"},
	{"/service/", "/route", on, "/route/", "/service/"},
	{"/service/", "/route", on, "/routereq", "/service/req"},
	{"/service/", "/route/", off, "/route/", "/service/route/"},
	{"/service/", "/route/", off, "/route/req", "/service/route/req"},
	{"/service/", "/route/", on, "/route/", "/service/"},
	{"/service/", "/route/", on, "/route/req", "/service/req"},
	{"/", "", both, "/", "/"},
	{"/", "", both, "/route", "/route"},
	{"/", "", both, "/route/", "/route/"},
	{"/service", "", both, "/", "/service"},
	{"/service", "", both, "/route", "/service/route"},
	{"/service", "", both, "/route/", "/service/route/"},
	{"/service/", "", both, "/", "/service/"},
	{"/service/", "", both, "/route", "/service/route"},
	{"/service/", "", both, "/route/", "/service/route/"},
	{"/service", "/route", on, "/route./req", "/service/req"},
	{"/service/", "/route", on, "/route./req", "/service/req"},
	{"/service", "/route", on, "/route%2E/req", "/service/req"},
	{"/service/", "/route", on, "/route%2E/req", "/service/req"},
	{"/service", "/route", on, "/route%2e/req", "/service/req"},
	{"/service/", "/route", on, "/route%2e/req", "/service/req"},
	{"/service", "/route", on, "/route../req", "/service/req"},
	{"/service/", "/route", on, "/route../req", "/service/req"},
	{"/service", "/route", on, "/route%2E%2E/req", "/service/req"},
	{"/service/", "/route", on, "/route%2E%2E/req", "/service/req"},
	{"/service", "/route", on, "/route%2e%2E/req", "/service/req"},
	{"/service/", "/route", on, "/route%2e%2E/req", "/service/req"},
	{"/service", "/route", off, "/route./req", "/service/route./req"},
	{"/service/", "/route", off, "/route./req", "/service/route./req"},
	{"/service", "/route", off, "/route%2E/req", "/service/route./req"},
	{"/service/", "/route", off, "/route%2E/req", "/service/route./req"},
	{"/service", "/route", off, "/route%2e/req", "/service/route./req"},
	{"/service/", "/route", off, "/route%2e/req", "/service/route./req"},
	{"/service", "/route", off, "/route../req", "/service/route../req"},
	{"/service/", "/route", off, "/route../req", "/service/route../req"},
	{"/service", "/route", off, "/route%2E%2E/req", "/service/route../req"},
	{"/service/", "/route", off, "/route%2E%2E/req", "/service/route../req"},
	{"/service", "/route", off, "/route%2e%2E/req", "/service/route../req"},
	{"/service/", "/route", off, "/route%2e%2E/req", "/service/route../req"},
}

func TestUpstreamPathKongTable(t *testing.T) {
	for i, tt := range pathHandlingV0 {
		for _, stripPath := range []bool{false, true} {
			if tt.strip&map[bool]strip{false: off, true: on}[stripPath] == 0 {
				continue
			}
			routes := []string{tt.route}
			if tt.route != "" {
				// Kong's spec runs every row with the path as a regex too.
				routes = append(routes, "~/[0]?"+tt.route[1:])
			}
			for _, path := range routes {
				name := fmt.Sprintf("%d %s+%s strip=%v %s", i+1, tt.service, path, stripPath, tt.request)
				t.Run(name, func(t *testing.T) {
					if got := upstreamPathFor(t, tt.service, path, stripPath, tt.request); got != tt.want {
						t.Errorf("got %q, want %q", got, tt.want)
					}
				})
			}
		}
	}
}

// upstreamPathFor matches request against a lone route with path (or a host
// when path is "") and returns the upstream path.
func upstreamPathFor(t *testing.T, service, path string, stripPath bool, request string) string {
	t.Helper()
	route := Route{ID: "r", Hosts: []string{"localbin.test"}}
	if path != "" {
		route.Paths = []string{path}
	}
	var m Match
	if !mustBuild(t, []Route{route}).Match(req{host: "localbin.test", path: request}.request(), &m) {
		t.Fatalf("no match for %s", request)
	}
	return string(UpstreamPath(nil, service, stripPath, &m))
}

func TestUpstreamPath(t *testing.T) {
	tests := []struct {
		name, service, route string
		strip                bool
		request, want        string
	}{
		// A Service without a path is "/".
		{"nil service, strip", "", "/s", true, "/s/x", "/x"},
		{"nil service, strip all", "", "/s", true, "/s", "/"},
		{"nil service, no strip", "", "/s", false, "/s/x", "/s/x"},
		{"nil service, host route", "", "", true, "/a/b/", "/a/b/"},
		{"service /s, nil route path", "/s", "", true, "/", "/s"},
		// Kong's spec (08-router_spec.lua exec()).
		{"strips a prefix", "/", "/my-route", true, "/my-route/hello/world", "/hello/world"},
		{"strips a whole prefix", "/", "/my-route", true, "/my-route", "/"},
		{"does not strip root", "/", "/", true, "/my-route/hello/world", "/my-route/hello/world"},
		{"strips an encoded prefix", "/", "/endel%2Fst", true, "/endel%2Fst", "/"},
		{"keeps an encoded slash", "/", "/endel%2Fst", false, "/endel%2fst", "/endel%2Fst"},
		{"strips a regex match", "/", `~/users/\d+/profile`, true, "/users/123/profile/hello/world", "/hello/world"},
		{"strips a regex with a group", "/", `~/users/(\d+)/profile`, true, "/users/123/profile/hello/world", "/hello/world"},
		{"special characters", "/", `/\d`, false, `/\d`, `/%5Cd`},
		{"quote", "/", `~/\d+"`, false, `/123"`, `/123%22`},
		// Decoded characters are escaped again (kong/tools/uri.lua escape).
		{"space", "/svc path", "/a", true, "/a/b%20c", "/svc%20path/b%20c"},
		{"non-ASCII", "/", "/a", false, "/a/caf%c3%a9", "/a/caf%C3%A9"},
		{"reserved kept", "/", "/a", false, "/a/x%3ay@", "/a/x%3Ay@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := upstreamPathFor(t, tt.service, tt.route, tt.strip, tt.request); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
