package luavm

import (
	"errors"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// threadVM is a trusted VM whose states carry a host function reading the
// call's value, as Lua plugins' PDK does.
func threadVM(t testing.TB, opts Options) *VM {
	t.Helper()
	opts.Mode = ModeOn
	opts.Setup = func(L *lua.LState) (any, error) {
		L.SetGlobal("host_value", L.NewFunction(func(L *lua.LState) int {
			s, _ := Value(L).(string)
			L.Push(lua.LString(s))
			return 1
		}))
		return "local", nil
	}
	return newVM(t, opts)
}

// fn compiles src (which returns a function) on the thread.
func fn(t testing.TB, vm *VM, th *Thread, src string) lua.LValue {
	t.Helper()
	c, err := vm.Compile("=test", src)
	if err != nil {
		t.Fatal(err)
	}
	if err := th.Call(nil, th.Load(c), 1); err != nil {
		t.Fatal(err)
	}
	f := th.L().Get(-1)
	th.L().Pop(1)
	return f
}

func TestThreadCalls(t *testing.T) {
	vm := threadVM(t, Options{Timeout: 2 * time.Second, MaxMemory: 4 << 20})
	cases := []struct {
		name, src string
		kind      ErrorKind
		want      string // result, or error text
		broken    bool
	}{
		{"value", `return function(x) return host_value() .. x end`, -1, "req-1!", false},
		{"error", `return function() error("boom") end`, KindRuntime, "test:1: boom", false},
		{"loop", `return function() while true do end end`, KindTimeout, "timeout", true},
		{"loop under pcall", `return function() while true do pcall(function() while true do end end) end end`, KindTimeout, "timeout", true},
		{"memory", `return function() local t = {} for i = 1, 1e8 do t[i] = i end end`, KindMemory, "memory", true},
		{"string memory", `return function() local s = "x" for i = 1, 40 do s = s .. s end end`, KindMemory, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			th, err := vm.Acquire()
			if err != nil {
				t.Fatal(err)
			}
			if th.Local() != "local" {
				t.Fatalf("local %v", th.Local())
			}
			f := fn(t, vm, th, tc.src)
			err = th.Call("req-1", f, 1, lua.LString("!"))
			if tc.kind < 0 {
				if err != nil || th.L().Get(-1).String() != tc.want {
					t.Fatalf("got %v, %v", th.L().Get(-1), err)
				}
			} else {
				var le *Error
				if !errors.As(err, &le) || le.Kind != tc.kind || !strings.Contains(le.Message, tc.want) {
					t.Fatalf("got %v, want kind %d %q", err, tc.kind, tc.want)
				}
			}
			if th.broken != tc.broken {
				t.Fatalf("broken %v", th.broken)
			}
			th.Release()
		})
	}
	// The pool still serves calls.
	th, err := vm.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer th.Release()
	if err := th.Call("v", fn(t, vm, th, `return function() return host_value() end`), 1); err != nil || th.L().Get(-1).String() != "v" {
		t.Fatalf("after: %v %v", th.L().Get(-1), err)
	}
}

func TestThreadCoroutineFollowsStop(t *testing.T) {
	vm := threadVM(t, Options{Timeout: 100 * time.Millisecond})
	th, _ := vm.Acquire()
	defer th.Release()
	f := fn(t, vm, th, `return function()
		local co = coroutine.create(function() while true do coroutine.yield() end end)
		coroutine.resume(co)
		while true do coroutine.resume(co) end
	end`)
	var le *Error
	if err := th.Call(nil, f, 0); !errors.As(err, &le) || le.Kind != KindTimeout {
		t.Fatalf("got %v", err)
	}
}

func BenchmarkThreadCall(b *testing.B) {
	vm := threadVM(b, Options{})
	th, _ := vm.Acquire()
	f := fn(b, vm, th, `return function(self, conf) local x = conf.n end`)
	th.Release()
	self, conf := &lua.LTable{}, &lua.LTable{}
	conf.RawSetString("n", lua.LNumber(1))
	b.ReportAllocs()
	for b.Loop() {
		th, err := vm.Acquire()
		if err != nil {
			b.Fatal(err)
		}
		if err := th.Call(nil, f, 0, self, conf); err != nil {
			b.Fatal(err)
		}
		th.Release()
	}
}
