package schema

import (
	"math"
	"time"
)

// Output shapes a stored row for the Admin API the way Kong prints entities:
// every field present (null when unset), records expanded, write-only fields
// removed, empty arrays and maps printed as [] and {}.
// A TTL entity's row shows the whole seconds it has left as "ttl" (null
// without an expiry).
func (e *Entity) Output(row map[string]any) map[string]any {
	out := outputRecord(e.fieldsFor(e.subschemaOf(row)), row)
	if e.TTL {
		out[FieldTTL] = nil
		if left, ok := TTLLeft(row, time.Now()); ok {
			out[FieldTTL] = left
		}
	}
	return out
}

// ExpiresAt is when a TTL entity's row expires (Unix seconds); ok is false
// for a row without an expiry.
func ExpiresAt(row map[string]any) (float64, bool) {
	exp, ok := row[FieldExpiresAt].(float64)
	return exp, ok
}

// Expired reports whether a row has an expiry that has passed.
func Expired(row map[string]any, now time.Time) bool {
	exp, ok := ExpiresAt(row)
	return ok && float64(now.Unix()) >= exp
}

// TTLLeft is the whole seconds a row with an expiry has left (Kong floors
// them); ok is false without one.
func TTLLeft(row map[string]any, now time.Time) (float64, bool) {
	exp, ok := ExpiresAt(row)
	if !ok {
		return 0, false
	}
	return math.Max(0, math.Floor(exp-float64(now.UnixMilli())/1000)), true
}

func outputRecord(fields []*Field, row map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		if f.WriteOnly {
			continue
		}
		out[f.Name] = outputValue(f, row[f.Name])
	}
	return out
}

func outputValue(f *Field, v any) any {
	switch f.Type {
	case Record:
		if m, ok := v.(map[string]any); ok {
			out := outputRecord(f.Fields, m)
			echoShorthands(f.Shorthands, out)
			return out
		}
	case Array, Set:
		if a, ok := v.([]any); ok {
			if f.Elements != nil && f.Elements.Type == Record {
				out := make([]any, len(a))
				for i, x := range a {
					out[i] = outputValue(f.Elements, x)
				}
				return out
			}
			if a == nil {
				return []any{}
			}
		}
	case Map:
		if m, ok := v.(map[string]any); ok && m == nil {
			return map[string]any{}
		}
	}
	return v
}

// StripNulls returns a copy of an entity without null fields, recursively in
// records: the shape Kong gives event payloads (entity, old_entity).
func StripNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if x == nil {
				continue
			}
			out[k] = StripNulls(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = StripNulls(x)
		}
		return out
	}
	return v
}

// Redacted is what a secret looks like where an entity leaves the Admin API
// (event payloads, logs).
const Redacted = "******"

// Redact returns a copy of a row with its sensitive fields (webhook
// secrets ...) replaced by Redacted when set.
func (e *Entity) Redact(row map[string]any) map[string]any {
	return redactRecord(e.fieldsFor(e.subschemaOf(row)), row)
}

func redactRecord(fields []*Field, row map[string]any) map[string]any {
	out := make(map[string]any, len(row))
	for k, v := range row {
		out[k] = v
	}
	for _, f := range fields {
		v, ok := row[f.Name]
		if !ok || v == nil {
			continue
		}
		switch {
		case f.Sensitive:
			out[f.Name] = Redacted
		case f.Type == Record:
			if m, ok := v.(map[string]any); ok {
				out[f.Name] = redactRecord(f.Fields, m)
			}
		}
	}
	return out
}

// Payload shapes a row the way Kong's events carry entities: the fields of
// the schema without nulls (recursively in records), write-only fields left
// out and sensitive ones redacted. It is Output, Redact and StripNulls in
// one pass, for the write path.
func (e *Entity) Payload(row map[string]any) map[string]any {
	out := payloadRecord(e.fieldsFor(e.subschemaOf(row)), row)
	if ws, ok := row[FieldWorkspace].(string); ok && e.Workspaceable {
		out[FieldWorkspace] = ws
	}
	return out
}

func payloadRecord(fields []*Field, row map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		v := row[f.Name]
		if v == nil || f.WriteOnly {
			continue
		}
		switch {
		case f.Sensitive:
			out[f.Name] = Redacted
		case f.Type == Record:
			if m, ok := v.(map[string]any); ok {
				out[f.Name] = payloadRecord(f.Fields, m)
				continue
			}
			out[f.Name] = v
		default:
			out[f.Name] = StripNulls(v)
		}
	}
	return out
}
