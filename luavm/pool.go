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
	// fns caches, per chunk, the function its top level returned on this
	// state (CallCached); bounded by maxCachedFunctions.
	fns map[*Chunk]*lua.LFunction
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

// put returns a clean state to the pool, or closes it if the pool is full.
func (vm *VM) put(st *state) {
	select {
	case vm.pool <- st:
	default:
		st.close()
	}
}

func (st *state) close() { st.L.Close() }

// beginCall resets per-call counters.
func (st *state) beginCall() { st.coroutines = 0 }

// newEnv returns a fresh global environment for one call: writes land in it
// (and vanish with it), reads fall through to the shared read-only base.
func (st *state) newEnv() *lua.LTable {
	env := st.L.CreateTable(0, 4)
	env.RawSetString("_G", env)
	env.Metatable = st.envMeta
	return env
}

// Close releases the idle states. The VM stays usable (new states are
// created on demand).
func (vm *VM) Close() {
	for {
		select {
		case st := <-vm.pool:
			st.close()
		default:
			return
		}
	}
}
