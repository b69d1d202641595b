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

// handler returns the instance as a value implementing exactly the phase
// interfaces its Lua handler has, so that the proxy runs no phase for
// nothing. A plugin with rewrite or access gets a header_filter too: the
// response headers it set before the answer existed are applied there.
func (in *instance) handler() plugins.Handler {
	has := in.p.has
	r, a := has[phaseRewrite], has[phaseAccess]
	hf := has[phaseHeaderFilter] || r || a
	l := has[phaseLog]
	type R = rewriteFn
	type A = accessFn
	type H = headerFn
	type G = logFn
	switch {
	case r && a && hf && l:
		return struct {
			R
			A
			H
			G
		}{R{in}, A{in}, H{in}, G{in}}
	case r && a && hf:
		return struct {
			R
			A
			H
		}{R{in}, A{in}, H{in}}
	case r && hf && l:
		return struct {
			R
			H
			G
		}{R{in}, H{in}, G{in}}
	case a && hf && l:
		return struct {
			A
			H
			G
		}{A{in}, H{in}, G{in}}
	case r && hf:
		return struct {
			R
			H
		}{R{in}, H{in}}
	case a && hf:
		return struct {
			A
			H
		}{A{in}, H{in}}
	case hf && l:
		return struct {
			H
			G
		}{H{in}, G{in}}
	case hf:
		return H{in}
	case l:
		return G{in}
	}
	return in
}

type (
	rewriteFn struct{ in *instance }
	accessFn  struct{ in *instance }
	headerFn  struct{ in *instance }
	logFn     struct{ in *instance }
)

func (f rewriteFn) Rewrite(c *plugins.Context) error { return f.in.run(phaseRewrite, c, nil) }
func (f accessFn) Access(c *plugins.Context) error   { return f.in.run(phaseAccess, c, nil) }
func (f headerFn) HeaderFilter(c *plugins.Context) error {
	applyHeaderOps(c)
	if !f.in.p.has[phaseHeaderFilter] {
		return nil
	}
	return f.in.run(phaseHeaderFilter, c, nil)
}

// Log runs the log method off the request's path; a failure is logged
// (the answer is gone).
func (f logFn) Log(e *plugins.LogEntry) {
	if err := f.in.run(phaseLog, nil, e); err != nil {
		f.in.h.logError(f.in.p.name, phaseLog, err)
	}
}

// Response and BodyFilter run the handler's response and body_filter
// methods; the proxy has no such phases yet, so nothing calls them.
func (in *instance) Response(c *plugins.Context) error   { return in.run(phaseResponse, c, nil) }
func (in *instance) BodyFilter(c *plugins.Context) error { return in.run(phaseBodyFilter, c, nil) }

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
	_ plugins.Rewriter       = rewriteFn{}
	_ plugins.Accessor       = accessFn{}
	_ plugins.HeaderFilterer = headerFn{}
	_ plugins.Logger         = logFn{}
)
