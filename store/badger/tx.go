package badger

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"

	"github.com/portico-gw/portico/internal/jsonrow"
	"github.com/portico-gw/portico/store"
)

var (
	errTxDone   = errors.New("transaction used after its function returned")
	errReadOnly = errors.New("write in a read-only transaction")
)

// tx implements store.Tx over one badger transaction.
type tx struct {
	s     *Store
	txn   *badger.Txn
	write bool
	// done is set when the function owning tx returns: badger panics on some
	// uses of a discarded transaction, so a leaked tx must fail politely.
	done bool
	// bigValue says a value written may go to the value log (sync.go).
	bigValue bool
}

func (t *tx) table(name string) (*tableInfo, error) {
	if t.done {
		return nil, errTxDone
	}
	ti, ok := t.s.tables[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", store.ErrUnknownTable, name)
	}
	return ti, nil
}

func (t *tx) writable(name string) (*tableInfo, error) {
	ti, err := t.table(name)
	if err != nil {
		return nil, err
	}
	if !t.write {
		return nil, fmt.Errorf("writing %s: %w", name, errReadOnly)
	}
	return ti, nil
}

// Get implements store.Tx. A missing row is reported as the bare
// store.ErrNotFound: it is an expected outcome, not a failure needing context.
func (t *tx) Get(table, id string) (store.Row, error) {
	if _, err := t.table(table); err != nil {
		return nil, err
	}
	return t.getRow(table, id)
}

func (t *tx) getRow(table, id string) (store.Row, error) {
	if id == "" {
		return nil, store.ErrNotFound
	}
	item, err := t.txn.Get(rowKey(table, id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading row %s/%s: %w", table, id, err)
	}
	var row store.Row
	if err := item.Value(func(v []byte) error {
		row, err = decodeRow(v)
		return err
	}); err != nil {
		return nil, fmt.Errorf("reading row %s/%s: %w", table, id, err)
	}
	return row, nil
}

// decodeRow decodes a stored row, without reflection (internal/jsonrow):
// decoding dominates Get, page scans and every Update's read of the row
// it replaces.
func decodeRow(v []byte) (store.Row, error) {
	x, err := jsonrow.Unmarshal(v)
	if err != nil {
		return nil, fmt.Errorf("decoding row JSON: %w", err)
	}
	row, ok := x.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decoding row JSON: %T, not an object", x)
	}
	return row, nil
}

// GetUnique implements store.Tx.
func (t *tx) GetUnique(table string, fields []string, values []any) (store.Row, error) {
	ti, err := t.table(table)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(ti.uniques, func(u uniqueSet) bool { return slices.Equal(u.fields, fields) })
	if i < 0 {
		return nil, fmt.Errorf("looking up %s by (%s): not a declared unique field set",
			table, strings.Join(fields, ","))
	}
	if len(values) != len(fields) {
		return nil, fmt.Errorf("looking up %s by (%s): %d values for %d fields",
			table, strings.Join(fields, ","), len(values), len(fields))
	}
	key, ok, err := uniqueKey(ti, ti.uniques[i], func(j int, _ string) any { return values[j] })
	if err != nil {
		return nil, fmt.Errorf("looking up %s by (%s): %w", table, strings.Join(fields, ","), err)
	}
	if !ok { // nil values are never indexed, as in SQL
		return nil, store.ErrNotFound
	}
	id, found, err := t.uniqueOwner(key)
	if err != nil {
		return nil, fmt.Errorf("looking up %s by (%s): %w", table, strings.Join(fields, ","), err)
	}
	if !found {
		return nil, store.ErrNotFound
	}
	return t.getRow(table, id)
}

// uniqueOwner reads a unique index entry. Reading it (rather than scanning)
// puts it in the transaction's read set, so two transactions claiming the
// same value conflict.
func (t *tx) uniqueOwner(key []byte) (id string, found bool, err error) {
	item, err := t.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading unique index: %w", err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return "", false, fmt.Errorf("reading unique index: %w", err)
	}
	return string(v), true, nil
}

// Insert implements store.Tx.
func (t *tx) Insert(table string, row store.Row) error {
	ti, err := t.writable(table)
	if err != nil {
		return err
	}
	id, err := rowID(table, row)
	if err != nil {
		return err
	}
	rk := rowKey(table, id)
	switch _, err := t.txn.Get(rk); {
	case err == nil:
		return &store.PrimaryKeyError{Table: table, ID: id}
	case !errors.Is(err, badger.ErrKeyNotFound):
		return fmt.Errorf("reading row %s/%s: %w", table, id, err)
	}
	return t.put(ti, id, row, nil)
}

// InsertEncoded implements store.Tx: Insert without the id's check, the
// row's encoding or its decoding for the indexes.
func (t *tx) InsertEncoded(table string, row store.EncodedRow) error {
	ti, err := t.writable(table)
	if err != nil {
		return err
	}
	id := row.ID
	if id == "" || !utf8.ValidString(id) { // see rowID
		return fmt.Errorf("writing %s row: id %q must be a non-empty UTF-8 string", table, id)
	}
	if len(row.JSON) < 2 || row.JSON[0] != '{' {
		return fmt.Errorf("writing %s row %s: the encoded row is not a JSON object", table, id)
	}
	idx, err := buildIndexesOf(ti, id, row.Fields.Field)
	if err != nil {
		return err
	}
	if err := t.checkConstraints(ti, id, row.Fields.Field, idx); err != nil {
		return err
	}
	if len(row.JSON) >= valueLogMin {
		t.bigValue = true
	}
	if err := t.txn.Set(rowKey(table, id), row.JSON); err != nil {
		return fmt.Errorf("writing row %s/%s: %w", table, id, err)
	}
	return t.writeIndexes(ti, id, idx, nil)
}

// Update implements store.Tx.
func (t *tx) Update(table string, row store.Row) error {
	ti, err := t.writable(table)
	if err != nil {
		return err
	}
	id, err := rowID(table, row)
	if err != nil {
		return err
	}
	old, err := t.getRow(table, id)
	if err != nil {
		return err
	}
	oldIdx, err := buildIndexes(ti, id, old)
	if err != nil {
		return fmt.Errorf("indexing stored row %s/%s: %w", table, id, err)
	}
	return t.put(ti, id, row, oldIdx)
}

// Replace implements store.Tx: Update with the old row the caller read in
// this transaction (its row key is already in the transaction's reads, so
// a concurrent write of the row still conflicts), without reading and
// decoding it again.
func (t *tx) Replace(table string, old, row store.Row) error {
	ti, err := t.writable(table)
	if err != nil {
		return err
	}
	id, err := rowID(table, row)
	if err != nil {
		return err
	}
	if oldID, _ := old["id"].(string); oldID != id {
		return fmt.Errorf("replacing %s/%s: the old row given is %q's", table, id, oldID)
	}
	oldIdx, err := buildIndexes(ti, id, old)
	if err != nil {
		return fmt.Errorf("indexing stored row %s/%s: %w", table, id, err)
	}
	return t.put(ti, id, row, oldIdx)
}

// put checks a row's constraints and writes it with its index entries;
// oldIdx (nil for an insert) are the entries of the row it replaces, of
// which those no longer wanted are removed.
func (t *tx) put(ti *tableInfo, id string, row store.Row, oldIdx *indexes) error {
	table := ti.Name
	idx, err := buildIndexes(ti, id, row)
	if err != nil {
		return err
	}
	if err := t.checkConstraints(ti, id, func(f string) any { return row[f] }, idx); err != nil {
		return err
	}
	data, err := jsonrow.Marshal(row) // encoding/json's bytes, without reflection
	if err != nil {
		return fmt.Errorf("encoding row %s/%s: %w", table, id, err)
	}
	var existing map[string]struct{}
	if oldIdx != nil {
		keep := idx.keySet()
		for _, k := range oldIdx.keys() {
			if _, ok := keep[string(k)]; ok {
				continue
			}
			if err := t.txn.Delete(k); err != nil {
				return fmt.Errorf("removing index entry of %s/%s: %w", table, id, err)
			}
		}
		existing = oldIdx.keySet()
	}
	if len(data) >= valueLogMin {
		t.bigValue = true
	}
	if err := t.txn.Set(rowKey(table, id), data); err != nil {
		return fmt.Errorf("writing row %s/%s: %w", table, id, err)
	}
	return t.writeIndexes(ti, id, idx, existing)
}

// checkConstraints verifies the unique and foreign-key constraints of a row
// about to be written as id.
func (t *tx) checkConstraints(ti *tableInfo, id string, field func(string) any, idx *indexes) error {
	for _, u := range idx.unique {
		owner, found, err := t.uniqueOwner(u.key)
		if err != nil {
			return fmt.Errorf("checking %s(%s): %w", ti.Name, u.set.joined, err)
		}
		if found && owner != id {
			values := make([]any, len(u.set.fields))
			for i, f := range u.set.fields {
				values[i] = field(f)
			}
			return &store.UniqueError{Table: ti.Name, Fields: slices.Clone(u.set.fields), Values: values}
		}
	}
	for _, r := range idx.refs {
		if r.fk.Loose || r.fk.Table == ti.Name && r.parentID == id {
			continue // loose references are not checked; a row may reference itself
		}
		_, err := t.txn.Get(rowKey(r.fk.Table, r.parentID))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return &store.ForeignKeyError{Table: ti.Name, Field: r.fk.Field, RefTable: r.fk.Table, ID: r.parentID}
		}
		if err != nil {
			return fmt.Errorf("checking %s.%s: reading %s/%s: %w", ti.Name, r.fk.Field, r.fk.Table, r.parentID, err)
		}
	}
	return nil
}

// writeIndexes writes the index entries of idx that are not in existing.
func (t *tx) writeIndexes(ti *tableInfo, id string, idx *indexes, existing map[string]struct{}) error {
	has := func(k []byte) bool {
		_, ok := existing[string(k)]
		return ok
	}
	for _, u := range idx.unique {
		if has(u.key) {
			continue
		}
		if err := t.txn.Set(u.key, []byte(id)); err != nil {
			return fmt.Errorf("writing %s(%s) index of %s: %w", ti.Name, u.set.joined, id, err)
		}
	}
	for _, r := range idx.refs {
		if has(r.key) {
			continue
		}
		if err := t.txn.Set(r.key, nil); err != nil {
			return fmt.Errorf("writing %s.%s index of %s: %w", ti.Name, r.fk.Field, id, err)
		}
		if r.fk.Loose {
			continue // nothing to guard: the parent may go away
		}
		// See "reference guard" in keys.go.
		if err := t.txn.Set(guardKey(r.fk.Table, r.parentID), nil); err != nil {
			return fmt.Errorf("writing reference guard of %s/%s: %w", r.fk.Table, r.parentID, err)
		}
	}
	for _, k := range idx.tags {
		if has(k) {
			continue
		}
		if err := t.txn.Set(k, nil); err != nil {
			return fmt.Errorf("writing tag index of %s/%s: %w", ti.Name, id, err)
		}
	}
	for _, k := range idx.sorted {
		if has(k) {
			continue
		}
		if err := t.txn.Set(k, nil); err != nil {
			return fmt.Errorf("writing sorted index of %s/%s: %w", ti.Name, id, err)
		}
	}
	return nil
}

// Delete implements store.Tx.
func (t *tx) Delete(table, id string) error {
	ti, err := t.writable(table)
	if err != nil {
		return err
	}
	row, err := t.getRow(table, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, c := range ti.children {
		referenced, err := t.hasChildren(c, table, id)
		if err != nil {
			return err
		}
		if referenced {
			return &store.ReferencedError{Table: table, ChildTable: c.table}
		}
	}
	gk := guardKey(table, id)
	_, err = t.txn.Get(gk) // joins the read set: see "reference guard" in keys.go
	guarded := err == nil
	if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
		return fmt.Errorf("reading reference guard of %s/%s: %w", table, id, err)
	}
	idx, err := buildIndexes(ti, id, row)
	if err != nil {
		return fmt.Errorf("indexing stored row %s/%s: %w", table, id, err)
	}
	for _, k := range idx.keys() {
		if err := t.txn.Delete(k); err != nil {
			return fmt.Errorf("removing index entry of %s/%s: %w", table, id, err)
		}
	}
	if guarded {
		if err := t.txn.Delete(gk); err != nil {
			return fmt.Errorf("removing reference guard of %s/%s: %w", table, id, err)
		}
	}
	if err := t.txn.Delete(rowKey(table, id)); err != nil {
		return fmt.Errorf("deleting row %s/%s: %w", table, id, err)
	}
	return nil
}

// hasChildren reports whether any row of c.table references parentTable/id
// through c.field, ignoring a row that references itself.
func (t *tx) hasChildren(c childRef, parentTable, id string) (bool, error) {
	prefix := refPrefix(c.table, c.field, id)
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		childID, ok := lastComponent(it.Item().Key()[len(prefix):])
		if !ok {
			return false, fmt.Errorf("checking references to %s/%s: %w in %s.%s index",
				parentTable, id, errBadKey, c.table, c.field)
		}
		if c.table == parentTable && childID == id {
			continue
		}
		return true, nil
	}
	return false, nil
}

// rowID extracts the primary key, which must be a non-empty UTF-8 string.
func rowID(table string, row store.Row) (string, error) {
	id, ok := row["id"].(string)
	if !ok || id == "" {
		return "", fmt.Errorf("writing %s row: \"id\" must be a non-empty string, got %#v", table, row["id"])
	}
	// JSON would store U+FFFD in place of invalid bytes, and the row would
	// no longer match its own key.
	if !utf8.ValidString(id) {
		return "", fmt.Errorf("writing %s row: \"id\" %q is not valid UTF-8", table, id)
	}
	return id, nil
}

// indexes are the index entries one row owns.
type indexes struct {
	unique []uniqueEntry
	refs   []refEntry
	tags   [][]byte
	sorted [][]byte
}

type uniqueEntry struct {
	set uniqueSet
	key []byte
}

type refEntry struct {
	fk       store.ForeignKey
	parentID string
	key      []byte
}

func (x *indexes) keys() [][]byte {
	keys := make([][]byte, 0, len(x.unique)+len(x.refs)+len(x.tags)+len(x.sorted))
	for _, u := range x.unique {
		keys = append(keys, u.key)
	}
	for _, r := range x.refs {
		keys = append(keys, r.key)
	}
	keys = append(keys, x.tags...)
	return append(keys, x.sorted...)
}

func (x *indexes) keySet() map[string]struct{} {
	keys := x.keys()
	set := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		set[string(k)] = struct{}{}
	}
	return set
}

// buildIndexes computes the index entries of row. It fails on references and
// tags of the wrong shape, before anything is written.
func buildIndexes(ti *tableInfo, id string, row store.Row) (*indexes, error) {
	return buildIndexesOf(ti, id, func(f string) any { return row[f] })
}

// buildIndexesOf is buildIndexes reading the row's fields through field.
func buildIndexesOf(ti *tableInfo, id string, field func(string) any) (*indexes, error) {
	idx := &indexes{}
	for _, set := range ti.uniques {
		key, ok, err := uniqueKey(ti, set, func(_ int, f string) any { return field(f) })
		if err != nil {
			return nil, fmt.Errorf("indexing %s/%s: %w", ti.Name, id, err)
		}
		if ok {
			idx.unique = append(idx.unique, uniqueEntry{set: set, key: key})
		}
	}
	for _, fk := range ti.Foreign {
		parentID, ok, err := refID(field(fk.Field))
		if err != nil {
			return nil, fmt.Errorf("indexing %s/%s: field %q: %w", ti.Name, id, fk.Field, err)
		}
		if ok {
			idx.refs = append(idx.refs, refEntry{fk: fk, parentID: parentID, key: refKey(ti.Name, fk.Field, parentID, id)})
		}
	}
	if ti.Tagged {
		tags, err := rowTags(field("tags"))
		if err != nil {
			return nil, fmt.Errorf("indexing %s/%s: %w", ti.Name, id, err)
		}
		for _, tag := range tags {
			if !utf8.ValidString(tag) { // see rowID
				return nil, fmt.Errorf("indexing %s/%s: tag %q is not valid UTF-8", ti.Name, id, tag)
			}
			idx.tags = append(idx.tags, tagKey(tag, ti.Name, id))
		}
	}
	for i, si := range ti.Sorted {
		prefix := ti.sortedPrefixes[i]
		key := make([]byte, 0, len(prefix)+2*len(id)+24*len(si.Fields)+8)
		key = append(key, prefix...)
		for _, f := range si.Fields {
			var err error
			if key, err = appendSortValue(key, field(f)); err != nil {
				return nil, fmt.Errorf("indexing %s/%s: field %q: %w", ti.Name, id, f, err)
			}
		}
		idx.sorted = append(idx.sorted, appendComponent(key, id))
	}
	return idx, nil
}

// uniqueKey builds the unique index key of set, taking the i-th field's value
// from value. ok is false when a value is nil: such sets are not indexed.
func uniqueKey(ti *tableInfo, set uniqueSet, value func(i int, field string) any) (key []byte, ok bool, err error) {
	vals := make([]any, len(set.fields))
	for i, f := range set.fields {
		v := value(i, f)
		if _, isFK := ti.fks[f]; isFK {
			id, present, err := refID(v)
			if err != nil {
				return nil, false, fmt.Errorf("field %q: %w", f, err)
			}
			if !present {
				if set.withNulls {
					continue
				}
				return nil, false, nil
			}
			vals[i] = id
			continue
		}
		c, err := canonical(v)
		if err != nil {
			return nil, false, fmt.Errorf("field %q: %w", f, err)
		}
		if c == nil && !set.withNulls {
			return nil, false, nil
		}
		vals[i] = c
	}
	enc, err := json.Marshal(vals)
	if err != nil {
		return nil, false, fmt.Errorf("encoding unique values: %w", err)
	}
	return makeKey(kindUnique, ti.Name, set.joined, string(enc)), true, nil
}

// canonical returns v as encoding/json would decode it (numbers float64,
// objects map[string]any, ...), so that values compare and index alike
// whether they came from a decoded row or from Go code using int or []string.
func canonical(v any) (any, error) {
	switch v.(type) {
	case nil, string, bool, float64:
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding value: %w", err)
	}
	var c any
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("decoding value: %w", err)
	}
	return c, nil
}

// refID extracts the referenced id from a foreign-key value: {"id": "..."}
// or, for convenience, the plain id string. present is false for nil.
func refID(v any) (id string, present bool, err error) {
	switch r := v.(type) {
	case nil:
		return "", false, nil
	case string:
		id = r
	case map[string]any:
		if r["id"] == nil {
			return "", false, errors.New(`reference has no "id"`)
		}
		s, ok := r["id"].(string)
		if !ok {
			return "", false, fmt.Errorf("reference id must be a string, got %T", r["id"])
		}
		id = s
	case map[string]string:
		id = r["id"]
	default:
		return "", false, fmt.Errorf("reference must be {\"id\": ...} or an id string, got %T", v)
	}
	if id == "" {
		return "", false, errors.New("reference has an empty id")
	}
	return id, true, nil
}

// rowTags reads a row's "tags" field: nil, []any of strings or []string.
// Duplicates are dropped.
func rowTags(v any) ([]string, error) {
	var tags []string
	switch tv := v.(type) {
	case nil:
		return nil, nil
	case []string:
		tags = tv
	case []any:
		tags = make([]string, len(tv))
		for i, x := range tv {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("tags must be strings, got %T", x)
			}
			tags[i] = s
		}
	default:
		return nil, fmt.Errorf("tags must be an array of strings, got %T", v)
	}
	if len(tags) > 1 {
		tags = slices.Clone(tags)
		slices.Sort(tags)
		tags = slices.Compact(tags)
	}
	return tags, nil
}

// Marked implements store.Tx.
func (t *tx) Marked(job string) (bool, error) {
	_, err := t.txn.Get(jobKey(job))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, badger.ErrKeyNotFound):
		return false, nil
	}
	return false, fmt.Errorf("reading the marker of %s: %w", job, err)
}

// Mark implements store.Tx.
func (t *tx) Mark(job string) error {
	if !t.write {
		return fmt.Errorf("marking %s: %w", job, errReadOnly)
	}
	if err := t.txn.Set(jobKey(job), []byte("1")); err != nil {
		return fmt.Errorf("marking %s: %w", job, err)
	}
	return nil
}

// Claim implements store.Tx: badger's conflict check then sees the key in
// the transaction's reads and writes, so of two transactions claiming it
// concurrently the later commit fails with a conflict and runs again.
func (t *tx) Claim(name string) error {
	if !t.write {
		return fmt.Errorf("claiming %s: %w", name, errReadOnly)
	}
	key := claimKey(name)
	if _, err := t.txn.Get(key); err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
		return fmt.Errorf("claiming %s: %w", name, err)
	}
	if err := t.txn.Delete(key); err != nil {
		return fmt.Errorf("claiming %s: %w", name, err)
	}
	return nil
}
