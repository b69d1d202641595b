package lua

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// shimModules are the modules Kong plugins require that OpenResty or Kong
// provide, written for gopher-lua. Plugins' own modules come from
// lua_package_path.
var shimModules = map[string]lua.LGFunction{
	"cjson":                   cjsonModule(false),
	"cjson.safe":              cjsonModule(true),
	"kong.db.schema.typedefs": typedefsModule,
	"kong.db.schema":          schemaModule,
	"kong.plugins.base_plugin": func(L *lua.LState) int {
		return doString(L, basePlugin)
	},
	"kong.meta": func(L *lua.LState) int {
		t := L.NewTable()
		v := hostOf(L).opts.KongVersion
		t.RawSetString("version", lua.LString(v))
		t.RawSetString("_VERSION", lua.LString(v))
		t.RawSetString("_NAME", lua.LString("kong"))
		L.Push(t)
		return 1
	},
	"resty.sha256": hasherModule(sha256.New),
	"resty.sha1":   hasherModule(sha1.New),
	"resty.md5":    hasherModule(md5.New),
	"resty.sha512": hasherModule(sha512.New),
	"resty.string": func(L *lua.LState) int {
		t := L.NewTable()
		t.RawSetString("to_hex", L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LString(hex.EncodeToString([]byte(L.CheckString(1)))))
			return 1
		}))
		t.RawSetString("atoi", L.NewFunction(func(L *lua.LState) int {
			n, _ := strconv.Atoi(L.CheckString(1))
			L.Push(lua.LNumber(n))
			return 1
		}))
		L.Push(t)
		return 1
	},
	"resty.random": func(L *lua.LState) int {
		t := L.NewTable()
		t.RawSetString("bytes", L.NewFunction(func(L *lua.LState) int {
			n := L.CheckInt(1)
			if n < 0 || n > 1<<20 {
				L.ArgError(1, "bad length")
			}
			b := make([]byte, n)
			rand.Read(b)
			L.Push(lua.LString(b))
			return 1
		}))
		L.Push(t)
		return 1
	},
	"bit": bitModule,
}

// installModules makes the shim modules loadable with require.
func installModules(loc *local) {
	L := loc.L
	pkg, ok := L.GetGlobal("package").(*lua.LTable)
	if !ok {
		return
	}
	preload, ok := pkg.RawGetString("preload").(*lua.LTable)
	if !ok {
		return
	}
	for name, fn := range shimModules {
		preload.RawSetString(name, L.NewFunction(fn))
	}
}

func doString(L *lua.LState, src string) int {
	fn, err := L.LoadString(src)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	L.Push(fn)
	L.Call(0, 1)
	return 1
}

// schemaModule is kong.db.schema as schema files use it: Schema.define
// returns its definition.
func schemaModule(L *lua.LState) int {
	t := L.NewTable()
	t.RawSetString("define", L.NewFunction(func(L *lua.LState) int {
		L.Push(L.Get(1))
		return 1
	}))
	L.Push(t)
	return 1
}

// basePlugin is Kong 2's kong.plugins.base_plugin: a class with extend,
// new and empty phase methods, for plugins written against it.
const basePlugin = `
local BasePlugin = {}
BasePlugin.__index = BasePlugin
function BasePlugin:extend()
  local cls = {}
  for k, v in pairs(self) do
    if k:find("__") == 1 then cls[k] = v end
  end
  cls.__index = cls
  cls.super = self
  return setmetatable(cls, self)
end
function BasePlugin:__call(...)
  local obj = setmetatable({}, self)
  obj:new(...)
  return obj
end
function BasePlugin:new(name) self._name = name end
function BasePlugin:get_name() return self._name end
for _, phase in ipairs({ "init_worker", "certificate", "rewrite", "access", "header_filter", "body_filter", "log" }) do
  BasePlugin[phase] = function() end
end
return BasePlugin
`

// hasherModule is resty.sha256 and friends: new(), :update(s), :final(),
// :reset().
func hasherModule(newHash func() hash.Hash) lua.LGFunction {
	return func(L *lua.LState) int {
		mod := L.NewTable()
		methods := L.NewTable()
		methods.RawSetString("__index", methods)
		get := func(L *lua.LState) hash.Hash {
			ud := L.CheckUserData(1)
			h, ok := ud.Value.(hash.Hash)
			if !ok {
				L.ArgError(1, "expected a hash object")
			}
			return h
		}
		methods.RawSetString("update", L.NewFunction(func(L *lua.LState) int {
			get(L).Write([]byte(L.CheckString(2)))
			L.Push(lua.LTrue)
			return 1
		}))
		methods.RawSetString("final", L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LString(get(L).Sum(nil)))
			return 1
		}))
		methods.RawSetString("reset", L.NewFunction(func(L *lua.LState) int {
			get(L).Reset()
			L.Push(lua.LTrue)
			return 1
		}))
		mod.RawSetString("new", L.NewFunction(func(L *lua.LState) int {
			ud := L.NewUserData()
			ud.Value = newHash()
			ud.Metatable = methods
			L.Push(ud)
			return 1
		}))
		L.Push(mod)
		return 1
	}
}

// bitModule is LuaJIT's bit: 32-bit operations on numbers.
func bitModule(L *lua.LState) int {
	t := L.NewTable()
	arg := func(L *lua.LState, n int) uint32 { return uint32(int64(L.CheckNumber(n))) }
	ret := func(L *lua.LState, v uint32) int {
		L.Push(lua.LNumber(int32(v)))
		return 1
	}
	fold := func(op func(a, b uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			v := arg(L, 1)
			for i := 2; i <= L.GetTop(); i++ {
				v = op(v, arg(L, i))
			}
			return ret(L, v)
		}
	}
	t.RawSetString("band", L.NewFunction(fold(func(a, b uint32) uint32 { return a & b })))
	t.RawSetString("bor", L.NewFunction(fold(func(a, b uint32) uint32 { return a | b })))
	t.RawSetString("bxor", L.NewFunction(fold(func(a, b uint32) uint32 { return a ^ b })))
	t.RawSetString("bnot", L.NewFunction(func(L *lua.LState) int { return ret(L, ^arg(L, 1)) }))
	t.RawSetString("tobit", L.NewFunction(func(L *lua.LState) int { return ret(L, arg(L, 1)) }))
	t.RawSetString("lshift", L.NewFunction(func(L *lua.LState) int { return ret(L, arg(L, 1)<<(arg(L, 2)&31)) }))
	t.RawSetString("rshift", L.NewFunction(func(L *lua.LState) int { return ret(L, arg(L, 1)>>(arg(L, 2)&31)) }))
	t.RawSetString("arshift", L.NewFunction(func(L *lua.LState) int { return ret(L, uint32(int32(arg(L, 1))>>(arg(L, 2)&31))) }))
	t.RawSetString("tohex", L.NewFunction(func(L *lua.LState) int {
		n := L.OptInt(2, 8)
		s := strconv.FormatUint(uint64(arg(L, 1)), 16)
		for len(s) < 8 {
			s = "0" + s
		}
		if n < 8 && n > 0 {
			s = s[8-n:]
		}
		L.Push(lua.LString(s))
		return 1
	}))
	L.Push(t)
	return 1
}
