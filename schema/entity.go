package schema

import (
	"fmt"
	"sort"
)

// Entity is one Kong entity (a database table with an Admin API collection).
type Entity struct {
	// Name is Kong's DAO name, e.g. "services", "ca_certificates".
	Name string
	// AdminPath is the collection's Admin API path segment when it differs
	// from Name (Kong's admin_api_name), e.g. "event-hooks".
	AdminPath string
	// AdminNestedPath is the path segment of the collection nested under
	// a referenced entity when it differs from Path (Kong's
	// admin_api_nested_name), e.g. /consumers/{c}/key-auth.
	AdminNestedPath string
	// EndpointKey is the field that can stand for the id in URLs
	// (/consumers/{username}); "" if only ids address the entity.
	EndpointKey string
	// CacheKey is a unique composite key (Kong's cache_key), e.g. plugins'
	// (name, route, service, consumer).
	CacheKey []string
	// Fields in Kong's order.
	Fields []*Field
	// Checks are entity-level validations (Kong's entity_checks).
	Checks []Check
	// Shorthands expand a convenience input field into real fields before
	// validation (Kong's shorthand_fields), e.g. services' url.
	Shorthands []Shorthand
	// SubschemaKey names the field that selects a subschema ("name" for
	// plugins, "handler" for event hooks).
	SubschemaKey string
	// UnknownSubschema renders the error for an unknown subschema key.
	UnknownSubschema func(key string) string
	// TTL entities take Kong's ttl with a write: the row expires that many
	// seconds later, is no longer found once it has, and shows the seconds
	// it has left as "ttl" (null without one). The DAO keeps the expiry in
	// FieldExpiresAt (Kong's ttl = true).
	TTL bool
	// Workspaceable entities belong to one workspace.
	Workspaceable bool
	// AdminDisabled hides the top-level collection (targets live under upstreams).
	AdminDisabled bool
	// NoAdminAPI entities get no generated endpoints at all: theirs are
	// hand-written (Kong's generate_admin_api = false), e.g. RBAC role
	// permissions.
	NoAdminAPI bool
	// NoPut entities have no PUT (upsert) endpoint: Kong answers 405 (event hooks).
	NoPut bool
	// CreatedEnvelope and CreatedStatus change how a create (POST) is
	// answered, for entities Kong answers differently: admins come back as
	// 200 {"admin": {...}}. Zero values: 201 with the entity itself.
	CreatedEnvelope string
	CreatedStatus   int
	// Derive computes fields from others after defaults and before validation
	// (e.g. ca_certificates.cert_digest); it must not fail on invalid input.
	Derive func(e map[string]any)
	// Behaviour is the entity's DAO behaviour: a value implementing any of
	// the hook interfaces of hooks.go, or nil.
	Behaviour any
	// Workspaces marks the entity whose rows are the workspaces that
	// Workspaceable entities belong to (Kong's workspaces); at most one.
	Workspaces bool
	// Internal entities are tables the node keeps for itself (event hook
	// deliveries): no Admin API, no /schemas, no crud events. Their rows are
	// written by their owner, straight to the store.
	Internal bool
	// NoDeclarative entities are left out of declarative configuration
	// files (Kong's db_export = false): RBAC users, roles and admins,
	// whose secrets a file must not carry.
	NoDeclarative bool
	// Sorted lists the entity's ordered indexes, each a name and the
	// fields whose values order the rows (the store's SortedIndex): how an
	// internal table is read as a queue or by age without a full scan.
	Sorted []SortedIndex

	fields map[string]*Field
	subs   map[string]*Subschema
}

// Shorthand is an input-only field that expands into others (Kong's
// shorthand_fields), declared by an entity or by a record field.
type Shorthand struct {
	Name string
	Type Type
	// AllowEmpty is Kong's len_min = 0 on a string shorthand.
	AllowEmpty bool
	// Expand returns the fields to set, or a Kong-style message on bad input.
	// A record's shorthand may leave it nil and name ReplacedWith instead.
	Expand func(v any) (map[string]any, error)
	// ReplacedWith is the path, from the record or entity declaring the
	// shorthand, of the field it stands for (Kong's
	// deprecation.replaced_with): without Expand the value is written there.
	ReplacedWith []string
	// Deprecation marks a shorthand Kong keeps for older clients: the field
	// it stands for wins when both are given (and a different value of both
	// is refused), and reads echo that field's value under the shorthand's
	// name, as Kong does (a record's shorthands only).
	Deprecation *Deprecation
}

// Subschema specialises an entity for one value of its SubschemaKey: plugin
// config per plugin name, event hook config per handler.
type Subschema struct {
	Name string
	// Fields replace the entity's fields of the same name (e.g. config).
	Fields []*Field
	Checks []Check
}

// Check is one entity check; exactly one member is set.
type Check struct {
	AtLeastOneOf            []string
	OnlyOneOf               []string
	MutuallyRequired        []string
	MutuallyExclusive       []string
	Distinct                []string
	Conditional             *Conditional
	ConditionalAtLeastOneOf *ConditionalAtLeastOneOf
	Custom                  *CustomCheck
}

// Conditional: when IfField passes IfMatch, ThenField must pass ThenMatch.
type Conditional struct {
	IfField   string
	IfMatch   *Field
	ThenField string
	ThenMatch *Field
	ThenErr   string
}

// ConditionalAtLeastOneOf: when IfField passes IfMatch, one of
// ThenAtLeastOneOf must be non-empty.
type ConditionalAtLeastOneOf struct {
	IfField          string
	IfMatch          *Field
	ThenAtLeastOneOf []string
	ThenErr          string
}

// CustomCheck runs over the named fields, skipped when one of them has
// failed already. Fn returns an entity message or ""; FieldErrors (used
// instead) returns errors at field paths, merged with the fields' own, for
// checks that judge one value in context (event hooks' Lua code).
type CustomCheck struct {
	FieldSources []string
	Fn           func(e map[string]any) string
	FieldErrors  func(e map[string]any) Errors
}

// Field returns the entity's field with this name, or nil.
func (e *Entity) Field(name string) *Field {
	if e.fields == nil {
		for _, f := range e.Fields {
			if f.Name == name {
				return f
			}
		}
		return nil
	}
	return e.fields[name]
}

// Path is the Admin API collection path segment.
func (e *Entity) Path() string {
	if e.AdminPath != "" {
		return e.AdminPath
	}
	return e.Name
}

// NestedPath is the Admin API path segment of the collection nested
// under a referenced entity (/consumers/{c}/key-auth).
func (e *Entity) NestedPath() string {
	if e.AdminNestedPath != "" {
		return e.AdminNestedPath
	}
	return e.Path()
}

// Subschema returns the subschema registered for key, or nil.
func (e *Entity) Subschema(key string) *Subschema { return e.subs[key] }

// SubschemaNames lists the registered subschema keys, sorted.
func (e *Entity) SubschemaNames() []string {
	names := make([]string, 0, len(e.subs))
	for n := range e.subs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// AddSubschema registers a subschema; a duplicate is a programming error.
func (e *Entity) AddSubschema(s *Subschema) {
	if e.subs == nil {
		e.subs = map[string]*Subschema{}
	}
	if _, dup := e.subs[s.Name]; dup {
		panic(fmt.Sprintf("BUG: duplicate subschema %s/%s", e.Name, s.Name))
	}
	e.subs[s.Name] = s
}

// fieldsFor returns the entity's fields with the subschema's overrides applied.
func (e *Entity) fieldsFor(sub *Subschema) []*Field {
	if sub == nil {
		return e.Fields
	}
	out := make([]*Field, len(e.Fields))
	for i, f := range e.Fields {
		out[i] = f
		for _, sf := range sub.Fields {
			if sf.Name == f.Name {
				out[i] = sf
			}
		}
	}
	return out
}

// References returns the entity's foreign fields in order.
func (e *Entity) References() []*Field {
	var refs []*Field
	for _, f := range e.Fields {
		if f.Type == Foreign {
			refs = append(refs, f)
		}
	}
	return refs
}

// UniqueSets returns every unique field set: single unique fields, then the
// cache key.
func (e *Entity) UniqueSets() [][]string {
	var sets [][]string
	for _, f := range e.Fields {
		if f.Unique {
			sets = append(sets, []string{f.Name})
		}
	}
	if ck := e.DistinctCacheKey(); len(ck) > 0 {
		sets = append(sets, ck)
	}
	return sets
}

// DistinctCacheKey is the cache key when it constrains more than the unique
// fields do: a cache key of one unique field that always has a value
// (required, or generated when absent) is that field's unique index
// already, and is not kept twice. Kong's ids for declarative entries still
// come from CacheKey.
func (e *Entity) DistinctCacheKey() []string {
	if len(e.CacheKey) == 1 {
		if f := e.Field(e.CacheKey[0]); f != nil && f.Unique && (f.Required || f.Auto) {
			return nil
		}
	}
	return e.CacheKey
}

// Tagged reports whether the entity has Kong's tags field.
func (e *Entity) Tagged() bool { return e.Field("tags") != nil }

func (e *Entity) index() {
	e.fields = make(map[string]*Field, len(e.Fields))
	for _, f := range e.Fields {
		if _, dup := e.fields[f.Name]; dup {
			panic(fmt.Sprintf("BUG: duplicate field %s.%s", e.Name, f.Name))
		}
		e.fields[f.Name] = f
	}
}

// Registry holds the entities a node serves. Register everything at start-up;
// afterwards the registry is read-only and safe for concurrent use.
type Registry struct {
	entities []*Entity
	byName   map[string]*Entity
	byPath   map[string]*Entity
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byName: map[string]*Entity{}, byPath: map[string]*Entity{}}
}

// Register adds entities; duplicates are programming errors.
func (r *Registry) Register(es ...*Entity) {
	for _, e := range es {
		if _, dup := r.byName[e.Name]; dup {
			panic("BUG: duplicate entity " + e.Name)
		}
		e.index()
		r.entities = append(r.entities, e)
		r.byName[e.Name] = e
		r.byPath[e.Path()] = e
	}
}

// Entity returns the entity named name (Kong DAO name), or nil.
func (r *Registry) Entity(name string) *Entity { return r.byName[name] }

// Workspaces returns the entity marked Workspaces, or nil (then every
// entity is global).
func (r *Registry) Workspaces() *Entity {
	for _, e := range r.entities {
		if e.Workspaces {
			return e
		}
	}
	return nil
}

// ByPath returns the entity served at this Admin API path segment, or nil.
func (r *Registry) ByPath(path string) *Entity { return r.byPath[path] }

// Entities returns the registered entities in registration order.
func (r *Registry) Entities() []*Entity { return r.entities }

// TakeTransient removes the transient fields from a prepared entity and
// returns those that were given (non-null).
func (e *Entity) TakeTransient(entity map[string]any) map[string]any {
	var out map[string]any
	for _, f := range e.Fields {
		if !f.Transient {
			continue
		}
		if v := entity[f.Name]; v != nil {
			if out == nil {
				out = map[string]any{}
			}
			out[f.Name] = v
		}
		delete(entity, f.Name)
	}
	return out
}

// SortedIndex is an ordered index of an entity's rows by the values of
// Fields (see Entity.Sorted).
type SortedIndex struct {
	Name   string
	Fields []string
}
