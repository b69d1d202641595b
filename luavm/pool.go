package luavm

import (
	lua "github.com/yuin/gopher-lua"
)

// Registry (data stack) sizing: the registry starts small and may grow up to
// registryMaxSize slots (16 bytes each), which bounds the values a single
// state can hold on its stack (deep argument lists, table.concat pushes,
// unpack of huge tables) at ~4 MiB; exceeding it raises "registry overflow".
const (
	registrySize     = 1024 * 4
	registryMaxSize  = 1024 * 256
	registryGrowStep = 1024
)

// state is one pooled *lua.LState with its sandbox. It is owned by exactly
// one goroutine at a time.
type state struct {
	vm      *VM
	L       *lua.LState
	base    *lua.LTable // globals visible (read-only) to user code
	envMeta *lua.LTable // {__index = base}, shared by all per-call envs
	loaded  map[string]lua.LValue
	proxies map[*lua.LTable]*lua.LTable

	coroutines int // coroutines created during the current call
	// meter accounts the current call's memory (nil between calls).
	meter *meter
	// baseline is what the state holds once set up (libraries, host
	// globals): a call is charged only for what it adds (memory.go).
	baseline int64
	// held bounds what the state holds beyond its baseline after its last
	// call (that call's count plus its charges since): the next call's
	// meter starts from it, so what calls keep accumulates.
	held int64
	// concat is the function `..` is compiled into (concat.go).
	concat *lua.LFunction
	// fns caches, per chunk, the function its top level returned on this
	// state (CallCached); bounded by maxCachedFunctions.
	fns map[*Chunk]*lua.LFunction

	// local is what Options.Setup returned for this state.
	local any
	// thread, cc and m serve Thread calls (thread.go), made once per state.
	thread Thread
	cc     *callContext
	m      meter
}

// maxCachedFunctions bounds the functions one state keeps for CallCached.
const maxCachedFunctions = 256

func (vm *VM) newState() (*state, error) {
	L := lua.NewState(lua.Options{
		CallStackSize:    vm.opts.CallStackSize,
		RegistrySize:     registrySize,
		RegistryMaxSize:  registryMaxSize,
		RegistryGrowStep: registryGrowStep,
	})
	st := &state{vm: vm, L: L, loaded: map[string]lua.LValue{}, proxies: map[*lua.LTable]*lua.LTable{},
		fns: map[*Chunk]*lua.LFunction{}}
	if err := st.setup(); err != nil {
		L.Close()
		return nil, err
	}
	// Every state of a VM is set up alike: measure the first one only.
	vm.baselineOnce.Do(func() { vm.baseline = st.reachable() })
	st.baseline = vm.baseline
	vm.open.Add(1)
	return st, nil
}

// get takes an idle state from the pool or makes a new one.
func (vm *VM) get() (*state, error) {
	select {
	case st := <-vm.pool:
		return st, nil
	default:
		return vm.newState()
	}
}

// put returns a clean state to the pool, or closes it if the pool is full
// or the VM is closed.
func (vm *VM) put(st *state) {
	if vm.closed.Load() {
		st.close()
		return
	}
	select {
	case vm.pool <- st:
		if vm.closed.Load() { // Close ran between the check and the send
			vm.drain()
		}
	default:
		st.close()
	}
}

func (st *state) close() {
	st.L.Close()
	st.vm.open.Add(-1)
}

// beginCall resets per-call counters and starts metering the call.
func (st *state) beginCall(m *meter) {
	st.coroutines = 0
	st.meter = m
}

// endCall stops metering, remembering what the state may hold.
func (st *state) endCall() {
	if m := st.meter; m != nil {
		st.held = m.live + m.charged
	}
	st.meter = nil
}

// newEnv returns a fresh global environment for one call: writes land in it
// (and vanish with it), reads fall through to the shared read-only base.
func (st *state) newEnv() *lua.LTable {
	env := st.L.CreateTable(0, 4)
	env.RawSetString("_G", env)
	env.RawSetString(concatName, st.concat)
	env.Metatable = st.envMeta
	return env
}

// Close releases the idle states, and from then on closes every state a
// call finishes with instead of keeping it. The VM stays usable: each call
// gets a new state.
func (vm *VM) Close() {
	vm.closed.Store(true)
	vm.drain()
}

// OpenStates is how many Lua states the VM has made and not yet closed
// (idle in the pool or running a call).
func (vm *VM) OpenStates() int { return int(vm.open.Load()) }

func (vm *VM) drain() {
	for {
		select {
		case st := <-vm.pool:
			st.close()
		default:
			return
		}
	}
}
