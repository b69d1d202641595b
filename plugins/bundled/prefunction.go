package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// serverlessPhases are the phases pre-function and post-function run code in
// (Kong OSS; the ws_* phases are Enterprise-only).
var serverlessPhases = []string{"certificate", "rewrite", "access", "header_filter", "body_filter", "log"}

// serverless is the schema pre-function and post-function share
// (kong/plugins/pre-function/_schema.lua): per phase, an array of Lua chunks.
//
// Kong compiles each chunk (kong.tools.sandbox) and reports "error parsing
// <plugin>: ..."; that check comes with the Lua plugin host, so any non-empty
// string is accepted for now.
func serverless(name string, priority int) plugins.Info {
	fields := make([]*schema.Field, len(serverlessPhases))
	atLeastOne := make([]string, len(serverlessPhases))
	for i, phase := range serverlessPhases {
		fields[i] = &schema.Field{Name: phase, Type: schema.Array, Required: true, Default: []any{},
			Elements: &schema.Field{Type: schema.String}}
		atLeastOne[i] = "config." + phase
	}
	return info(name, priority, []*schema.Field{
		noConsumer(),
		config(fields...),
	}, schema.Check{AtLeastOneOf: atLeastOne})
}

// preFunction is Kong's pre-function: runs first in every phase.
func preFunction() plugins.Info { return serverless("pre-function", 1000000) }
