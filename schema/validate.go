package schema

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Validate checks a prepared entity against the schema (and the subschema
// its key selects). It returns nil when the entity is valid.
func (e *Entity) Validate(entity map[string]any) Errors {
	errs := Errors{}
	sub := e.subschemaOf(entity)
	if e.SubschemaKey != "" && entity[e.SubschemaKey] == nil {
		// Kong checks the subschema key first: without it nothing else can
		// be judged.
		if f := e.Field(e.SubschemaKey); f != nil && f.Required {
			return Errors{e.SubschemaKey: msgRequired}
		}
	}
	if e.SubschemaKey != "" && sub == nil && e.UnknownSubschema != nil {
		// Kong reports an unknown subschema alone: the rest cannot be judged.
		key := entity[e.SubschemaKey]
		if l, ok := key.([]any); ok && len(l) > 0 {
			key = l[0]
		}
		if s, ok := key.(string); ok && s != "" {
			return Errors{e.SubschemaKey: e.UnknownSubschema(s)}
		}
	}
	fields := e.fieldsFor(sub)
	validateFields(fields, entity, errs)
	checks := e.Checks
	if sub != nil {
		checks = append(append([]Check{}, checks...), sub.Checks...)
	}
	runChecks(fields, checks, entity, errs)
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// ValidateRecord validates a value against a record field, returning its
// nested errors (used by subschemas that validate a part on its own).
func ValidateRecord(f *Field, v map[string]any) Errors {
	errs := Errors{}
	validateFields(f.Fields, v, errs)
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func validateFields(fields []*Field, entity map[string]any, errs Errors) {
	for _, k := range sortedKeys(entity) {
		if fieldNamed(fields, k) == nil {
			errs[k] = msgUnknown
		}
	}
	for _, f := range fields {
		if msg := validateField(f, entity[f.Name]); msg != nil {
			errs[f.Name] = msg
		}
	}
}

// validateField returns nil, a message string, or nested Errors.
func validateField(f *Field, v any) any {
	if v == nil {
		if f.Eq != nil && f.Eq != Null {
			return fmt.Sprintf(msgEq, show(f.Eq))
		}
		if f.Required {
			return msgRequired
		}
		return nil
	}
	if f.Eq == Null {
		if f.Err != "" {
			return f.Err
		}
		return fmt.Sprintf(msgEq, "null")
	}
	switch f.Type {
	case String:
		s, ok := v.(string)
		if !ok {
			return msgString
		}
		if !utf8.ValidString(s) {
			return msgUTF8
		}
		if f.LenMin == 0 && !f.AllowEmpty && len(s) == 0 {
			return fmt.Sprintf(msgLenMin, 1)
		}
	case Number:
		n, ok := v.(float64)
		if !ok || math.IsInf(n, 0) || math.IsNaN(n) {
			return msgNumber
		}
	case Integer:
		n, ok := v.(float64)
		if !ok || n != math.Trunc(n) || math.IsInf(n, 0) {
			return msgInteger
		}
	case Boolean:
		if _, ok := v.(bool); !ok {
			return msgBoolean
		}
	case Array, Set:
		a, ok := v.([]any)
		if !ok {
			if f.Type == Set {
				return msgSet
			}
			return msgArray
		}
		if f.Elements != nil {
			// Kong reports element errors by position: [null, "msg"].
			el := *f.Elements
			el.Required = true
			var perIndex []any
			for i, x := range a {
				if msg := validateField(&el, x); msg != nil {
					if perIndex == nil {
						perIndex = make([]any, len(a))
					}
					perIndex[i] = msg
				}
			}
			if perIndex != nil {
				for len(perIndex) > 0 && perIndex[len(perIndex)-1] == nil {
					perIndex = perIndex[:len(perIndex)-1]
				}
				return perIndex
			}
		}
	case Map:
		m, ok := v.(map[string]any)
		if !ok {
			return msgMap
		}
		for _, k := range sortedKeys(m) {
			if f.Keys != nil {
				kf := *f.Keys
				kf.Required = true
				if msg := validateField(&kf, k); msg != nil {
					return msg
				}
			}
			if f.Values != nil {
				vf := *f.Values
				vf.Required = true
				if msg := validateField(&vf, m[k]); msg != nil {
					if f.KeyedErrors {
						return Errors{k: msg}
					}
					return msg
				}
			}
		}
	case Record:
		m, ok := v.(map[string]any)
		if !ok {
			return msgRecord
		}
		errs := Errors{}
		validateFields(f.Fields, m, errs)
		if len(errs) > 0 {
			return errs
		}
	case Foreign:
		m, ok := v.(map[string]any)
		if !ok {
			return Errors{FieldID: msgMissingPK}
		}
		// Other fields are ignored, as Kong's validate_primary_key(pk, true)
		// does for references (the processing keeps the key alone).
		errs := Errors{}
		id, present := m[FieldID]
		switch s, isStr := id.(string); {
		case !present || id == nil:
			errs[FieldID] = msgMissingPK
		case !isStr:
			errs[FieldID] = msgString
		case !isUUID(s):
			errs[FieldID] = msgUUID
		}
		if len(errs) > 0 {
			return errs
		}
		return nil
	case JSON:
		return nil
	}
	if msg := runValidators(f, v); msg != "" {
		if f.Err != "" {
			return f.Err
		}
		return msg
	}
	return nil
}

// runValidators applies the field's validators in Kong's validators_order.
func runValidators(f *Field, v any) string {
	if f.Eq != nil {
		if f.Eq == Null || !Equal(f.Eq, v) {
			return fmt.Sprintf(msgEq, show(f.Eq))
		}
	}
	if f.OneOf != nil && !containsValue(f.OneOf, v) {
		return fmt.Sprintf(msgOneOf, showList(f.OneOf))
	}
	if f.NotOneOf != nil && containsValue(f.NotOneOf, v) {
		return fmt.Sprintf(msgNotOneOf, showList(f.NotOneOf))
	}
	n, isNum := v.(float64)
	s, isStr := v.(string)
	if f.Gt != nil && isNum && !(n > *f.Gt) {
		return fmt.Sprintf(msgGt, show(*f.Gt))
	}
	if f.Timestamp && isNum && !(n > 0) {
		return msgTimestamp
	}
	if f.UUID && isStr && !isUUID(s) {
		return msgUUID
	}
	if f.IsRegex && isStr {
		if _, err := regexp.Compile(s); err != nil {
			return fmt.Sprintf(msgIsRegex, s)
		}
	}
	if f.Between != nil && isNum && (n < f.Between[0] || n > f.Between[1]) {
		return fmt.Sprintf(msgBetween, show(f.Between[0]), show(f.Between[1]))
	}
	if length, ok := lengthOf(v); ok {
		if f.LenEq > 0 && length != f.LenEq {
			return fmt.Sprintf(msgLenEq, f.LenEq)
		}
		if f.LenMin > 0 && length < f.LenMin {
			return fmt.Sprintf(msgLenMin, f.LenMin)
		}
		if f.LenMax > 0 && length > f.LenMax {
			return fmt.Sprintf(msgLenMax, f.LenMax)
		}
	}
	if isStr {
		if f.StartsWith != "" && !strings.HasPrefix(s, f.StartsWith) {
			return fmt.Sprintf(msgStartsWith, f.StartsWith)
		}
		if f.NotMatch != nil && f.NotMatch.MatchString(s) {
			return fmt.Sprintf(msgMatch, s)
		}
		for _, p := range f.MatchNone {
			if p.Pattern.MatchString(s) {
				return p.Err
			}
		}
		if f.Match != nil && !f.Match.MatchString(s) {
			return fmt.Sprintf(msgMatch, s)
		}
		if f.MatchAny != nil {
			matched := false
			for _, p := range f.MatchAny.Patterns {
				if p.MatchString(s) {
					matched = true
					break
				}
			}
			if !matched {
				return f.MatchAny.Err
			}
		}
	}
	if f.Contains != nil {
		if a, ok := v.([]any); ok && !containsValue(a, f.Contains) {
			return fmt.Sprintf(msgContains, show(f.Contains))
		}
	}
	if f.Validator != nil {
		if err := f.Validator(v); err != nil {
			return err.Error()
		}
	}
	return ""
}

// lengthOf is Lua's # for strings (bytes) and arrays, and the key count for maps.
func lengthOf(v any) (int, bool) {
	switch v := v.(type) {
	case string:
		return len(v), true
	case []any:
		return len(v), true
	case map[string]any:
		return len(v), true
	}
	return 0, false
}

func containsValue(list []any, v any) bool {
	for _, x := range list {
		if Equal(x, v) {
			return true
		}
	}
	return false
}

// Null is the value of Eq that means "must be null" (Kong's eq = ngx.null).
var Null any = nullValue{}

type nullValue struct{}

// show renders a value as Lua's tostring would in Kong's messages.
func show(v any) string {
	switch v := v.(type) {
	case nullValue, nil:
		return "null"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

func showList(list []any) string {
	parts := make([]string, len(list))
	for i, v := range list {
		parts[i] = show(v)
	}
	return strings.Join(parts, ", ")
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// isUUID is Kong's uuid validator (case-insensitive, 36 characters).
func isUUID(s string) bool { return len(s) == 36 && uuidPattern.MatchString(s) }

// IsUUID reports whether s looks like a UUID, as Kong decides whether a URL
// segment is an id or an endpoint key.
func IsUUID(s string) bool { return isUUID(s) }

// NonEmpty is Kong's is_nonempty: not null, not "", not an empty table.
func NonEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true
}

// getPath reads a dotted field path ("config.url") from an entity.
func getPath(entity map[string]any, path string) any {
	var cur any = entity
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// fieldAt resolves a dotted field path to its definition.
func fieldAt(fields []*Field, path string) *Field {
	parts := strings.Split(path, ".")
	var f *Field
	for i, part := range parts {
		f = fieldNamed(fields, part)
		if f == nil {
			return nil
		}
		if i < len(parts)-1 {
			fields = f.Fields
		}
	}
	return f
}

// setError records a message at a dotted path, creating nested Errors.
func setError(errs Errors, path, msg string) {
	parts := strings.Split(path, ".")
	cur := errs
	for _, p := range parts[:len(parts)-1] {
		next, ok := cur[p].(Errors)
		if !ok {
			next = Errors{}
			cur[p] = next
		}
		cur = next
	}
	cur[parts[len(parts)-1]] = msg
}

func hasError(errs Errors, path string) bool {
	parts := strings.Split(path, ".")
	var cur any = errs
	for _, p := range parts {
		m, ok := cur.(Errors)
		if !ok {
			return true // a parent record failed as a whole
		}
		v, ok := m[p]
		if !ok {
			return false
		}
		cur = v
	}
	return true
}

// countSet counts the named (dotted) fields that are non-empty.
func countSet(entity map[string]any, names []string) int {
	n := 0
	for _, name := range names {
		if NonEmpty(getPath(entity, name)) {
			n++
		}
	}
	return n
}

// runChecks runs the entity checks in order; they see the full entity.
func runChecks(fields []*Field, checks []Check, entity map[string]any, errs Errors) {
	for _, c := range checks {
		switch {
		case c.AtLeastOneOf != nil:
			if countSet(entity, c.AtLeastOneOf) == 0 {
				errs.addEntity(fmt.Sprintf(msgAtLeastOneOf, quotedList(c.AtLeastOneOf)))
			}
		case c.OnlyOneOf != nil:
			if countSet(entity, c.OnlyOneOf) != 1 {
				errs.addEntity(fmt.Sprintf(msgOnlyOneOf, quotedList(c.OnlyOneOf)))
			}
		case c.MutuallyRequired != nil:
			if n := countSet(entity, c.MutuallyRequired); n != 0 && n != len(c.MutuallyRequired) {
				errs.addEntity(fmt.Sprintf(msgMutuallyRequired, quotedList(c.MutuallyRequired)))
			}
		case c.MutuallyExclusive != nil:
			if countSet(entity, c.MutuallyExclusive) > 1 {
				errs.addEntity(fmt.Sprintf(msgMutuallyExclusive, quotedList(c.MutuallyExclusive)))
			}
		case c.Distinct != nil:
			seen := []any{}
			for _, name := range c.Distinct {
				v := getPath(entity, name)
				if !NonEmpty(v) {
					continue
				}
				if containsValue(seen, v) {
					errs.addEntity(fmt.Sprintf(msgDistinct, quotedList(c.Distinct)))
					break
				}
				seen = append(seen, v)
			}
		case c.Conditional != nil:
			runConditional(fields, c.Conditional, entity, errs)
		case c.ConditionalAtLeastOneOf != nil:
			cc := c.ConditionalAtLeastOneOf
			if !matches(fields, cc.IfField, cc.IfMatch, getPath(entity, cc.IfField)) {
				continue
			}
			if countSet(entity, cc.ThenAtLeastOneOf) == 0 {
				msg := fmt.Sprintf(msgConditionalAtLeastOne, quotedList(cc.ThenAtLeastOneOf))
				if cc.ThenErr != "" {
					msg = strings.Replace(cc.ThenErr, "%s", quotedList(cc.ThenAtLeastOneOf), 1)
				}
				errs.addEntity(msg)
			}
		case c.Custom != nil:
			skip := false
			for _, name := range c.Custom.FieldSources {
				if hasError(errs, name) {
					skip = true
				}
			}
			if skip {
				continue
			}
			if c.Custom.FieldErrors != nil {
				mergeErrors(errs, c.Custom.FieldErrors(entity))
				continue
			}
			if msg := c.Custom.Fn(entity); msg != "" {
				errs.addEntity(msg)
			}
		}
	}
}

// mergeErrors adds src's errors to dst; nested Errors merge, and a path
// that failed already keeps its first message.
func mergeErrors(dst, src Errors) {
	for k, v := range src {
		have, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		if h, ok := have.(Errors); ok {
			if s, ok := v.(Errors); ok {
				mergeErrors(h, s)
			}
		}
	}
}

// matches validates v against a constraint that inherits its type from the
// field at path, as Kong's if_match does (null passes unless required).
func matches(fields []*Field, path string, constraint *Field, v any) bool {
	return validateField(constrained(fields, path, constraint), v) == nil
}

func constrained(fields []*Field, path string, c *Field) *Field {
	f := *c
	if base := fieldAt(fields, path); base != nil && f.Type == "" {
		f.Type = base.Type
		if f.Elements == nil {
			f.Elements = base.Elements
		} else if f.Elements.Type == "" && base.Elements != nil {
			el := *f.Elements
			el.Type = base.Elements.Type
			f.Elements = &el
		}
		f.Fields = base.Fields
		f.Keys, f.Values = base.Keys, base.Values
	}
	return &f
}

func runConditional(fields []*Field, c *Conditional, entity map[string]any, errs Errors) {
	if !matches(fields, c.IfField, c.IfMatch, getPath(entity, c.IfField)) {
		return
	}
	then := getPath(entity, c.ThenField)
	failed := false
	if c.ThenMatch.Required && then == nil {
		setError(errs, c.ThenField, msgRequired)
		failed = true
	} else if msg := validateField(constrained(fields, c.ThenField, c.ThenMatch), then); msg != nil {
		if s, ok := msg.(string); ok {
			setError(errs, c.ThenField, s)
		}
		failed = true
	}
	if failed {
		if c.ThenErr != "" {
			errs.addEntity(strings.ReplaceAll(c.ThenErr, "%s", c.IfField))
		} else {
			errs.addEntity(fmt.Sprintf(msgConditional, c.IfField))
		}
	}
}
