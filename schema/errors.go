package schema

import (
	"fmt"
	"sort"
	"strings"
)

// EntityKey is where entity-level (check) errors go, as in Kong.
const EntityKey = "@entity"

// Kong's validation messages (kong/db/schema/init.lua validation_errors).
const (
	msgArray                  = "expected an array"
	msgSet                    = "expected a set"
	msgMap                    = "expected a map"
	msgRecord                 = "expected a record"
	msgString                 = "expected a string"
	msgNumber                 = "expected a number"
	msgBoolean                = "expected a boolean"
	msgInteger                = "expected an integer"
	msgEq                     = "value must be %s"
	msgGt                     = "value must be greater than %s"
	msgBetween                = "value should be between %s and %s"
	msgLenEq                  = "length must be %d"
	msgLenMin                 = "length must be at least %d"
	msgLenMax                 = "length must be at most %d"
	msgMatch                  = "invalid value: %s"
	msgStartsWith             = "should start with: %s"
	msgContains               = "expected to contain: %s"
	msgOneOf                  = "expected one of: %s"
	msgNotOneOf               = "must not be one of: %s"
	msgIsRegex                = "not a valid regex: %s"
	msgTimestamp              = "expected a valid timestamp"
	msgUUID                   = "expected a valid UUID"
	msgRequired               = "required field missing"
	msgUnknown                = "unknown field"
	msgImmutable              = "immutable field cannot be updated"
	msgUTF8                   = "expected a valid UTF-8 string"
	msgMissingPK              = "missing primary key"
	msgConditional            = "failed conditional validation given value of field '%s'"
	msgAtLeastOneOf           = "at least one of these fields must be non-empty: %s"
	msgOnlyOneOf              = "exactly one of these fields must be non-empty: %s"
	msgDistinct               = "values of these fields must be distinct: %s"
	msgMutuallyRequired       = "all or none of these fields must be set: %s"
	msgMutuallyExclusive      = "only one or none of these fields must be set: %s"
	msgConditionalAtLeastOne  = "at least one of these fields must be non-empty: %s"
	msgFailedEntityCheckFuncs = "failed entity check"
)

// Errors maps field names to messages. A value is a string, a nested Errors
// (records, foreign keys), or, under EntityKey, a []string. Its JSON form is
// Kong's "fields" object.
type Errors map[string]any

// addEntity appends an entity-level message.
func (e Errors) addEntity(msg string) {
	list, _ := e[EntityKey].([]string)
	e[EntityKey] = append(list, msg)
}

// Flatten lists the errors as Kong's message parts: entity errors first, then
// "field: message" with fields sorted at each level, nested fields dotted
// ("config.url: ...") and array elements in index order ("paths.2" before
// "paths.10").
func (e Errors) Flatten() []string {
	var out []string
	if list, ok := e[EntityKey].([]string); ok {
		out = append(out, list...)
	}
	e.flattenInto("", &out)
	return out
}

func (e Errors) flattenInto(prefix string, out *[]string) {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := e[k]
		if k == EntityKey && prefix == "" {
			continue
		}
		name := prefix + k
		switch v := v.(type) {
		case string:
			*out = append(*out, name+": "+v)
		case Errors:
			v.flattenInto(name+".", out)
		case []string:
			for _, s := range v {
				*out = append(*out, name+": "+s)
			}
		case []any:
			// Per-element errors of arrays and sets, 1-based as Kong prints them.
			for i, x := range v {
				switch x := x.(type) {
				case nil:
				case string:
					*out = append(*out, fmt.Sprintf("%s.%d: %s", name, i+1, x))
				case Errors:
					x.flattenInto(fmt.Sprintf("%s.%d.", name, i+1), out)
				}
			}
		default:
			*out = append(*out, fmt.Sprintf("%s: %v", name, v))
		}
	}
}

// Message renders Kong's schema-violation message:
// "schema violation (name: required field missing)" or
// "2 schema violations (a: ...; b: ...)".
func (e Errors) Message() string {
	parts := e.Flatten()
	if len(parts) == 1 {
		return "schema violation (" + parts[0] + ")"
	}
	return fmt.Sprintf("%d schema violations (%s)", len(parts), strings.Join(parts, "; "))
}

// Error makes Errors an error.
func (e Errors) Error() string { return e.Message() }

// quotedList renders Kong's "'a', 'b'" lists.
func quotedList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	return strings.Join(q, ", ")
}
