package luavm

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

func newVM(t testing.TB, opts Options) *VM {
	t.Helper()
	vm, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return vm
}

func run(t testing.TB, vm *VM, src string) ([]any, error) {
	t.Helper()
	c, err := vm.Compile("test", src)
	if err != nil {
		return nil, err
	}
	return vm.Run(context.Background(), c)
}

func TestSandboxEscapesFail(t *testing.T) {
	vm := newVM(t, Options{Mode: ModeSandbox})
	cases := []struct{ name, src, want string }{
		{"os.execute", `return os.execute("true")`, "non-function"},
		{"io.open", `return io.open("/etc/passwd")`, "io"},
		{"load", `return load("return 1")`, "non-function"},
		{"loadstring", `return loadstring("return 1")()`, "non-function"},
		{"loadfile", `return loadfile("/etc/passwd")`, "non-function"},
		{"dofile", `return dofile("/etc/passwd")`, "non-function"},
		{"require os", `return require("os")`, "require 'os' not allowed within sandbox"},
		{"string.dump", `return string.dump(function() end)`, "non-function"},
		{"string dump method", `return (""):dump()`, ""},
		{"getmetatable string", `getmetatable("").__index.upper = nil`, "non-function"},
		{"setmetatable _G", `setmetatable(_G, {})`, "non-function"},
		{"rawset string", `rawset(string, "x", 1)`, "non-function"},
		{"rawget", `return rawget(string, "upper")`, "non-function"},
		{"getfenv", `return getfenv(1)`, "non-function"},
		{"setfenv", `setfenv(1, {})`, "non-function"},
		{"debug.getinfo", `return debug.getinfo(1)`, "debug"},
		{"collectgarbage", `collectgarbage()`, "non-function"},
		{"module", `module("x")`, "non-function"},
		{"newproxy", `return newproxy(true)`, "non-function"},
		{"package", `return package.loaded`, "package"},
		{"os.getenv", `return os.getenv("HOME")`, "non-function"},
		{"os.exit", `os.exit(1)`, "non-function"},
		{"os.remove", `os.remove("/tmp/x")`, "non-function"},
		{"math.randomseed", `math.randomseed(1)`, "non-function"},
		{"write string lib", `string.upper = function() return "pwned" end`, "Cannot modify string.upper. Protected by the sandbox."},
		{"write math.pi", `math.pi = 3`, "Protected by the sandbox"},
		{"write os", `os.execute = function() end`, "Protected by the sandbox"},
		{"pairs lib is empty proxy", `for k in pairs(string) do error("leak " .. k) end; error("ok")`, "ok"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := run(t, vm, tc.src)
			if err == nil {
				t.Fatalf("expected an error, got results %v", res)
			}
			if tc.want != "" && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestSandboxIsolationBetweenCalls(t *testing.T) {
	vm := newVM(t, Options{Mode: ModeSandbox, PoolSize: 1})
	t.Run("string.upper survives overwrite attempt", func(t *testing.T) {
		_, _ = run(t, vm, `pcall(function() string.upper = function() return "pwned" end end)`)
		res, err := run(t, vm, `return string.upper("abc"), ("abc"):upper()`)
		if err != nil || res[0] != "ABC" || res[1] != "ABC" {
			t.Fatalf("got %v, %v", res, err)
		}
	})
	t.Run("globals invisible to next call", func(t *testing.T) {
		if _, err := run(t, vm, `leaked = 42; _G.leaked2 = 43`); err != nil {
			t.Fatal(err)
		}
		res, err := run(t, vm, `return leaked, leaked2, _G.leaked`)
		if err != nil || res[0] != nil || res[1] != nil || res[2] != nil {
			t.Fatalf("got %v, %v", res, err)
		}
	})
	t.Run("shadowing a global stays local", func(t *testing.T) {
		if _, err := run(t, vm, `pairs = nil; string = nil; tostring = function() return "x" end`); err != nil {
			t.Fatal(err)
		}
		res, err := run(t, vm, `return type(pairs), string.upper("a"), tostring(1)`)
		if err != nil || !reflect.DeepEqual(res, []any{"function", "A", "1"}) {
			t.Fatalf("got %v, %v", res, err)
		}
	})
}

func TestSandboxAllowed(t *testing.T) {
	vm := newVM(t, Options{Mode: ModeSandbox})
	cases := []struct {
		name, src string
		want      []any
	}{
		{"string method", `return ("abc"):upper()`, []any{"ABC"}},
		{"string functions", `return string.format("%s-%03d", "a", 7), string.rep("ab", 3), ("a,b"):gsub(",", ";")`, []any{"a-007", "ababab", "a;b", float64(1)}},
		{"pcall", `local ok, err = pcall(function() error("boom", 0) end); return ok, err`, []any{false, "boom"}},
		{"pcall table error", `local ok, err = pcall(error, {code = 1}); return ok, err.code`, []any{false, 1.0}},
		{"table.sort", `local t = {3,1,2}; table.sort(t); return t`, []any{[]any{1.0, 2.0, 3.0}}},
		{"table.concat", `return table.concat({"a","b","c"}, ",")`, []any{"a,b,c"}},
		{"os.time", `return type(os.time()), type(os.clock()), type(os.date("%Y"))`, []any{"number", "number", "string"}},
		{"math.floor", `return math.floor(3.7), math.max(1, 5)`, []any{3.0, 5.0}},
		{"closures", `local function counter() local n = 0; return function() n = n + 1; return n end end; local c = counter(); c(); return c()`, []any{2.0}},
		{"coroutines", `local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1); return b * 2 end); return co(1), co(10)`, []any{2.0, 20.0}},
		{"globals in call", `x = 1; x = x + 1; return x, _G.x`, []any{2.0, 2.0}},
		{"select unpack", `return select("#", unpack({1, 2, 3}))`, []any{3.0}},
		{"_VERSION", `return _VERSION`, []any{"Lua 5.1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := run(t, vm, tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res, tc.want) {
				t.Fatalf("got %#v, want %#v", res, tc.want)
			}
		})
	}
}

func TestRequiresAndEnvironment(t *testing.T) {
	vm := newVM(t, Options{
		Mode:        ModeSandbox,
		Requires:    []string{"greet", "missing", "string"},
		Environment: []string{"host.version", "host.cfg", "plain"},
		Globals: map[string]any{
			"host":  map[string]any{"version": "3.0", "secret": "pw", "cfg": map[string]any{"a": map[string]any{"b": 1}}},
			"plain": 7,
		},
		Modules: map[string]lua.LGFunction{"greet": func(L *lua.LState) int {
			t := L.NewTable()
			t.RawSetString("hi", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LString("hi " + L.CheckString(1))); return 1 }))
			L.Push(t)
			return 1
		}},
	})
	cases := []struct {
		name, src, wantErr string
		want               []any
	}{
		{"allowed module", `return require("greet").hi("bob")`, "", []any{"hi bob"}},
		{"module protected", `require("greet").hi = nil`, "Cannot modify greet.hi", nil},
		{"not listed", `return require("other")`, "require 'other' not allowed within sandbox", nil},
		{"listed but not provided", `return require("missing")`, "module 'missing' not found", nil},
		{"listed stdlib", `return require("string").upper("a")`, "", []any{"A"}},
		{"env dotted", `return host.version, host.secret, plain`, "", []any{"3.0", nil, 7.0}},
		{"env nested read", `return host.cfg.a.b`, "", []any{1.0}},
		{"env nested write", `host.cfg.a.b = 2`, "Cannot modify host.cfg.a.b", nil},
		{"env write", `host.version = "x"`, "Cannot modify host.version", nil},
		{"unlisted global", `return type(host.secret), type(print)`, "", []any{"nil", "nil"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := run(t, vm, tc.src)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want error containing %q, got %v (%v)", tc.wantErr, err, res)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res, tc.want) {
				t.Fatalf("got %#v, want %#v", res, tc.want)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	// The timeouts are tested with a short one; the other limits with a
	// long one, so that a slow machine (or the race detector) cannot turn
	// them into timeouts. 1000 coroutines need about 85 MB.
	const timeout = 200 * time.Millisecond
	fast := newVM(t, Options{Mode: ModeSandbox, Timeout: timeout})
	slow := newVM(t, Options{Mode: ModeSandbox, Timeout: 10 * time.Second, MaxMemory: 256 << 20})
	cases := []struct{ name, src, want string }{
		{"infinite loop", `while true do end`, "deadline"},
		{"loop catching timeout with pcall", `while true do pcall(function() while true do end end) end`, "deadline"},
		{"tail pcall swallowing timeout", `return pcall(function() while true do end end)`, "deadline"},
		{"infinite recursion", `local function f() return 1 + f() end; return f()`, "stack overflow"},
		{"string.rep huge", `return string.rep("x", 1e9)`, "too large"},
		{"string rep method", `return ("xy"):rep(1e8)`, "too large"},
		{"string.format width", `return string.format("%999999d", 1)`, "width or precision too long"},
		{"table.concat huge", `local s = string.rep("x", 1e6); local t = {}; for i = 1, 20 do t[i] = s end; return table.concat(t)`, "too large"},
		{"gsub huge", `local s = string.rep("x", 1e4); return (s:gsub("", s))`, "too large"},
		{"too many coroutines", `for i = 1, 2000 do coroutine.create(function() end) end`, "too many coroutines"},
		{"coroutine infinite loop", `local co = coroutine.create(function() while true do end end); return coroutine.resume(co)`, "deadline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vm, limit := slow, 10*time.Second
			if tc.want == "deadline" {
				vm, limit = fast, 10*timeout
			}
			start := time.Now()
			res, err := run(t, vm, tc.src)
			if err == nil {
				t.Fatalf("expected error, got %v", res)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if d := time.Since(start); d > limit {
				t.Fatalf("took %v", d)
			}
			if tc.want == "deadline" {
				if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("timeout error does not match ErrTimeout/DeadlineExceeded: %v", err)
				}
			}
		})
	}
	t.Run("state usable after limits", func(t *testing.T) {
		for _, vm := range []*VM{fast, slow} {
			res, err := run(t, vm, `return 1 + 1`)
			if err != nil || res[0] != 2.0 {
				t.Fatalf("%v %v", res, err)
			}
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		long := newVM(t, Options{Timeout: 10 * time.Second})
		c, err := long.Compile("loop", `return function() while true do end end`)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err = long.Call(ctx, c)
		if err == nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("want canceled error, got %v", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("cancel not honoured")
		}
		if _, err := long.Call(ctx, c); !errors.Is(err, context.Canceled) {
			t.Fatalf("already-cancelled ctx: %v", err)
		}
	})
}

func TestCheckFunction(t *testing.T) {
	vm := newVM(t, Options{})
	cases := []struct{ name, src, want string }{
		{"ok", `return function(data) return data end`, ""},
		{"syntax", `finction x() end`, "Error parsing function: "},
		{"number", `return 1`, "Bad return value from function, expected function type, got number"},
		{"nil", `local x = 1`, "Bad return value from function, expected function type, got nil"},
		{"string", `return "x"`, "Bad return value from function, expected function type, got string"},
		{"table", `return {}`, "Bad return value from function, expected function type, got table"},
		{"boolean", `return true`, "Bad return value from function, expected function type, got boolean"},
		{"runtime", "local x = nil\nreturn x.y", `[string "local x = nil..."]:2:`},
		{"escape at top level", `os.execute("id") return function() end`, "attempt to call a non-function object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := vm.CheckFunction("event_hooks:1", tc.src)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want %q, got nil", tc.want)
			}
			if tc.name == "syntax" || tc.name == "runtime" {
				if !strings.HasPrefix(err.Error(), tc.want) {
					t.Fatalf("got %q, want prefix %q", err, tc.want)
				}
				return
			}
			if tc.name == "escape at top level" {
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("got %q", err)
				}
				return
			}
			if err.Error() != tc.want {
				t.Fatalf("got %q, want %q", err, tc.want)
			}
		})
	}
}

func TestKongChunkName(t *testing.T) {
	vm := newVM(t, Options{})
	src := "return function (data, event, source, pid)\n local user = data.entity.username\n error(\"Event hook on consumer \" .. user .. \"\")\nend"
	c, err := vm.Compile("event_hooks:abc", src)
	if err != nil {
		t.Fatal(err)
	}
	_, err = vm.Call(context.Background(), c, map[string]any{"entity": map[string]any{"username": "Lois Lane"}}, "crud", "consumers", 42)
	want := `[string "return function (data, event, source, pid)..."]:3: Event hook on consumer Lois Lane`
	if err == nil || err.Error() != want {
		t.Fatalf("got %q\nwant %q", err, want)
	}
	var le *Error
	if !errors.As(err, &le) || le.Kind != KindRuntime {
		t.Fatalf("not a runtime *Error: %#v", err)
	}

	for _, tc := range []struct{ src, want string }{
		{"return 1", `[string "return 1"]`},
		{"return 1\nreturn 2", `[string "return 1..."]`},
		{strings.Repeat("a", 50), `[string "` + strings.Repeat("a", 45) + `..."]`},
		{strings.Repeat("a", 45), `[string "` + strings.Repeat("a", 45) + `"]`},
	} {
		if got := ChunkName(tc.src); got != tc.want {
			t.Errorf("ChunkName(%q) = %q, want %q", tc.src, got, tc.want)
		}
	}
}

func TestLambdaChain(t *testing.T) {
	// Kong EE test: "HELLO" then data .. " WORLD".
	vm := newVM(t, Options{})
	c1, _ := vm.Compile("f1", `return function() return "HELLO" end`)
	c2, err := vm.Compile("f2", `return function(data, event, source, pid) return data .. " WORLD" end`)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := vm.Call(context.Background(), c1)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := vm.Call(context.Background(), c2, r1[0], "ev", "src", 42)
	if err != nil || r2[0] != "HELLO WORLD" {
		t.Fatalf("%v %v", r2, err)
	}
}

func TestConversion(t *testing.T) {
	vm := newVM(t, Options{})
	ident, err := vm.Compile("id", `return function(...) return ... end`)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		in     any
		want   any
		errSub string
	}{
		{"nil", nil, nil, ""},
		{"bool", true, true, ""},
		{"float", 1.5, 1.5, ""},
		{"int", 42, 42.0, ""},
		{"string", "héllo", "héllo", ""},
		{"array", []any{1.0, "a", false}, []any{1.0, "a", false}, ""},
		{"empty map", map[string]any{}, map[string]any{}, ""},
		{"empty array becomes document", []any{}, map[string]any{}, ""},
		{"nested", map[string]any{"a": []any{map[string]any{"b": []any{1.0, 2.0}}}, "c": map[string]any{"d": "e"}, "n": nil},
			map[string]any{"a": []any{map[string]any{"b": []any{1.0, 2.0}}}, "c": map[string]any{"d": "e"}}, ""},
		{"typed", map[string]string{"x": "y"}, map[string]any{"x": "y"}, ""},
		{"unsupported", struct{}{}, nil, "cannot convert"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := vm.Call(context.Background(), ident, tc.in)
			if tc.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSub) {
					t.Fatalf("want %q, got %v", tc.errSub, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res[0], tc.want) {
				t.Fatalf("got %#v, want %#v", res[0], tc.want)
			}
		})
	}
	luaCases := []struct {
		name, src string
		want      any
		errSub    string
	}{
		{"sparse table is a map", `return {[1]="a", [3]="c"}`, map[string]any{"1": "a", "3": "c"}, ""},
		{"mixed table", `return {1, 2, x = 3}`, map[string]any{"1": 1.0, "2": 2.0, "x": 3.0}, ""},
		{"bool and float keys", `return {[true] = 1, [1.5] = 2}`, map[string]any{"true": 1.0, "1.5": 2.0}, ""},
		{"cycle", `local t = {}; t.self = t; return t`, nil, "cycle"},
		{"shared non-cyclic", `local s = {1}; return {a = s, b = s}`, map[string]any{"a": []any{1.0}, "b": []any{1.0}}, ""},
		{"too deep", `local t = {}; local c = t; for i = 1, 150 do c.x = {}; c = c.x end; return t`, nil, "deeper"},
		{"function", `return function() end`, nil, "cannot convert a Lua function"},
	}
	for _, tc := range luaCases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := run(t, vm, tc.src)
			if tc.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSub) {
					t.Fatalf("want %q, got %v", tc.errSub, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res[0], tc.want) {
				t.Fatalf("got %#v, want %#v", res[0], tc.want)
			}
		})
	}
	t.Run("deep go value", func(t *testing.T) {
		var v any = "leaf"
		for i := 0; i < 150; i++ {
			v = []any{v}
		}
		if _, err := vm.Call(context.Background(), ident, v); err == nil || !strings.Contains(err.Error(), "deeper") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestConcurrentIsolation(t *testing.T) {
	vm := newVM(t, Options{PoolSize: 4})
	c, err := vm.Compile("iso", `return function(id)
		assert(mine == nil, "saw a global from another call: " .. tostring(mine))
		mine = id
		local t = {}
		for i = 1, 10 do t[i] = id end
		return mine, table.concat(t, ",")
	end`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				res, err := vm.Call(context.Background(), c, id)
				if err != nil {
					errs <- err
					return
				}
				if res[0] != id || !strings.HasPrefix(res[1].(string), id+",") {
					errs <- fmt.Errorf("goroutine %d saw %v", g, res)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestModes(t *testing.T) {
	t.Run("off", func(t *testing.T) {
		vm := newVM(t, Options{Mode: ModeOff})
		if _, err := vm.Compile("x", "return 1"); !errors.Is(err, ErrUntrustedLuaOff) || !strings.Contains(err.Error(), "'untrusted_lua'") {
			t.Fatalf("Compile: %v", err)
		}
		err := vm.CheckFunction("x", "return function() end")
		if err == nil || !strings.HasPrefix(err.Error(), "Error parsing function: loading of untrusted Lua code disabled") || !errors.Is(err, ErrUntrustedLuaOff) {
			t.Fatalf("CheckFunction: %v", err)
		}
		if _, err := vm.Run(context.Background(), &Chunk{}); !errors.Is(err, ErrUntrustedLuaOff) {
			t.Fatalf("Run: %v", err)
		}
	})
	t.Run("on", func(t *testing.T) {
		vm := newVM(t, Options{Mode: ModeOn, Timeout: 200 * time.Millisecond, PoolSize: 1})
		res, err := run(t, vm, `return type(load), type(io.open), type(debug.getinfo), type(require("os").getenv)`)
		if err != nil || !reflect.DeepEqual(res, []any{"function", "function", "function", "function"}) {
			t.Fatalf("%v %v", res, err)
		}
		if _, err := run(t, vm, `g = 1`); err != nil {
			t.Fatal(err)
		}
		if res, err := run(t, vm, `return g`); err != nil || res[0] != nil {
			t.Fatalf("global leaked in mode on: %v %v", res, err)
		}
		if _, err := run(t, vm, `while true do end`); !errors.Is(err, ErrTimeout) {
			t.Fatalf("limits not applied in mode on: %v", err)
		}
		if _, err := run(t, vm, `return string.rep("x", 1e9)`); err == nil {
			t.Fatal("string.rep not guarded in mode on")
		}
	})
	t.Run("invalid", func(t *testing.T) {
		if _, err := New(Options{Mode: "maybe"}); err == nil {
			t.Fatal("want error")
		}
	})
}

func BenchmarkCall(b *testing.B) {
	vm := newVM(b, Options{})
	c, err := vm.Compile("bench", `return function(data, event, source, pid) return data end`)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := vm.Call(ctx, c, "payload", "crud", "consumers", 42); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallTable(b *testing.B) {
	vm := newVM(b, Options{})
	c, err := vm.Compile("bench", `return function(data, event, source, pid) data.seen = true; return data end`)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	data := map[string]any{"entity": map[string]any{"username": "lois", "id": "1"}, "operation": "create"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := vm.Call(ctx, c, data, "crud", "consumers", 42); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCallCachedKeepsTheFunction: the top level runs once per state, the
// function it returned serves later calls, and its upvalues persist (as a
// Kong lambda's do within a worker).
func TestCallCachedKeepsTheFunction(t *testing.T) {
	vm, err := New(Options{PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	chunk, err := vm.Compile("counter", "local n = 0\nreturn function() n = n + 1 return n end")
	if err != nil {
		t.Fatal(err)
	}
	var got []any
	for i := 0; i < 3; i++ {
		res, err := vm.CallCached(context.Background(), chunk)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, res[0])
	}
	if fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("cached calls returned %v, want [1 2 3]", got)
	}
	// Call still runs the top level every time.
	res, err := vm.Call(context.Background(), chunk)
	if err != nil || res[0] != float64(1) {
		t.Fatalf("Call returned %v, %v; want 1", res, err)
	}
}
