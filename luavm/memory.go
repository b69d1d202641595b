package luavm

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// Memory accounting: every call has a budget of its own.
//
// Go gives no per-goroutine allocation figures, so a limit read from the
// process heap punishes innocent calls for what the rest of the process
// allocates. Instead each call meters what its state holds, on the state's
// own goroutine, as follows.
//
//   - Charges. Every place where one step of a call can allocate much is
//     charged before or right after it allocates: the `..` operator (Compile
//     rewrites it into a call of concatOp, which charges the result's length
//     before building it, see concat.go), and every string the string
//     library and table.concat return (limits.go). Everything else one VM
//     instruction can allocate (a table slot, a closure, a boxed number) is
//     small, so each instruction is charged instructionBytes; gopher-lua
//     asks the call's context for Done() before every instruction, which is
//     where that charge is taken (callContext).
//   - Counts. Charges only say how much the call may have allocated, not
//     what it still holds. When the last count plus the charges since
//     reaches the budget, the meter counts what the state can reach (its
//     data stack, globals, the per-call environment, upvalues, tables,
//     coroutines; see size) and restarts its charges from that figure.
//   - Verdict. A call whose count exceeds the budget is cancelled with
//     ErrMemory; the state is then discarded, so what it built is freed.
//
// Why this bounds a call: a state can only grow through what is charged,
// so between two counts it holds at most the last count plus the charges;
// a count is taken before that sum passes budget+slack (slack keeps counts
// from running after every instruction when a call holds almost its whole
// budget), and a count over the budget stops the call. Strings built by
// `..` are refused before they exist; library results are bounded by
// MaxStringBytes before they are charged. So a call holds at most about
// MaxMemory + MaxMemory/16 + MaxStringBytes. Memory the rest of the process
// allocates is never seen, and concurrent calls never share a budget.
//
// Limits of the estimate: sizes are estimates of Go heap bytes (strings by
// length, tables by entries, see size), shared strings are counted once,
// and values host functions and modules return are counted at the next
// count rather than charged as they are made.

// DefaultMaxMemory is the default per-call memory budget.
const DefaultMaxMemory = 64 << 20

// instructionBytes is charged for every VM instruction: more than any
// instruction other than `..` allocates on average (a table slot with its
// share of the table's growth, a closure, a boxed number).
const instructionBytes = 64

// chargeEvery is how many instructions callContext counts before charging
// them, so the per-instruction cost is one increment and one compare.
const chargeEvery = 256

// ErrMemory is the cause of a call stopped for exceeding its memory budget.
var ErrMemory = errors.New("lua memory limit exceeded")

// meter accounts one call's memory. It is used only on the goroutine that
// runs the call.
type meter struct {
	st      *state
	budget  int64
	slack   int64
	live    int64 // the last count
	charged int64 // charged since the last count
	stop    context.CancelCauseFunc
	over    bool
}

// charge records n bytes the call may have allocated, counting the state
// when the budget could be exceeded. It reports false once the call is
// over its budget (and then has cancelled it).
func (m *meter) charge(n int64) bool {
	if m.over {
		return false
	}
	m.charged += n
	if m.live+m.charged <= m.budget+m.slack {
		return true
	}
	m.count()
	return !m.over
}

// reserve is charge for an allocation that has not happened yet: the call
// fails before allocating n bytes that would put it over its budget.
func (m *meter) reserve(n int64) bool {
	if m.over {
		return false
	}
	if m.live+m.charged+n > m.budget+m.slack {
		m.count()
		if !m.over && m.live+n > m.budget {
			m.fail()
		}
		if m.over {
			return false
		}
	}
	m.charged += n
	return true
}

func (m *meter) count() {
	m.live = m.st.measure()
	m.charged = 0
	if m.live > m.budget {
		m.fail()
	}
}

func (m *meter) fail() {
	m.over = true
	m.stop(ErrMemory)
}

// raiseMemory raises the memory error in L when the call is over its
// budget; Lua code cannot go on, as the call's context is cancelled.
func (m *meter) raiseMemory(L *lua.LState) {
	L.RaiseError("%s (%d bytes per call)", ErrMemory.Error(), m.budget)
}

// callContext is the context a call runs under. gopher-lua calls Done
// before every instruction, on the call's goroutine: it charges the
// instructions to the call's meter.
//
// A Thread's calls (thread.go) use a callContext of their own, kept with
// the state: it has no parent context and no timer, so a call allocates
// nothing for its limits. Its deadline is read every chargeEvery
// instructions, and its done channel is closed once, when a call is
// stopped; the state is then discarded.
type callContext struct {
	context.Context
	m     *meter
	steps int

	// Thread calls only (Context is nil).
	done     chan struct{}
	err      error
	deadline time.Time
	value    any
	afters   []func()
}

func (c *callContext) Done() <-chan struct{} {
	c.steps++
	if c.steps == chargeEvery {
		c.steps = 0
		c.m.charge(chargeEvery * instructionBytes)
		if c.Context == nil && c.err == nil && time.Now().After(c.deadline) {
			c.stop(context.DeadlineExceeded)
		}
	}
	if c.Context == nil {
		return c.done
	}
	return c.Context.Done()
}

// stop ends a Thread call with cause (a timeout or ErrMemory).
func (c *callContext) stop(cause error) {
	if c.err == nil {
		c.err = cause
		close(c.done)
		for _, f := range c.afters {
			if f != nil {
				f()
			}
		}
	}
}

// AfterFunc lets contexts derived from a Thread call's (gopher-lua gives
// each coroutine one) follow it without a goroutine each.
func (c *callContext) AfterFunc(f func()) func() bool {
	if c.Context != nil {
		return context.AfterFunc(c.Context, f)
	}
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	i := len(c.afters)
	c.afters = append(c.afters, f)
	return func() bool {
		if i < len(c.afters) && c.afters[i] != nil && c.err == nil {
			c.afters[i] = nil
			return true
		}
		return false
	}
}

func (c *callContext) Err() error {
	if c.Context == nil {
		return c.err
	}
	return c.Context.Err()
}

func (c *callContext) Deadline() (time.Time, bool) {
	if c.Context == nil {
		return c.deadline, true
	}
	return c.Context.Deadline()
}

func (c *callContext) Value(key any) any {
	if c.Context == nil {
		return nil
	}
	return c.Context.Value(key)
}

// Sizes, in estimated Go heap bytes.
const (
	stringHeader = 16
	tableBytes   = 128
	entryBytes   = 48 // a table entry with its share of the map and slices
	functionSize = 96
	upvalueBytes = 48
	threadBytes  = 1024
	frameBytes   = 96 // one call frame; a state has CallStackSize of them
	slotBytes    = 16 // one data-stack slot (an interface value)
	userdataSize = 64
)

// sizer walks the values a state can reach, each object once.
type sizer struct {
	seen    map[any]struct{}
	strings map[*byte]struct{}
	total   int64
	work    []lua.LValue
}

// measure returns the bytes the state holds beyond what it held when it
// was set up (its libraries and host globals).
func (st *state) measure() int64 {
	return st.reachable() - st.baseline
}

// reachable sums what the state can reach from its roots: the data stack
// (every frame's registers, arguments and varargs), the globals and the
// registry, the sandbox tables and the environment tables of the call.
func (st *state) reachable() int64 {
	z := &sizer{seen: map[any]struct{}{}, strings: map[*byte]struct{}{}}
	z.thread(st.L)
	z.add(st.L.G.Global)
	z.add(st.L.G.Registry)
	if st.base != nil {
		z.add(st.base)
	}
	if st.envMeta != nil {
		z.add(st.envMeta)
	}
	for len(z.work) > 0 {
		v := z.work[len(z.work)-1]
		z.work = z.work[:len(z.work)-1]
		z.visit(v)
	}
	return z.total
}

func (z *sizer) add(v lua.LValue) {
	if v != nil && v != lua.LNil {
		z.work = append(z.work, v)
	}
}

func (z *sizer) visit(v lua.LValue) {
	switch v := v.(type) {
	case lua.LString:
		if len(v) == 0 {
			return
		}
		p := unsafe.StringData(string(v))
		if _, ok := z.strings[p]; ok {
			return
		}
		z.strings[p] = struct{}{}
		z.total += stringHeader + int64(len(v))
	case *lua.LTable:
		if z.once(v) {
			z.total += tableBytes
			v.ForEach(func(k, val lua.LValue) {
				z.total += entryBytes
				z.add(k)
				z.add(val)
			})
			z.add(v.Metatable)
		}
	case *lua.LFunction:
		if z.once(v) {
			z.total += functionSize + upvalueBytes*int64(len(v.Upvalues))
			if v.Env != nil {
				z.add(v.Env)
			}
			for _, uv := range v.Upvalues {
				if uv != nil {
					z.add(uv.Value())
				}
			}
		}
	case *lua.LState:
		if z.once(v) {
			z.thread(v)
		}
	case *lua.LUserData:
		if z.once(v) {
			z.total += userdataSize
			if v.Env != nil {
				z.add(v.Env)
			}
			z.add(v.Metatable)
		}
	case lua.LChannel:
		if z.once(v) {
			z.total += userdataSize
		}
	}
}

func (z *sizer) once(key any) bool {
	if _, ok := z.seen[key]; ok {
		return false
	}
	z.seen[key] = struct{}{}
	return true
}

// thread counts a state's data stack and queues its live values.
func (z *sizer) thread(L *lua.LState) {
	z.seen[L] = struct{}{}
	slots, capacity := dataStack(L)
	z.total += threadBytes + slotBytes*int64(capacity) + frameBytes*int64(L.Options.CallStackSize)
	for _, v := range slots {
		z.add(v)
	}
	if L.Env != nil {
		z.add(L.Env)
	}
}

// gopher-lua keeps a state's data stack (its registry: the registers,
// arguments and varargs of every frame) unexported, and its public API
// shows only the current frame's part. A count that missed the rest would
// let a call hide what it builds there (varargs of a deep recursion), so
// the data stack is read through reflection. checkDataStack verifies, when
// a VM is made, that the layout is the one this reader expects; a gopher-
// lua that changed it makes New fail rather than run unbounded.
var (
	regField   reflect.StructField
	arrayField reflect.StructField
	topField   reflect.StructField
	layoutErr  error
)

func init() {
	var ok bool
	regField, ok = reflect.TypeFor[lua.LState]().FieldByName("reg")
	if !ok || regField.Type.Kind() != reflect.Pointer || regField.Type.Elem().Kind() != reflect.Struct {
		layoutErr = errors.New("LState.reg is not a pointer to a struct")
		return
	}
	reg := regField.Type.Elem()
	arrayField, ok = reg.FieldByName("array")
	if !ok || arrayField.Type != reflect.TypeFor[[]lua.LValue]() {
		layoutErr = errors.New("registry.array is not a []LValue")
		return
	}
	topField, ok = reg.FieldByName("top")
	if !ok || topField.Type.Kind() != reflect.Int {
		layoutErr = errors.New("registry.top is not an int")
	}
}

// dataStack returns the used slots of L's data stack and its capacity.
func dataStack(L *lua.LState) (slots []lua.LValue, capacity int) {
	reg := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(L), regField.Offset))
	if reg == nil {
		return nil, 0
	}
	array := *(*[]lua.LValue)(unsafe.Add(reg, arrayField.Offset))
	top := *(*int)(unsafe.Add(reg, topField.Offset))
	if top < 0 || top > len(array) {
		top = len(array)
	}
	return array[:top], cap(array)
}

// checkDataStack verifies that dataStack reads what the public API shows.
func checkDataStack() error {
	if layoutErr != nil {
		return fmt.Errorf("luavm: memory accounting cannot read gopher-lua's data stack: %w", layoutErr)
	}
	L := lua.NewState(lua.Options{SkipOpenLibs: true, RegistrySize: 64})
	defer L.Close()
	marker := lua.LString("luavm data stack marker")
	L.Push(lua.LNumber(1))
	L.Push(marker)
	slots, capacity := dataStack(L)
	if len(slots) != 2 || slots[1] != marker || capacity < 2 {
		return errors.New("luavm: memory accounting cannot read gopher-lua's data stack: unexpected layout")
	}
	return nil
}
