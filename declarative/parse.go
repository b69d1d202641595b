// Package declarative is Kong's declarative configuration: a YAML or JSON
// file listing entities (`_format_version: "3.0"`, a top-level array per
// entity, children nested under the entities they reference), parsed and
// validated into rows with ids (Parse), loaded into a store through the
// DAO in one go (Load), and written back from a store (Export).
//
// Nothing here names an entity: which entities a file may list, which may
// nest under which (a route under its service, a credential under its
// consumer) and how references are resolved all come from the registry's
// schemas and their foreign keys. Errors are Kong's: the nested error
// document and its flattened form (Error).
package declarative

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/portico-gw/portico/schema"
)

// Meta keys of a file.
const (
	keyFormatVersion = "_format_version"
	keyTransform     = "_transform"
	keyWorkspace     = "_workspace"
	keyComment       = "_comment"
	keyIgnore        = "_ignore"
)

// formatVersions are the versions Kong 3.9 accepts.
var formatVersions = []any{"1.1", "2.1", "3.0"}

// entitiesNamespace is Kong's namespace of generated ids
// (declarative_config.lua): an entity's id is UUIDv5(UUIDv5(namespace,
// entity name), key), so a file loaded twice gives the same ids.
var entitiesNamespace = uuid.MustParse("fd02801f-0957-4a15-a55a-c8d9606f30b5")

// Config is a parsed and validated declarative configuration.
type Config struct {
	FormatVersion string
	// Transform is `_transform` (true unless the file says false): values
	// are input to transform (basic-auth passwords are hashed).
	Transform bool
	// Workspace is `_workspace`, the name of the workspace the entities go
	// to; "" is the default workspace.
	Workspace string
	// Tables hold the entities' rows in load order (referenced entities
	// first), each with its id and its references as {"id": ...}.
	Tables []Table
}

// Table is one entity's rows.
type Table struct {
	Entity *schema.Entity
	Rows   []map[string]any
}

// Rows returns the rows of the named entity, or nil.
func (c *Config) Rows(entity string) []map[string]any {
	for _, t := range c.Tables {
		if t.Entity.Name == entity {
			return t.Rows
		}
	}
	return nil
}

// Parser parses files for one registry's entities.
type Parser struct {
	reg      *schema.Registry
	entities []*schema.Entity // in load order
	byName   map[string]*schema.Entity
	// nested lists, per entity, the entities that may be nested in it
	// and their field referencing it.
	nested map[string][]nesting
}

type nesting struct {
	child *schema.Entity
	field string
}

// New returns a parser for the registry's entities: all but internal
// ones, those kept out of files (Entity.NoDeclarative) and workspaces
// (a file's workspace is `_workspace`).
func New(reg *schema.Registry) *Parser {
	p := &Parser{reg: reg, byName: map[string]*schema.Entity{}, nested: map[string][]nesting{}}
	for _, e := range reg.Entities() {
		if e.Internal || e.NoDeclarative || e.Workspaces {
			continue
		}
		p.entities = append(p.entities, e)
		p.byName[e.Name] = e
	}
	for _, e := range p.entities {
		for _, f := range e.References() {
			parent := p.byName[f.Reference]
			if parent == nil || parent == e {
				continue
			}
			// A parent's own field of that name is a field, unless it
			// is transient (a certificate's snis): then it nests.
			if pf := parent.Field(e.Name); pf != nil && !pf.Transient {
				continue
			}
			if p.nestingOf(parent.Name, e.Name) == nil {
				p.nested[parent.Name] = append(p.nested[parent.Name], nesting{child: e, field: f.Name})
			}
		}
	}
	return p
}

func (p *Parser) nestingOf(parent, child string) *nesting {
	for i, n := range p.nested[parent] {
		if n.child.Name == child {
			return &p.nested[parent][i]
		}
	}
	return nil
}

// Entities lists the entities a file may hold, in load order.
func (p *Parser) Entities() []*schema.Entity { return p.entities }

// ParseFile reads and parses a file; its name's extension chooses JSON
// or YAML as Kong does.
func (p *Parser) ParseFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return p.Parse(data, path)
}

// Parse decodes and validates a configuration; filename ("" when there is
// none: JSON is tried, then YAML) chooses the format. A bad one is an
// *Error.
func (p *Parser) Parse(data []byte, filename string) (*Config, error) {
	doc, err := unserialize(data, filename)
	if err != nil {
		return nil, parseError(err)
	}
	return p.ParseValue(doc)
}

// node is one entity entry of the file.
type node struct {
	e      *schema.Entity
	fields map[string]any // the entry without children and meta keys
	orig   map[string]any // the entry as given
	parent *node
	// field is the entry's reference to its parent, when nested.
	field    string
	index    int // 1-based, within its list
	children []*node
	id       string
}

// entryErrs is where a node's schema errors go in Kong's nested document.
func (n *node) entryErrs(root LuaTable) LuaTable {
	if n.parent == nil {
		return root.child(n.e.Name).child(n.index)
	}
	return n.parent.entryErrs(root).child(n.e.Name).child(n.index)
}

// ParseValue validates a decoded configuration (the JSON model). Like
// Kong, it writes the ids it derives into doc's entries.
func (p *Parser) ParseValue(doc map[string]any) (*Config, error) {
	root := LuaTable{}
	cfg := &Config{Transform: true}
	fail := func() (*Config, error) {
		return nil, &Error{Fields: root, input: doc, reg: p.reg}
	}
	switch v, ok := doc[keyFormatVersion]; {
	case !ok || v == nil:
		root[keyFormatVersion] = "required field missing"
	case !isString(v):
		root[keyFormatVersion] = "expected a string"
	case !oneOf(v, formatVersions):
		root[keyFormatVersion] = "expected one of: 1.1, 2.1, 3.0"
	default:
		cfg.FormatVersion = v.(string)
	}
	var tops []*node
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		v := doc[k]
		switch k {
		case keyFormatVersion:
		case keyTransform:
			if b, ok := v.(bool); ok {
				cfg.Transform = b
			} else if v != nil {
				root[k] = "expected a boolean"
			}
		case keyWorkspace:
			if s, ok := v.(string); ok && s != "" {
				cfg.Workspace = s
			} else if v != nil {
				root[k] = "expected a string"
			}
		case keyComment:
			if !isString(v) && v != nil {
				root[k] = "expected a string"
			}
		case keyIgnore:
			if _, ok := v.([]any); !ok && v != nil {
				root[k] = "expected an array"
			}
		default:
			e := p.byName[k]
			if e == nil {
				root[k] = "unknown field"
				continue
			}
			list, ok := v.([]any)
			if !ok {
				if v != nil {
					root[k] = "expected an array"
				}
				continue
			}
			for i, item := range list {
				if n := p.entry(e, item, nil, "", i+1, root); n != nil {
					tops = append(tops, n)
				}
			}
		}
	}
	if len(root) > 0 {
		return fail()
	}
	all := p.walk(tops)
	p.generateIDs(tops)
	if !p.references(tops, root) {
		return fail()
	}
	rows := p.uniqueness(all, root)
	if len(root) > 0 {
		return fail()
	}
	for _, e := range p.entities {
		if r := rows[e.Name]; len(r) > 0 {
			cfg.Tables = append(cfg.Tables, Table{Entity: e, Rows: r})
		}
	}
	return cfg, nil
}

// placeholder stands for ids not known while entries are validated.
const placeholder = "00000000-0000-4000-8000-000000000000"

var validationAuto = schema.Auto{
	Now:   func() time.Time { return time.Unix(1_600_000_000, 0) },
	NewID: func() string { return placeholder },
}

// entry validates one entity entry (and its nested children) against the
// schema, recording errors in root; nil when the entry is not a record.
func (p *Parser) entry(e *schema.Entity, item any, parent *node, field string, index int, root LuaTable) *node {
	m, ok := item.(map[string]any)
	n := &node{e: e, orig: m, parent: parent, field: field, index: index}
	if !ok {
		if parent == nil {
			root.child(e.Name)[index] = "expected a record"
		} else {
			parent.entryErrs(root).child(e.Name)[index] = "expected a record"
		}
		return nil
	}
	errs := LuaTable{}
	n.fields = make(map[string]any, len(m))
	for k, v := range m {
		switch {
		case k == keyComment:
			if !isString(v) && v != nil {
				errs[k] = "expected a string"
			}
		case k == keyIgnore:
			if _, ok := v.([]any); !ok && v != nil {
				errs[k] = "expected an array"
			}
		case p.nestingOf(e.Name, k) != nil:
			list, ok := v.([]any)
			if !ok {
				if v != nil {
					errs[k] = "expected an array"
				}
				continue
			}
			nest := p.nestingOf(e.Name, k)
			for i, c := range list {
				if child := p.entry(nest.child, c, n, nest.field, i+1, root); child != nil {
					n.children = append(n.children, child)
				}
			}
		default:
			n.fields[k] = v
		}
	}
	// What the schema engine validates: references stand as ids.
	input := make(map[string]any, len(n.fields))
	for k, v := range n.fields {
		input[k] = v
	}
	for _, f := range e.References() {
		v, set := n.fields[f.Name]
		switch {
		case parent != nil && v != nil:
			// Nested entries take their references from their nesting.
			errs[f.Name] = "value must be null"
			delete(input, f.Name)
		case f.Name == field:
			input[f.Name] = map[string]any{schema.FieldID: placeholder}
		case !set || v == nil:
		case isString(v):
			input[f.Name] = map[string]any{schema.FieldID: placeholder}
		default:
			if m, ok := v.(map[string]any); !ok || m[schema.FieldID] == nil {
				errs[f.Name] = "expected a string"
				delete(input, f.Name)
			}
		}
	}
	prepared, serrs := e.PrepareInsert(input, validationAuto)
	if serrs == nil {
		serrs = e.Validate(prepared)
	}
	for k, v := range fromSchemaErrors(serrs) {
		if _, taken := errs[k]; !taken {
			errs[k] = v
		}
	}
	if len(errs) > 0 {
		target := n.entryErrs(root)
		for k, v := range errs {
			target[k] = v
		}
	}
	return n
}

// walk lists the nodes in Kong's registration order: per entity, each
// entry's children before the entry.
func (p *Parser) walk(tops []*node) []*node {
	var out []*node
	var visit func(list []*node)
	visit = func(list []*node) {
		for _, e := range p.entities {
			for _, n := range list {
				if n.e == e {
					visit(n.children)
					out = append(out, n)
				}
			}
		}
	}
	visit(tops)
	return out
}

// generateIDs gives entries without an id Kong's deterministic one where
// their keys allow it (parents first, their ids being part of their
// children's keys), then a random one.
func (p *Parser) generateIDs(tops []*node) {
	var det func(list []*node)
	det = func(list []*node) {
		for _, n := range list {
			if id, ok := n.fields[schema.FieldID].(string); ok {
				n.id = id
			} else if key, ok := p.idKey(n); ok {
				n.id = generateUUID(n.e.Name, key)
				// Kong writes generated ids into the input: errors found
				// later show them.
				n.orig[schema.FieldID] = n.id
			}
			det(n.children)
		}
	}
	det(tops)
	var rnd func(list []*node)
	rnd = func(list []*node) {
		for _, n := range list {
			if n.id == "" {
				n.id = uuid.NewString()
			}
			rnd(n.children)
		}
	}
	rnd(tops)
}

// generateUUID is Kong's generate_uuid(entity, key).
func generateUUID(entity, key string) string {
	ns := uuid.NewHash(sha1.New(), entitiesNamespace, []byte(entity), 5)
	return uuid.NewHash(sha1.New(), ns, []byte(key), 5).String()
}

// idKey is Kong's get_key_for_uuid_gen: the entry's cache key, else its
// endpoint key (qualified by its parent when unique only within it).
func (p *Parser) idKey(n *node) (string, bool) {
	e, item := n.e, n.fields
	if len(e.CacheKey) > 0 {
		ck := []string{e.Name, "*"}
		for _, k := range e.CacheKey {
			f := e.Field(k)
			v, set := item[k]
			switch {
			case f == nil || f.Auto:
				return "", false
			case isString(v):
				ck = append(ck, v.(string))
			case set:
				// null and records add nothing, as in Kong
			case k == n.field:
				if n.parent.id == "" {
					return "", false
				}
				ck = append(ck, n.parent.id)
			case f.Required:
				return "", false
			default:
				ck = append(ck, "")
			}
		}
		return strings.Join(ck, ":"), true
	}
	if e.EndpointKey == "" {
		return "", false
	}
	key, ok := item[e.EndpointKey].(string)
	if !ok {
		return "", false
	}
	if f := e.Field(e.EndpointKey); f != nil && !f.Unique {
		for _, ref := range e.References() {
			if ref.OnDelete != "cascade" {
				continue
			}
			if n.parent != nil {
				key += ":" + n.parent.id
			} else {
				key += ":" + fmt.Sprint(item[ref.Name])
			}
		}
		key += ":*"
	}
	return key, true
}

// index is Kong's by_id and by_key of the entries.
type index struct {
	byID  map[string]map[string]*node
	byKey map[string]map[string]*node
}

func (x index) find(entity, key string) *node {
	if n := x.byKey[entity][key]; n != nil {
		return n
	}
	return x.byID[entity][key]
}

// references indexes the entries by id and endpoint key, reporting
// duplicates, and resolves references given by name or id; false when
// there were errors (recorded in root).
func (p *Parser) references(tops []*node, root LuaTable) bool {
	x := index{byID: map[string]map[string]*node{}, byKey: map[string]map[string]*node{}}
	type expected struct {
		n     *node
		field string
		value any
		at    any
	}
	var refs []expected
	for _, n := range p.walk(tops) {
		e := n.e
		var key string
		if f := e.Field(e.EndpointKey); f != nil && f.Unique {
			key, _ = n.fields[e.EndpointKey].(string)
		}
		failed := false
		if key != "" {
			if x.byKey[e.Name] == nil {
				x.byKey[e.Name] = map[string]*node{}
			}
			if x.byKey[e.Name][key] != nil {
				p.uniquenessError(root, n, uniquenessMsg(e.Name, e.EndpointKey, key))
				failed = true
			} else {
				x.byKey[e.Name][key] = n
			}
		}
		if x.byID[e.Name] == nil {
			x.byID[e.Name] = map[string]*node{}
		}
		if !failed && x.byID[e.Name][n.id] != nil {
			p.uniquenessError(root, n, uniquenessMsg(e.Name, "primary key", n.id))
		} else {
			x.byID[e.Name][n.id] = n
		}
		at := any(key)
		if key == "" {
			at = n.id
		}
		for _, f := range e.References() {
			if v := n.fields[f.Name]; v != nil && n.parent == nil {
				refs = append(refs, expected{n: n, field: f.Name, value: v, at: at})
			}
		}
	}
	for _, r := range refs {
		f := r.n.e.Field(r.field)
		key, _ := r.value.(string)
		if m, ok := r.value.(map[string]any); ok {
			key, _ = m[schema.FieldID].(string)
		}
		target := x.find(f.Reference, key)
		if target == nil {
			shown := key
			if !isString(r.value) {
				b, _ := json.Marshal(r.value)
				shown = string(b)
			}
			list := root.child(r.n.e.Name).child(r.at)
			list[len(list)+1] = fmt.Sprintf("invalid reference '%s: %s' (no such entry in '%s')", r.field, shown, f.Reference)
			continue
		}
		r.n.fields[r.field] = map[string]any{schema.FieldID: target.id}
	}
	return len(root) == 0
}

// uniquenessError places a duplicate as Kong's add_error does: under the
// parent's entity and index at the top level, or under the entity.
func (p *Parser) uniquenessError(root LuaTable, n *node, msg string) {
	if n.parent == nil {
		root.child(n.e.Name)[n.index] = msg
		return
	}
	root.child(n.parent.e.Name).child(n.parent.index).child(n.e.Name)[n.index] = msg
}

func uniquenessMsg(entity, key string, value any) string {
	return fmt.Sprintf("uniqueness violation: '%s' entity with %s set to '%v' already declared", entity, key, value)
}

// uniqueness checks the unique fields across entries and returns the
// rows per entity.
func (p *Parser) uniqueness(all []*node, root LuaTable) map[string][]map[string]any {
	rows := map[string][]map[string]any{}
	seen := map[string]map[string]bool{}
	for _, n := range all {
		row := make(map[string]any, len(n.fields)+2)
		for k, v := range n.fields {
			row[k] = v
		}
		row[schema.FieldID] = n.id
		if n.parent != nil {
			row[n.field] = map[string]any{schema.FieldID: n.parent.id}
		}
		for _, f := range n.e.Fields {
			v := row[f.Name]
			if !f.Unique || v == nil || f.Name == schema.FieldID {
				continue
			}
			shown := v
			if m, ok := v.(map[string]any); ok {
				shown = m[schema.FieldID]
			}
			k := n.e.Name + "\x00" + f.Name
			if seen[k] == nil {
				seen[k] = map[string]bool{}
			}
			vk := fmt.Sprint(shown)
			if seen[k][vk] {
				at := any(n.id)
				if s, ok := row[n.e.EndpointKey].(string); ok {
					at = s
				}
				root.child(n.e.Name)[at] = uniquenessMsg(n.e.Name, f.Name, shown)
				continue
			}
			seen[k][vk] = true
		}
		rows[n.e.Name] = append(rows[n.e.Name], row)
	}
	return rows
}

func isString(v any) bool { _, ok := v.(string); return ok }

func oneOf(v any, list []any) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func itoa(i int) string { return strconv.Itoa(i) }

// GenerateID is the id Kong derives for an entity of this name from its
// key (a cache key such as "targets:*:<upstream id>:10.0.0.1:80", or an
// endpoint key such as a service's name).
func GenerateID(entity, key string) string { return generateUUID(entity, key) }
