package luavm

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// What sandboxed code sees, mirroring Kong's pre-3.10 kong-lua-sandbox
// BASE_ENV (kong-event-hooks.md §5). Everything else in the state's real
// global table (load*, dofile, require, getmetatable/setmetatable, raw*,
// getfenv/setfenv, collectgarbage, module, newproxy, print, io, debug,
// package, channel, the other os functions, string.dump) is unreachable.
var sandboxBase = []string{
	"_VERSION", "assert", "error", "ipairs", "next", "pairs", "pcall",
	"select", "tonumber", "tostring", "type", "unpack", "xpcall",
}

// sandboxLibs lists the library functions copied into the sandbox; a nil
// list means "all of the library", minus sandboxLibDeny.
var sandboxLibs = map[string][]string{
	"coroutine": nil,
	"math":      nil,
	"os":        {"clock", "date", "difftime", "time"},
	"string":    {"byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "rep", "reverse", "sub", "upper"},
	"table":     {"concat", "insert", "maxn", "remove", "sort", "unpack"},
}

var sandboxLibDeny = map[string]bool{"math.randomseed": true}

// setup prepares a fresh state: limits, host globals and modules, and (in
// sandbox mode) the protected base environment.
func (st *state) setup() error {
	L := st.L
	G := L.G.Global
	installLimits(st)

	names := make([]string, 0, len(st.vm.opts.Globals))
	for k := range st.vm.opts.Globals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		lv, err := toLua(L, st.vm.opts.Globals[k], 0)
		if err != nil {
			return fmt.Errorf("luavm: global %q: %w", k, err)
		}
		G.RawSetString(k, lv)
	}
	if pkg, ok := G.RawGetString("package").(*lua.LTable); ok {
		if preload, ok := pkg.RawGetString("preload").(*lua.LTable); ok {
			for name, fn := range st.vm.opts.Modules {
				preload.RawSetString(name, L.NewFunction(fn))
			}
		}
	}

	if setup := st.vm.opts.Setup; setup != nil {
		local, err := setup(L)
		if err != nil {
			return err
		}
		st.local = local
	}

	if st.vm.opts.Mode == ModeOn {
		// Kong's "on": the environment reads through to the real _G; writes
		// to globals stay in the per-call environment.
		st.base = G
		st.envMeta = L.CreateTable(0, 1)
		st.envMeta.RawSetString("__index", G)
		st.meterLoaders()
		return nil
	}

	// Strings' methods resolve through the string metatable, which is the
	// real string library; strip what the sandbox must not reach that way.
	if strLib, ok := G.RawGetString("string").(*lua.LTable); ok {
		strLib.RawSetString("dump", lua.LNil)
	}

	base := L.CreateTable(0, 32)
	owned := map[*lua.LTable]bool{}
	for _, name := range sandboxBase {
		base.RawSetString(name, G.RawGetString(name))
	}
	for lib, fns := range sandboxLibs {
		real, ok := G.RawGetString(lib).(*lua.LTable)
		if !ok {
			continue
		}
		t := L.CreateTable(0, 32)
		owned[t] = true
		if fns == nil {
			real.ForEach(func(k, v lua.LValue) {
				if ks, ok := k.(lua.LString); ok && !sandboxLibDeny[lib+"."+string(ks)] {
					t.RawSetString(string(ks), v)
				}
			})
		} else {
			for _, fn := range fns {
				if v := real.RawGetString(fn); v != lua.LNil {
					t.RawSetString(fn, v)
				}
			}
		}
		base.RawSetString(lib, t)
	}
	base.RawSetString("require", L.NewFunction(st.sandboxRequire))

	// untrusted_lua_sandbox_environment: link host globals read-only.
	for _, name := range st.vm.opts.Environment {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		parts := strings.Split(name, ".")
		var v lua.LValue = G
		for _, p := range parts {
			t, ok := v.(*lua.LTable)
			if !ok {
				v = lua.LNil
				break
			}
			v = t.RawGetString(p)
		}
		if v == lua.LNil {
			continue
		}
		cur := base
		for _, p := range parts[:len(parts)-1] {
			next, ok := cur.RawGetString(p).(*lua.LTable)
			if !ok || !owned[next] {
				nt := L.CreateTable(0, 4)
				owned[nt] = true
				cur.RawSetString(p, nt)
				next = nt
			}
			cur = next
		}
		if t, ok := v.(*lua.LTable); ok {
			v = st.deepProxy(t, name)
		}
		cur.RawSetString(parts[len(parts)-1], v)
	}

	// The host's own API, as it is (Options.Expose).
	for _, name := range st.vm.opts.Expose {
		if v := G.RawGetString(name); v != lua.LNil {
			base.RawSetString(name, v)
		}
	}

	// Replace every table we built by a read-only proxy.
	var protect func(t *lua.LTable, name string) *lua.LTable
	protect = func(t *lua.LTable, name string) *lua.LTable {
		var keys []string
		t.ForEach(func(k, v lua.LValue) {
			if c, ok := v.(*lua.LTable); ok && owned[c] {
				keys = append(keys, k.String())
			}
		})
		for _, k := range keys {
			child := t.RawGetString(k).(*lua.LTable)
			t.RawSetString(k, protect(child, joinName(name, k)))
		}
		if name == "" {
			return t
		}
		return st.readOnly(t, name)
	}
	st.base = protect(base, "")
	st.envMeta = L.CreateTable(0, 2)
	st.envMeta.RawSetString("__index", st.base)
	st.envMeta.RawSetString("__metatable", lua.LFalse)
	return nil
}

func joinName(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// readOnly returns an empty proxy table whose reads go to index (a table or
// an __index function) and whose writes raise Kong's sandbox error.
func (st *state) readOnly(index lua.LValue, name string) *lua.LTable {
	L := st.L
	proxy := L.CreateTable(0, 0)
	mt := L.CreateTable(0, 3)
	mt.RawSetString("__index", index)
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Cannot modify %s.%s. Protected by the sandbox.", name, L.Get(2).String())
		return 0
	}))
	mt.RawSetString("__metatable", lua.LFalse)
	proxy.Metatable = mt
	return proxy
}

// deepProxy protects a host table and, lazily, every table reachable from
// it. Proxies are cached per state.
func (st *state) deepProxy(t *lua.LTable, name string) *lua.LTable {
	if p, ok := st.proxies[t]; ok {
		return p
	}
	index := st.L.NewFunction(func(L *lua.LState) int {
		k := L.Get(2)
		v := t.RawGet(k)
		if c, ok := v.(*lua.LTable); ok {
			v = st.deepProxy(c, name+"."+k.String())
		}
		L.Push(v)
		return 1
	})
	p := st.readOnly(index, name)
	st.proxies[t] = p
	return p
}

// sandboxRequire is Kong's restricted require: only modules listed in
// untrusted_lua_sandbox_requires, and only those the host provides
// (Options.Modules, then the state's standard libraries). Module tables are
// handed out as read-only proxies.
func (st *state) sandboxRequire(L *lua.LState) int {
	name := L.CheckString(1)
	if !st.vm.requires[name] {
		L.RaiseError("require '%s' not allowed within sandbox", name)
	}
	if v, ok := st.loaded[name]; ok {
		L.Push(v)
		return 1
	}
	var v lua.LValue = lua.LNil
	if loader, ok := st.vm.opts.Modules[name]; ok {
		L.Push(L.NewFunction(loader))
		L.Push(lua.LString(name))
		L.Call(1, 1)
		v = L.Get(-1)
		L.Pop(1)
	} else if pkg, ok := L.G.Global.RawGetString("package").(*lua.LTable); ok {
		if loaded, ok := pkg.RawGetString("loaded").(*lua.LTable); ok {
			v = loaded.RawGetString(name)
		}
		if v == lua.LNil {
			L.RaiseError("module '%s' not found", name)
		}
	}
	if v == lua.LNil {
		v = lua.LTrue
	}
	if t, ok := v.(*lua.LTable); ok {
		v = st.deepProxy(t, name)
	}
	st.loaded[name] = v
	L.Push(v)
	return 1
}

// meterLoaders makes the code ModeOn compiles at run time (load,
// loadstring, loadfile, dofile) go through the same compiler as Compile, so
// its `..` is metered too (concat.go); such code runs in the real globals,
// as in Lua 5.1. Lua files loaded by require are trusted and not rewritten.
func (st *state) meterLoaders() {
	G := st.L.G.Global
	G.RawSetString(concatName, st.concat)
	load := func(L *lua.LState, source, name string) int {
		proto, err := compileMetered(context.Background(), source, name)
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		fn := L.NewFunctionFromProto(proto)
		fn.Env = G
		L.Push(fn)
		return 1
	}
	G.RawSetString("loadstring", st.L.NewFunction(func(L *lua.LState) int {
		src := L.CheckString(1)
		return load(L, src, L.OptString(2, ChunkName(src)))
	}))
	G.RawSetString("load", st.L.NewFunction(func(L *lua.LState) int {
		reader := L.CheckFunction(1)
		name := L.OptString(2, "=(load)")
		var b strings.Builder
		for {
			L.Push(reader)
			L.Call(0, 1)
			piece := L.Get(-1)
			L.Pop(1)
			if piece == lua.LNil {
				break
			}
			if !lua.LVCanConvToString(piece) {
				L.Push(lua.LNil)
				L.Push(lua.LString("reader function must return a string"))
				return 2
			}
			if lua.LVAsString(piece) == "" {
				break
			}
			b.WriteString(lua.LVAsString(piece))
			if b.Len() > st.vm.opts.MaxStringBytes {
				L.RaiseError("load: chunk too large (limit is %d bytes)", st.vm.opts.MaxStringBytes)
			}
		}
		return load(L, b.String(), name)
	}))
	loadFile := func(L *lua.LState, path string) int {
		src, err := os.ReadFile(path)
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(fmt.Sprintf("can not open file: %v", path)))
			return 2
		}
		return load(L, string(src), path)
	}
	G.RawSetString("loadfile", st.L.NewFunction(func(L *lua.LState) int {
		return loadFile(L, L.CheckString(1))
	}))
	G.RawSetString("dofile", st.L.NewFunction(func(L *lua.LState) int {
		top := L.GetTop()
		if loadFile(L, L.CheckString(1)) != 1 {
			L.RaiseError("%s", L.Get(-1).String())
		}
		L.Call(0, lua.MultRet)
		return L.GetTop() - top
	}))
}
