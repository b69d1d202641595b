// Package plugins is Portico's plugin model: the plugin types a node knows
// (Kong's "installed" plugins), the subset kong.conf's `plugins` property
// enables, and the subschemas they give Kong's plugins entity.
//
// At this stage plugins are stored and validated, not executed. A plugin type
// is an Info value; its configuration is a schema.Subschema of the plugins
// entity, selected by the plugin's name (Kong: kong/db/schema/entities/plugins.lua,
// subschema_key = "name").
//
// Lifecycle: a Registry is filled once at start-up (bundled.Register, later
// custom Lua plugins), narrowed to the enabled set with Enabled, and installed
// into the plugins entity with Install. After that it is read-only and safe
// for concurrent use.
package plugins

import (
	"fmt"
	"sort"
	"strings"

	"github.com/portico-gw/portico/schema"
)

// Info describes one plugin type.
//
// Execution phases (rewrite, access, header_filter, log) are not part of
// Info: they are optional interfaces that the handler New returns
// implements, discovered once by type assertion when plugin chains are
// built, never per request (see handler.go).
type Info struct {
	// Name is the plugin's name as configured in plugin rows, e.g. "key-auth".
	Name string
	// Version is what Kong reports for the plugin (handler VERSION), shown by
	// GET / under plugins.available_on_server; empty means the node's Kong
	// version, as Kong's bundled plugins report.
	Version string
	// Priority orders execution: higher runs first (handler PRIORITY).
	Priority int
	// Schema replaces the plugins entity's fields of the same names (config,
	// protocols, consumer ...) for rows of this plugin. Its Name is the
	// plugin's name.
	Schema *schema.Subschema
	// New builds an instance from a row's configuration; nil for a plugin
	// that is stored and validated but does not run yet.
	New Factory
	// Events are the events the plugin publishes for event hooks (Kong's
	// kong.event_hooks.publish in a plugin's init_worker): a node with the
	// plugin enabled lists them under GET /event-hooks/sources, and the
	// plugin emits them through Context.Events.
	Events []Event
}

// Event is one event a plugin publishes: its source and name, the fields
// of its data, those that tell events apart for snooze and on_change
// (unique), and a description.
type Event struct {
	Source, Name, Description string
	Fields, Unique            []string
}

// Runs reports whether the plugin executes (it has a handler).
func (i Info) Runs() bool { return i.New != nil }

// Kong's `plugins` property keywords (kong.conf.default).
const (
	// KeywordBundled stands for every bundled plugin.
	KeywordBundled = "bundled"
	// KeywordOff, as the first value, enables no plugin at all.
	KeywordOff = "off"
)

// Registry holds plugin types by name. Fill it at start-up; afterwards it is
// read-only and safe for concurrent use. The zero value is an empty registry.
type Registry struct {
	byName map[string]Info
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{byName: map[string]Info{}} }

// Register adds a plugin type. An empty name, a missing schema, a schema named
// differently or a duplicate name are programming errors and panic.
func (r *Registry) Register(info Info) {
	switch {
	case info.Name == "":
		panic("BUG: plugin without a name")
	case info.Schema == nil:
		panic(fmt.Sprintf("BUG: plugin %s has no schema", info.Name))
	case info.Schema.Name != info.Name:
		panic(fmt.Sprintf("BUG: plugin %s has a schema named %q", info.Name, info.Schema.Name))
	}
	if r.byName == nil {
		r.byName = map[string]Info{}
	}
	if _, dup := r.byName[info.Name]; dup {
		panic("BUG: duplicate plugin " + info.Name)
	}
	r.byName[info.Name] = info
}

// Lookup returns the plugin type registered under name.
func (r *Registry) Lookup(name string) (Info, bool) {
	info, ok := r.byName[name]
	return info, ok
}

// All returns the registered plugin types sorted by name.
func (r *Registry) All() []Info {
	out := make([]Info, 0, len(r.byName))
	for _, info := range r.byName {
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Enabled returns a new registry restricted to kong.conf's `plugins` value:
// "bundled" adds every plugin of r that runs, other values add the plugin
// of that name, and "off" as the first value enables none (later "off"s are
// ignored), as Kong's conf_loader does. Values are trimmed; empty ones are
// skipped. A name r does not know is an error naming it, like Kong's
// start-up failure, and so is a plugin that cannot run yet: an operator
// must not believe it is in effect.
//
// Every plugin in r counts as bundled for now; custom (Lua) plugins will be
// told apart when they can be registered.
func (r *Registry) Enabled(list []string) (*Registry, error) {
	out := NewRegistry()
	if len(list) > 0 && strings.TrimSpace(list[0]) == KeywordOff {
		return out, nil
	}
	for _, v := range list {
		name := strings.TrimSpace(v)
		switch name {
		case "", KeywordOff:
			continue
		case KeywordBundled:
			for n, info := range r.byName {
				if info.Runs() {
					out.byName[n] = info
				}
			}
			continue
		}
		info, ok := r.byName[name]
		if !ok {
			// Kong: kong/db/dao/plugins.lua load_plugin_schemas.
			return nil, fmt.Errorf("%s plugin is enabled but not installed", name)
		}
		if !info.Runs() {
			return nil, fmt.Errorf("%s plugin is enabled but cannot run on this node yet", name)
		}
		out.byName[name] = info
	}
	return out, nil
}

// NotRunning is the refusal of a plugin r knows but that cannot run yet,
// or "" for any other name: the Admin API names it instead of storing a
// configuration nothing would apply.
func (r *Registry) NotRunning(name string) string {
	if info, ok := r.byName[name]; ok && !info.Runs() {
		return "plugin '" + name + "' cannot run on this node yet"
	}
	return ""
}

// Install adds every registered plugin's subschema to the plugins entity. A
// subschema already present is a programming error (schema.Entity.AddSubschema
// panics).
func (r *Registry) Install(e *schema.Entity) {
	for _, info := range r.All() {
		e.AddSubschema(info.Schema)
	}
}
