// Package catalog assembles what a node serves: the core entities with the
// subschemas of the plugins it enables. The node, tests and tools build
// their registries here so that they all serve the same thing.
package catalog

import (
	"fmt"
	"strings"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/plugins/bundled"
	luaplugins "github.com/portico-gw/portico/plugins/lua"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/schema/entities"
)

// Options are what a catalog is built from.
type Options struct {
	// Plugins is Kong's `plugins` setting (e.g. ["bundled", "my-plugin"]).
	Plugins []string
	// Lua loads the plugins the setting names that are not bundled (from
	// lua_package_path) and runs pre-function and post-function; nil
	// leaves them out (such names are then not installed).
	Lua *luaplugins.Host
}

// Build returns a fresh schema registry and the registry of the plugins
// enabled by Kong's `plugins` setting (e.g. ["bundled"]), without Lua
// plugins.
func Build(enabledPlugins []string) (*schema.Registry, *plugins.Registry, error) {
	return BuildWith(Options{Plugins: enabledPlugins})
}

// BuildWith returns a fresh schema registry and the registry of the
// enabled plugins, bundled and Lua ones.
func BuildWith(o Options) (*schema.Registry, *plugins.Registry, error) {
	all := plugins.NewRegistry()
	if o.Lua == nil {
		bundled.Register(all)
	} else {
		tmp := plugins.NewRegistry()
		bundled.Register(tmp)
		for _, info := range tmp.All() {
			if info.Name == "pre-function" || info.Name == "post-function" {
				info = o.Lua.Serverless(info)
			}
			all.Register(info)
		}
		for _, v := range o.Plugins {
			name := strings.TrimSpace(v)
			if name == "" || name == plugins.KeywordBundled || name == plugins.KeywordOff {
				continue
			}
			if _, ok := all.Lookup(name); ok {
				continue
			}
			info, err := o.Lua.Load(name)
			if err != nil {
				return nil, nil, fmt.Errorf("loading plugins: %w", err)
			}
			all.Register(info)
		}
	}
	enabled, err := all.Enabled(o.Plugins)
	if err != nil {
		return nil, nil, fmt.Errorf("loading plugins: %w", err)
	}
	reg := schema.NewRegistry()
	reg.Register(entities.All()...)
	if e := reg.Entity("plugins"); e != nil {
		enabled.Install(e)
		notEnabled := e.UnknownSubschema
		e.UnknownSubschema = func(name string) string {
			if msg := all.NotRunning(name); msg != "" {
				return msg
			}
			return notEnabled(name)
		}
	}
	return reg, enabled, nil
}
