// Package schema describes Kong's entities as data: fields, types, defaults,
// validators, unique keys and references. Generic code (the db DAO, the Admin
// API, /schemas) is derived from these values; adding an entity is adding a
// definition, not writing handlers.
//
// Values follow encoding/json's model: string, float64, bool, []any,
// map[string]any and nil (Kong's ngx.null). Processing never mutates its input.
package schema

import (
	"regexp"
)

// Type is a Kong field type.
type Type string

// Kong's field types.
const (
	String  Type = "string"
	Number  Type = "number"
	Integer Type = "integer"
	Boolean Type = "boolean"
	Array   Type = "array"
	Set     Type = "set"
	Map     Type = "map"
	Record  Type = "record"
	Foreign Type = "foreign"
	JSON    Type = "json"
)

// Field is one field of an entity or record. The zero value of each
// constraint means "not set". Fields are immutable once registered.
type Field struct {
	Name string
	Type Type

	Required  bool
	Default   any // deep-copied into entities; nil means no default
	Auto      bool
	Unique    bool
	Immutable bool
	// Nullable false is Kong's `required`; kept separate so a field with a
	// default can still be set to null explicitly.

	// Validators, run in Kong's order (schema/init.lua validators_order).
	Eq        any
	OneOf     []any
	NotOneOf  []any
	Gt        *float64
	Timestamp bool
	UUID      bool
	IsRegex   bool
	Between   *[2]float64
	LenEq     int
	LenMin    int
	// AllowEmpty is Kong's explicit len_min = 0: strings are otherwise
	// refused when empty.
	AllowEmpty bool
	LenMax     int
	StartsWith string
	// Match and NotMatch are Go regular expressions standing in for Kong's Lua
	// patterns; the message names the offending value, as Kong's does.
	Match    *regexp.Regexp
	NotMatch *regexp.Regexp
	// MatchNone lists patterns the value must not match, each with its message.
	MatchNone []PatternError
	// MatchAny lists patterns of which at least one must match.
	MatchAny *PatternsError
	Contains any
	// Err replaces the message of any failing validator (Kong's err).
	Err string
	// Validator is a custom validator (Kong's custom_validator); it returns a
	// Kong-style message on failure.
	Validator func(v any) error

	// Aggregates.
	Elements *Field   // array, set
	Keys     *Field   // map
	Values   *Field   // map
	Fields   []*Field // record
	// Shorthands are a record's input-only fields (Kong's shorthand_fields
	// inside a record, e.g. rate-limiting's config.redis_host).
	Shorthands []Shorthand
	// KeyedErrors reports a map value's error under its key
	// (config.payload.text) instead of on the whole map as Kong does, where
	// naming the entry matters (webhook-custom templates).
	KeyedErrors bool

	// Foreign references.
	Reference string // the referenced entity name
	OnDelete  string // "cascade" | "restrict" | "" (restrict)
	// Loose references are indexed but not enforced: the row may outlive
	// the one it references (delivery records of a deleted event hook).
	Loose bool
	// Indexed fields (strings) are indexed by value, not unique: rows are
	// found by them without a scan (an RBAC token's identifier).
	Indexed bool

	// Documentation and flags shown by /schemas.
	Description   string
	Referenceable bool
	Encrypted     bool
	// Sensitive marks secrets: they are hashed or masked, never logged.
	Sensitive bool
	// Deprecation marks a field Kong still accepts and returns but will
	// remove. /schemas shows the field with it, as Kong does: clients that
	// fill a config from the schema (decK, go-kong) must know the field, or
	// the null the Admin API returns for it diffs forever.
	Deprecation *Deprecation
	// WriteOnly fields are accepted on writes but never returned.
	WriteOnly bool
	// Transient fields are validated but not stored: the DAO turns them into
	// other rows (a certificate's snis become SNI entities) and fills them
	// back in on reads.
	Transient bool
}

// PatternError is a regular expression with the message Kong prints when it
// matches (match_none) or fails to match (match_all).
type PatternError struct {
	Pattern *regexp.Regexp
	Err     string
}

// PatternsError is Kong's match_any: one of Patterns must match, else Err.
type PatternsError struct {
	Patterns []*regexp.Regexp
	Err      string
}

// Field returns the record's sub-field with this name, or nil.
func (f *Field) Field(name string) *Field {
	for _, sub := range f.Fields {
		if sub.Name == name {
			return sub
		}
	}
	return nil
}

// Float returns a pointer to v, for Between and Gt literals.
func Float(v float64) *float64 { return &v }

// Range returns a Between constraint.
func Range(lo, hi float64) *[2]float64 { return &[2]float64{lo, hi} }

// Strings turns string literals into a OneOf list.
func Strings(ss ...string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Ints turns integer literals into a OneOf list or an array default.
func Ints(ns ...int) []any {
	out := make([]any, len(ns))
	for i, n := range ns {
		out[i] = float64(n)
	}
	return out
}

// Deprecation is Kong's `deprecation` field property.
type Deprecation struct {
	Message          string
	RemovalInVersion string
	// OldDefault is the default the field had before it was deprecated (nil:
	// none).
	OldDefault any
}
