// Package store persists entity rows. It knows tables, keys, unique and
// foreign-key constraints and pages; it knows nothing of validation, defaults
// or HTTP (that is the db package's job).
//
// Every engine (badger now, PostgreSQL later) implements Store and passes the
// conformance suite in store/storetest.
package store

import "context"

// Row is one stored entity as decoded JSON: field name → value. Numbers are
// float64, nested records map[string]any, arrays []any, null is a missing key
// or nil. A row always has a string "id".
type Row = map[string]any

// OnDelete says what deleting a referenced row does to the rows referencing it.
type OnDelete int

const (
	// Restrict refuses to delete a row that is still referenced (Kong's default).
	Restrict OnDelete = iota
	// Cascade lets the db layer delete the referencing rows first; the store
	// itself still refuses to leave a dangling reference.
	Cascade
)

// ForeignKey declares that Row[Field] holds a reference {"id": "..."} to a row
// of table Table, or nil.
type ForeignKey struct {
	Field    string
	Table    string
	OnDelete OnDelete
	// Loose references are only indexed (children can be paged by parent):
	// the referenced row need not exist and may be deleted freely. Delivery
	// records keep pointing at the event hook they were for.
	Loose bool
}

// Table describes how one entity's rows are kept.
type Table struct {
	Name string
	// Unique lists field sets whose values must be unique together. A set is
	// only checked (and indexed) when none of its values is nil, as SQL does.
	// A foreign-key field in a set contributes its referenced id.
	Unique [][]string
	// CacheKey is a unique field set in which nulls take part (Kong's
	// cache_key): two global plugins of one name collide although their
	// route, service and consumer are all null.
	CacheKey []string
	// Foreign lists the table's references; the store checks that each
	// non-nil reference exists and indexes them so children can be listed.
	Foreign []ForeignKey
	// Tagged says the row's "tags" array is indexed for tag filters and /tags.
	Tagged bool
	// Sorted lists ordered indexes, read with Tx.Range.
	Sorted []SortedIndex
}

// SortedIndex lists a table's rows in the order of the values of Fields,
// then by id. Every row is indexed: a missing field sorts as nil, below
// booleans (false, true), numbers (numerically) and strings (bytewise); a
// foreign key sorts by the referenced id. Such an index serves a due-time
// queue or an age cut-off without reading the whole table.
type SortedIndex struct {
	Name   string
	Fields []string
}

// RangeQuery selects rows through a sorted index, in the index's order.
type RangeQuery struct {
	// Index is the SortedIndex's name.
	Index string
	// Equal pins the index's first len(Equal) fields to these values.
	Equal []any
	// From, when not nil, starts at the rows whose next field (the first
	// one not pinned) is at least this value; Below, when not nil, keeps
	// only the rows whose next field is strictly below it.
	From  any
	Below any
	// Size is the page size (at least 1).
	Size int
	// Offset is the token of the previous page, or "".
	Offset string
	// IDsOnly returns rows holding only their "id", read from the index
	// alone: the caller fetches the rows it wants.
	IDsOnly bool
}

// PageQuery selects one page of a table, in primary-key order.
type PageQuery struct {
	// Size is the page size; the caller validates it (1..1000).
	Size int
	// Offset is the opaque token returned by the previous page, or "".
	Offset string
	// Foreign, when set, keeps only rows whose Foreign.Field references Foreign.ID.
	Foreign *ForeignFilter
	// Tags keeps only rows carrying all (TagsAny: any) of these tags.
	Tags    []string
	TagsAny bool
	// Equal keeps only rows whose top-level fields equal these values
	// (strings, numbers, booleans or nil).
	Equal map[string]any
}

// ForeignFilter selects the children of one parent row.
type ForeignFilter struct {
	Field string // the foreign-key field of the paged table, e.g. "service"
	ID    string // the parent's id
}

// Page is one page of rows. Offset is "" on the last page.
type Page struct {
	Rows   []Row
	Offset string
}

// TagRow is one entry of the tag index, as Kong's /tags lists it.
type TagRow struct {
	EntityName string `json:"entity_name"`
	EntityID   string `json:"entity_id"`
	Tag        string `json:"tag"`
}

// TagPageQuery selects one page of the tag index, optionally one tag only.
type TagPageQuery struct {
	Size   int
	Offset string
	Tag    string
}

// TagPage is one page of the tag index.
type TagPage struct {
	Rows   []TagRow
	Offset string
}

// EncodedRow is a row its writer encoded itself, for Tx.InsertEncoded.
type EncodedRow struct {
	// ID is the row's id; it must be new (a fresh random id): the store
	// need not check, as Insert does, that no row has it.
	ID string
	// JSON is the whole row as a JSON object, "id" included: what Get
	// decodes. The store keeps it as given.
	JSON []byte
	// Fields gives the values of the fields the table's indexes read
	// (unique sets, references, tags, sorted indexes), the same values as
	// in JSON, so the store need not decode it.
	Fields Fields
}

// Fields gives a row's field values by name, nil for a missing one.
type Fields interface {
	Field(name string) any
}

// Store is a transactional entity store. It is safe for concurrent use.
type Store interface {
	// Update runs fn in a read-write transaction and commits when fn returns
	// nil. A commit is durable when Update returns. fn may run more than once
	// when the transaction conflicts with a concurrent one, so it must have no
	// side effects outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn in a read-only, consistent snapshot.
	View(ctx context.Context, fn func(tx Tx) error) error
	// Bootstrapped reports whether Bootstrap has run on this store.
	Bootstrapped(ctx context.Context) (bool, error)
	// Bootstrap prepares an empty store (Kong's "migrations bootstrap"). It is
	// idempotent.
	Bootstrap(ctx context.Context) error
	// Close flushes and releases the store.
	Close() error
}

// Tx is a transaction. It is valid only inside the function it is passed to
// and must not be used from another goroutine.
type Tx interface {
	// Get returns the row with this id, or ErrNotFound.
	Get(table, id string) (Row, error)
	// GetUnique returns the row whose unique field set equals values, or ErrNotFound.
	GetUnique(table string, fields []string, values []any) (Row, error)
	// Insert adds a new row. Errors: *UniqueError, *ForeignKeyError,
	// *PrimaryKeyError (the id exists).
	Insert(table string, row Row) error
	// InsertEncoded adds a new row given already encoded (see EncodedRow):
	// the lean path of internal tables written at high rates (the event
	// hooks' outbox), with no map to build and no reflection. Errors as
	// Insert's, except that the id is not checked for being unused.
	InsertEncoded(table string, row EncodedRow) error
	// Update replaces the existing row with the same id. Errors: ErrNotFound,
	// *UniqueError, *ForeignKeyError.
	Update(table string, row Row) error
	// Replace is Update for a caller that has just read the row: old is the
	// row with row's id as Get returned it in this same transaction, not
	// modified since (the caller changes a copy), so the store need not
	// read and decode it again to find its old index entries. Reading it in
	// the transaction is what makes a concurrent change of it conflict. The
	// lean path of rows rewritten at high rates (delivery outcomes). Errors
	// as Update's, except that the row is not checked to exist: a stale or
	// made-up old row leaves index entries wrong.
	Replace(table string, old, row Row) error
	// Delete removes the row with this id; deleting a missing row is not an
	// error. Errors: *ReferencedError while another row references it.
	Delete(table, id string) error
	// Page returns one page of rows in primary-key order. Errors: *OffsetError.
	Page(table string, q PageQuery) (Page, error)
	// Tags returns one page of the tag index ordered by tag, entity, id.
	Tags(q TagPageQuery) (TagPage, error)
	// Range returns one page of rows through a sorted index (see
	// RangeQuery). Errors: *OffsetError.
	Range(table string, q RangeQuery) (Page, error)
	// Marked reports whether a one-time job (an upgrade of stored rows)
	// has been marked done; Mark marks it, durably with the transaction
	// that completes it, so a job interrupted by a crash runs again.
	Marked(job string) (bool, error)
	Mark(job string) error
	// Claim makes concurrent transactions that claim the same name
	// conflict: one commits, the others run again and see its writes. It
	// guards checks no unique index can make (a value stored only as a
	// salted hash) and leaves nothing behind.
	Claim(name string) error
}
