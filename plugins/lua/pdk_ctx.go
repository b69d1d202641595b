package lua

import (
	"net/netip"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/portico-gw/portico/luavm"
	"github.com/portico-gw/portico/plugins"
)

// kong.ctx, kong.node, kong.table, kong.cache, kong.ip and kong.nginx.

// requestState is the Lua state of the call's request: from the Context,
// or (log phase) from the log entry that carries it.
func requestState(c *call) *request {
	if c.pc != nil {
		return requestOf(c.pc)
	}
	if r, ok := c.entry.Lua.(*request); ok {
		return r
	}
	// A request no Lua plugin touched before its log phase.
	r := &request{}
	c.entry.Lua = r
	return r
}

// ctxPDK is kong.ctx: shared (one table per request for every plugin) and
// plugin (one table per request and plugin).
func ctxPDK(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	mt := L.CreateTable(0, 1)
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		k := L.CheckString(2)
		switch k {
		case "shared":
			r := requestState(current(L, "kong.ctx.shared", requestPhase))
			if r.shared == nil {
				r.shared = L.NewTable()
			}
			L.Push(r.shared)
		case "plugin":
			c := current(L, "kong.ctx.plugin", requestPhase)
			r := requestState(c)
			if r.plugin == nil {
				r.plugin = map[string]*lua.LTable{}
			}
			t := r.plugin[c.name]
			if t == nil {
				t = L.NewTable()
				r.plugin[c.name] = t
			}
			L.Push(t)
		default:
			L.RaiseError("kong.ctx.%s is not supported by Portico's Lua plugin host (see docs/plugins.md)", k)
		}
		return 1
	}))
	t.Metatable = mt
	return t
}

func nodePDK(L *lua.LState) *lua.LTable {
	return namespace(L, "kong.node", []pdkFunc{
		{"get_id", anyPhase, func(L *lua.LState, c *call) int {
			L.Push(lua.LString(hostOf(L).node(c).ID))
			return 1
		}},
		{"get_hostname", anyPhase, func(L *lua.LState, c *call) int {
			L.Push(lua.LString(hostOf(L).node(c).Hostname))
			return 1
		}},
	}, nil)
}

// node is the node's identity: from the request, remembered for calls
// without one (log, init_worker).
func (h *Host) node(c *call) plugins.Node {
	if c.pc != nil && c.pc.Node.ID != "" {
		if n := h.nodeID.Load(); n == nil || n.ID != c.pc.Node.ID {
			n := c.pc.Node
			h.nodeID.Store(&n)
		}
		return c.pc.Node
	}
	if n := h.nodeID.Load(); n != nil {
		return *n
	}
	return plugins.Node{}
}

func tablePDK(L *lua.LState) *lua.LTable {
	return namespace(L, "kong.table", []pdkFunc{
		{"new", anyPhase, func(L *lua.LState, c *call) int {
			L.Push(L.CreateTable(L.OptInt(1, 0), L.OptInt(2, 0)))
			return 1
		}},
		{"clear", anyPhase, func(L *lua.LState, c *call) int {
			t := L.CheckTable(1)
			var keys []lua.LValue
			t.ForEach(func(k, _ lua.LValue) { keys = append(keys, k) })
			for _, k := range keys {
				t.RawSet(k, lua.LNil)
			}
			return 0
		}},
	}, nil)
}

// cache is kong.cache: values Lua callbacks loaded, kept as Go values
// (states do not share Lua tables) until their ttl, bounded in number.
type cache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	value   any
	expires time.Time // zero: never
}

const maxCacheEntries = 10000

func (c *cache) get(key string) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if ok && !e.expires.IsZero() && time.Now().After(e.expires) {
		delete(c.entries, key)
		return cacheEntry{}, false
	}
	return e, ok
}

func (c *cache) set(key string, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCacheEntries {
		c.entries = map[string]cacheEntry{}
	}
	c.entries[key] = e
}

func (c *cache) invalidate(key string) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}

// cachePDK is kong.cache: get(key, opts, cb, ...), probe, invalidate.
func cachePDK(L *lua.LState) *lua.LTable {
	return namespace(L, "kong.cache", []pdkFunc{
		{"get", anyPhase, func(L *lua.LState, c *call) int {
			h := hostOf(L)
			key := L.CheckString(2)
			if e, ok := h.cache.get(key); ok {
				return pushCached(L, e.value)
			}
			cb := L.Get(4)
			if cb == lua.LNil {
				L.Push(lua.LNil)
				return 1
			}
			ttl := 0.0
			if opts, ok := L.Get(3).(*lua.LTable); ok {
				if n, ok := opts.RawGetString("ttl").(lua.LNumber); ok {
					ttl = float64(n)
				}
			}
			top := L.GetTop()
			L.Push(cb)
			for i := 5; i <= top; i++ {
				L.Push(L.Get(i))
			}
			if err := L.PCall(top-4, 2, nil); err != nil {
				L.Push(lua.LNil)
				L.Push(lua.LString(err.Error()))
				return 2
			}
			v, errv := L.Get(-2), L.Get(-1)
			if errv != lua.LNil {
				L.Push(lua.LNil)
				L.Push(errv)
				return 2
			}
			g, err := luavm.FromLua(replaceNull(v))
			if err != nil {
				L.Push(lua.LNil)
				L.Push(lua.LString(err.Error()))
				return 2
			}
			e := cacheEntry{value: g}
			if ttl > 0 {
				e.expires = time.Now().Add(time.Duration(ttl * float64(time.Second)))
			}
			h.cache.set(key, e)
			L.Push(v)
			return 1
		}},
		{"probe", anyPhase, func(L *lua.LState, c *call) int {
			e, ok := hostOf(L).cache.get(L.CheckString(2))
			if !ok {
				L.Push(lua.LNil)
				return 1
			}
			ttl := -1.0
			if !e.expires.IsZero() {
				ttl = time.Until(e.expires).Seconds()
			}
			L.Push(lua.LNumber(ttl))
			L.Push(lua.LNil)
			pushCached(L, e.value)
			return 3
		}},
		{"invalidate", anyPhase, func(L *lua.LState, c *call) int {
			hostOf(L).cache.invalidate(L.CheckString(2))
			return 0
		}},
		{"invalidate_local", anyPhase, func(L *lua.LState, c *call) int {
			hostOf(L).cache.invalidate(L.CheckString(2))
			return 0
		}},
	}, nil)
}

func pushCached(L *lua.LState, v any) int {
	lv, err := luavm.ToLua(L, v)
	if err != nil {
		L.RaiseError("kong.cache: %s", err.Error())
	}
	L.Push(lv)
	return 1
}

func ipPDK(L *lua.LState, h *Host) *lua.LTable {
	return namespace(L, "kong.ip", []pdkFunc{
		{"is_trusted", anyPhase, func(L *lua.LState, c *call) int {
			a, err := netip.ParseAddr(L.CheckString(1))
			L.Push(lua.LBool(err == nil && h.isTrusted(a.Unmap())))
			return 1
		}},
	}, nil)
}

func nginxPDK(L *lua.LState) *lua.LTable {
	return namespace(L, "kong.nginx", []pdkFunc{
		{"get_subsystem", anyPhase, func(L *lua.LState, c *call) int {
			L.Push(lua.LString("http"))
			return 1
		}},
	}, nil)
}
