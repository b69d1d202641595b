package router

import (
	"reflect"
	"testing"
)

func TestPriority(t *testing.T) {
	tests := []struct {
		name  string
		route Route
		want  []uint64 // one per matcher, in path-group order
	}{
		{"hosts only", Route{Hosts: []string{"a.test"}}, []uint64{1<<61 | plainHostBit}},
		{"wildcard host", Route{Hosts: []string{"a.test", "*.b.test"}}, []uint64{1 << 61}},
		{"methods + prefix", Route{Methods: []string{"GET"}, Paths: []string{"/abc"}}, []uint64{2<<61 | 4}},
		{"headers", Route{Headers: map[string][]string{"a": {"1"}, "b": {"2"}}}, []uint64{1<<61 | 2<<52}},
		{"snis", Route{SNIs: []string{"a.test"}, Protocols: []string{"https"}}, []uint64{1 << 61}},
		{"regex", Route{Paths: []string{"~/a"}, RegexPriority: 3}, []uint64{1<<61 | regexBit | (1<<31+3)<<19}},
		{"negative regex_priority", Route{Paths: []string{"~/a"}, RegexPriority: -3}, []uint64{1<<61 | regexBit | (1<<31-3)<<19}},
		{"regex_priority ignored for prefixes", Route{Paths: []string{"/a"}, RegexPriority: 3}, []uint64{1<<61 | 2}},
		{"all five", Route{Methods: []string{"GET"}, Hosts: []string{"a.test"}, SNIs: []string{"a.test"},
			Headers: map[string][]string{"a": {"1"}}, Paths: []string{"/"}},
			[]uint64{5<<61 | plainHostBit | 1<<52 | 1}},
		{"split by kind and length", Route{Paths: []string{"/aa", "~/x", "/b", "/cc", "~/y"}},
			[]uint64{1<<61 | 3, 1<<61 | regexBit | 1<<31<<19, 1<<61 | 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := compileRoute(&tt.route)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for _, e := range entries {
				got = append(got, e.prio)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %x, want %x", got, tt.want)
			}
		})
	}
}

func TestGroupPaths(t *testing.T) {
	got := groupPaths([]string{"~/regex.*$", "/long-path", "/one", "/two", "/three", "~/.*"})
	want := []pathGroup{
		{regex: true, paths: []string{"/regex.*$", "/.*"}},
		{paths: []string{"/long-path"}},
		{paths: []string{"/one", "/two"}},
		{paths: []string{"/three"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestMatcherID(t *testing.T) {
	const route = "e8fb37f1-102d-461e-9c51-6608a6bb8101"
	if got := matcherID(route, 0, 1); got != route {
		t.Errorf("a lone group keeps the route id, got %s", got)
	}
	// UUID v5 in Kong's namespace (resty.jit-uuid factory_v5).
	for i, want := range []string{"086b6591-cafa-58be-b2dd-7640f294421f", "f3f66107-db02-53dc-baaf-ff30ef99a039"} {
		if got := matcherID(route, i, 2); got != want {
			t.Errorf("group %d: got %s, want %s", i, got, want)
		}
	}
}
