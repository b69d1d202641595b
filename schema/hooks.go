package schema

import "fmt"

// An entity's DAO behaviour, beyond what its fields and checks declare,
// lives next to its schema as a value in Entity.Behaviour implementing any
// of the hook interfaces below (Kong's entity-specific DAOs, such as
// kong/db/dao/certificates.lua). The db package discovers them by type
// assertion and calls them inside the write transaction; it never names an
// entity. These interfaces are the whole set: an entity that needs more
// adds a hook here, for every entity.
//
// Hooks report a client's mistake with the errors declared here (Errors,
// *Refusal, *UniqueViolation); db renders them in Kong's shapes. Any other
// error aborts the write as a server error.

// ReadTx is what hooks may read inside the transaction that runs them.
type ReadTx interface {
	// Entity returns the registry's entity of this name, or nil.
	Entity(name string) *Entity
	// Get returns the row of e with this id, or nil when there is none.
	Get(e *Entity, id string) (map[string]any, error)
	// GetUnique returns the row of e whose unique field equals value in
	// workspace ws (a row's FieldWorkspace; "" for global entities), or nil.
	GetUnique(e *Entity, ws, field string, value any) (map[string]any, error)
	// Find returns every row of e whose field equals value, in every
	// workspace, through an index: field must be a foreign key or declared
	// Indexed.
	Find(e *Entity, field, value string) ([]map[string]any, error)
	// Count tells how many rows of each entity reference the row of e with
	// this id (entities with none are left out); for the workspaces entity,
	// how many rows each workspace holds.
	Count(e *Entity, id string) (map[string]any, error)
}

// WriteTx is what hooks may do inside a write transaction. Rows are written
// through the DAO: workspaces, unique checks, cascades, events and the
// written entity's own hooks apply.
type WriteTx interface {
	ReadTx
	// Auto is the DAO's clock and id source, for PrepareInsert/PrepareUpdate.
	Auto() Auto
	// Insert stores a new, prepared and validated row of e.
	Insert(e *Entity, row map[string]any) error
	// Update replaces old with row, prepared and validated.
	Update(e *Entity, row, old map[string]any) error
	// Delete deletes a row of e, with its cascades.
	Delete(e *Entity, row map[string]any) error
	// Claim serialises the writes that claim the same name (store.Tx.Claim):
	// a hook checking what no unique index can (a token stored only as a
	// salted hash) claims the value first, so two concurrent writes cannot
	// both pass the check.
	Claim(name string) error
	// Transform reports whether the written values are input to transform
	// (a password to hash): false when a declarative configuration says
	// `_transform: false` and gives them as stored.
	Transform() bool
}

// BeforeWriter rewrites or refuses a row before it is stored; old is nil on
// inserts (rbac_users hash their token; admins get an RBAC user).
type BeforeWriter interface {
	BeforeWrite(tx WriteTx, row, old map[string]any) error
}

// AfterWriter runs after a row is stored (insert or update) with the
// transient fields the input gave (certificates store their snis).
type AfterWriter interface {
	AfterWrite(tx WriteTx, row, transient map[string]any) error
}

// BeforeDeleter may refuse a delete before anything is deleted
// (workspaces that are the default or not empty).
type BeforeDeleter interface {
	BeforeDelete(tx WriteTx, row map[string]any) error
}

// AfterDeleter deletes what goes with a deleted row (an admin's RBAC user).
type AfterDeleter interface {
	AfterDelete(tx WriteTx, row map[string]any) error
}

// Decorator fills derived output fields of rows read (a certificate's snis).
type Decorator interface {
	Decorate(tx ReadTx, row map[string]any) error
}

// KeyResolver addresses an entity without an endpoint key by another key
// in URLs (/certificates/{sni}); UpsertKey makes PUT under an unknown key
// create an entity that the key then resolves to.
type KeyResolver interface {
	Resolve(tx ReadTx, key, ws string) (map[string]any, error)
	UpsertKey(input map[string]any, key string)
}

// Refusal is a write refused with Kong's bare {"message": ...} body: a
// schema violation (400), or not found (404). Detail nests the message
// with details, as Kong's refusal to delete a non-empty workspace does.
type Refusal struct {
	Message  string
	NotFound bool
	Detail   map[string]any
}

func (r *Refusal) Error() string { return r.Message }

// UniqueViolation refuses a write because another row already holds the
// value of these fields; the value is not shown (an RBAC token must never
// be echoed), as Kong's unique_violation({ "user_token" }) does not.
type UniqueViolation struct{ Fields []string }

func (u *UniqueViolation) Error() string { return fmt.Sprintf("unique violation on %v", u.Fields) }
