package handler

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico/logger"
	"github.com/portico-gw/portico/luavm"
)

// The seed's lambda: one line as given to curl, and as the lambda.lua file
// given to HTTPie.
const (
	seedLambdaOneLine = `return function (data, event, source, pid) local user = data.entity.username error("Event hook on consumer " .. user .. "")end`
	seedLambdaFile    = "return function (data, event, source, pid)\n  local user = data.entity.username\n  error(\"Event hook on consumer \" .. user .. \"\")\nend\n"
)

func newLambdaVM(t testing.TB, opts luavm.Options) *luavm.VM {
	t.Helper()
	vm, err := luavm.New(opts)
	if err != nil {
		t.Fatalf("luavm.New: %v", err)
	}
	t.Cleanup(vm.Close)
	return vm
}

func lambdaDelivery(data map[string]any, functions ...string) Delivery {
	fs := make([]any, len(functions))
	for i, f := range functions {
		fs[i] = f
	}
	return Delivery{ID: "d1", Attempt: 1,
		Hook: Hook{ID: "c9fdd58d-5416-4d3a-9467-51e5cfe4ca0e", Source: "crud", Event: "consumers",
			Handler: "lambda", Config: map[string]any{"functions": fs}},
		Event: Event{Source: "crud", Name: "consumers", Data: data}}
}

func loisLane() map[string]any {
	return map[string]any{"entity": map[string]any{"username": "Lois Lane"}}
}

func TestLambdaDeliver(t *testing.T) {
	cases := []struct {
		name      string
		functions []string
		data      map[string]any
		opts      luavm.Options

		wantErr       string // "" = success
		permanent     bool
		wantBody      string
		wantLogSuffix string // "" = no error-log line
		maxTime       time.Duration
	}{
		{
			name:      "seed lambda, one line",
			functions: []string{seedLambdaOneLine},
			data:      loisLane(),
			wantErr:   "Event hook on consumer Lois Lane",
			permanent: true,
			// ChunkName: cut after 45 bytes, as LuaJIT's load() names it.
			wantLogSuffix: `[string "return function (data, event, source, pid) lo..."]:1: Event hook on consumer Lois Lane`,
		},
		{
			name:          "seed lambda, lambda.lua",
			functions:     []string{seedLambdaFile},
			data:          loisLane(),
			wantErr:       `[string "return function (data, event, source, pid)..."]:3: Event hook on consumer Lois Lane`,
			permanent:     true,
			wantLogSuffix: `[string "return function (data, event, source, pid)..."]:3: Event hook on consumer Lois Lane`,
		},
		{
			name:      "Kong's chain sample",
			functions: []string{`return function() return "HELLO" end`, `return function(data) return data .. " WORLD" end`},
			data:      map[string]any{},
			wantBody:  `"HELLO WORLD"`,
		},
		{
			name:      "arguments and table result",
			functions: []string{`return function(data, event, source, pid) return {u = data.entity.username, e = event, s = source, p = pid} end`},
			data:      loisLane(),
			wantBody:  `{"e":"consumers","p":4242,"s":"crud","u":"Lois Lane"}`,
		},
		{
			name:      "nil data becomes an empty table",
			functions: []string{`return function(data) return type(data) .. (next(data) == nil and " empty" or "") end`},
			wantBody:  `"table empty"`,
		},
		{
			name:      "number result",
			functions: []string{`return function() return 42 end`},
			wantBody:  `42`,
		},
		{
			name:      "true result: success without body",
			functions: []string{`return function() return true end`},
			wantBody:  ``,
		},
		{
			name:      "no functions: the data is the result",
			functions: []string{},
			data:      loisLane(),
			wantBody:  `{"entity":{"username":"Lois Lane"}}`,
		},
		{
			name:      "nil, err stops the chain, not logged",
			functions: []string{`return function() return nil, "boom" end`, `return function() error("not reached") end`},
			wantErr:   "lambda: functions[1]: boom",
			permanent: true,
		},
		{
			name:      "nil, false does not stop the chain",
			functions: []string{`return function(data) return data, false end`, `return function(data) return "ok" end`},
			wantBody:  `"ok"`,
		},
		{
			name:      "falsy final: nil",
			functions: []string{`return function() return "x" end`, `return function() return nil end`},
			wantErr:   "lambda: functions[2] returned nil: a falsy result is a failure",
			permanent: true,
		},
		{
			name:      "falsy final: false",
			functions: []string{`return function() return false end`},
			wantErr:   "returned false: a falsy result is a failure",
			permanent: true,
		},
		{
			name:      "syntax error is permanent",
			functions: []string{`return function() return 1 end`, `return finction() end`},
			wantErr:   "lambda: functions[2]: Error parsing function: ",
			permanent: true,
		},
		{
			name:          "timeout",
			functions:     []string{`return function() while true do end end`},
			opts:          luavm.Options{Timeout: 200 * time.Millisecond},
			wantErr:       "timeout",
			permanent:     true,
			wantLogSuffix: "timeout: context deadline exceeded",
			maxTime:       400 * time.Millisecond,
		},
		{
			name:          "memory budget",
			functions:     []string{`return function() local t = {} while true do t[#t+1] = string.rep("x", 1e6) end end`},
			opts:          luavm.Options{MaxMemory: 16 << 20, Timeout: 10 * time.Second},
			wantErr:       "lua memory limit exceeded",
			permanent:     true, // the call's own budget: it would run out again
			wantLogSuffix: "lua memory limit exceeded",
			maxTime:       5 * time.Second,
		},
		{
			name:          "sandbox: os.execute",
			functions:     []string{`return function() os.execute("touch /tmp/portico-lambda-escape") return true end`},
			wantErr:       "attempt to call a non-function object",
			permanent:     true,
			wantLogSuffix: "]:1: attempt to call a non-function object",
		},
		{
			name:      "untrusted_lua off is permanent",
			functions: []string{`return function() return true end`},
			opts:      luavm.Options{Mode: luavm.ModeOff},
			wantErr:   "Error parsing function: loading of untrusted Lua code disabled",
			permanent: true,
		},
		{
			name:      "config without functions is permanent",
			functions: nil,
			wantErr:   "lambda: config.functions: missing",
			permanent: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &lineRecorder{}
			l := NewLambda(newLambdaVM(t, tc.opts), rec, 4242)
			d := lambdaDelivery(tc.data, tc.functions...)
			if tc.functions == nil {
				d.Hook.Config = map[string]any{}
			}
			start := time.Now()
			res, err := l.Deliver(context.Background(), d)
			took := time.Since(start)
			if tc.maxTime > 0 && took > tc.maxTime {
				t.Errorf("took %v, want at most %v", took, tc.maxTime)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Deliver: %v", err)
				}
				if res.Status != 0 || res.Body != tc.wantBody {
					t.Errorf("Result = {Status: %d, Body: %q}, want {0, %q}", res.Status, res.Body, tc.wantBody)
				}
			} else {
				if err == nil {
					t.Fatalf("Deliver succeeded (body %q), want an error containing %q", res.Body, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %q, want it to contain %q", err, tc.wantErr)
				}
				var pe *PermanentError
				if got := errors.As(err, &pe); got != tc.permanent {
					t.Errorf("permanent = %v, want %v (%v)", got, tc.permanent, err)
				}
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if tc.wantLogSuffix == "" {
				if len(rec.lines) != 0 {
					t.Errorf("logged %q, want nothing", rec.lines)
				}
				return
			}
			if len(rec.lines) != 1 {
				t.Fatalf("logged %d lines %q, want 1", len(rec.lines), rec.lines)
			}
			if rec.levels[0] != logger.Error {
				t.Errorf("logged at %v, want error", rec.levels[0])
			}
			if !strings.HasPrefix(rec.lines[0], "[kong] event_hooks.lua:190 ") ||
				!strings.HasSuffix(rec.lines[0], tc.wantLogSuffix) {
				t.Errorf("logged %q, want [kong] event_hooks.lua:190 ...%s", rec.lines[0], tc.wantLogSuffix)
			}
		})
	}
}

// TestLambdaSeedLogLine checks the whole line against the seed's error log
// (without nginx's "*153047 " and ", context: ngx.timer..." parts).
func TestLambdaSeedLogLine(t *testing.T) {
	rec := &lineRecorder{}
	l := NewLambda(newLambdaVM(t, luavm.Options{}), rec, 114)
	if _, err := l.Deliver(context.Background(), lambdaDelivery(loisLane(), seedLambdaFile)); err == nil {
		t.Fatal("Deliver succeeded")
	}
	want := `[kong] event_hooks.lua:190 [string "return function (data, event, source, pid)..."]:3: Event hook on consumer Lois Lane`
	if len(rec.lines) != 1 || rec.lines[0] != want {
		t.Errorf("logged %q,\nwant [%q]", rec.lines, want)
	}
}

func TestLambdaDataNotModified(t *testing.T) {
	l := NewLambda(newLambdaVM(t, luavm.Options{}), nil, 1)
	data := loisLane()
	res, err := l.Deliver(context.Background(), lambdaDelivery(data,
		`return function(data) data.entity.username = "Clark Kent"; data.added = 1; return data end`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Body != `{"added":1,"entity":{"username":"Clark Kent"}}` {
		t.Errorf("Body = %q", res.Body)
	}
	if data["entity"].(map[string]any)["username"] != "Lois Lane" || len(data) != 1 {
		t.Errorf("the event's data was modified: %v", data)
	}
}

func TestLambdaNonJSONModelData(t *testing.T) {
	type entity struct {
		Username string `json:"username"`
	}
	l := NewLambda(newLambdaVM(t, luavm.Options{}), nil, 1)
	data := map[string]any{"entities": []map[string]any{{"username": "Lois Lane"}}, "e": entity{"Clark Kent"}}
	res, err := l.Deliver(context.Background(), lambdaDelivery(data,
		`return function(data) return data.entities[1].username .. "/" .. data.e.username end`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Body != `"Lois Lane/Clark Kent"` {
		t.Errorf("Body = %q", res.Body)
	}
}

func TestLambdaBodyCapped(t *testing.T) {
	l := NewLambda(newLambdaVM(t, luavm.Options{}), nil, 1)
	res, err := l.Deliver(context.Background(), lambdaDelivery(nil, `return function() return string.rep("é", 5000) end`))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Body) > lambdaMaxBody || len(res.Body) < lambdaMaxBody-3 {
		t.Errorf("len(Body) = %d, want about %d", len(res.Body), lambdaMaxBody)
	}
	if !strings.HasPrefix(res.Body, `"éé`) || strings.ToValidUTF8(res.Body, "?") != res.Body {
		t.Errorf("Body cut badly: ...%q", res.Body[len(res.Body)-8:])
	}
}

func TestLambdaContextCanceled(t *testing.T) {
	rec := &lineRecorder{}
	l := NewLambda(newLambdaVM(t, luavm.Options{Timeout: 10 * time.Second}), rec, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := l.Deliver(ctx, lambdaDelivery(nil, `return function() while true do end end`))
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("Deliver = %v after %v, want a cancellation within ~100ms", err, time.Since(start))
	}
	if len(rec.lines) != 0 {
		t.Errorf("logged %q: the caller's deadline is not the function's error", rec.lines)
	}
	// Running out of the delivery's time would happen again: final.
	var pe *PermanentError
	if !errors.As(err, &pe) {
		t.Errorf("a function that outlives the delivery's deadline is retried: %v", err)
	}
}

// A call cut short because the node stops is tried again later: it is
// not the function's doing.
func TestLambdaStoppedNodeIsRetried(t *testing.T) {
	l := NewLambda(newLambdaVM(t, luavm.Options{Timeout: 10 * time.Second}), &lineRecorder{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := l.Deliver(ctx, lambdaDelivery(nil, `return function() while true do end end`))
	var pe *PermanentError
	if err == nil || errors.As(err, &pe) {
		t.Fatalf("Deliver = %v, want a retryable error", err)
	}
}

func TestLambdaCompiledOnce(t *testing.T) {
	l := NewLambda(newLambdaVM(t, luavm.Options{}), nil, 1)
	var compiles atomic.Int32
	compile := l.compile
	l.compile = func(name, src string) (*luavm.Chunk, error) {
		compiles.Add(1)
		return compile(name, src)
	}
	d := lambdaDelivery(nil, `return function() return "HELLO" end`, `return function(data) return data .. " WORLD" end`)
	bad := lambdaDelivery(nil, `return finction() end`)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				if _, err := l.Deliver(context.Background(), d); err != nil {
					t.Error(err)
				}
				if _, err := l.Deliver(context.Background(), bad); err == nil {
					t.Error("syntax error: no error")
				}
			}
		})
	}
	wg.Wait()
	// Concurrent first deliveries may each compile a source once.
	if n := compiles.Load(); n < 3 || n > 3*4 {
		t.Errorf("%d compilations for 200 deliveries of 3 sources", n)
	}
	before := compiles.Load()
	for range 10 {
		_, _ = l.Deliver(context.Background(), d)
	}
	if n := compiles.Load(); n != before {
		t.Errorf("%d compilations for 10 deliveries of cached sources", n-before)
	}
}

func TestLambdaCacheBounded(t *testing.T) {
	c := newChunkCache(3, 20)
	for _, src := range []string{"a", "b", "c"} {
		c.put(src, &luavm.Chunk{}, nil)
	}
	c.get("a") // a is now the most recent
	c.put("d", &luavm.Chunk{}, nil)
	if ch, _ := c.get("b"); ch != nil {
		t.Error("b, the least recently used, was not evicted")
	}
	for _, src := range []string{"a", "c", "d"} {
		if ch, _ := c.get(src); ch == nil {
			t.Errorf("%s evicted", src)
		}
	}
	c.put(strings.Repeat("x", 18), &luavm.Chunk{}, nil) // bytes bound: 1+1+1+18 > 20 evicts a
	if ch, _ := c.get("a"); ch != nil {
		t.Error("a, the least recently used, was not evicted")
	}
	if n := c.len(); n != 3 || c.bytes != 20 {
		t.Errorf("len %d, bytes %d after a large source", n, c.bytes)
	}
	c.put(strings.Repeat("y", 21), &luavm.Chunk{}, nil) // larger than the whole cache
	if ch, _ := c.get(strings.Repeat("y", 21)); ch != nil || c.bytes > 20 {
		t.Error("a source larger than the cache was cached")
	}
}

// BenchmarkLambdaDeliver measures one delivery of a one-function hook on
// the log seed's event: "empty-data" is the VM's fixed cost (no data to
// convert), "true" adds converting the event to Lua, "field" returns a
// string, "data" also converts the table back and renders it as
// Result.Body.
func BenchmarkLambdaDeliver(b *testing.B) {
	for _, bc := range []struct {
		name, src string
		data      map[string]any
	}{
		{"empty-data", `return function(data, event, source, pid) return true end`, nil},
		{"true", `return function(data, event, source, pid) return true end`, seedEvent().Data},
		{"field", `return function(data, event, source, pid) return data.entity.username end`, seedEvent().Data},
		{"data", `return function(data, event, source, pid) data.seen = pid return data end`, seedEvent().Data},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l := NewLambda(newLambdaVM(b, luavm.Options{}), nil, 1)
			d := lambdaDelivery(bc.data, bc.src)
			ctx := context.Background()
			if _, err := l.Deliver(ctx, d); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.Deliver(ctx, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
