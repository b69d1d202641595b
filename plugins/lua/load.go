package lua

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/portico-gw/portico/plugins"
)

// The phases a handler may implement, in Kong's order.
type phase uint8

const (
	phaseInitWorker phase = iota
	phaseCertificate
	phaseRewrite
	phaseAccess
	phaseResponse
	phaseHeaderFilter
	phaseBodyFilter
	phaseLog
	numPhases
)

var phaseNames = [numPhases]string{"init_worker", "certificate", "rewrite", "access", "response", "header_filter", "body_filter", "log"}

func (p phase) String() string { return phaseNames[p] }

// plugin is one loaded Lua plugin type.
type plugin struct {
	name, module string
	priority     int
	version      string
	// has tells which phase methods the handler implements.
	has [numPhases]bool
}

// Kong's messages for handlers it refuses (kong/db/dao/plugins.lua).
const (
	msgNotInstalled = "%s plugin is enabled but not installed;\n%s"
	msgPriority     = "Plugin %q cannot be loaded because its PRIORITY field is not a valid integer number, got: %q.\n"
	msgVersion      = "Plugin %q cannot be loaded because its VERSION field does not follow the \"x.y.z\" format, got: %q.\n"
	msgResponseBoth = "Plugin %q can't be loaded because it implements both `response` and `header_filter` or `body_filter` methods.\n"
	msgNoSchema     = "no configuration schema found for plugin: %s"
	msgDAOs         = "plugin %s declares custom entities (kong.plugins.%s.daos), which Portico does not support; remove daos.lua or use a bundled plugin's entities"
)

// Installed reports whether lua_package_path has a handler module for the
// plugin name.
func (h *Host) Installed(name string) bool {
	path, _ := h.findModule("kong.plugins." + name + ".handler")
	return path != ""
}

// Load loads the plugin name from lua_package_path: its handler (checked
// as Kong checks it) and its schema (converted). Errors carry Kong's
// wording and the file and line of a Lua failure.
func (h *Host) Load(name string) (plugins.Info, error) {
	h.schemaMu.Lock()
	defer h.schemaMu.Unlock()
	if h.schemas == nil {
		return plugins.Info{}, fmt.Errorf("on plugin '%s': the Lua plugin host is closed", name)
	}
	p, err := h.loadHandler(name)
	if err != nil {
		return plugins.Info{}, schemaError(name, "%s", strings.TrimSpace(err.Error()))
	}
	if path, _ := h.findModule("kong.plugins." + name + ".daos"); path != "" {
		return plugins.Info{}, schemaError(name, msgDAOs, name, name)
	}
	sub, err := h.loadSchema(name)
	if err != nil {
		return plugins.Info{}, err
	}
	h.loaded[name] = p
	return plugins.Info{
		Name:     name,
		Version:  p.version,
		Priority: p.priority,
		Schema:   sub,
		New:      func(conf map[string]any) (plugins.Handler, error) { return h.newInstance(p, conf) },
	}, nil
}

// require loads a module in the schema state and returns its value.
func (h *Host) require(module string) (lua.LValue, error) {
	th := h.schemas
	L := th.L()
	top := L.GetTop()
	defer L.SetTop(top)
	if err := th.Call(nil, L.GetGlobal("require"), 1, lua.LString(module)); err != nil {
		return nil, fmt.Errorf("%s", errMessage(err))
	}
	return L.Get(-1), nil
}

func (h *Host) loadHandler(name string) (*plugin, error) {
	module := "kong.plugins." + name + ".handler"
	if path, tried := h.findModule(module); path == "" {
		return nil, fmt.Errorf(msgNotInstalled, name, "module '"+module+"' not found in lua_package_path ("+h.opts.PackagePath+"):\n\t"+strings.Join(tried, "\n\t"))
	}
	v, err := h.require(module)
	if err != nil {
		return nil, err
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("module '%s' returned a %s, not a handler table", module, v.Type())
	}
	p := &plugin{name: name, module: module}
	prio := h.schemas.L().GetField(t, "PRIORITY")
	n, ok := prio.(lua.LNumber)
	if !ok || float64(n) != math.Trunc(float64(n)) || math.IsInf(float64(n), 0) {
		return nil, fmt.Errorf(msgPriority, name, luaString(prio))
	}
	p.priority = int(n)
	ver := h.schemas.L().GetField(t, "VERSION")
	s, ok := ver.(lua.LString)
	if !ok || !validVersion(string(s)) {
		return nil, fmt.Errorf(msgVersion, name, luaString(ver))
	}
	p.version = string(s)
	for ph := phase(0); ph < numPhases; ph++ {
		_, p.has[ph] = h.schemas.L().GetField(t, ph.String()).(*lua.LFunction)
	}
	if p.has[phaseResponse] && (p.has[phaseHeaderFilter] || p.has[phaseBodyFilter]) {
		return nil, fmt.Errorf(msgResponseBoth, name)
	}
	return p, nil
}

// luaString is tostring(v), as Kong's messages print values.
func luaString(v lua.LValue) string {
	if v == lua.LNil {
		return "nil"
	}
	return v.String()
}

// validVersion is Kong's VERSION check: numbers separated by dots, at
// most three (x, x.y or x.y.z).
func validVersion(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) > 3 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 32); err != nil {
			return false
		}
	}
	return true
}
