package badger

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/dgraph-io/badger/v4"

	"github.com/portico-gw/portico/store"
)

// Page implements store.Tx.
//
// A page is a scan of one key range in id order: the table's rows, or, when
// that narrows the scan, the foreign index of one parent or the tag index of
// one tag. Every filter is then applied to the decoded row, so the range only
// has to be a superset of the matches. The scan stops at the first match
// after Size matches; that key becomes the next offset, so the last page is
// recognised without returning an empty one.
func (t *tx) Page(table string, q store.PageQuery) (store.Page, error) {
	ti, err := t.table(table)
	if err != nil {
		return store.Page{}, err
	}
	if q.Size <= 0 {
		return store.Page{}, fmt.Errorf("paging %s: page size %d is not positive", table, q.Size)
	}
	f, err := newRowFilter(q)
	if err != nil {
		return store.Page{}, fmt.Errorf("paging %s: %w", table, err)
	}

	if page, ok, err := t.pageByUnique(ti, q, f); ok || err != nil {
		return page, err
	}

	var prefix []byte
	viaIndex := true // keys are index entries: fetch the row by id
	switch {
	case q.Foreign != nil:
		if _, ok := ti.fks[q.Foreign.Field]; !ok {
			return store.Page{}, fmt.Errorf("paging %s: %q is not a foreign key", table, q.Foreign.Field)
		}
		prefix = refPrefix(table, q.Foreign.Field, q.Foreign.ID)
	case ti.Tagged && len(q.Tags) > 0 && (!q.TagsAny || len(q.Tags) == 1):
		// Every match carries the first tag, so its index covers them all.
		// (TagsAny over several tags would need a merge of several indexes
		// and scans the rows instead.)
		prefix = makeKey(kindTag, q.Tags[0], table)
	default:
		prefix = rowPrefix(table)
		viaIndex = false
	}
	start, err := offsetKey(q.Offset, prefix, 1)
	if err != nil {
		return store.Page{}, err
	}

	var page store.Page
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		key := item.Key()
		if len(page.Rows) == q.Size && f.empty {
			page.Offset = encodeOffset(key)
			break
		}
		var row store.Row
		if viaIndex {
			id, ok := lastComponent(key[len(prefix):])
			if !ok {
				return store.Page{}, fmt.Errorf("paging %s: %w %q in index", table, errBadKey, key)
			}
			row, err = t.getRow(table, id)
			if errors.Is(err, store.ErrNotFound) {
				continue // cannot happen while indexes are consistent; skip rather than fail
			}
		} else {
			err = item.Value(func(v []byte) error {
				row, err = decodeRow(v)
				return err
			})
		}
		if err != nil {
			return store.Page{}, fmt.Errorf("paging %s: %w", table, err)
		}
		if !f.match(row) {
			continue
		}
		if len(page.Rows) == q.Size {
			page.Offset = encodeOffset(key)
			break
		}
		page.Rows = append(page.Rows, row)
	}
	return page, nil
}

// pageByUnique answers a query whose filters pin every field of a unique
// set (the workspace and custom_id, say) through the unique index: at most
// one row matches, so no scan is needed whatever the table's size. ok is
// false when the query does not pin a unique set.
func (t *tx) pageByUnique(ti *tableInfo, q store.PageQuery, f *rowFilter) (store.Page, bool, error) {
	if len(q.Equal) == 0 {
		return store.Page{}, false, nil
	}
	pinned := func(field string) (any, bool) {
		if q.Foreign != nil && q.Foreign.Field == field {
			return q.Foreign.ID, true
		}
		v, ok := q.Equal[field]
		return v, ok
	}
	wanted := len(q.Equal)
	if q.Foreign != nil {
		if _, both := q.Equal[q.Foreign.Field]; !both {
			wanted++
		}
	}
	for _, u := range ti.uniques {
		if u.withNulls || len(u.fields) != wanted {
			continue
		}
		values := make([]any, len(u.fields))
		all := true
		for i, field := range u.fields {
			// A nil filter matches every row without the field, and nil
			// values are not in the index: those scan.
			if values[i], all = pinned(field); !all || values[i] == nil {
				all = false
				break
			}
		}
		if !all {
			continue
		}
		if q.Offset != "" {
			// The first page held the only possible row.
			return store.Page{}, true, nil
		}
		row, err := t.GetUnique(ti.Name, u.fields, values)
		if errors.Is(err, store.ErrNotFound) {
			return store.Page{}, true, nil
		}
		if err != nil {
			return store.Page{}, true, fmt.Errorf("paging %s: %w", ti.Name, err)
		}
		if !f.match(row) {
			return store.Page{}, true, nil
		}
		return store.Page{Rows: []store.Row{row}}, true, nil
	}
	return store.Page{}, false, nil
}

// Tags implements store.Tx.
func (t *tx) Tags(q store.TagPageQuery) (store.TagPage, error) {
	if t.done {
		return store.TagPage{}, errTxDone
	}
	if q.Size <= 0 {
		return store.TagPage{}, fmt.Errorf("paging tags: page size %d is not positive", q.Size)
	}
	prefix, parts := makeKey(kindTag), 3
	if q.Tag != "" {
		prefix, parts = makeKey(kindTag, q.Tag), 2
	}
	start, err := offsetKey(q.Offset, prefix, parts)
	if err != nil {
		return store.TagPage{}, err
	}
	var page store.TagPage
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		key := it.Item().Key()
		if len(page.Rows) == q.Size {
			page.Offset = encodeOffset(key)
			break
		}
		// Decode the whole key: with q.Tag set the tag is in the prefix.
		c, ok := splitN(key, 4)
		if !ok {
			return store.TagPage{}, fmt.Errorf("paging tags: %w %q in index", errBadKey, key)
		}
		page.Rows = append(page.Rows, store.TagRow{Tag: c[1], EntityName: c[2], EntityID: c[3]})
	}
	return page, nil
}

// Range implements store.Tx: a scan of the sorted index's entries from
// the pinned prefix (or the offset), up to the Below bound, fetching each
// row by id.
func (t *tx) Range(table string, q store.RangeQuery) (store.Page, error) {
	ti, err := t.table(table)
	if err != nil {
		return store.Page{}, err
	}
	if q.Size <= 0 {
		return store.Page{}, fmt.Errorf("ranging %s: page size %d is not positive", table, q.Size)
	}
	i := slices.IndexFunc(ti.Sorted, func(s store.SortedIndex) bool { return s.Name == q.Index })
	if i < 0 {
		return store.Page{}, fmt.Errorf("ranging %s: %q is not a sorted index", table, q.Index)
	}
	si := ti.Sorted[i]
	if len(q.Equal) > len(si.Fields) || ((q.Below != nil || q.From != nil) && len(q.Equal) >= len(si.Fields)) {
		return store.Page{}, fmt.Errorf("ranging %s by %s: more values than fields", table, q.Index)
	}
	prefix := sortedPrefix(table, si.Name)
	for _, v := range q.Equal {
		enc, err := sortValue(v)
		if err != nil {
			return store.Page{}, fmt.Errorf("ranging %s by %s: %w", table, q.Index, err)
		}
		prefix = appendComponent(prefix, enc)
	}
	var bound []byte
	if q.Below != nil {
		enc, err := sortValue(q.Below)
		if err != nil {
			return store.Page{}, fmt.Errorf("ranging %s by %s: %w", table, q.Index, err)
		}
		bound = appendComponent(slices.Clone(prefix), enc)
	}
	start, err := offsetKey(q.Offset, prefix, len(si.Fields)-len(q.Equal)+1)
	if err != nil {
		return store.Page{}, err
	}
	if q.From != nil {
		enc, err := sortValue(q.From)
		if err != nil {
			return store.Page{}, fmt.Errorf("ranging %s by %s: %w", table, q.Index, err)
		}
		if from := appendComponent(slices.Clone(prefix), enc); bytes.Compare(from, start) > 0 {
			start = from
		}
	}
	var page store.Page
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		key := it.Item().Key()
		if bound != nil && bytes.Compare(key, bound) >= 0 {
			break
		}
		if len(page.Rows) == q.Size {
			page.Offset = encodeOffset(key)
			break
		}
		parts, err := splitKey(key[len(prefix):])
		if err != nil || len(parts) == 0 {
			return store.Page{}, fmt.Errorf("ranging %s: %w %q in index", table, errBadKey, key)
		}
		if q.IDsOnly {
			page.Rows = append(page.Rows, store.Row{"id": parts[len(parts)-1]})
			continue
		}
		row, err := t.getRow(table, parts[len(parts)-1])
		if errors.Is(err, store.ErrNotFound) {
			continue // cannot happen while indexes are consistent
		}
		if err != nil {
			return store.Page{}, fmt.Errorf("ranging %s: %w", table, err)
		}
		page.Rows = append(page.Rows, row)
	}
	return page, nil
}

// encodeOffset turns the key a page resumes at into an opaque, URL-safe token.
func encodeOffset(key []byte) string {
	return base64.RawURLEncoding.EncodeToString(key)
}

// offsetKey decodes a page token into the key to resume at, checking that it
// is prefix followed by parts well-formed components; "" starts at prefix.
// Padded and standard-alphabet base64 are accepted too, in case a client or
// proxy re-encoded the token.
func offsetKey(tok string, prefix []byte, parts int) ([]byte, error) {
	if tok == "" {
		return prefix, nil
	}
	var key []byte
	var err error
	for _, enc := range []*base64.Encoding{
		base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding,
	} {
		if key, err = enc.DecodeString(tok); err == nil {
			break
		}
	}
	if err != nil {
		return nil, &store.OffsetError{Offset: tok, Reason: "bad base64 encoding"}
	}
	if !bytes.HasPrefix(key, prefix) {
		return nil, &store.OffsetError{Offset: tok, Reason: "bad offset"}
	}
	if _, ok := splitN(key[len(prefix):], parts); !ok {
		return nil, &store.OffsetError{Offset: tok, Reason: "bad offset"}
	}
	return key, nil
}

// rowFilter is PageQuery's tag and Equal filters, normalised once per page.
type rowFilter struct {
	empty   bool
	tags    []string
	tagsAny bool
	equal   map[string]any
}

func newRowFilter(q store.PageQuery) (*rowFilter, error) {
	f := &rowFilter{tags: q.Tags, tagsAny: q.TagsAny}
	if len(q.Equal) > 0 {
		f.equal = make(map[string]any, len(q.Equal))
		for k, v := range q.Equal {
			c, err := canonical(v)
			if err != nil {
				return nil, fmt.Errorf("filter on %q: %w", k, err)
			}
			f.equal[k] = c
		}
	}
	f.empty = len(f.tags) == 0 && len(f.equal) == 0
	return f, nil
}

func (f *rowFilter) match(row store.Row) bool {
	for k, want := range f.equal {
		if !equalValue(row[k], want) {
			return false
		}
	}
	if len(f.tags) == 0 {
		return true
	}
	have, err := rowTags(row["tags"])
	if err != nil {
		return false
	}
	for _, tag := range f.tags {
		found := slices.Contains(have, tag)
		if f.tagsAny && found {
			return true
		}
		if !f.tagsAny && !found {
			return false
		}
	}
	return !f.tagsAny
}

// equalValue compares JSON-decoded values; nil matches a missing field.
func equalValue(have, want any) bool {
	switch w := want.(type) {
	case nil:
		return have == nil
	case string:
		h, ok := have.(string)
		return ok && h == w
	case float64:
		h, ok := have.(float64)
		return ok && h == w
	case bool:
		h, ok := have.(bool)
		return ok && h == w
	}
	return reflect.DeepEqual(have, want)
}
