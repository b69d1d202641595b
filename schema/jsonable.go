package schema

// JSONable renders the entity in Kong's /schemas/{entity} format: an ordered
// array of single-key field objects plus entity_checks, with functions
// (custom validators) left out.
func (e *Entity) JSONable() map[string]any {
	return map[string]any{
		"fields":        fieldsJSON(e.Fields),
		"entity_checks": checksJSON(e.Fields, e.Checks),
	}
}

// SubschemaJSONable renders one subschema as Kong's /schemas/plugins/{name}
// does: the subschema's own fields (consumer, protocols, config ...) and checks.
func (e *Entity) SubschemaJSONable(name string) (map[string]any, bool) {
	sub := e.subs[name]
	if sub == nil {
		return nil, false
	}
	return map[string]any{
		"fields":        fieldsJSON(sub.Fields),
		"entity_checks": checksJSON(sub.Fields, sub.Checks),
	}, true
}

func fieldsJSON(fields []*Field) []any {
	out := make([]any, 0, len(fields))
	for _, f := range fields {
		out = append(out, map[string]any{f.Name: fieldJSON(f)})
	}
	return out
}

func fieldJSON(f *Field) map[string]any {
	m := map[string]any{}
	if f.Type != "" {
		m["type"] = string(f.Type)
	}
	set := func(k string, cond bool, v any) {
		if cond {
			m[k] = v
		}
	}
	set("required", f.Required, true)
	set("default", f.Default != nil, f.Default)
	set("auto", f.Auto, true)
	set("unique", f.Unique, true)
	set("immutable", f.Immutable, true)
	set("uuid", f.UUID, true)
	set("timestamp", f.Timestamp, true)
	set("is_regex", f.IsRegex, true)
	set("eq", f.Eq != nil && f.Eq != Null, f.Eq)
	set("eq", f.Eq == Null, nil) // Kong prints eq = null (no_consumer ...)
	set("one_of", f.OneOf != nil, f.OneOf)
	set("not_one_of", f.NotOneOf != nil, f.NotOneOf)
	if f.Gt != nil {
		m["gt"] = *f.Gt
	}
	if f.Between != nil {
		m["between"] = []any{f.Between[0], f.Between[1]}
	}
	set("len_eq", f.LenEq > 0, f.LenEq)
	set("len_min", f.LenMin > 0, f.LenMin)
	set("len_min", f.AllowEmpty && f.LenMin == 0, 0)
	set("len_max", f.LenMax > 0, f.LenMax)
	set("starts_with", f.StartsWith != "", f.StartsWith)
	if f.Match != nil {
		m["match"] = f.Match.String()
	}
	if f.NotMatch != nil {
		m["not_match"] = f.NotMatch.String()
	}
	if f.MatchNone != nil {
		list := make([]any, len(f.MatchNone))
		for i, p := range f.MatchNone {
			list[i] = map[string]any{"pattern": p.Pattern.String(), "err": p.Err}
		}
		m["match_none"] = list
	}
	if f.MatchAny != nil {
		pats := make([]any, len(f.MatchAny.Patterns))
		for i, p := range f.MatchAny.Patterns {
			pats[i] = p.String()
		}
		m["match_any"] = map[string]any{"patterns": pats, "err": f.MatchAny.Err}
	}
	set("contains", f.Contains != nil, f.Contains)
	if f.Elements != nil {
		m["elements"] = fieldJSON(f.Elements)
	}
	if f.Keys != nil {
		m["keys"] = fieldJSON(f.Keys)
	}
	if f.Values != nil {
		m["values"] = fieldJSON(f.Values)
	}
	if f.Type == Record {
		m["fields"] = fieldsJSON(f.Fields)
		if len(f.Shorthands) > 0 {
			m["shorthand_fields"] = shorthandsJSON(f.Shorthands)
		}
	}
	set("reference", f.Reference != "", f.Reference)
	set("on_delete", f.OnDelete != "", f.OnDelete)
	set("description", f.Description != "", f.Description)
	set("referenceable", f.Referenceable, true)
	set("encrypted", f.Encrypted, true)
	if d := f.Deprecation; d != nil {
		dep := map[string]any{"message": d.Message, "removal_in_version": d.RemovalInVersion}
		if d.OldDefault != nil {
			dep["old_default"] = d.OldDefault
		}
		m["deprecation"] = dep
	}
	return m
}

func checksJSON(fields []*Field, checks []Check) []any {
	out := []any{}
	for _, c := range checks {
		switch {
		case c.AtLeastOneOf != nil:
			out = append(out, map[string]any{"at_least_one_of": c.AtLeastOneOf})
		case c.OnlyOneOf != nil:
			out = append(out, map[string]any{"only_one_of": c.OnlyOneOf})
		case c.MutuallyRequired != nil:
			out = append(out, map[string]any{"mutually_required": c.MutuallyRequired})
		case c.MutuallyExclusive != nil:
			out = append(out, map[string]any{"mutually_exclusive": c.MutuallyExclusive})
		case c.Distinct != nil:
			out = append(out, map[string]any{"distinct": c.Distinct})
		case c.Conditional != nil:
			cc := c.Conditional
			arg := map[string]any{
				"if_field": cc.IfField, "if_match": constraintJSON(cc.IfMatch),
				"then_field": cc.ThenField, "then_match": constraintJSON(cc.ThenMatch),
			}
			if cc.ThenErr != "" {
				arg["then_err"] = cc.ThenErr
			}
			out = append(out, map[string]any{"conditional": arg})
		case c.ConditionalAtLeastOneOf != nil:
			cc := c.ConditionalAtLeastOneOf
			arg := map[string]any{
				"if_field": cc.IfField, "if_match": constraintJSON(cc.IfMatch),
				"then_at_least_one_of": cc.ThenAtLeastOneOf,
			}
			if cc.ThenErr != "" {
				arg["then_err"] = cc.ThenErr
			}
			out = append(out, map[string]any{"conditional_at_least_one_of": arg})
		case c.Custom != nil:
			out = append(out, map[string]any{"custom_entity_check": map[string]any{"field_sources": c.Custom.FieldSources}})
		}
	}
	return out
}

// constraintJSON renders an if_match/then_match table.
func constraintJSON(f *Field) map[string]any { return fieldJSON(f) }
