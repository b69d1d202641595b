package schema

import (
	"fmt"
	"strconv"
	"strings"
)

// msgShorthandMismatch is Kong's answer when a deprecated shorthand and the
// field it stands for are both given, with different values
// (kong/db/schema/init.lua validate_deprecation_exclusiveness).
const msgShorthandMismatch = "both deprecated and new field are used but their values mismatch: %s = %s vs %s = %s"

// expandRecordShorthands expands the shorthands of the records among
// fields, in entity and in records nested in it (entity is a copy the
// caller owns). Errors are nested under the records' names, as Kong reports
// them.
func expandRecordShorthands(fields []*Field, entity map[string]any) Errors {
	var errs Errors
	for _, f := range fields {
		if f.Type != Record {
			continue
		}
		rec, ok := entity[f.Name].(map[string]any)
		if !ok {
			continue
		}
		sub := applyShorthands(f.Shorthands, rec)
		for k, v := range expandRecordShorthands(f.Fields, rec) {
			if sub == nil {
				sub = Errors{}
			}
			sub[k] = v
		}
		if sub != nil {
			if errs == nil {
				errs = Errors{}
			}
			errs[f.Name] = sub
		}
	}
	return errs
}

// applyShorthands replaces a record's shorthand fields by the fields they
// stand for, as Kong's process_auto_fields does.
func applyShorthands(shorthands []Shorthand, rec map[string]any) Errors {
	var errs Errors
	fail := func(name string, msg any) {
		if errs == nil {
			errs = Errors{}
		}
		errs[name] = msg
	}
	for _, sh := range shorthands {
		v, given := rec[sh.Name]
		if !given {
			continue
		}
		delete(rec, sh.Name)
		if msg := validateField(&Field{Type: sh.Type, AllowEmpty: sh.AllowEmpty}, v); msg != nil {
			fail(sh.Name, msg)
			continue
		}
		deprecated := sh.Deprecation != nil
		if deprecated && v != nil && len(sh.ReplacedWith) > 0 {
			if cur := valueAt(rec, sh.ReplacedWith); cur != nil && !Equal(cur, v) {
				fail(sh.Name, fmt.Sprintf(msgShorthandMismatch, sh.Name, luaString(v),
					strings.Join(sh.ReplacedWith, "."), luaString(cur)))
				continue
			}
		}
		var set map[string]any
		if sh.Expand != nil {
			var err error
			if set, err = sh.Expand(v); err != nil {
				fail(sh.Name, err.Error())
				continue
			}
		} else {
			set = nestAt(sh.ReplacedWith, v)
		}
		mergeShorthand(rec, set, deprecated)
	}
	return errs
}

// mergeShorthand writes a shorthand's fields into rec one level deep, as
// Kong merges them: a deprecated shorthand yields to the fields given
// beside it (null ones aside), any other overrides them.
func mergeShorthand(rec, set map[string]any, deprecated bool) {
	for k, v := range set {
		vm, isRecord := v.(map[string]any)
		if !isRecord {
			if !deprecated || rec[k] == nil {
				rec[k] = v
			}
			continue
		}
		src, _ := rec[k].(map[string]any)
		out := make(map[string]any, len(vm)+len(src))
		if deprecated {
			for kk, vv := range vm {
				out[kk] = vv
			}
			for kk, vv := range src {
				if _, has := out[kk]; !has || vv != nil {
					out[kk] = vv
				}
			}
		} else {
			for kk, vv := range src {
				out[kk] = vv
			}
			for kk, vv := range vm {
				out[kk] = vv
			}
		}
		rec[k] = out
	}
}

// echoShorthands adds to a record's output the value of each deprecated
// shorthand's field under the shorthand's name, as Kong's reads do.
func echoShorthands(shorthands []Shorthand, out map[string]any) {
	for _, sh := range shorthands {
		if sh.Deprecation != nil && len(sh.ReplacedWith) > 0 {
			out[sh.Name] = valueAt(out, sh.ReplacedWith)
		}
	}
}

// valueAt is the value at path in m, nil when any step is missing.
func valueAt(m map[string]any, path []string) any {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// nestAt builds {path[0]: {path[1]: ... v}}.
func nestAt(path []string, v any) map[string]any {
	if len(path) == 0 {
		return nil
	}
	for i := len(path) - 1; i > 0; i-- {
		v = map[string]any{path[i]: v}
	}
	return map[string]any{path[0]: v}
}

// luaString renders a value as Lua's tostring does in Kong's messages.
func luaString(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case string:
		return v
	case float64:
		if v == float64(int64(v)) {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'g', 14, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}

// shorthandsJSON renders a record's shorthand_fields as Kong's /schemas
// does: each one's type and deprecation (its function left out).
func shorthandsJSON(shorthands []Shorthand) []any {
	out := make([]any, 0, len(shorthands))
	for _, sh := range shorthands {
		m := map[string]any{"type": string(sh.Type)}
		if sh.AllowEmpty {
			m["len_min"] = 0
		}
		if d := sh.Deprecation; d != nil {
			dep := map[string]any{"message": d.Message, "removal_in_version": d.RemovalInVersion}
			if len(sh.ReplacedWith) > 0 {
				path := make([]any, len(sh.ReplacedWith))
				for i, p := range sh.ReplacedWith {
					path[i] = p
				}
				dep["replaced_with"] = []any{map[string]any{"path": path}}
			}
			m["deprecation"] = dep
		}
		out = append(out, map[string]any{sh.Name: m})
	}
	return out
}
