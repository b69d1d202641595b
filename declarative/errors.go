package declarative

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/portico-gw/portico/schema"
)

// Kong's declarative error (kong/db/errors.lua: code 14).
const (
	CodeDeclarative     = 14
	codeNameDeclarative = "invalid declarative configuration"
)

// LuaTable is a Lua table as Kong builds its declarative error documents:
// keys are 1-based ints (entries of an entity array) or strings (fields,
// entity names and keys). Its JSON form is cjson's: an array (with nulls in
// the gaps) when every key is an int, else an object.
type LuaTable map[any]any

// Error is an invalid declarative configuration: Kong's nested error
// document (Fields) and the input it describes, from which the flattened
// form of `POST /config?flatten_errors=1` is derived.
type Error struct {
	Fields LuaTable
	input  map[string]any
	reg    *schema.Registry
}

func (e *Error) Error() string { return prettyPrint(e.Fields, "", "") }

// Decoded reports whether the configuration's text was decoded (the
// errors are about its entities, which can be flattened).
func (e *Error) Decoded() bool { return e.input != nil }

// Message is Kong's "declarative config is invalid: {...}".
func (e *Error) Message() string { return "declarative config is invalid: " + luaPretty(e.Fields) }

// Body renders Kong's 400 body for the error; flatten adds
// flattened_errors and leaves in fields only what could not be flattened
// (top-level keys), as Kong's POST /config?flatten_errors=1 does.
func (e *Error) Body(flatten bool) map[string]any {
	fields := e.Fields
	var flat []FlatError
	if flatten {
		fields = copyTable(e.Fields)
		flat = flattenErrors(e.reg, schema.Copy(e.input), fields)
	}
	body := map[string]any{
		"code":    CodeDeclarative,
		"name":    codeNameDeclarative,
		"message": "declarative config is invalid: " + luaPretty(fields),
		"fields":  fields,
	}
	if flatten {
		if flat == nil {
			flat = []FlatError{}
		}
		body["flattened_errors"] = flat
	}
	return body
}

// FlatError is one entity's errors in Kong's flattened form.
type FlatError struct {
	EntityType string         `json:"entity_type"`
	EntityName string         `json:"entity_name,omitempty"`
	EntityID   string         `json:"entity_id,omitempty"`
	EntityTags []string       `json:"entity_tags,omitempty"`
	Entity     map[string]any `json:"entity"`
	Errors     []FieldError   `json:"errors"`
}

// FieldError is one message of a flattened error: of the entity (type
// "entity") or of one field (type "field", the field's dotted path).
type FieldError struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	Type    string `json:"type"`
}

// parseError is the error document of a file that could not be decoded.
func parseError(err error) *Error {
	return &Error{Fields: LuaTable{"error": err.Error()}}
}

// child returns t's table at key, made when missing.
func (t LuaTable) child(key any) LuaTable {
	if c, ok := t[key].(LuaTable); ok {
		return c
	}
	c := LuaTable{}
	t[key] = c
	return c
}

// fromSchemaErrors converts the schema engine's errors to Kong's table.
func fromSchemaErrors(errs schema.Errors) LuaTable {
	t := LuaTable{}
	for k, v := range errs {
		t[k] = fromSchemaValue(v)
	}
	return t
}

func fromSchemaValue(v any) any {
	switch v := v.(type) {
	case schema.Errors:
		return fromSchemaErrors(v)
	case []string:
		t := LuaTable{}
		for i, s := range v {
			t[i+1] = s
		}
		return t
	case []any:
		t := LuaTable{}
		for i, x := range v {
			if x != nil {
				t[i+1] = fromSchemaValue(x)
			}
		}
		return t
	}
	return v
}

func copyTable(t LuaTable) LuaTable {
	out := make(LuaTable, len(t))
	for k, v := range t {
		if c, ok := v.(LuaTable); ok {
			v = copyTable(c)
		}
		out[k] = v
	}
	return out
}

// keys returns t's keys: ints in order, then strings sorted.
func (t LuaTable) keys() (ints []int, strs []string) {
	for k := range t {
		switch k := k.(type) {
		case int:
			ints = append(ints, k)
		case string:
			strs = append(strs, k)
		}
	}
	sort.Ints(ints)
	sort.Strings(strs)
	return ints, strs
}

// MarshalJSON renders t as cjson does.
func (t LuaTable) MarshalJSON() ([]byte, error) {
	ints, strs := t.keys()
	var b bytes.Buffer
	if len(strs) == 0 && len(ints) > 0 {
		b.WriteByte('[')
		for i := 1; i <= ints[len(ints)-1]; i++ {
			if i > 1 {
				b.WriteByte(',')
			}
			if err := writeJSON(&b, t[i]); err != nil {
				return nil, err
			}
		}
		b.WriteByte(']')
		return b.Bytes(), nil
	}
	b.WriteByte('{')
	first := true
	put := func(k string, v any) error {
		if !first {
			b.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		return writeJSON(&b, v)
	}
	for _, k := range ints {
		if err := put(strconv.Itoa(k), t[k]); err != nil {
			return nil, err
		}
	}
	for _, k := range strs {
		if err := put(k, t[k]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, v any) error {
	if v == nil {
		b.WriteString("null")
		return nil
	}
	out, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b.Write(out)
	return nil
}

// luaPretty renders a table as Penlight's pretty.write(t, "") does in
// Kong's messages: {services={{host="required field missing"}}}, with
// sparse entries as [2]="..." and keys sorted.
func luaPretty(v any) string {
	var b strings.Builder
	writeLua(&b, v)
	return b.String()
}

var luaIdent = func(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func writeLua(b *strings.Builder, v any) {
	switch v := v.(type) {
	case LuaTable:
		ints, strs := v.keys()
		b.WriteByte('{')
		n := 0
		sep := func() {
			if n > 0 {
				b.WriteByte(',')
			}
			n++
		}
		next := 1
		for _, k := range ints {
			sep()
			if k != next {
				fmt.Fprintf(b, "[%d]=", k)
			}
			next = k + 1
			writeLua(b, v[k])
		}
		for _, k := range strs {
			sep()
			if luaIdent(k) {
				b.WriteString(k)
			} else {
				b.WriteString("[" + luaQuote(k) + "]")
			}
			b.WriteByte('=')
			writeLua(b, v[k])
		}
		b.WriteByte('}')
	case string:
		b.WriteString(luaQuote(v))
	case nil:
		b.WriteString("nil")
	default:
		fmt.Fprint(b, v)
	}
}

func luaQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// prettyPrint is Kong's pretty_print_error, the CLI's rendering:
// "in 'services':" / "  - in entry 1 of 'services':" / "    in 'host': ...".
func prettyPrint(t LuaTable, item, indent string) string {
	var out []string
	ints, strs := t.keys()
	line := func(key string, v any) {
		if c, ok := v.(LuaTable); ok {
			out = append(out, indent+key+":")
			out = append(out, prettyPrint(c, strings.TrimSuffix(strings.TrimPrefix(key, "in '"), "'"), indent+"  "))
			return
		}
		out = append(out, indent+key+": "+fmt.Sprint(v))
	}
	for _, k := range ints {
		if c, ok := t[k].(LuaTable); ok {
			out = append(out, fmt.Sprintf("%s- in entry %d of '%s':", indent, k, item))
			out = append(out, prettyPrint(c, strconv.Itoa(k), indent+"  "))
			continue
		}
		out = append(out, fmt.Sprintf("%s- in entry %d of '%s': %v", indent, k, item, t[k]))
	}
	for _, k := range strs {
		line("in '"+k+"'", t[k])
	}
	return strings.Join(out, "\n")
}
