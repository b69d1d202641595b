package handler

import (
	"encoding/json"
	"math"
	"net"
	"strings"
	"testing"
	"time"
)

// The expected strings below were checked against inspect.lua under
// LuaJIT with the equivalent Lua values.
func TestInspect(t *testing.T) {
	shared := map[string]any{"x": 1}
	cyclic := map[string]any{"name": "me"}
	cyclic["self"] = cyclic

	tests := []struct {
		name string
		v    any
		want string
	}{
		{"nil", nil, "nil"},
		{"true", true, "true"},
		{"false", false, "false"},
		{"int", 68854, "68854"},
		{"negative int", int64(-3), "-3"},
		{"uint8", uint8(200), "200"},
		{"integral float", float64(1627574246), "1627574246"},
		{"float", 0.1, "0.1"},
		{"third", 1.0 / 3, "0.33333333333333"},
		{"float 1e14", 1e14, "1e+14"},
		{"float 15 digits", 123456789012345.0, "1.2345678901235e+14"},
		{"float tie rounds away from zero", 1234567890123450.0, "1.2345678901235e+15"},
		{"negative tie", -123456789012345.0, "-1.2345678901235e+14"},
		{"not a tie", 1.00000000000005, "1"},
		{"float 2^53", float64(1 << 53), "9.007199254741e+15"},
		{"small float", 1e-5, "1e-05"},
		{"negative zero", math.Copysign(0, -1), "-0"},
		{"inf", math.Inf(1), "inf"},
		{"-inf", math.Inf(-1), "-inf"},
		{"nan", math.NaN(), "nan"},
		{"float32", float32(0.1), "0.1"},
		{"json int", json.Number("42"), "42"},
		{"json float", json.Number("1.50"), "1.5"},
		{"string", "Elizabeth Bennet", `"Elizabeth Bennet"`},
		{"empty string", "", `""`},
		{"double quotes only", `say "hi"`, `'say "hi"'`},
		{"both quotes", `it's "q"`, `"it's \"q\""`},
		{"single quote only", `it's`, `"it's"`},
		{"backslash", `a\b`, `"a\\b"`},
		{"short escapes", "\a\b\f\n\r\t\v", `"\a\b\f\n\r\t\v"`},
		{"control chars", "\x01x\x001\x1f", `"\1x\0001\31"`},
		{"control before digit", "\x011", `"\0011"`},
		{"newline before digit", "\n1", `"\n1"`},
		{"DEL", "a\x7fb", `"a\127b"`},
		{"utf-8 kept", "é ü 日本", `"é ü 日本"`},
		{"bytes", []byte("ab"), `"ab"`},
		{"text marshaler", net.IPv4(10, 0, 0, 1), `"10.0.0.1"`},
		{"nil text marshaler", (*time.Time)(nil), "nil"},
		{"time", time.Date(2021, 7, 29, 15, 57, 26, 0, time.UTC), `"2021-07-29T15:57:26Z"`},
		{"empty map", map[string]any{}, "{}"},
		{"nil map", map[string]any(nil), "{}"},
		{"empty slice", []any{}, "{}"},
		{"array", []any{"a", 1, true}, `{ "a", 1, true }`},
		{"string slice", []string{"a", "b"}, `{ "a", "b" }`},
		{"nested arrays", []any{[]any{1, 2}, []any{}, []any{"x", []any{true}}}, `{ { 1, 2 }, {}, { "x", { true } } }`},
		{"hash", map[string]any{"b": 2, "a": 1}, "{\n  a = 1,\n  b = 2\n}"},
		{"nil values left out", map[string]any{"a": 1, "gone": nil}, "{\n  a = 1\n}"},
		{"only nil values", map[string]any{"gone": nil}, "{}"},
		{
			"keys",
			map[string]any{"key-x": 1, "_id": 2, "A": 3, "1abc": 4, "end": 5, "ok_1": 6, "": 7},
			"{\n  [\"\"] = 7,\n  [\"1abc\"] = 4,\n  A = 3,\n  _id = 2,\n  [\"end\"] = 5,\n  [\"key-x\"] = 1,\n  ok_1 = 6\n}",
		},
		{
			"mixed keys",
			map[any]any{"key-x": 1, 1: "a", 2: "b", 10: 5, 2.5: 1, "_id": 2, true: 1, 3.0: "c"},
			"{ \"a\", \"b\", \"c\",\n  [2.5] = 1,\n  [10] = 5,\n  [true] = 1,\n  _id = 2,\n  [\"key-x\"] = 1\n}",
		},
		{"int keys without 1", map[int]string{2: "b", 3: "c"}, "{\n  [2] = \"b\",\n  [3] = \"c\"\n}"},
		{"slice with a nil", []any{1, nil, 3}, "{ 1,\n  [3] = 3\n}"},
		{"slice starting with nil", []any{nil, "x"}, "{\n  [2] = \"x\"\n}"},
		{"array of tables", []any{map[string]any{"a": 1}, map[string]any{"b": map[string]any{}}}, "{ {\n    a = 1\n  }, {\n    b = {}\n  } }"},
		{"table in array in hash", map[string]any{"a": []any{1, 2, map[string]any{"c": 3}}}, "{\n  a = { 1, 2, {\n      c = 3\n    } }\n}"},
		{"shared table", []any{shared, shared}, "{ <1>{\n    x = 1\n  }, <table 1> }"},
		{"cycle", cyclic, "<1>{\n  name = \"me\",\n  self = <table 1>\n}"},
		{"pointer", new(42), "42"},
		{"struct", struct{ A int }{1}, `"{1}"`},
		{"func", func() {}, "<function 1>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Inspect(tt.v); got != tt.want {
				t.Errorf("Inspect(%#v)\n got: %s\nwant: %s", tt.v, got, tt.want)
			}
		})
	}
}

// TestInspectSeed is the data table of Kong's log example.
func TestInspectSeed(t *testing.T) {
	got := Inspect([]any{"consumers", "crud", seedEvent().Data, 68854})
	want := strings.Join([]string{
		`{ "consumers", "crud", {`,
		`    entity = {`,
		`      created_at = 1627574246,`,
		`      id = "4757bd6b-8d54-4b08-bf24-01e346a9323e",`,
		`      type = 0,`,
		`      username = "Elizabeth Bennet"`,
		`    },`,
		`    operation = "create",`,
		`    schema = "consumers"`,
		`  }, 68854 }`,
	}, "\n")
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestInspectDeep: nesting past the bound prints "{...}" instead of
// exhausting the stack.
func TestInspectDeep(t *testing.T) {
	var v any = "leaf"
	for range 500 {
		v = []any{v}
	}
	got := Inspect(v)
	if !strings.Contains(got, "{...}") || strings.Contains(got, "leaf") {
		t.Errorf("deep value not cut: %d bytes", len(got))
	}
}

func BenchmarkInspect(b *testing.B) {
	ev := seedEvent()
	b.Run("seed", func(b *testing.B) {
		v := []any{ev.Name, ev.Source, ev.Data, 68854}
		b.ReportAllocs()
		for b.Loop() {
			_ = Inspect(v)
		}
	})
	b.Run("log lines", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = logLines(ev, 68854)
		}
	})
}
