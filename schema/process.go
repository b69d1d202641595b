package schema

import (
	"crypto/rand"
	"encoding/base64"
	"sort"
	"time"
)

// Auto-field names Kong fills in by itself.
const (
	FieldID        = "id"
	FieldCreatedAt = "created_at"
	FieldUpdatedAt = "updated_at"
	// FieldWorkspace holds a workspaceable entity's workspace id. It is not
	// one of the entity's fields: the DAO sets it, the Admin API does not
	// show it, and events carry it, as Kong's do.
	FieldWorkspace = "ws_id"
	// DefaultWorkspace names the workspace every store is bootstrapped
	// with; it is neither renamed nor deleted.
	DefaultWorkspace = "default"
	// FieldTTL is Kong's ttl of a TTL entity's row: seconds to live when
	// written, seconds left when read. It is not one of the entity's
	// fields.
	FieldTTL = "ttl"
	// FieldExpiresAt holds when a TTL entity's row expires (Unix seconds);
	// the DAO sets and strips it, as it does FieldWorkspace.
	FieldExpiresAt = "ttl_expires_at"
)

// WithoutWorkspace returns row without the keys the DAO keeps beside an
// entity's fields (FieldWorkspace, FieldExpiresAt), for the schema engine,
// which neither knows nor validates them (row itself when it has none).
func WithoutWorkspace(row map[string]any) map[string]any {
	_, ws := row[FieldWorkspace]
	_, exp := row[FieldExpiresAt]
	if !ws && !exp {
		return row
	}
	out := make(map[string]any, len(row))
	for k, v := range row {
		if k != FieldWorkspace && k != FieldExpiresAt {
			out[k] = v
		}
	}
	return out
}

// Clock and id source for auto fields, injected so tests are repeatable.
type Auto struct {
	Now   func() time.Time
	NewID func() string // a UUID
}

// PrepareInsert returns a new entity ready for validation: shorthands
// expanded, defaults and auto fields (id, created_at, updated_at) filled,
// derived fields computed. Shorthand errors are returned as Errors.
func (e *Entity) PrepareInsert(input map[string]any, auto Auto) (map[string]any, Errors) {
	out, errs := e.expandShorthands(input, nil)
	if errs != nil {
		return nil, errs
	}
	fields := e.fieldsFor(e.subschemaOf(out))
	fillDefaults(fields, out)
	e.fillAuto(fields, out, auto, true)
	if e.Derive != nil {
		e.Derive(out)
	}
	return out, nil
}

// PrepareUpsert is PrepareInsert for PUT: a full replacement that keeps the
// existing row's id and created_at when there is one.
func (e *Entity) PrepareUpsert(input map[string]any, existing map[string]any, auto Auto) (map[string]any, Errors) {
	out, errs := e.PrepareInsert(input, auto)
	if errs != nil {
		return nil, errs
	}
	if existing != nil {
		if v, ok := existing[FieldID]; ok {
			out[FieldID] = v
		}
		if v, ok := existing[FieldCreatedAt]; ok && e.Field(FieldCreatedAt) != nil {
			out[FieldCreatedAt] = v
		}
	}
	return out, nil
}

// PrepareUpdate merges a partial input (PATCH) into the existing entity:
// top-level fields are replaced, records merged recursively, updated_at
// refreshed. Immutable fields that change are reported.
func (e *Entity) PrepareUpdate(existing, input map[string]any, auto Auto) (map[string]any, Errors) {
	patch, errs := e.expandShorthands(input, existing)
	if errs != nil {
		return nil, errs
	}
	out := Copy(existing).(map[string]any)
	// When the subschema key changes (a plugin renamed), the record the
	// subschema owns must not keep the old one's values.
	fields := e.fieldsFor(e.subschemaOf(out))
	newKey := false
	if e.SubschemaKey != "" {
		if v, ok := patch[e.SubschemaKey]; ok && !Equal(v, existing[e.SubschemaKey]) {
			newKey = true
			fields = e.fieldsFor(e.subschemaOf(patch))
		}
	}
	errs = Errors{}
	for k, v := range patch {
		f := fieldNamed(fields, k)
		if f != nil && f.Immutable && !Equal(existing[k], v) {
			errs[k] = msgImmutable
			continue
		}
		if f != nil && f.Type == Record && !newKey {
			if pm, ok := v.(map[string]any); ok {
				if em, ok := out[k].(map[string]any); ok {
					out[k] = mergeRecord(f, em, pm)
					continue
				}
			}
		}
		out[k] = v
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if newKey {
		// Fields the new subschema owns restart from their defaults.
		sub := e.subschemaOf(out)
		if sub != nil {
			for _, sf := range sub.Fields {
				if _, given := patch[sf.Name]; !given {
					delete(out, sf.Name)
				}
			}
		}
	}
	fillDefaults(fields, out)
	e.fillAuto(fields, out, auto, false)
	if e.Derive != nil {
		e.Derive(out)
	}
	return out, nil
}

func mergeRecord(f *Field, existing, patch map[string]any) map[string]any {
	out := Copy(existing).(map[string]any)
	for k, v := range patch {
		sub := f.Field(k)
		if sub != nil && sub.Type == Record {
			if pm, ok := v.(map[string]any); ok {
				if em, ok := out[k].(map[string]any); ok {
					out[k] = mergeRecord(sub, em, pm)
					continue
				}
			}
		}
		out[k] = v
	}
	return out
}

func (e *Entity) subschemaOf(entity map[string]any) *Subschema {
	if e.SubschemaKey == "" {
		return nil
	}
	// A list-valued key (routes' protocols) selects by its first known value.
	switch key := entity[e.SubschemaKey].(type) {
	case string:
		return e.subs[key]
	case []any:
		for _, k := range key {
			if s, ok := k.(string); ok && e.subs[s] != nil {
				return e.subs[s]
			}
		}
	}
	return nil
}

// expandShorthands expands the entity's shorthands, then those of its
// records, with the fields of the subschema the input names (else the
// existing row's, for a partial update).
func (e *Entity) expandShorthands(input, existing map[string]any) (map[string]any, Errors) {
	out, errs := e.expandEntityShorthands(input)
	if errs != nil {
		return nil, errs
	}
	sub := e.subschemaOf(out)
	if _, named := out[e.SubschemaKey]; !named && existing != nil {
		sub = e.subschemaOf(existing)
	}
	if errs := expandRecordShorthands(e.fieldsFor(sub), out); errs != nil {
		return nil, errs
	}
	return out, nil
}

func (e *Entity) expandEntityShorthands(input map[string]any) (map[string]any, Errors) {
	out := Copy(input).(map[string]any)
	primaryKeysOnly(e.Fields, out)
	for _, sh := range e.Shorthands {
		v, ok := out[sh.Name]
		if !ok {
			continue
		}
		delete(out, sh.Name)
		if v == nil {
			continue
		}
		set, err := sh.Expand(v)
		if err != nil {
			return nil, Errors{sh.Name: err.Error()}
		}
		for k, sv := range set {
			out[k] = sv
		}
	}
	return out, nil
}

// primaryKeysOnly keeps only the primary key of foreign references given
// as whole objects (go-kong sends a service's client_certificate, an SNI's
// certificate, with every field): Kong validates the primary key, ignores
// the rest and stores the reference alone.
func primaryKeysOnly(fields []*Field, entity map[string]any) {
	for _, f := range fields {
		if f.Type != Foreign {
			continue
		}
		if m, ok := entity[f.Name].(map[string]any); ok && len(m) > 1 {
			ref := map[string]any{}
			if id, ok := m[FieldID]; ok {
				ref[FieldID] = id
			}
			entity[f.Name] = ref
		}
	}
}

// fillDefaults sets every missing field the way Kong's handle_missing_field
// does: a default when there is one, a required record expanded to its own
// defaults, null otherwise. Given records get their missing sub-fields too.
func fillDefaults(fields []*Field, entity map[string]any) {
	for _, f := range fields {
		v, present := entity[f.Name]
		if !present {
			entity[f.Name] = missingValue(f)
			continue
		}
		if f.Type == Record {
			if m, ok := v.(map[string]any); ok {
				fillDefaults(f.Fields, m)
			}
		}
	}
}

func missingValue(f *Field) any {
	if f.Default != nil {
		return Copy(f.Default)
	}
	if f.Type == Record && f.Required {
		m := map[string]any{}
		fillDefaults(f.Fields, m)
		return m
	}
	return nil
}

func (e *Entity) fillAuto(fields []*Field, entity map[string]any, auto Auto, insert bool) {
	for _, f := range fields {
		if !f.Auto {
			continue
		}
		switch {
		case f.Type == String && f.UUID:
			if insert && entity[f.Name] == nil && auto.NewID != nil {
				entity[f.Name] = auto.NewID()
			}
		case f.Type == String:
			// Kong's auto strings: a random key or secret.
			if insert && entity[f.Name] == nil {
				entity[f.Name] = RandomString()
			}
		case f.Name == FieldCreatedAt:
			if entity[f.Name] == nil && auto.Now != nil {
				entity[f.Name] = timestamp(f, auto.Now())
			}
		case f.Name == FieldUpdatedAt:
			if auto.Now != nil {
				entity[f.Name] = timestamp(f, auto.Now())
			}
		}
	}
}

// RandomString is what Kong generates for an auto string field (a
// credential's key or secret): 32 characters, 24 random bytes in base64
// with "/" and "+" replaced by random letters (kong/tools/rand.lua).
func RandomString() string {
	var raw [24]byte
	var extra [32]byte
	// crypto/rand.Read never fails (Go 1.24+).
	_, _ = rand.Read(raw[:])
	_, _ = rand.Read(extra[:])
	var out [32]byte
	base64.StdEncoding.Encode(out[:], raw[:])
	for i, c := range out {
		switch c {
		case '/':
			out[i] = 'A' + extra[i]%26
		case '+':
			out[i] = 'a' + extra[i]%26
		}
	}
	return string(out[:])
}

// timestamp renders t as Kong does: integer fields in whole seconds, number
// fields (auto_timestamp_ms, targets) with millisecond precision.
func timestamp(f *Field, t time.Time) float64 {
	if f.Type == Number {
		return float64(t.UnixMilli()) / 1000
	}
	return float64(t.Unix())
}

func fieldNamed(fields []*Field, name string) *Field {
	for _, f := range fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Copy deep-copies a JSON-model value.
func Copy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = Copy(x)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, x := range v {
			a[i] = Copy(x)
		}
		return a
	default:
		return v
	}
}

// Equal compares two JSON-model values deeply.
func Equal(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok || !Equal(v, w) {
				return false
			}
		}
		return true
	case []any:
		ba, ok := b.([]any)
		if !ok || len(a) != len(ba) {
			return false
		}
		for i := range a {
			if !Equal(a[i], ba[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

// sortedKeys returns a map's keys in order, for deterministic iteration.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
