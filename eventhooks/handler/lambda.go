package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/portico-gw/portico/logger"
	"github.com/portico-gw/portico/luavm"
)

// Lambda is Kong's "lambda" handler: it runs the hook's config.functions,
// Lua sources that each return a function(data, event, source, pid), as a
// chain (kong-event-hooks.md §4.5):
//
//	data, err = fn(data, event, source, pid)   -- for each function, in order
//
// starting from the event's data (a Lua table). A function returning a
// non-nil, non-false err stops the chain and fails the delivery with err; a
// raised Lua error (and a timeout) fails the delivery and is also written
// to the error log at error level, as Kong's kong.log.err does:
//
//	[kong] event_hooks.lua:190 [string "return function (data, event, source, pid)..."]:3: Event hook on consumer Lois Lane
//
// A chain that ends in nil or false fails too (Kong retries falsy results).
// These failures are ordinary errors, retried per policy; a function that
// does not compile (or untrusted_lua = off) is a *PermanentError whose text
// holds Kong's "Error parsing function: ...".
//
// Compiled chunks are cached by source (a bounded LRU), so a function is
// parsed once, not on every delivery. Each function call runs on the VM
// (its sandbox, limits and Timeout) within ctx: a chain of n functions may
// take up to n times the VM's timeout, bounded by ctx's deadline.
//
// Unlike Kong, a function's top level is re-run for every call (the VM
// gives each call a fresh environment): upvalues of the returned function
// do not persist from one event to the next.
type Lambda struct {
	vm  *luavm.VM
	log LineWriter
	pid int

	cache *chunkCache
	// compile is vm.Compile; tests count calls through it.
	compile func(name, source string) (*luavm.Chunk, error)
}

var _ Handler = (*Lambda)(nil)

// Lambda limits.
const (
	// lambdaLogPrefix is what Kong's kong.log.err puts before the error:
	// the namespace and the source position of the call in Kong.
	lambdaLogPrefix = "[kong] event_hooks.lua:190 "
	// lambdaMaxBody caps Result.Body.
	lambdaMaxBody = 4096
	// lambdaCacheEntries and lambdaCacheBytes bound the compiled-chunk
	// cache: the number of sources, and their total length.
	lambdaCacheEntries = 512
	lambdaCacheBytes   = 4 << 20
	// lambdaChunkName labels compiled chunks; error messages use Kong's
	// [string "first line..."] form derived from the source instead.
	lambdaChunkName = "event_hooks"
)

// NewLambda returns a lambda handler running functions on vm. Raised Lua
// errors are written to log (nil: not logged); pid is passed to every
// function as its fourth argument (Kong: the worker that emitted the
// event).
func NewLambda(vm *luavm.VM, log LineWriter, pid int) *Lambda {
	return &Lambda{
		vm:      vm,
		log:     log,
		pid:     pid,
		cache:   newChunkCache(lambdaCacheEntries, lambdaCacheBytes),
		compile: vm.Compile,
	}
}

// parseLambdaFunctions reads config.functions: an array of strings.
func parseLambdaFunctions(cfg map[string]any) ([]string, error) {
	switch fs := cfg["functions"].(type) {
	case nil:
		return nil, errors.New("lambda: config.functions: missing")
	case []string:
		return fs, nil
	case []any:
		out := make([]string, len(fs))
		for i, f := range fs {
			s, ok := f.(string)
			if !ok {
				return nil, fmt.Errorf("lambda: config.functions[%d]: expected a string", i+1)
			}
			out[i] = s
		}
		return out, nil
	default:
		return nil, errors.New("lambda: config.functions: expected an array of strings")
	}
}

// chunks returns the compiled functions, from the cache when it has them.
// A source that does not compile is a *PermanentError.
func (l *Lambda) chunks(srcs []string) ([]*luavm.Chunk, error) {
	out := make([]*luavm.Chunk, len(srcs))
	for i, src := range srcs {
		c, err := l.cache.get(src)
		if c == nil && err == nil {
			c, err = l.compile(lambdaChunkName, src)
			if err != nil {
				var le *luavm.Error
				if errors.As(err, &le) {
					err = errors.New("Error parsing function: " + le.Message)
				} else {
					err = fmt.Errorf("Error parsing function: %w", err)
				}
			}
			l.cache.put(src, c, err) // compile errors too: they are permanent
		}
		if err != nil {
			return nil, &PermanentError{Err: fmt.Errorf("lambda: functions[%d]: %w", i+1, err)}
		}
		out[i] = c
	}
	return out, nil
}

// Deliver runs the hook's functions on the event. On success Result.Status
// is 0 and Result.Body is the chain's final value as JSON when it is a
// table, a string or a number (capped at 4096 bytes; empty otherwise).
func (l *Lambda) Deliver(ctx context.Context, d Delivery) (Result, error) {
	srcs, err := parseLambdaFunctions(d.Hook.Config)
	if err != nil {
		return Result{}, &PermanentError{Err: err}
	}
	chunks, err := l.chunks(srcs)
	if err != nil {
		return Result{}, err
	}

	var data any = map[string]any{} // an event without data still has a table
	if d.Event.Data != nil {
		data = luaSafeData(d.Event.Data)
	}
	for i, c := range chunks {
		res, err := l.vm.CallCached(ctx, c, data, d.Event.Name, d.Event.Source, l.pid)
		if err != nil {
			l.logRaised(err)
			return Result{}, lambdaFailure(fmt.Errorf("lambda: functions[%d]: %w", i+1, err))
		}
		data = nil
		if len(res) > 0 {
			data = res[0]
		}
		if len(res) > 1 && res[1] != nil && res[1] != false {
			// Kong: `if err then return nil, err end`. Not logged: the
			// function reported a failure, it did not raise one.
			return Result{}, &PermanentError{Err: fmt.Errorf("lambda: functions[%d]: %w", i+1, errors.New(luaErrString(res[1])))}
		}
	}
	if data == nil || data == false {
		return Result{}, &PermanentError{Err: fmt.Errorf("lambda: functions[%d] returned %v: a falsy result is a failure",
			len(chunks), luaTypeName(data))}
	}
	return Result{Body: lambdaBody(data)}, nil
}

// lambdaFailure makes a failed call final, as Kong runs a lambda once:
// what the functions raise, report or exhaust (their time or memory) would
// happen again. A call the node cut short (stopping: its context
// cancelled) or a fault of the VM itself is left to the retry policy.
func lambdaFailure(err error) error {
	var le *luavm.Error
	if errors.As(err, &le) {
		switch {
		case le.Kind == luavm.KindInternal:
			return err
		case le.Kind == luavm.KindCanceled && errors.Is(err, context.Canceled):
			return err
		}
	}
	return &PermanentError{Err: err}
}

// logRaised writes a Lua error to the error log as Kong does. Errors that
// are not the function's doing (the caller's context ended, Lua disabled)
// are not logged.
func (l *Lambda) logRaised(err error) {
	if l.log == nil {
		return
	}
	var le *luavm.Error
	if !errors.As(err, &le) {
		return
	}
	switch le.Kind {
	case luavm.KindRuntime, luavm.KindTimeout, luavm.KindMemory, luavm.KindConversion, luavm.KindInternal:
		l.log.Log(logger.Error, lambdaLogPrefix+le.Message)
	}
}

// luaErrString renders a function's err result (`return nil, err`).
func luaErrString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', 14, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}

func luaTypeName(v any) string {
	if v == nil {
		return "nil"
	}
	return "false"
}

// lambdaBody renders the chain's final value for Result.Body.
func lambdaBody(v any) string {
	switch v.(type) {
	case map[string]any, []any, string, float64:
	default:
		return ""
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "" // NaN or infinity: not JSON
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
	if len(b) > lambdaMaxBody {
		b = b[:lambdaMaxBody]
		// Do not leave half a character (the encoder's output is valid
		// UTF-8, so an invalid tail is the cut's doing).
		for i := 0; i < utf8.UTFMax-1 && len(b) > 0; i++ {
			if r, size := utf8.DecodeLastRune(b); r != utf8.RuneError || size != 1 {
				break
			}
			b = b[:len(b)-1]
		}
	}
	return string(b)
}

// luaSafeData returns data in a form luavm converts: data itself when it is
// made only of the types luavm accepts (the JSON model and a few more),
// otherwise a copy through JSON (e.g. typed slices of maps, structs).
func luaSafeData(data map[string]any) any {
	if luaConvertible(data, 0) {
		return data
	}
	b, err := json.Marshal(data)
	if err != nil {
		return data // let luavm report what it cannot convert
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return data
	}
	return m
}

func luaConvertible(v any, depth int) bool {
	if depth > luavm.MaxDepth {
		return true // luavm reports it
	}
	switch x := v.(type) {
	case nil, bool, string, float64, float32, int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64, json.Number, []byte,
		[]string, []float64, map[string]string:
		return true
	case []any:
		for _, e := range x {
			if !luaConvertible(e, depth+1) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range x {
			if !luaConvertible(e, depth+1) {
				return false
			}
		}
		return true
	default:
		return false
	}
}
