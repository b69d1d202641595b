package lua

import (
	"errors"
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/portico-gw/portico/luavm"
	"github.com/portico-gw/portico/plugins"
)

// instance is one plugin row of a Lua plugin: its configuration converted
// to Lua once (the Factory runs when the proxy builds a snapshot).
type instance struct {
	h    *Host
	p    *plugin
	conf *lua.LTable // never handed to Lua code: states run on copies

	// pre-function and post-function: their chunks by phase, or why they
	// cannot run (untrusted_lua = off).
	chunks [numPhases][]*luavm.Chunk
	broken error
}

// loadedHandler is a plugin's handler as one state loaded it: the object
// its methods get as self, and the methods.
type loadedHandler struct {
	self    lua.LValue
	methods [numPhases]*lua.LFunction
}

// newInstance is a Lua plugin's Factory.
func (h *Host) newInstance(p *plugin, conf map[string]any) (plugins.Handler, error) {
	t, err := masterTable(conf)
	if err != nil {
		return nil, fmt.Errorf("converting the configuration of %s to Lua: %w", p.name, err)
	}
	in := &instance{h: h, p: p, conf: t}
	return in.handler(), nil
}

// masterTable converts a configuration to Lua without a state: plain
// tables of strings, numbers and booleans (nulls are left out, as Kong's
// plugins iterator does).
func masterTable(v map[string]any) (*lua.LTable, error) {
	lv, err := masterValue(v, 0)
	if err != nil {
		return nil, err
	}
	t, _ := lv.(*lua.LTable)
	if t == nil {
		t = &lua.LTable{}
	}
	return t, nil
}

func masterValue(v any, depth int) (lua.LValue, error) {
	if depth > luavm.MaxDepth {
		return nil, errors.New("configuration nested too deep")
	}
	switch x := v.(type) {
	case nil:
		return lua.LNil, nil
	case bool:
		return lua.LBool(x), nil
	case string:
		return lua.LString(x), nil
	case float64:
		return lua.LNumber(x), nil
	case int:
		return lua.LNumber(x), nil
	case []any:
		t := &lua.LTable{}
		for i, e := range x {
			lv, err := masterValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			if lv == lua.LNil {
				lv = null
			}
			t.RawSetInt(i+1, lv)
		}
		return t, nil
	case map[string]any:
		t := &lua.LTable{}
		for k, e := range x {
			lv, err := masterValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			if lv != lua.LNil {
				t.RawSetString(k, lv)
			}
		}
		return t, nil
	}
	return nil, fmt.Errorf("cannot convert %T", v)
}

// copyTable deep-copies a master table into a state's own.
func copyTable(L *lua.LState, t *lua.LTable) *lua.LTable {
	out := L.CreateTable(t.Len(), 0)
	t.ForEach(func(k, v lua.LValue) {
		if sub, ok := v.(*lua.LTable); ok {
			v = copyTable(L, sub)
		}
		out.RawSet(k, v)
	})
	return out
}

// handler returns the instance as a plugins.Handler: it has every phase
// method and tells the host (plugins.Phased) which its Lua handler
// defines, so that the proxy runs no phase for nothing. A plugin with
// rewrite or access gets a header_filter too: the response headers it set
// before the answer existed are applied there; one with body_filter asks
// there for the answer's body.
func (in *instance) handler() plugins.Handler { return luaHandler{in} }

type luaHandler struct{ in *instance }

func (h luaHandler) Runs(name string) bool {
	has := h.in.p.has
	switch name {
	case "certificate":
		return has[phaseCertificate]
	case "rewrite":
		return has[phaseRewrite]
	case "access":
		return has[phaseAccess]
	case "response":
		return has[phaseResponse]
	case "header_filter":
		return has[phaseHeaderFilter] || has[phaseRewrite] || has[phaseAccess] || has[phaseResponse] || has[phaseBodyFilter]
	case "body_filter":
		return has[phaseBodyFilter]
	case "log":
		return has[phaseLog]
	}
	return false
}

// Certificate runs the certificate method in the TLS handshake, without a
// request: the PDK of that phase (kong.log, kong.node ...) is available.
func (h luaHandler) Certificate(*plugins.CertContext) error {
	return h.in.run(phaseCertificate, nil, nil)
}

func (h luaHandler) Rewrite(c *plugins.Context) error  { return h.in.run(phaseRewrite, c, nil) }
func (h luaHandler) Access(c *plugins.Context) error   { return h.in.run(phaseAccess, c, nil) }
func (h luaHandler) Response(c *plugins.Context) error { return h.in.run(phaseResponse, c, nil) }

func (h luaHandler) HeaderFilter(c *plugins.Context) error {
	applyHeaderOps(c)
	if h.in.p.has[phaseBodyFilter] {
		c.BufferBody()
	}
	if !h.in.p.has[phaseHeaderFilter] {
		return nil
	}
	return h.in.run(phaseHeaderFilter, c, nil)
}

func (h luaHandler) BodyFilter(c *plugins.Context) error { return h.in.run(phaseBodyFilter, c, nil) }

// Log runs the log method off the request's path; a failure is logged
// (the answer is gone).
func (h luaHandler) Log(e *plugins.LogEntry) {
	if err := h.in.run(phaseLog, nil, e); err != nil {
		h.in.h.logError(h.in.p.name, phaseLog, err)
	}
}

// run calls one phase method in a pooled state.
func (in *instance) run(ph phase, pc *plugins.Context, e *plugins.LogEntry) error {
	if in.p.module == "" {
		return in.runServerless(ph, pc, e)
	}
	th, err := in.h.vm.Acquire()
	if err != nil {
		return err
	}
	defer th.Release()
	loc := th.Local().(*local)
	lh, err := loc.handler(th, in.p)
	if err != nil {
		return err
	}
	fn := lh.methods[ph]
	if fn == nil {
		return nil
	}
	conf := loc.confs[in.conf]
	if conf == nil {
		if len(loc.confs) >= maxConfs {
			clear(loc.confs)
		}
		conf = copyTable(loc.L, in.conf)
		loc.confs[in.conf] = conf
	}
	loc.call = call{pc: pc, entry: e, phase: ph, name: in.p.name}
	err = th.Call(&loc.call, fn, 0, lh.self, conf)
	loc.call = call{}
	return callError(err)
}

// callError is nil for a call that ended with kong.response.exit, else
// the Lua error (file:line: message).
func callError(err error) error {
	if err == nil {
		return nil
	}
	var le *luavm.Error
	if errors.As(err, &le) && le.Object == exitSignal {
		return nil
	}
	return errors.New(errMessage(err))
}

// handler is the plugin's handler in this state, loaded on first use (and
// its init_worker run, as a worker does at start in Kong).
func (loc *local) handler(th *luavm.Thread, p *plugin) (*loadedHandler, error) {
	if lh := loc.handlers[p]; lh != nil {
		return lh, nil
	}
	L := loc.L
	if err := th.Call(nil, L.GetGlobal("require"), 1, lua.LString(p.module)); err != nil {
		return nil, fmt.Errorf("loading %s: %s", p.module, errMessage(err))
	}
	self := L.Get(-1)
	L.Pop(1)
	t, ok := self.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("loading %s: not a table", p.module)
	}
	// A Kong 2 BasePlugin class is instantiated (handler()), as Kong 2 did.
	if _, isClass := L.GetField(t, "new").(*lua.LFunction); isClass && L.GetMetaField(t, "__call") != lua.LNil {
		if err := th.Call(nil, t, 1); err != nil {
			return nil, fmt.Errorf("instantiating %s: %s", p.module, errMessage(err))
		}
		self = L.Get(-1)
		L.Pop(1)
	}
	lh := &loadedHandler{self: self}
	for ph := phase(0); ph < numPhases; ph++ {
		if p.has[ph] {
			lh.methods[ph], _ = L.GetField(self, ph.String()).(*lua.LFunction)
		}
	}
	if fn := lh.methods[phaseInitWorker]; fn != nil {
		loc.call = call{phase: phaseInitWorker, name: p.name}
		err := th.Call(&loc.call, fn, 0, self)
		loc.call = call{}
		if err := callError(err); err != nil {
			return nil, fmt.Errorf("init_worker of %s: %s", p.name, err)
		}
	}
	loc.handlers[p] = lh
	return lh, nil
}

// logError reports a failure no request can show (log phase).
func (h *Host) logError(name string, ph phase, err error) {
	if h.opts.Log != nil {
		h.opts.Log.Errorf("[kong] %s plugin failed in the %s phase: %v", name, ph, err)
	}
}

var (
	_ plugins.Phased         = luaHandler{}
	_ plugins.Certifier      = luaHandler{}
	_ plugins.Rewriter       = luaHandler{}
	_ plugins.Accessor       = luaHandler{}
	_ plugins.Responder      = luaHandler{}
	_ plugins.HeaderFilterer = luaHandler{}
	_ plugins.BodyFilterer   = luaHandler{}
	_ plugins.Logger         = luaHandler{}
)
