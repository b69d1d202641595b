package lua

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/pm"

	"github.com/portico-gw/portico/luavm"
	"github.com/portico-gw/portico/schema"
)

// This file converts a plugin's schema.lua, written in Kong's schema DSL
// (kong/db/schema/metaschema.lua), into the project's schema.Subschema.
// Validators written in Lua (custom_validator, custom_entity_check) stay
// in Lua: they run in the Host's schema state, one at a time, under the
// call limits.

// schemaError is a schema.lua the host cannot use; the message names the
// field.
func schemaError(plugin, format string, args ...any) error {
	return fmt.Errorf("error loading plugin schemas: on plugin '%s': %s", plugin, fmt.Sprintf(format, args...))
}

// loadSchema loads kong.plugins.<name>.schema (in the schema state, with
// schemaMu held) and converts it.
func (h *Host) loadSchema(name string) (*schema.Subschema, error) {
	module := "kong.plugins." + name + ".schema"
	if path, _ := h.findModule(module); path == "" {
		return nil, schemaError(name, msgNoSchema, name)
	}
	v, err := h.require(module)
	if err != nil {
		return nil, schemaError(name, "%s", err)
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, schemaError(name, "%s returned a %s, not a schema table", module, v.Type())
	}
	c := &converter{h: h, plugin: name}
	return c.subschema(t)
}

type converter struct {
	h      *Host
	plugin string
}

func (c *converter) fail(format string, args ...any) error {
	return schemaError(c.plugin, format, args...)
}

func (c *converter) subschema(t *lua.LTable) (*schema.Subschema, error) {
	sub := &schema.Subschema{Name: c.plugin}
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		switch key := k.String(); key {
		case "name":
			if s, ok := v.(lua.LString); !ok || string(s) != c.plugin {
				err = c.fail("schema name is %s, expected '%s'", luaString(v), c.plugin)
			}
		case "fields":
			sub.Fields, err = c.fields(v, "")
		case "entity_checks":
			sub.Checks, err = c.checks(v)
		case "shorthand_fields":
			err = c.fail("shorthand_fields are not supported by Portico's Lua plugin host")
		case "supported_partials", "transformations":
			err = c.fail("%s are not supported by Portico's Lua plugin host", key)
		default:
			err = c.fail("unknown schema attribute '%s'", key)
		}
	})
	if err != nil {
		return nil, err
	}
	if sub.Name == "" || sub.Fields == nil {
		return nil, c.fail("schema has no fields")
	}
	for _, f := range sub.Fields {
		switch f.Name {
		case "config", "protocols", "consumer", "route", "service", "consumer_group":
		default:
			return nil, c.fail("field '%s' is not a plugin field (config, protocols, consumer, route, service)", f.Name)
		}
	}
	if findField(sub.Fields, "config") == nil {
		return nil, c.fail("schema has no config field")
	}
	return sub, nil
}

// fields converts Kong's field list: an array of one-key tables,
// { { name = { type = ... } }, ... }.
func (c *converter) fields(v lua.LValue, path string) ([]*schema.Field, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, c.fail("%sfields must be an array of field definitions", prefix(path))
	}
	out := []*schema.Field{}
	for i := 1; i <= t.Len(); i++ {
		entry, ok := t.RawGetInt(i).(*lua.LTable)
		if !ok {
			return nil, c.fail("%sfields[%d] must be a table { name = { ... } }", prefix(path), i)
		}
		var name string
		var spec lua.LValue
		n := 0
		entry.ForEach(func(k, v lua.LValue) { name, spec, n = k.String(), v, n+1 })
		if n != 1 {
			return nil, c.fail("%sfields[%d] must have exactly one key, the field's name", prefix(path), i)
		}
		f, err := c.field(name, spec, join(path, name))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func prefix(path string) string {
	if path == "" {
		return ""
	}
	return path + ": "
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func findField(fields []*schema.Field, name string) *schema.Field {
	for _, f := range fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

var fieldTypes = map[string]schema.Type{
	"string": schema.String, "number": schema.Number, "integer": schema.Integer, "boolean": schema.Boolean,
	"array": schema.Array, "set": schema.Set, "map": schema.Map, "record": schema.Record,
	"foreign": schema.Foreign, "json": schema.JSON,
}

// field converts one field definition. A typedef (typedefs.lua) starts
// from the project's own typedef, and the table's attributes apply over
// it.
func (c *converter) field(name string, v lua.LValue, path string) (*schema.Field, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, c.fail("%s: a field definition must be a table", path)
	}
	f := &schema.Field{Name: name}
	if td, ok := t.RawGetString(typedefKey).(lua.LString); ok {
		mk := typedefFields[string(td)]
		if mk == nil {
			return nil, c.fail("%s: unknown typedef %s", path, td)
		}
		f = mk(name)
	}
	var keys []string
	t.ForEach(func(k, _ lua.LValue) {
		if ks, ok := k.(lua.LString); ok {
			keys = append(keys, string(ks))
		}
	})
	sort.Strings(keys) // "type" before the attributes that need it
	if tv := t.RawGetString("type"); tv != lua.LNil {
		typ, ok := fieldTypes[luaString(tv)]
		if !ok {
			return nil, c.fail("%s: unknown type %s", path, luaString(tv))
		}
		f.Type = typ
	}
	if f.Type == "" {
		return nil, c.fail("%s: field has no type", path)
	}
	explicitRequired := false
	var validators []func(any) error
	for _, k := range keys {
		av := t.RawGetString(k)
		var err error
		switch k {
		case "type", typedefKey:
		case "required":
			f.Required, explicitRequired = lua.LVAsBool(av), true
		case "default":
			f.Default, err = c.defaultValue(f, av, path)
		case "auto":
			f.Auto = lua.LVAsBool(av)
		case "unique":
			f.Unique = lua.LVAsBool(av)
		case "immutable":
			f.Immutable = lua.LVAsBool(av)
		case "eq":
			if av == null {
				f.Eq = schema.Null
			} else {
				f.Eq, err = goValue(av)
			}
		case "one_of":
			f.OneOf, err = list(av)
		case "not_one_of":
			f.NotOneOf, err = list(av)
		case "gt":
			n, ok := av.(lua.LNumber)
			if !ok {
				err = errors.New("gt must be a number")
			}
			f.Gt = schema.Float(float64(n))
		case "between":
			var l []any
			if l, err = list(av); err == nil {
				lo, ok1 := l[0].(float64)
				hi, ok2 := l[len(l)-1].(float64)
				if len(l) != 2 || !ok1 || !ok2 {
					err = errors.New("between must be { min, max }")
				}
				f.Between = schema.Range(lo, hi)
			}
		case "len_eq":
			f.LenEq, err = intAttr(av)
		case "len_min":
			f.LenMin, err = intAttr(av)
			f.AllowEmpty = f.LenMin == 0
		case "len_max":
			f.LenMax, err = intAttr(av)
		case "starts_with":
			f.StartsWith = luaString(av)
		case "uuid":
			f.UUID = lua.LVAsBool(av)
		case "timestamp":
			f.Timestamp = lua.LVAsBool(av)
		case "is_regex":
			f.IsRegex = lua.LVAsBool(av)
		case "contains":
			f.Contains, err = goValue(av)
		case "err":
			f.Err = luaString(av)
		case "description":
			f.Description = luaString(av)
		case "referenceable":
			f.Referenceable = lua.LVAsBool(av)
		case "encrypted":
			f.Encrypted = lua.LVAsBool(av)
		case "reference":
			f.Reference = luaString(av)
		case "on_delete":
			f.OnDelete = luaString(av)
		case "match", "not_match":
			pattern := luaString(av)
			if _, perr := pm.Find(pattern, []byte(""), 0, 1); perr != nil {
				err = fmt.Errorf("invalid Lua pattern %q: %v", pattern, perr)
			}
			validators = append(validators, patternValidator(pattern, k == "match"))
		case "match_all", "match_none", "match_any":
			var v func(any) error
			v, err = c.patternsValidator(k, av)
			validators = append(validators, v)
		case "custom_validator":
			fn, ok := av.(*lua.LFunction)
			if !ok {
				err = errors.New("custom_validator must be a function")
			}
			validators = append(validators, c.h.luaValidator(fn))
		case "elements":
			f.Elements, err = c.field("", av, path+".elements")
		case "keys":
			f.Keys, err = c.field("", av, path+".keys")
		case "values":
			f.Values, err = c.field("", av, path+".values")
		case "fields":
			f.Fields, err = c.fields(av, path)
		case "indexed", "examples", "deprecation", "translate_backwards", "translate_forwards",
			"legacy", "nilable", "ne", "mutually_exclusive_subsets", "json_schema":
			// Documentation and options the Admin API of Kong 3.9 does not
			// act on for plugin config.
		default:
			err = fmt.Errorf("unknown attribute '%s'", k)
		}
		if err != nil {
			return nil, c.fail("%s: %v", path, err)
		}
	}
	if f.Type == schema.Record && !explicitRequired && f.Name != "" {
		// Kong makes records required unless they say otherwise
		// (kong/db/schema/entity.lua make_records_required).
		f.Required = true
	}
	if (f.Type == schema.Array || f.Type == schema.Set) && f.Elements == nil {
		return nil, c.fail("%s: %s field needs elements", path, f.Type)
	}
	if f.Type == schema.Map && (f.Keys == nil || f.Values == nil) {
		return nil, c.fail("%s: map field needs keys and values", path)
	}
	if f.Type == schema.Record && f.Fields == nil {
		return nil, c.fail("%s: record field needs fields", path)
	}
	if len(validators) > 0 {
		if prev := f.Validator; prev != nil {
			validators = append([]func(any) error{prev}, validators...)
		}
		f.Validator = chain(validators)
	}
	return f, nil
}

func chain(vs []func(any) error) func(any) error {
	if len(vs) == 1 {
		return vs[0]
	}
	return func(v any) error {
		for _, fn := range vs {
			if err := fn(v); err != nil {
				return err
			}
		}
		return nil
	}
}

// defaultValue converts a default to the JSON model of the field's type
// (an empty Lua table is an empty array for arrays and sets).
func (c *converter) defaultValue(f *schema.Field, v lua.LValue, path string) (any, error) {
	if v == null {
		return nil, nil
	}
	g, err := goValue(v)
	if err != nil {
		return nil, err
	}
	if m, ok := g.(map[string]any); ok && len(m) == 0 && (f.Type == schema.Array || f.Type == schema.Set) {
		return []any{}, nil
	}
	return g, nil
}

func goValue(v lua.LValue) (any, error) {
	g, err := luavm.FromLua(replaceNull(v))
	if err != nil {
		return nil, err
	}
	return g, nil
}

// replaceNull turns ngx.null inside a table into nil (FromLua refuses
// userdata).
func replaceNull(v lua.LValue) lua.LValue {
	if v == null {
		return lua.LNil
	}
	return v
}

func list(v lua.LValue) ([]any, error) {
	g, err := goValue(v)
	if err != nil {
		return nil, err
	}
	l, ok := g.([]any)
	if !ok {
		return nil, errors.New("expected an array")
	}
	return l, nil
}

func intAttr(v lua.LValue) (int, error) {
	n, ok := v.(lua.LNumber)
	if !ok || float64(n) != math.Trunc(float64(n)) || n < 0 {
		return 0, errors.New("expected a non-negative integer")
	}
	return int(n), nil
}

// patternValidator is Kong's match / not_match with a Lua pattern.
func patternValidator(pattern string, want bool) func(any) error {
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		if luaMatch(pattern, s) != want {
			return fmt.Errorf("invalid value: %s", s)
		}
		return nil
	}
}

func luaMatch(pattern, s string) bool {
	m, err := pm.Find(pattern, []byte(s), 0, 1)
	return err == nil && len(m) > 0
}

// patternsValidator is Kong's match_all, match_none and match_any.
func (c *converter) patternsValidator(kind string, v lua.LValue) (func(any) error, error) {
	type pat struct{ pattern, err string }
	var pats []pat
	if kind == "match_any" {
		t, ok := v.(*lua.LTable)
		if !ok {
			return nil, errors.New("match_any must be { patterns = {...}, err = ... }")
		}
		ps, _ := t.RawGetString("patterns").(*lua.LTable)
		if ps == nil {
			return nil, errors.New("match_any needs patterns")
		}
		for i := 1; i <= ps.Len(); i++ {
			pats = append(pats, pat{pattern: luaString(ps.RawGetInt(i)), err: luaString(t.RawGetString("err"))})
		}
	} else {
		t, ok := v.(*lua.LTable)
		if !ok {
			return nil, fmt.Errorf("%s must be an array of { pattern = ..., err = ... }", kind)
		}
		for i := 1; i <= t.Len(); i++ {
			e, _ := t.RawGetInt(i).(*lua.LTable)
			if e == nil {
				return nil, fmt.Errorf("%s must be an array of { pattern = ..., err = ... }", kind)
			}
			pats = append(pats, pat{pattern: luaString(e.RawGetString("pattern")), err: luaString(e.RawGetString("err"))})
		}
	}
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		switch kind {
		case "match_all":
			for _, p := range pats {
				if !luaMatch(p.pattern, s) {
					return errors.New(p.err)
				}
			}
		case "match_none":
			for _, p := range pats {
				if luaMatch(p.pattern, s) {
					return errors.New(p.err)
				}
			}
		default:
			for _, p := range pats {
				if luaMatch(p.pattern, s) {
					return nil
				}
			}
			if len(pats) > 0 {
				return errors.New(pats[0].err)
			}
		}
		return nil
	}, nil
}

// checks converts entity_checks.
func (c *converter) checks(v lua.LValue) ([]schema.Check, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, c.fail("entity_checks must be an array")
	}
	var out []schema.Check
	for i := 1; i <= t.Len(); i++ {
		entry, ok := t.RawGetInt(i).(*lua.LTable)
		if !ok {
			return nil, c.fail("entity_checks[%d] must be a table", i)
		}
		var err error
		entry.ForEach(func(k, v lua.LValue) {
			if err != nil {
				return
			}
			var ch schema.Check
			switch kind := k.String(); kind {
			case "at_least_one_of":
				ch.AtLeastOneOf, err = stringList(v)
			case "only_one_of":
				ch.OnlyOneOf, err = stringList(v)
			case "mutually_required":
				ch.MutuallyRequired, err = stringList(v)
			case "mutually_exclusive":
				ch.MutuallyExclusive, err = stringList(v)
			case "distinct":
				ch.Distinct, err = stringList(v)
			case "conditional":
				ch.Conditional, err = c.conditional(v)
			case "conditional_at_least_one_of":
				ch.ConditionalAtLeastOneOf, err = c.conditionalAtLeastOneOf(v)
			case "custom_entity_check":
				ch.Custom, err = c.customCheck(v)
			default:
				err = fmt.Errorf("unknown entity check '%s'", kind)
			}
			out = append(out, ch)
		})
		if err != nil {
			return nil, c.fail("entity_checks[%d]: %v", i, err)
		}
	}
	return out, nil
}

func stringList(v lua.LValue) ([]string, error) {
	l, err := list(v)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(l))
	for i, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, errors.New("expected an array of field names")
		}
		out[i] = s
	}
	return out, nil
}

// match converts if_match / then_match: validators without a type (the
// field's own type applies).
func (c *converter) match(v lua.LValue, path string) (*schema.Field, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("%s must be a table", path)
	}
	probe := c.h.schemas.L().NewTable()
	t.ForEach(func(k, v lua.LValue) { probe.RawSet(k, v) })
	if probe.RawGetString("type") == lua.LNil {
		probe.RawSetString("type", lua.LString("string")) // any type: cleared below
		f, err := c.field("", probe, path)
		if err != nil {
			return nil, err
		}
		f.Type = ""
		return f, nil
	}
	return c.field("", probe, path)
}

func (c *converter) conditional(v lua.LValue) (*schema.Conditional, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, errors.New("conditional must be a table")
	}
	ifMatch, err := c.match(t.RawGetString("if_match"), "if_match")
	if err != nil {
		return nil, err
	}
	thenMatch, err := c.match(t.RawGetString("then_match"), "then_match")
	if err != nil {
		return nil, err
	}
	cond := &schema.Conditional{IfField: luaString(t.RawGetString("if_field")), IfMatch: ifMatch,
		ThenField: luaString(t.RawGetString("then_field")), ThenMatch: thenMatch}
	if e := t.RawGetString("then_err"); e != lua.LNil {
		cond.ThenErr = luaString(e)
	}
	return cond, nil
}

func (c *converter) conditionalAtLeastOneOf(v lua.LValue) (*schema.ConditionalAtLeastOneOf, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, errors.New("conditional_at_least_one_of must be a table")
	}
	ifMatch, err := c.match(t.RawGetString("if_match"), "if_match")
	if err != nil {
		return nil, err
	}
	then, err := stringList(t.RawGetString("then_at_least_one_of"))
	if err != nil {
		return nil, err
	}
	cond := &schema.ConditionalAtLeastOneOf{IfField: luaString(t.RawGetString("if_field")), IfMatch: ifMatch, ThenAtLeastOneOf: then}
	if e := t.RawGetString("then_err"); e != lua.LNil {
		cond.ThenErr = luaString(e)
	}
	return cond, nil
}

func (c *converter) customCheck(v lua.LValue) (*schema.CustomCheck, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, errors.New("custom_entity_check must be a table")
	}
	sources, err := stringList(t.RawGetString("field_sources"))
	if err != nil {
		return nil, err
	}
	fn, ok := t.RawGetString("fn").(*lua.LFunction)
	if !ok {
		return nil, errors.New("custom_entity_check needs fn")
	}
	h := c.h
	return &schema.CustomCheck{FieldSources: sources, Fn: func(e map[string]any) string {
		if err := h.callValidator(fn, e); err != nil {
			return err.Error()
		}
		return ""
	}}, nil
}

// luaValidator is a custom_validator: fn(value) returns true, or
// nil/false and a message.
func (h *Host) luaValidator(fn *lua.LFunction) func(any) error {
	return func(v any) error { return h.callValidator(fn, v) }
}

// callValidator runs a schema function in the schema state.
func (h *Host) callValidator(fn *lua.LFunction, v any) error {
	h.schemaMu.Lock()
	defer h.schemaMu.Unlock()
	if h.schemas == nil {
		return errors.New("the Lua plugin host is closed")
	}
	L := h.schemas.L()
	top := L.GetTop()
	defer L.SetTop(top)
	arg, err := luavm.ToLua(L, v)
	if err != nil {
		return err
	}
	if err := h.schemas.Call(nil, fn, 2, arg); err != nil {
		if h.schemas.Broken() {
			h.renewSchemaState()
		}
		return errors.New(strings.TrimSpace(errMessage(err)))
	}
	if lua.LVAsBool(L.Get(-2)) {
		return nil
	}
	if msg := L.Get(-1); msg != lua.LNil {
		return errors.New(luaString(msg))
	}
	return errors.New("failed validation")
}

// renewSchemaState replaces a schema state a validator broke (it timed
// out or ran out of memory).
func (h *Host) renewSchemaState() {
	h.schemas.Release()
	th, err := h.vm.Acquire()
	if err != nil {
		h.schemas = nil
		return
	}
	// The validators keep working: Lua functions outlive the state that
	// made them.
	h.schemas = th
}
