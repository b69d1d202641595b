package luavm

import (
	"errors"
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Thread is a pooled state lent to a host for a series of calls, for code
// that runs on every request (Lua plugins): the host keeps its own values
// in the state (modules, compiled functions, its API; see Options.Setup
// and Local) and calls functions directly, each call under the VM's limits
// (Options.Timeout, MaxMemory, CallStackSize).
//
// A call allocates nothing for its limits: its context is the state's own,
// with no timer (the deadline is read as instructions run) and a done
// channel closed only when a call is stopped, after which the state is
// discarded rather than pooled.
//
// A Thread is used by one goroutine at a time, from Acquire to Release.
type Thread struct {
	st     *state
	broken bool
}

// errBroken is returned by calls on a Thread whose state was stopped.
var errBroken = &Error{Kind: KindInternal, Message: "luavm: the state was stopped by an earlier call"}

// Acquire lends an idle state (or a new one). Release gives it back.
func (vm *VM) Acquire() (*Thread, error) {
	if vm.opts.Mode == ModeOff {
		return nil, vm.offErr()
	}
	st, err := vm.get()
	if err != nil {
		return nil, err
	}
	if st.cc == nil {
		st.cc = &callContext{done: make(chan struct{})}
		st.m.stop = st.cc.stop
	}
	t := &st.thread
	t.st, t.broken = st, false
	return t, nil
}

// L is the thread's state, for pushing arguments and reading results.
func (t *Thread) L() *lua.LState { return t.st.L }

// Local is what Options.Setup returned for this state.
func (t *Thread) Local() any { return t.st.local }

// Load makes a function of a compiled chunk in this state, with a global
// environment of its own: writes to globals land there, reads go to the
// sandbox (or, with ModeOn, to the real globals).
func (t *Thread) Load(chunk *Chunk) *lua.LFunction {
	fn := t.st.L.NewFunctionFromProto(chunk.proto)
	fn.Env = t.st.newEnv()
	return fn
}

// Call calls fn with args; its nret results (lua.MultRet for all) are
// left on the stack for the caller, until Release. value is handed to the
// host's Go functions the call reaches (Value).
//
// A call that runs past Options.Timeout or over its memory budget is
// stopped with an *Error of KindTimeout or KindMemory, and the state is
// discarded at Release. An error Lua code raises is an *Error of
// KindRuntime with the raised value in Object.
func (t *Thread) Call(value any, fn lua.LValue, nret int, args ...lua.LValue) (err error) {
	if t.broken {
		return errBroken
	}
	st := t.st
	L, cc, vm := st.L, st.cc, st.vm
	st.m = meter{st: st, budget: vm.opts.MaxMemory, slack: vm.opts.MaxMemory / 16, stop: st.m.stop, live: st.held}
	cc.m, cc.steps, cc.value = &st.m, 0, value
	cc.deadline = time.Now().Add(vm.opts.Timeout)
	cc.afters = cc.afters[:0]
	L.SetContext(cc)
	st.beginCall(&st.m)
	defer func() {
		st.endCall()
		L.RemoveContext()
		cc.value = nil
		if r := recover(); r != nil {
			t.broken = true
			err = &Error{Kind: KindInternal, Message: fmt.Sprintf("luavm: internal error: %v", r)}
		}
	}()
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	perr := L.PCall(len(args), nret, nil)
	if cc.err != nil {
		t.broken = true
		if errors.Is(cc.err, ErrMemory) {
			return &Error{Kind: KindMemory, Message: ErrMemory.Error(), cause: ErrMemory}
		}
		return &Error{Kind: KindTimeout,
			Message: fmt.Sprintf("lua execution exceeded the %v timeout: %v", vm.opts.Timeout, cc.err),
			cause:   cc.err}
	}
	if perr != nil {
		var ae *lua.ApiError
		if errors.As(perr, &ae) {
			msg := "nil"
			if ae.Object != nil {
				msg = errorValueString(ae.Object)
			}
			return &Error{Kind: KindRuntime, Message: msg, StackTrace: ae.StackTrace, Object: ae.Object, cause: ae.Cause}
		}
		return &Error{Kind: KindRuntime, Message: perr.Error(), cause: perr}
	}
	return nil
}

// Release gives the state back: to the pool, or closed when a call was
// stopped. The Thread must not be used afterwards.
func (t *Thread) Release() {
	st := t.st
	t.st = nil
	if st == nil {
		return
	}
	if t.broken {
		st.close()
		return
	}
	st.L.SetTop(0)
	st.vm.put(st)
}

// Value is the value the running Thread call was given, for the host's Go
// functions (nil outside a Thread call).
func Value(L *lua.LState) any {
	if cc, ok := L.Context().(*callContext); ok {
		return cc.value
	}
	return nil
}

// Deadline is when the running call will be stopped (zero outside a call).
func Deadline(L *lua.LState) time.Time {
	if ctx := L.Context(); ctx != nil {
		d, _ := ctx.Deadline()
		return d
	}
	return time.Time{}
}

// Broken reports whether a call on the thread was stopped: the state is
// discarded at Release and takes no more calls.
func (t *Thread) Broken() bool { return t.broken }
