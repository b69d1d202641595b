// Package luavm runs untrusted, admin-supplied Lua (Kong's event-hook
// `lambda` functions, `webhook-custom` templates and, later, Lua plugins)
// inside a shared, bounded room built on gopher-lua (a Lua 5.1 VM).
//
// The three modes mirror Kong's `untrusted_lua` setting:
//
//   - ModeOff: no Lua may be compiled or run; Compile, Run, Call and
//     CheckFunction return an error wrapping ErrUntrustedLuaOff.
//   - ModeSandbox (the default): code sees only a curated, write-protected
//     subset of the standard library (see sandbox.go), a restricted require
//     and the globals listed in Options.Environment.
//   - ModeOn: code sees the full standard library (still under the limits
//     of limits.go). Writes to globals land in a per-call environment, but
//     code in this mode is trusted: it can reach and modify shared state via
//     getmetatable/rawset/debug, exactly like Kong's "on".
//
// A Chunk is compiled once and may be run by any number of goroutines; the
// *lua.LState objects that run it come from a bounded pool and are never used
// by two goroutines at once.
package luavm

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Mode is Kong's `untrusted_lua` setting.
type Mode string

const (
	ModeOff     Mode = "off"
	ModeSandbox Mode = "sandbox"
	ModeOn      Mode = "on"
)

// Defaults applied by New for zero-valued Options fields.
const (
	DefaultTimeout        = time.Second
	DefaultMaxStringBytes = 8 << 20
	DefaultCallStackSize  = 200
)

// Options configures a VM.
type Options struct {
	// Mode is Kong's untrusted_lua (off | sandbox | on). Empty means sandbox.
	Mode Mode
	// MaxMemory is each call's memory budget: what one call's state may
	// hold beyond its libraries before the call is stopped with ErrMemory
	// (default 64 MiB; see memory.go). Calls have budgets of their own;
	// other calls and the rest of the process never count against it.
	MaxMemory int64
	// Requires is untrusted_lua_sandbox_requires: the module names that
	// require() may load inside the sandbox. A listed module must also be
	// provided by the host, through Modules or as a standard library.
	Requires []string
	// Environment is untrusted_lua_sandbox_environment: host global names
	// (dotted allowed, e.g. "kong.log") linked read-only into the sandbox.
	Environment []string
	// Timeout bounds each Run/Call/CheckFunction (default 1s).
	Timeout time.Duration
	// MaxStringBytes bounds strings produced by the guarded library
	// functions (default 8 MiB). See limits.go for what is covered.
	MaxStringBytes int
	// CallStackSize bounds the Lua call depth (default 200).
	CallStackSize int
	// PoolSize is the maximum number of idle states kept (default
	// GOMAXPROCS*2).
	PoolSize int

	// Globals are host globals installed in every state's real global
	// table (JSON-model values, lua.LValue or lua.LGFunction). In ModeOn
	// they are visible directly; in ModeSandbox only the names listed in
	// Environment are.
	Globals map[string]any
	// Modules are host-provided modules: the loader is called once per
	// state and must push the module value. In ModeSandbox a module is
	// loadable only if it is also listed in Requires.
	Modules map[string]lua.LGFunction

	// Setup, when set, prepares every new state after its libraries,
	// Globals and Modules (a host installs its API there, e.g. Kong's PDK).
	// What it returns is the state's local value (Thread.Local). Globals
	// it sets are part of the state's baseline, not of any call's memory.
	Setup func(L *lua.LState) (any, error)
	// Expose lists globals Setup installs that ModeSandbox code sees as
	// they are, not as read-only proxies: the host's API tables (Kong's
	// pre-function sees kong and ngx this way).
	Expose []string
}

// ErrUntrustedLuaOff is returned (wrapped) when Mode is ModeOff. The text
// is Kong's.
var ErrUntrustedLuaOff = errors.New("loading of untrusted Lua code disabled because 'untrusted_lua' config option is set to 'off'")

// ErrTimeout is matched (errors.Is) by errors from calls that exceeded
// Options.Timeout. Such errors also match context.DeadlineExceeded.
var ErrTimeout = errors.New("lua execution timeout")

// ErrorKind classifies an *Error.
type ErrorKind int

const (
	KindRuntime    ErrorKind = iota // error raised by Lua code or a library function
	KindSyntax                      // compilation failed
	KindTimeout                     // Options.Timeout exceeded
	KindCanceled                    // the caller's context was done
	KindConversion                  // a value could not be converted Go <-> Lua
	KindDisabled                    // untrusted_lua is off
	KindInternal                    // the VM panicked
	KindMemory                      // the call exceeded its memory budget
)

// Error is returned by all VM operations. Error() is Lua's message
// (`[string "..."]:3: boom`), without a traceback.
type Error struct {
	Kind       ErrorKind
	Message    string
	StackTrace string // Lua traceback, when available
	// Object is the value Lua code raised (Thread calls only): a host that
	// unwinds a call on purpose raises a value of its own and finds it here.
	Object lua.LValue
	cause  error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.cause }

// Is makes errors.Is(err, ErrTimeout) work for timeouts.
func (e *Error) Is(target error) bool {
	return target == ErrTimeout && e.Kind == KindTimeout
}

// VM compiles and runs Lua chunks. It is safe for concurrent use.
type VM struct {
	opts     Options
	pool     chan *state
	requires map[string]bool
	open     atomic.Int64 // states made and not closed
	closed   atomic.Bool

	baselineOnce sync.Once
	baseline     int64 // what a freshly set-up state holds (memory.go)
}

// Chunk is compiled Lua, reusable across states and goroutines.
type Chunk struct {
	Name   string // the name passed to Compile
	Source string // Lua source name used in error messages, e.g. [string "return 1"]
	proto  *lua.FunctionProto
}

// New validates opts, applies defaults and returns a VM. States are created
// lazily.
func New(opts Options) (*VM, error) {
	switch opts.Mode {
	case "":
		opts.Mode = ModeSandbox
	case ModeOff, ModeSandbox, ModeOn:
	default:
		return nil, fmt.Errorf("luavm: invalid untrusted_lua mode %q (expected off, sandbox or on)", opts.Mode)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxStringBytes <= 0 {
		opts.MaxStringBytes = DefaultMaxStringBytes
	}
	if opts.CallStackSize <= 0 {
		opts.CallStackSize = DefaultCallStackSize
	}
	if opts.PoolSize <= 0 {
		opts.PoolSize = runtime.GOMAXPROCS(0) * 2
	}
	if opts.MaxMemory <= 0 {
		opts.MaxMemory = DefaultMaxMemory
	}
	if err := checkDataStack(); err != nil {
		return nil, err
	}
	vm := &VM{opts: opts, pool: make(chan *state, opts.PoolSize), requires: map[string]bool{}}
	for _, r := range opts.Requires {
		if r = strings.TrimSpace(r); r != "" {
			vm.requires[r] = true
		}
	}
	if opts.Mode != ModeOff {
		// Build one state eagerly so configuration errors (bad Globals)
		// surface here rather than on the first call.
		st, err := vm.newState()
		if err != nil {
			return nil, err
		}
		vm.put(st)
	}
	return vm, nil
}

// Mode reports the effective mode.
func (vm *VM) Mode() Mode { return vm.opts.Mode }

func (vm *VM) offErr() error {
	return &Error{Kind: KindDisabled, Message: ErrUntrustedLuaOff.Error(), cause: ErrUntrustedLuaOff}
}

// ChunkName returns the Lua source name Kong's (LuaJIT's) load() gives a
// string chunk: `[string "first line..."]`, cut at the first line break or
// after 45 bytes, with "..." when cut.
func ChunkName(source string) string {
	const max = 60 - 15 // LUA_IDSIZE - len(`[string "..."]`) - 1, as LuaJIT
	n := len(source)
	if i := strings.IndexAny(source, "\r\n"); i >= 0 {
		n = i
	}
	if n > max {
		n = max
	}
	if n < len(source) {
		return `[string "` + source[:n] + `..."]`
	}
	return `[string "` + source + `"]`
}

// Compile parses and compiles source once. name labels the chunk; error
// messages use Kong's `[string "..."]` form derived from source unless name
// starts with "=" (used verbatim, without the "=") or "@" (a file name).
func (vm *VM) Compile(name, source string) (*Chunk, error) {
	if vm.opts.Mode == ModeOff {
		return nil, vm.offErr()
	}
	src := ChunkName(source)
	switch {
	case strings.HasPrefix(name, "="):
		src = name[1:]
	case strings.HasPrefix(name, "@"):
		src = name[1:]
	}
	proto, err := compileMetered(context.Background(), source, src)
	if err != nil {
		return nil, &Error{Kind: KindSyntax, Message: err.Error(), cause: err}
	}
	return &Chunk{Name: name, Source: src, proto: proto}, nil
}

// compileMetered compiles source with `..` rewritten for the memory
// budget (concat.go).
func compileMetered(ctx context.Context, source, name string) (*lua.FunctionProto, error) {
	stmts, err := Parse(ctx, source, name)
	if err != nil {
		return nil, err
	}
	return lua.Compile(meterConcat(stmts), name)
}

// Run executes the chunk's top level and returns its results converted to
// Go (for templates and validation).
func (vm *VM) Run(ctx context.Context, chunk *Chunk) ([]any, error) {
	return vm.exec(ctx, chunk, false, nil)
}

// Call executes the chunk's top level, which must return a function, and
// calls that function with args (converted to Lua). It returns the
// function's results converted to Go.
func (vm *VM) Call(ctx context.Context, chunk *Chunk, args ...any) ([]any, error) {
	return vm.exec(ctx, chunk, true, args)
}

// CallCached is Call for code run many times (lambda functions, templates):
// each pooled state runs the chunk's top level once, keeps the function it
// returned, and calls that for later calls. As in Kong, where a lambda is
// compiled once per worker, upvalues and globals the function writes live
// as long as the state, shared by the calls of that chunk only.
func (vm *VM) CallCached(ctx context.Context, chunk *Chunk, args ...any) ([]any, error) {
	return vm.exec(ctx, chunk, true, args, cached)
}

// CheckFunction is Kong's lambda validation (sandbox.validate): compile,
// run the top level once, and require a function result.
func (vm *VM) CheckFunction(name, source string) error {
	if vm.opts.Mode == ModeOff {
		return &Error{Kind: KindDisabled, Message: "Error parsing function: " + ErrUntrustedLuaOff.Error(), cause: ErrUntrustedLuaOff}
	}
	chunk, err := vm.Compile(name, source)
	if err != nil {
		var le *Error
		if errors.As(err, &le) {
			return &Error{Kind: le.Kind, Message: "Error parsing function: " + le.Message, cause: le}
		}
		return fmt.Errorf("Error parsing function: %w", err)
	}
	_, err = vm.exec(context.Background(), chunk, true, nil, withoutCall())
	return err
}

type execOpt int

const (
	checkOnly execOpt = 1
	cached    execOpt = 2
)

func withoutCall() execOpt { return checkOnly }

func badReturn(v lua.LValue) error {
	return &Error{Kind: KindRuntime, Message: "Bad return value from function, expected function type, got " + v.Type().String()}
}

func (vm *VM) exec(ctx context.Context, chunk *Chunk, call bool, args []any, xo ...execOpt) (res []any, err error) {
	if vm.opts.Mode == ModeOff {
		return nil, vm.offErr()
	}
	if chunk == nil || chunk.proto == nil {
		return nil, errors.New("luavm: nil chunk")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return nil, canceledErr(err)
	}
	st, err := vm.get()
	if err != nil {
		return nil, err
	}
	L := st.L
	keep := false
	mctx, stopMemory := context.WithCancelCause(ctx)
	cctx, cancel := context.WithTimeout(mctx, vm.opts.Timeout)
	m := &meter{st: st, budget: vm.opts.MaxMemory, slack: vm.opts.MaxMemory / 16, stop: stopMemory, live: st.held}
	defer func() {
		st.endCall()
		cancel()
		stopMemory(nil)
		if r := recover(); r != nil {
			keep = false
			res, err = nil, &Error{Kind: KindInternal, Message: fmt.Sprintf("luavm: internal error: %v", r)}
		}
		if keep {
			L.SetTop(0)
			L.RemoveContext()
			vm.put(st)
		} else {
			st.close()
		}
	}()
	L.SetContext(&callContext{Context: cctx, m: m})
	st.beginCall(m)

	useCache := len(xo) > 0 && xo[0] == cached
	if f, ok := st.fns[chunk]; useCache && ok {
		L.Push(f)
	} else {
		fn := L.NewFunctionFromProto(chunk.proto)
		fn.Env = st.newEnv()
		L.Push(fn)
		if perr := L.PCall(0, lua.MultRet, nil); perr != nil {
			return nil, vm.callErr(ctx, cctx, perr)
		}
		if cctx.Err() != nil {
			return nil, vm.callErr(ctx, cctx, nil)
		}
		if f, ok := L.Get(1).(*lua.LFunction); useCache && ok {
			if len(st.fns) >= maxCachedFunctions {
				clear(st.fns)
			}
			st.fns[chunk] = f
		}
	}
	if call {
		f := L.Get(1)
		if f.Type() != lua.LTFunction {
			keep = true
			return nil, badReturn(f)
		}
		if len(xo) > 0 && xo[0] == checkOnly {
			keep = true
			return nil, nil
		}
		L.SetTop(0)
		L.Push(f)
		for _, a := range args {
			lv, cerr := toLua(L, a, 0)
			if cerr != nil {
				keep = true
				return nil, cerr
			}
			L.Push(lv)
		}
		if perr := L.PCall(len(args), lua.MultRet, nil); perr != nil {
			return nil, vm.callErr(ctx, cctx, perr)
		}
		if cctx.Err() != nil {
			return nil, vm.callErr(ctx, cctx, nil)
		}
	}
	top := L.GetTop()
	res = make([]any, top)
	for i := 1; i <= top; i++ {
		v, cerr := fromLua(L.Get(i), 0, nil)
		if cerr != nil {
			keep = true
			return nil, cerr
		}
		res[i-1] = v
	}
	keep = true
	return res, nil
}

func canceledErr(err error) error {
	return &Error{Kind: KindCanceled, Message: "lua execution canceled: " + err.Error(), cause: err}
}

// callErr turns a PCall failure into an *Error. When the call's context is
// done the failure is reported as a timeout or cancellation whatever Lua
// made of it (user code may have caught the context error with pcall).
func (vm *VM) callErr(parent, cctx context.Context, perr error) error {
	if errors.Is(context.Cause(cctx), ErrMemory) && parent.Err() == nil {
		return &Error{Kind: KindMemory, Message: ErrMemory.Error(), cause: ErrMemory}
	}
	if cctx.Err() != nil {
		if perr := parent.Err(); perr != nil {
			return canceledErr(perr)
		}
		return &Error{Kind: KindTimeout,
			Message: fmt.Sprintf("lua execution exceeded the %v timeout: %v", vm.opts.Timeout, context.DeadlineExceeded),
			cause:   context.DeadlineExceeded}
	}
	var ae *lua.ApiError
	if errors.As(perr, &ae) {
		msg := "nil"
		if ae.Object != nil {
			msg = errorValueString(ae.Object)
		}
		return &Error{Kind: KindRuntime, Message: msg, StackTrace: ae.StackTrace, cause: ae.Cause}
	}
	return &Error{Kind: KindRuntime, Message: perr.Error(), cause: perr}
}

func errorValueString(v lua.LValue) string {
	switch v.Type() {
	case lua.LTString, lua.LTNumber:
		return v.String()
	case lua.LTNil:
		return "nil"
	case lua.LTBool:
		return v.String()
	case lua.LTTable:
		// error({...}): try a conventional message field, else a type tag.
		if m := v.(*lua.LTable).RawGetString("message"); m.Type() == lua.LTString {
			return m.String()
		}
		return "(error object is a table value)"
	default:
		return "(error object is a " + v.Type().String() + " value)"
	}
}

// CompileFile compiles a Lua file's source once, for a host that runs it
// in states of its own (Lua plugins' modules): `..` is metered as in
// Compile, and error messages name the file (`path:line: message`).
func CompileFile(path, source string) (*Chunk, error) {
	proto, err := compileMetered(context.Background(), source, path)
	if err != nil {
		return nil, &Error{Kind: KindSyntax, Message: err.Error(), cause: err}
	}
	return &Chunk{Name: "@" + path, Source: path, proto: proto}, nil
}

// Function makes a function of the chunk in L with env as its globals
// (L.G.Global for a module that shares the state's globals). A chunk made
// by Compile or CompileFile needs the concat function its `..` calls in
// env or, through __index, behind it; every state of a VM has it in its
// globals.
func (c *Chunk) Function(L *lua.LState, env *lua.LTable) *lua.LFunction {
	fn := L.NewFunctionFromProto(c.proto)
	fn.Env = env
	return fn
}
