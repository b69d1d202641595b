package bundled

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// Transformer messages (kong/plugins/request-transformer/schema.lua).
const (
	msgNoValue       = "key '%s' has no value"
	msgInvalidHeader = "'%s' is not a valid header"
)

// colonPair matches "name:value" entries (Lua "^[^:]+:.*$").
var colonPair = regexp.MustCompile(`^[^:]+:.*$`)

// splitPair splits an entry as Lua's "^([^:]+):*(.-)$" does: the name runs to
// the first colon, the colons after it are dropped. ok is false when the
// entry starts with a colon.
func splitPair(entry string) (name, value string, ok bool) {
	i := strings.IndexByte(entry, ':')
	if i == 0 || entry == "" {
		return "", "", false
	}
	if i < 0 {
		return entry, "", true
	}
	return entry[:i], strings.TrimLeft(entry[i:], ":"), true
}

// checkForValue is request-transformer's check_for_value: "name:value" with a
// non-empty value. Kong also compiles the value as a Penlight template
// ($(...) Lua expressions); templates are checked when the Lua host lands.
func checkForValue(v any) error {
	s, _ := v.(string)
	name, value, _ := splitPair(s)
	if value == "" {
		return fmt.Errorf(msgNoValue, name)
	}
	return nil
}

// headerPair is the transformers' validate_headers: the name must be a valid
// header name and, when valueOK is given, the value must pass it.
func headerPair(valueOK func(string) bool) func(any) error {
	return func(v any) error {
		s, _ := v.(string)
		name, value, _ := splitPair(s)
		if !validHeaderName(name) {
			return fmt.Errorf(msgInvalidHeader, name)
		}
		if valueOK != nil && !valueOK(value) {
			return fmt.Errorf(msgInvalidHeader, value)
		}
		return nil
	}
}

// transformList is an array of strings defaulting to [] whose elements pass
// elem's constraints.
func transformList(name string, elem *schema.Field) *schema.Field {
	elem.Type = schema.String
	return &schema.Field{Name: name, Type: schema.Array, Required: true, Default: []any{}, Elements: elem}
}

// requestTransformer is Kong's request-transformer
// (kong/plugins/request-transformer/schema.lua).
func requestTransformer() plugins.Info {
	plain := func(name string) *schema.Field { return transformList(name, &schema.Field{}) }
	colon := func(name string) *schema.Field {
		return transformList(name, &schema.Field{Validator: checkForValue})
	}
	headerValues := func() *schema.Field {
		return transformList("headers", &schema.Field{Match: colonPair, Validator: headerPair(validHeaderValue)})
	}
	add := func(name string, uri bool) *schema.Field {
		fields := []*schema.Field{colon("body"), headerValues(), colon("querystring")}
		if uri {
			fields = append(fields, &schema.Field{Name: "uri", Type: schema.String})
		}
		return record(name, fields...)
	}
	return info("request-transformer", 801, []*schema.Field{
		protocolsAny(),
		config(
			httpMethod("http_method"),
			record("remove",
				plain("body"),
				transformList("headers", &schema.Field{Validator: headerPair(nil)}),
				plain("querystring"),
			),
			record("rename",
				colon("body"),
				transformList("headers", &schema.Field{Match: colonPair, Validator: headerPair(validHeaderName)}),
				colon("querystring"),
			),
			add("replace", true),
			add("add", false),
			add("append", false),
		),
	})
}
