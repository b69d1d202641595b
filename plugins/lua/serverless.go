package lua

import (
	"errors"
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/luavm"
	"github.com/portico-gw/portico/plugins"
)

// pre-function and post-function (kong/plugins/pre-function/_handler.lua):
// per phase, an array of Lua chunks run in order through the same PDK as
// Lua plugins, in the room that honours untrusted_lua. A chunk runs once
// per state; if it returns a function, that function is what runs from
// then on (Kong's "0.2.0+" style, keeping upvalues between requests).

var serverlessPhases = []phase{phaseCertificate, phaseRewrite, phaseAccess, phaseHeaderFilter, phaseBodyFilter, phaseLog}

// Serverless gives pre-function or post-function (info, as the bundled
// package declares it) its handler and the write-time check of its code:
// syntax, and with untrusted_lua = sandbox what the sandbox refuses, in
// Kong's message "error parsing <plugin>: ...".
func (h *Host) Serverless(info plugins.Info) plugins.Info {
	name := info.Name
	if cfg := findField(info.Schema.Fields, "config"); cfg != nil {
		for _, f := range cfg.Fields {
			if f.Elements == nil {
				continue
			}
			el := *f.Elements
			el.Validator = func(v any) error {
				s, _ := v.(string)
				if err := h.serverless.CheckSource(s); err != nil {
					return fmt.Errorf("error parsing %s: %s", name, errMessage(err))
				}
				return nil
			}
			f.Elements = &el
		}
	}
	info.New = func(conf map[string]any) (plugins.Handler, error) { return h.newServerless(name, info.Priority, conf) }
	return info
}

func (h *Host) newServerless(name string, priority int, conf map[string]any) (plugins.Handler, error) {
	in := &instance{h: h, p: &plugin{name: name, priority: priority}, conf: &lua.LTable{}}
	for _, ph := range serverlessPhases {
		for _, src := range row.Strings(conf[ph.String()]) {
			chunk, err := h.serverless.Compile(luavm.ChunkName(src), src)
			if err != nil {
				// untrusted_lua = off (or code that no longer compiles):
				// Kong fails the requests, it does not skip the plugin.
				in.broken = fmt.Errorf("%s", errMessage(err))
			}
			in.chunks[ph] = append(in.chunks[ph], chunk)
			in.p.has[ph] = true
		}
	}
	return in.handler(), nil
}

// runServerless runs a phase's chunks in a pooled state of the
// untrusted_lua room.
func (in *instance) runServerless(ph phase, pc *plugins.Context, e *plugins.LogEntry) error {
	if in.broken != nil {
		return in.broken
	}
	th, err := in.h.serverless.Acquire()
	if err != nil {
		return errors.New(errMessage(err))
	}
	defer th.Release()
	loc := th.Local().(*local)
	loc.call = call{pc: pc, entry: e, phase: ph, name: in.p.name}
	defer func() { loc.call = call{} }()
	for _, chunk := range in.chunks[ph] {
		fn, seen := loc.chunks[chunk]
		if !seen {
			if len(loc.chunks) >= maxChunks {
				clear(loc.chunks)
			}
			f := th.Load(chunk)
			loc.chunks[chunk] = f
			err := th.Call(&loc.call, f, 1)
			if err := callError(err); err != nil {
				return err
			}
			if err != nil { // exited
				return nil
			}
			res := loc.L.Get(-1)
			loc.L.Pop(1)
			if res.Type() != lua.LTFunction {
				continue
			}
			loc.chunks[chunk] = res
			fn = res
		}
		if err := callError(th.Call(&loc.call, fn, 0)); err != nil {
			return err
		}
		if pc != nil && pc.Exited() && (ph == phaseRewrite || ph == phaseAccess) {
			return nil
		}
	}
	return nil
}
