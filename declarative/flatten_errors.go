package declarative

import (
	"sort"
	"strings"

	"github.com/portico-gw/portico/schema"
)

// flattenErrors is Kong's flatten_errors (kong/db/errors.lua): the errors
// of each entity of the input, nested ones included, become one entry
// naming the entity; errs keeps what could not be attributed to an entity
// (top-level keys). Kong drops the entries of an entity section it cannot
// attribute (an error keyed by an entity's name); here they stay in errs.
func flattenErrors(reg *schema.Registry, in any, errs LuaTable) []FlatError {
	input, _ := in.(map[string]any)
	var flat []FlatError
	_, sections := errs.keys()
	for _, entityType := range sections {
		section, ok := errs[entityType].(LuaTable)
		entities, isList := input[entityType].([]any)
		if !ok || !isList {
			continue
		}
		ints, _ := section.keys()
		for _, i := range ints {
			if i < 1 || i > len(entities) {
				continue
			}
			entity, ok := entities[i-1].(map[string]any)
			if !ok {
				continue
			}
			addEntityErrors(reg, entityType, entity, section[i], &flat)
			delete(section, i)
		}
		if len(section) == 0 {
			delete(errs, entityType)
		}
	}
	return flat
}

// foreignRef is a foreign field: entity.field references reference.
type foreignRef struct{ entity, field, reference string }

// relationships lists the foreign fields of entityType and those
// referencing it, as Kong's each_foreign_field does.
func relationships(reg *schema.Registry, entityType string) []foreignRef {
	var out []foreignRef
	for _, e := range reg.Entities() {
		for _, f := range e.References() {
			if e.Name == entityType || f.Reference == entityType {
				out = append(out, foreignRef{entity: e.Name, field: f.Name, reference: f.Reference})
			}
		}
	}
	return out
}

func makePK(entity map[string]any) map[string]any {
	if id, ok := entity[schema.FieldID].(string); ok && schema.IsUUID(id) {
		return map[string]any{schema.FieldID: id}
	}
	return nil
}

func addEntityErrors(reg *schema.Registry, entityType string, entity map[string]any, errv any, flat *[]FlatError) {
	var errs LuaTable
	switch v := errv.(type) {
	case string:
		errs = LuaTable{schema.EntityKey: v}
	case LuaTable:
		if len(v) == 0 {
			return
		}
		errs = v
	default:
		return
	}
	pk := makePK(entity)
	for _, ref := range relationships(reg, entityType) {
		if ref.entity == entityType {
			// A reference given as a whole entity: its own errors.
			if value, ok := entity[ref.field].(map[string]any); ok {
				fieldErrs := errs[ref.field]
				if p := makePK(value); p != nil {
					entity[ref.field] = p
				} else {
					delete(entity, ref.field)
				}
				delete(errs, ref.field)
				addEntityErrors(reg, ref.reference, value, fieldErrs, flat)
			}
			continue
		}
		// Nested children (a service's routes): each child's errors,
		// the child given its parent's key.
		children, ok := entity[ref.entity].([]any)
		if !ok {
			continue
		}
		childErrs, _ := errs[ref.entity].(LuaTable)
		delete(entity, ref.entity)
		delete(errs, ref.entity)
		for i, c := range children {
			item, ok := c.(map[string]any)
			if !ok || childErrs == nil {
				continue
			}
			if _, set := item[ref.field]; !set && pk != nil {
				item[ref.field] = pk
			}
			addEntityErrors(reg, ref.entity, item, childErrs[i+1], flat)
		}
	}
	if len(errs) == 0 {
		return
	}
	var list []FieldError
	categorize(errs, "", &list)
	if len(list) == 0 {
		return
	}
	fe := FlatError{EntityType: strings.TrimSuffix(entityType, "s"), Entity: entity, Errors: list}
	if name, ok := entity["name"].(string); ok && name != "" {
		fe.EntityName = name
	}
	if pk := makePK(entity); pk != nil {
		fe.EntityID = pk[schema.FieldID].(string)
	}
	if tags, ok := entity["tags"].([]any); ok {
		fe.EntityTags = []string{}
		for _, t := range tags {
			s, ok := t.(string)
			if !ok {
				fe.EntityTags = nil
				break
			}
			fe.EntityTags = append(fe.EntityTags, s)
		}
	}
	*flat = append(*flat, fe)
}

// categorize is Kong's categorize_errors: "@entity" messages are entity
// errors, others are field errors at their dotted path (keys sorted).
func categorize(errs LuaTable, ns string, out *[]FieldError) {
	keys := make([]string, 0, len(errs))
	byName := map[string]any{}
	for k, v := range errs {
		name := keyName(k)
		keys = append(keys, name)
		byName[name] = v
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := byName[k]
		if k == schema.EntityKey {
			addMessages(v, func(msg string) { *out = append(*out, FieldError{Type: "entity", Message: msg}) })
			continue
		}
		field := k
		if ns != "" {
			field = ns + "." + k
		}
		switch v := v.(type) {
		case string:
			*out = append(*out, FieldError{Type: "field", Field: field, Message: v})
		case LuaTable:
			categorize(v, field, out)
		}
	}
}

func addMessages(v any, add func(string)) {
	switch v := v.(type) {
	case string:
		add(v)
	case LuaTable:
		ints, _ := v.keys()
		for _, i := range ints {
			addMessages(v[i], add)
		}
	}
}

func keyName(k any) string {
	switch k := k.(type) {
	case string:
		return k
	case int:
		return itoa(k)
	}
	return ""
}
