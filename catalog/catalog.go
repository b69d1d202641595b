// Package catalog assembles what a node serves: the core entities with the
// subschemas of the plugins it enables. The node, tests and tools build
// their registries here so that they all serve the same thing.
package catalog

import (
	"fmt"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/plugins/bundled"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/schema/entities"
)

// Build returns a fresh schema registry and the registry of the plugins
// enabled by Kong's `plugins` setting (e.g. ["bundled"]).
func Build(enabledPlugins []string) (*schema.Registry, *plugins.Registry, error) {
	all := plugins.NewRegistry()
	bundled.Register(all)
	enabled, err := all.Enabled(enabledPlugins)
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
