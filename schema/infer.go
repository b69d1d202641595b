package schema

import (
	"math"
	"strconv"
	"strings"
)

// Infer converts form-encoded strings to the schema's types, as Kong's
// infer_value does for url-encoded and multipart bodies: "" becomes null,
// numbers and booleans are parsed, a scalar given for an array becomes a
// one-element array. Values that do not parse are left as they are so that
// validation names the field. JSON bodies are not inferred.
func (e *Entity) Infer(input map[string]any) map[string]any {
	return e.InferUpdate(input, nil)
}

// InferUpdate is Infer for a partial update (PATCH) of existing: when the
// input does not name the subschema (a plugin's config patched alone), the
// existing entity's subschema types the values.
func (e *Entity) InferUpdate(input, existing map[string]any) map[string]any {
	sub := e.subschemaOf(input)
	if _, named := input[e.SubschemaKey]; !named && existing != nil {
		sub = e.subschemaOf(existing)
	}
	fields := e.fieldsFor(sub)
	out := make(map[string]any, len(input))
	for k, v := range input {
		if f := fieldNamed(fields, k); f != nil {
			out[k] = inferValue(f, v)
			continue
		}
		if sh := e.shorthand(k); sh != nil {
			out[k] = inferValue(&Field{Type: sh.Type}, v)
			continue
		}
		out[k] = v
	}
	return out
}

func (e *Entity) shorthand(name string) *Shorthand { return shorthandNamed(e.Shorthands, name) }

func shorthandNamed(shorthands []Shorthand, name string) *Shorthand {
	for i := range shorthands {
		if shorthands[i].Name == name {
			return &shorthands[i]
		}
	}
	return nil
}

func inferValue(f *Field, v any) any {
	if s, ok := v.(string); ok && s == "" {
		return nil
	}
	switch f.Type {
	case Number, Integer:
		if s, ok := v.(string); ok {
			if n, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && !math.IsInf(n, 0) && !math.IsNaN(n) {
				return n
			}
		}
	case Boolean:
		switch v {
		case "true":
			return true
		case "false":
			return false
		}
	case Array, Set:
		a, ok := v.([]any)
		if !ok {
			if v == nil {
				return nil
			}
			if _, isMap := v.(map[string]any); isMap {
				return v
			}
			a = []any{v}
		}
		out := make([]any, len(a))
		for i, x := range a {
			if f.Elements != nil {
				out[i] = inferValue(f.Elements, x)
			} else {
				out[i] = x
			}
		}
		return out
	case Map:
		if m, ok := v.(map[string]any); ok && f.Values != nil {
			out := make(map[string]any, len(m))
			for k, x := range m {
				out[k] = inferValue(f.Values, x)
			}
			return out
		}
	case Record:
		if m, ok := v.(map[string]any); ok {
			out := make(map[string]any, len(m))
			for k, x := range m {
				if sub := f.Field(k); sub != nil {
					out[k] = inferValue(sub, x)
				} else if sh := shorthandNamed(f.Shorthands, k); sh != nil {
					out[k] = inferValue(&Field{Type: sh.Type}, x)
				} else {
					out[k] = x
				}
			}
			return out
		}
	case Foreign:
		if m, ok := v.(map[string]any); ok {
			out := make(map[string]any, len(m))
			for k, x := range m {
				if s, ok := x.(string); ok && s == "" {
					out[k] = nil
				} else {
					out[k] = x
				}
			}
			return out
		}
	}
	return v
}
