package bundled

import (
	"regexp"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// msgFilename is file-log's message for a bad path.
const msgFilename = "not a valid filename"

// fileLog is Kong's file-log (kong/plugins/file-log/schema.lua).
//
// Kong declares path { match = [[^[^*&%%\`]+$]], err = "not a valid filename" }:
// the field's err replaces the match message. The engine has no per-field
// message, so the same rule is written as the forbidden characters' pattern
// in MatchNone, which carries its own message.
func fileLog() plugins.Info {
	return info("file-log", 9, []*schema.Field{
		protocolsAny(),
		config(
			&schema.Field{Name: "path", Type: schema.String, Required: true,
				MatchNone: []schema.PatternError{{Pattern: regexp.MustCompile("[*&%\\\\`]"), Err: msgFilename}}},
			&schema.Field{Name: "reopen", Type: schema.Boolean, Required: true, Default: false},
			luaCode("custom_fields_by_lua"),
		),
	})
}
