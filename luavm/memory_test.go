package luavm

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

const testBudget = 16 << 20

// TestMemoryBudgetStopsRunaways: code that keeps what it builds is stopped
// with the memory error, soon (well within the timeout), whatever it
// builds and wherever it keeps it; its state is discarded and the VM goes
// on serving.
func TestMemoryBudgetStopsRunaways(t *testing.T) {
	tests := []struct {
		name string
		code string
		mode Mode
	}{
		{"table of 1 MB strings", `local t = {} while true do t[#t+1] = string.rep("x", 1e6) end`, ModeSandbox},
		{"string doubled with ..", `local s = "x" while true do s = s .. s end`, ModeSandbox},
		{"strings kept by a .. chain", `local t, s = {}, string.rep("x", 1e5) while true do t[#t+1] = s .. #t .. s end`, ModeSandbox},
		{"upper-cased copies", `local t, s = {}, string.rep("x", 1e6) while true do t[#t+1] = (#t % 2 == 0) and s:upper() or s:lower() end`, ModeSandbox},
		{"table.concat results", `local t, p = {}, {string.rep("x", 1e5), "y"} while true do t[#t+1] = table.concat(p, tostring(#t)) end`, ModeSandbox},
		{"small tables", `local t = {} while true do t[#t+1] = {a = #t} end`, ModeSandbox},
		{"closures", `local t = {} while true do local n = #t t[n+1] = function() return n end end`, ModeSandbox},
		{"global table", `big = {} while true do big[#big+1] = string.rep("x", 1e5) .. #big end`, ModeSandbox},
		{"strings held as varargs in the data stack",
			`local function f(n, ...) return f(n + 1, string.rep("x", 1e6) .. n, ...) end return f(0)`, ModeSandbox},
		{"strings held by coroutines",
			`local cs = {} while true do local s = string.rep("x", 1e6) .. #cs
			   local co = coroutine.create(function() coroutine.yield() return s end)
			   coroutine.resume(co) cs[#cs+1] = co end`, ModeSandbox},
		{"small tables inside a coroutine",
			`coroutine.wrap(function() local t = {} while true do t[#t+1] = {} end end)()`, ModeSandbox},
		{"loadstring'd doubling (untrusted_lua on)", `local f = loadstring("local s = 'x' while true do s = s .. s end") f()`, ModeOn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vm := newVM(t, Options{Mode: tt.mode, MaxMemory: testBudget, MaxStringBytes: 1 << 30,
				Timeout: 20 * time.Second, PoolSize: 1})
			defer vm.Close()
			bomb, err := vm.Compile("bomb", "return function() "+tt.code+" end")
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = vm.Call(context.Background(), bomb)
			var le *Error
			if !errors.Is(err, ErrMemory) || !errors.As(err, &le) || le.Kind != KindMemory {
				t.Fatalf("got %v, want the memory limit", err)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("stopped after %v", took)
			}
			if n := vm.OpenStates(); n != 0 {
				t.Errorf("%d states open after the call, want 0 (its state discarded)", n)
			}
			res, err := run(t, vm, "return 1")
			if err != nil || res[0] != float64(1) {
				t.Fatalf("after the runaway: %v %v", res, err)
			}
		})
	}
}

// TestMemoryBudgetIsPerCall: what other calls hold, what the process
// allocates elsewhere, and garbage a call no longer holds never count
// against a call's budget.
func TestMemoryBudgetIsPerCall(t *testing.T) {
	// Each holds about half the budget (six 1.3 MB strings) for a while.
	const halfBudget = `return function(n)
		local t = {}
		for i = 1, 6 do t[i] = string.rep("x", 1300000) .. i end
		local x = 0
		for i = 1, n do x = x + i end
		return #t
	end`
	tests := []struct {
		name  string
		code  string
		arg   int
		calls int                  // concurrent calls
		other func(stop chan bool) // runs beside the calls
	}{
		{"one call holding half its budget", halfBudget, 1e5, 1, nil},
		{"many calls each holding half their budget", halfBudget, 1e5, 8, nil},
		{"while the process allocates 4 budgets elsewhere", halfBudget, 1e6, 2, func(stop chan bool) {
			var hold [][]byte
			for len(hold) < 4*testBudget>>20 {
				b := make([]byte, 1<<20)
				b[0] = 1
				hold = append(hold, b)
			}
			<-stop
			runtime.KeepAlive(hold)
		}},
		{"quadratic .. with little kept", `return function(n)
			local s = "" for i = 1, n do s = s .. string.rep("y", 4096) end return #s end`, 300, 2, nil},
		{"many short-lived tables", `return function(n)
			local k = 0 for i = 1, n do local t = {i, i, {i}} k = k + #t end return k end`, 1e5, 2, nil},
		{"many short-lived strings", `return function(n)
			local k = 0 for i = 1, n do local s = string.rep("z", 1e5) .. i k = k + #s end return k end`, 200, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vm := newVM(t, Options{MaxMemory: testBudget, Timeout: 30 * time.Second})
			defer vm.Close()
			chunk, err := vm.Compile("fn", tt.code)
			if err != nil {
				t.Fatal(err)
			}
			stop := make(chan bool)
			var wg sync.WaitGroup
			if tt.other != nil {
				wg.Go(func() { tt.other(stop) })
			}
			errs := make([]error, tt.calls)
			var calls sync.WaitGroup
			for i := range tt.calls {
				calls.Go(func() {
					_, errs[i] = vm.CallCached(context.Background(), chunk, tt.arg)
				})
			}
			calls.Wait()
			close(stop)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
		})
	}
}

// TestMemoryBudgetAcrossCachedCalls: what a cached function keeps from
// call to call counts against each call; the call that passes the budget
// fails and its state, with what it kept, is dropped, so the next call
// starts afresh.
func TestMemoryBudgetAcrossCachedCalls(t *testing.T) {
	vm := newVM(t, Options{MaxMemory: testBudget, PoolSize: 1, Timeout: 20 * time.Second})
	defer vm.Close()
	chunk, err := vm.Compile("keeper", `local kept = {}
		return function() kept[#kept+1] = string.rep("k", 3e6) .. #kept return #kept end`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 8 {
		res, err := vm.CallCached(context.Background(), chunk)
		switch {
		case errors.Is(err, ErrMemory):
			got = append(got, "memory")
		case err != nil:
			t.Fatal(err)
		default:
			got = append(got, fmt.Sprint(res[0]))
		}
	}
	// The fifth call holds four kept strings (12 MB), its fresh 3 MB
	// string.rep and would add the 3 MB concatenation: over 16 MB.
	if want := "1 2 3 4 memory 1 2 3"; strings.Join(got, " ") != want {
		t.Fatalf("calls returned %v, want %s", got, want)
	}
}

// TestConcatSemantics: `..` compiled into the metered call gives what
// gopher-lua's own operator gives, values and errors alike.
func TestConcatSemantics(t *testing.T) {
	tests := []struct{ name, code string }{
		{"strings and numbers", `return "a" .. 1 .. "b" .. 2.5 .. -0 .. 1e300`},
		{"__concat, right to left", `local mt = {__concat = function(a, b)
			return (type(a) == "table" and "T" or a) .. "+" .. (type(b) == "table" and "T" or b) end}
			local t = setmetatable({}, mt) return "x" .. t .. "y", t .. t, 1 .. t`},
		{"inside nested functions", `local function f(a) return function(b) return a .. b end end return f("p")("q")`},
		{"in constructors, conditions and loops", `local t = {["k" .. 1] = "v" .. 2}
			local s = "" for i = 1, 3 do s = s .. i .. "," end
			if t.k1 .. "" == "v2" then return s end`},
		{"a global named like the helper", `_G["\0concat"] = nil return "a" .. "b"`},
		{"nil operand", `return nil .. "x"`},
		{"table without __concat", `return "x" .. {}`},
		{"error position", "local a = 1\nlocal b\nreturn a .. b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vm := newVM(t, Options{Mode: ModeOn})
			defer vm.Close()
			got, gotErr := run(t, vm, tt.code)

			L := lua.NewState()
			defer L.Close()
			var want []any
			wantErr := L.DoString(tt.code)
			for i := 1; i <= L.GetTop(); i++ {
				want = append(want, L.Get(i).String())
			}
			var gotS []any
			for _, v := range got {
				gotS = append(gotS, fmt.Sprint(v))
			}
			if fmt.Sprint(gotS) != fmt.Sprint(want) || (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("got %v, %v; gopher-lua gives %v, %v", gotS, gotErr, want, wantErr)
			}
			if gotErr != nil {
				// gopher-lua names the chunk <string>; Compile names it by its source.
				wantMsg := strings.SplitN(wantErr.Error(), "\n", 2)[0]
				wantMsg = wantMsg[strings.Index(wantMsg, ":"):]
				if !strings.HasSuffix(gotErr.Error(), wantMsg) {
					t.Fatalf("error %q, gopher-lua's ends %q", gotErr, wantMsg)
				}
			}
		})
	}

	vm := newVM(t, Options{MaxStringBytes: 1 << 10})
	defer vm.Close()
	code := "local s = ('x'):rep(600)\nreturn s .. s"
	want := `[string "local s = ('x'):rep(600)..."]:2: string concatenation: resulting string too large (limit is 1024 bytes)`
	if _, err := run(t, vm, code); err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// TestSyntaxDepth: code nested deeper than Lua's 200 levels is refused at
// once, before gopher-lua's compiler spends seconds on it.
func TestSyntaxDepth(t *testing.T) {
	vm := newVM(t, Options{})
	defer vm.Close()
	tests := []struct {
		name    string
		code    string
		refused bool
	}{
		{"long + chain", "return " + strings.Repeat("1+", 20000) + "1", true},
		{"deep calls", "return " + strings.Repeat("f(", 300) + "1" + strings.Repeat(")", 300), true},
		{"deep blocks", strings.Repeat("do ", 250) + strings.Repeat("end ", 250), true},
		{"nesting Lua allows", "return " + strings.Repeat("1+", 100) + "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := vm.Compile("deep", tt.code)
			if took := time.Since(start); took > time.Second {
				t.Errorf("compiling took %v", took)
			}
			if got := err != nil && strings.Contains(err.Error(), ErrSyntaxLevels.Error()); got != tt.refused {
				t.Fatalf("refused = %v (%v), want %v", got, err, tt.refused)
			}
		})
	}
}

// TestDataStackReader pins the reflection memory accounting relies on.
func TestDataStackReader(t *testing.T) {
	if err := checkDataStack(); err != nil {
		t.Fatal(err)
	}
}
