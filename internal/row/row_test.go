package row

import (
	"slices"
	"testing"
)

func TestReaders(t *testing.T) {
	r := map[string]any{"s": "x", "b": false, "f": 2.5, "i": 7, "l": []any{"a", 1, "b"}, "ls": []string{"c"},
		"m": map[string]any{"k": "v"}, "null": nil}
	tests := []struct {
		name      string
		got, want any
	}{
		{"string", String(r, "s"), "x"},
		{"string of a number", String(r, "f"), ""},
		{"string or default", StringOr(r, "missing", "d"), "d"},
		{"bool", Bool(r, "b", true), false},
		{"bool of null", Bool(r, "null", true), true},
		{"float", Number(r["f"], 0), 2.5},
		{"int as number", Number(r["i"], 0), 7.0},
		{"number default", Number(r["s"], 9), 9.0},
		{"int of float", Int(r, "f", 0), 2},
		{"int default", Int(r, "missing", 80), 80},
		{"map", Map(r, "m")["k"], "v"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if got := Strings(r["l"]); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Strings([]any) = %v", got)
	}
	if got := Strings(r["ls"]); !slices.Equal(got, []string{"c"}) {
		t.Errorf("Strings([]string) = %v", got)
	}
	if Strings(r["s"]) != nil {
		t.Error("Strings of a string is not nil")
	}
}
