package lua

import (
	"fmt"
	"path/filepath"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/portico-gw/portico/luavm"
	"github.com/portico-gw/portico/plugins"
)

// local is what a state keeps for the host (luavm.Options.Setup).
type local struct {
	host *Host
	L    *lua.LState
	// call is the running call's request, reused by every call.
	call call
	// handlers are the plugins this state has loaded.
	handlers map[*plugin]*loadedHandler
	// confs are this state's copies of instances' configurations, by the
	// table the Factory made.
	confs map[*lua.LTable]*lua.LTable
	// chunks are pre-function and post-function code as this state runs
	// it (the function a chunk returned, or the chunk).
	chunks map[*luavm.Chunk]lua.LValue
}

// Bounds of a state's caches: past them a cache starts again (entries of
// old snapshots go with it).
const (
	maxConfs  = 4096
	maxChunks = 4096
)

// call is the request a Lua call runs for: what the PDK reads and writes.
// It lives in the state's local and is handed to luavm as the call's
// value, so a call allocates nothing for it.
type call struct {
	pc    *plugins.Context
	entry *plugins.LogEntry // log phase
	phase phase
	name  string // the plugin's name (kong.log prefix, kong.ctx.plugin)
}

// phases are sets of phases a PDK function may be called in.
type phases uint16

func phaseSet(list ...phase) phases {
	var s phases
	for _, p := range list {
		s |= 1 << p
	}
	return s
}

var (
	// Kong's phase groups (kong/pdk/private/phases.lua).
	anyPhase     = phaseSet(phaseInitWorker, phaseCertificate, phaseRewrite, phaseAccess, phaseResponse, phaseHeaderFilter, phaseBodyFilter, phaseLog)
	requestPhase = phaseSet(phaseRewrite, phaseAccess, phaseResponse, phaseHeaderFilter, phaseBodyFilter, phaseLog)
	rewriteAcc   = phaseSet(phaseRewrite, phaseAccess)
	accessPhase  = phaseSet(phaseAccess)
	exitPhases   = phaseSet(phaseRewrite, phaseAccess, phaseResponse, phaseHeaderFilter)
	answerPhases = phaseSet(phaseResponse, phaseHeaderFilter, phaseBodyFilter, phaseLog)
	headerSet    = phaseSet(phaseRewrite, phaseAccess, phaseResponse, phaseHeaderFilter)
	// live are the phases with the request at hand (plugins.Context); the
	// log phase has only the log entry.
	live = phaseSet(phaseRewrite, phaseAccess, phaseResponse, phaseHeaderFilter, phaseBodyFilter)
)

// current is the running call's request, or an error naming fn when PDK
// function fn is called where it is not available.
func current(L *lua.LState, fn string, allowed phases) *call {
	c, _ := luavm.Value(L).(*call)
	if c == nil {
		if allowed&(1<<phaseInitWorker) != 0 {
			return &call{phase: phaseInitWorker}
		}
		L.RaiseError("%s: function cannot be called outside a request (init_worker phase)", fn)
	}
	if allowed&(1<<c.phase) == 0 {
		L.RaiseError("%s: function cannot be called in %s phase", fn, c.phase)
	}
	if c.pc == nil && allowed&live == allowed {
		L.RaiseError("%s: function cannot be called in %s phase", fn, c.phase)
	}
	return c
}

// pdkFunc is one PDK function: its name (for errors), the phases it is
// allowed in, and its body.
type pdkFunc struct {
	name   string
	phases phases
	fn     func(L *lua.LState, c *call) int
}

// namespace builds a PDK table (kong.request, ...) from its functions. A
// name it does not have fails with an error naming it, rather than a nil
// value failing later.
func namespace(L *lua.LState, full string, fns []pdkFunc, extra map[string]lua.LValue) *lua.LTable {
	t := L.CreateTable(0, len(fns)+len(extra))
	for _, f := range fns {
		f := f
		name := full + "." + f.name
		t.RawSetString(f.name, L.NewFunction(func(L *lua.LState) int {
			return f.fn(L, current(L, name, f.phases))
		}))
	}
	for k, v := range extra {
		t.RawSetString(k, v)
	}
	missing(L, t, full)
	return t
}

// missing makes reading an absent name of t an error naming it.
func missing(L *lua.LState, t *lua.LTable, full string) {
	mt := L.CreateTable(0, 1)
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		k := L.Get(2)
		if ks, ok := k.(lua.LString); ok && strings.HasPrefix(string(ks), "__") {
			return 0 // metamethod probes (inspect, serializers)
		}
		L.RaiseError("%s.%s is not supported by Portico's Lua plugin host (see docs/plugins.md)", full, k.String())
		return 0
	}))
	t.Metatable = mt
}

// installPDK sets the kong and ngx globals of a new state.
func installPDK(loc *local) {
	L := loc.L
	kong := L.CreateTable(0, 32)
	kong.RawSetString("version", lua.LString(loc.host.opts.KongVersion))
	kong.RawSetString("version_num", lua.LNumber(versionNum(loc.host.opts.KongVersion)))
	kong.RawSetString("request", requestPDK(L))
	kong.RawSetString("response", responsePDK(L))
	svc := servicePDK(L)
	svc.RawSetString("request", serviceRequestPDK(L))
	svc.RawSetString("response", serviceResponsePDK(L))
	kong.RawSetString("service", svc)
	kong.RawSetString("client", clientPDK(L))
	kong.RawSetString("router", routerPDK(L))
	kong.RawSetString("log", logPDK(L, loc.host))
	kong.RawSetString("ctx", ctxPDK(L))
	kong.RawSetString("node", nodePDK(L))
	kong.RawSetString("table", tablePDK(L))
	kong.RawSetString("cache", cachePDK(L))
	kong.RawSetString("ip", ipPDK(L, loc.host))
	kong.RawSetString("nginx", nginxPDK(L))
	conf, err := luavm.ToLua(L, loc.host.opts.Configuration)
	if err != nil || conf == lua.LNil {
		conf = L.NewTable()
	}
	kong.RawSetString("configuration", conf)
	kong.RawSetString("db", unsupported(L, "kong.db", "custom entities (daos.lua) and kong.db are not supported; read consumers and credentials with kong.client"))
	missing(L, kong, "kong")
	L.SetGlobal("kong", kong)
	L.SetGlobal(hostGlobal, &lua.LUserData{Value: loc.host, Metatable: lua.LNil})
	L.SetGlobal("ngx", ngxTable(loc))
	exitThroughPcall(L)
}

// exitThroughPcall makes pcall and xpcall pass kong.response.exit's
// unwinding on, as OpenResty's ngx.exit is not caught by them: code after
// an exit does not run.
func exitThroughPcall(L *lua.LState) {
	for _, name := range []string{"pcall", "xpcall"} {
		orig, ok := L.GetGlobal(name).(*lua.LFunction)
		if !ok {
			continue
		}
		L.SetGlobal(name, L.NewFunction(func(L *lua.LState) int {
			L.Insert(orig, 1)
			L.Call(L.GetTop()-1, lua.MultRet)
			if L.Get(1) == lua.LFalse && L.Get(2) == exitSignal {
				L.Error(exitSignal, 0)
			}
			return L.GetTop()
		}))
	}
}

// unsupported is a table whose every name fails with why.
func unsupported(L *lua.LState, full, why string) *lua.LTable {
	t := L.NewTable()
	mt := L.CreateTable(0, 1)
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("%s.%s: %s", full, L.Get(2).String(), why)
		return 0
	}))
	t.Metatable = mt
	return t
}

// versionNum is Kong's kong.version_num: 3.9.1 is 3009001, and so is Kong
// Enterprise's 3.9.1.0 (its fourth number is not counted).
func versionNum(v string) int {
	var a, b, c int
	fmt.Sscanf(v, "%d.%d.%d", &a, &b, &c)
	return a*1000000 + b*1000 + c
}

// where is the caller's file base name and line, as Kong's log prefix
// prints them ("handler.lua:12").
func where(L *lua.LState) string {
	w := strings.TrimSuffix(L.Where(1), ":")
	if w == "" {
		return "?"
	}
	return filepath.Base(w)
}

// pushString pushes s, or nil when absent.
func pushOptString(L *lua.LState, s []byte) int {
	if s == nil {
		L.Push(lua.LNil)
	} else {
		L.Push(lua.LString(s))
	}
	return 1
}
