// Package storetest is the conformance suite of store.Store: every engine
// runs it from its own tests, so that the db layer can rely on one behaviour
// whichever engine is configured.
//
// The suite only uses UUIDs as ids where it checks ordering, and plain ASCII
// tags, so that an SQL engine ordering by a uuid column or with "C" collation
// agrees with the byte order the suite expects.
package storetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/portico-gw/portico/store"
)

// Opener opens an engine with these tables. For Run it must return an empty
// store each call; for RunReopen each call must open the same persistent
// storage. It should release the store in t.Cleanup, tolerating a store the
// suite has already closed.
type Opener = func(t *testing.T, tables []store.Table) store.Store

// Tables is the schema the suite runs against, a slice of Kong's.
func Tables() []store.Table {
	return []store.Table{
		{Name: "services", Unique: [][]string{{"name"}}, Tagged: true},
		{
			Name:    "routes",
			Unique:  [][]string{{"name"}},
			Foreign: []store.ForeignKey{{Field: "service", Table: "services", OnDelete: store.Cascade}},
			Tagged:  true,
		},
		{Name: "consumers", Unique: [][]string{{"username"}, {"custom_id"}}, Tagged: true},
		{Name: "upstreams", Unique: [][]string{{"name"}}, Tagged: true},
		{
			Name:    "targets",
			Unique:  [][]string{{"upstream", "target"}},
			Foreign: []store.ForeignKey{{Field: "upstream", Table: "upstreams", OnDelete: store.Cascade}},
			Tagged:  true,
		},
		{
			Name:     "plugins",
			Unique:   [][]string{{"instance_name"}},
			CacheKey: []string{"name", "route", "service", "consumer"},
			Foreign: []store.ForeignKey{
				{Field: "service", Table: "services", OnDelete: store.Cascade},
				{Field: "route", Table: "routes", OnDelete: store.Restrict},
				{Field: "consumer", Table: "consumers", OnDelete: store.Cascade},
			},
			Tagged: true,
		},
		// An untagged table: its "tags" field is plain data.
		{Name: "notes"},
		// Records that keep pointing at a consumer that may be gone.
		{Name: "audits", Foreign: []store.ForeignKey{{Field: "consumer", Table: "consumers", Loose: true}},
			Sorted: []store.SortedIndex{{Name: "status_due", Fields: []string{"status", "due"}},
				{Name: "consumer", Fields: []string{"consumer"}}}},
	}
}

// Run runs the conformance suite against the engine that open opens.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"RoundTrip", testRoundTrip},
		{"CacheKey", testCacheKey},
		{"LooseReference", testLooseReference},
		{"GetMissing", testGetMissing},
		{"UnknownTable", testUnknownTable},
		{"PrimaryKey", testPrimaryKey},
		{"Unique", testUnique},
		{"UniqueUpdate", testUniqueUpdate},
		{"GetUnique", testGetUnique},
		{"ForeignKey", testForeignKey},
		{"DeleteRestricted", testDeleteRestricted},
		{"DeleteMissing", testDeleteMissing},
		{"DeleteRemovesIndexes", testDeleteRemovesIndexes},
		{"UpdateMissing", testUpdateMissing},
		{"UpdateReplaces", testUpdateReplaces},
		{"BadRows", testBadRows},
		{"Paging", testPaging},
		{"BadOffset", testBadOffset},
		{"ForeignPaging", testForeignPaging},
		{"TagFilter", testTagFilter},
		{"TagFilterPaging", testTagFilterPaging},
		{"EqualFilter", testEqualFilter},
		{"EqualFilterSparse", testEqualFilterSparse},
		{"EqualFilterOnUnique", testEqualFilterOnUnique},
		{"TagsIndex", testTagsIndex},
		{"Rollback", testRollback},
		{"ErrorsUnchanged", testErrorsUnchanged},
		{"OwnWrites", testOwnWrites},
		{"ReadOnlyView", testReadOnlyView},
		{"TxAfterReturn", testTxAfterReturn},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentUnique", testConcurrentUnique},
		{"ConcurrentInserts", testConcurrentInserts},
		{"LostUpdate", testLostUpdate},
		{"DeleteParentVsInsertChild", testDeleteParentVsInsertChild},
		{"Bootstrap", testBootstrap},
		{"Marks", testMarks},
		{"Claims", testClaims},
		{"SortedIndex", testSortedIndex},
		{"InsertEncoded", testInsertEncoded},
		{"Replace", testReplace},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// RunReopen checks that committed data, indexes and the bootstrap flag
// survive Close. Every call of open must open the same persistent storage.
func RunReopen(t *testing.T, open Opener) {
	ctx := context.Background()
	tables := Tables()
	s := open(t, tables)
	svc, gone := newID(), newID()
	route := newID()
	mustUpdate(t, s, func(tx store.Tx) error {
		for _, r := range []struct {
			table string
			row   store.Row
		}{
			{"services", store.Row{"id": svc, "name": "kept", "tags": []any{"t1"}, "port": 8080}},
			{"services", store.Row{"id": gone, "name": "gone"}},
			{"routes", store.Row{"id": route, "name": "r", "service": map[string]any{"id": svc}}},
		} {
			if err := tx.Insert(r.table, r.row); err != nil {
				return err
			}
		}
		return nil
	})
	mustUpdate(t, s, func(tx store.Tx) error { return tx.Delete("services", gone) })
	mustUpdate(t, s, func(tx store.Tx) error { return tx.Mark("upgrade") })
	if err := s.Bootstrap(ctx); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t, tables)
	if ok, err := s.Bootstrapped(ctx); err != nil || !ok {
		t.Errorf("Bootstrapped after reopen = %v, %v; want true", ok, err)
	}
	mustView(t, s, func(tx store.Tx) error {
		if ok, err := tx.Marked("upgrade"); !ok || err != nil {
			t.Errorf("Marked after reopen = %v, %v; want true", ok, err)
		}
		row, err := tx.Get("services", svc)
		if err != nil {
			t.Fatalf("Get after reopen: %v", err)
		}
		want := store.Row{"id": svc, "name": "kept", "tags": []any{"t1"}, "port": 8080.0}
		if !rowsEqual(row, want) {
			t.Errorf("row after reopen = %v, want %v", row, want)
		}
		if _, err := tx.Get("services", gone); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted row after reopen: err = %v, want ErrNotFound", err)
		}
		if row, err := tx.GetUnique("services", []string{"name"}, []any{"kept"}); err != nil || row["id"] != svc {
			t.Errorf("GetUnique after reopen = %v, %v", row, err)
		}
		if _, err := tx.GetUnique("services", []string{"name"}, []any{"gone"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetUnique of deleted row after reopen: err = %v, want ErrNotFound", err)
		}
		p, err := tx.Page("routes", store.PageQuery{Size: 10, Foreign: &store.ForeignFilter{Field: "service", ID: svc}})
		if err != nil || len(p.Rows) != 1 {
			t.Errorf("foreign page after reopen = %v, %v; want 1 row", p.Rows, err)
		}
		tp, err := tx.Tags(store.TagPageQuery{Size: 10})
		want2 := []store.TagRow{{EntityName: "services", EntityID: svc, Tag: "t1"}}
		if err != nil || !reflect.DeepEqual(tp.Rows, want2) {
			t.Errorf("Tags after reopen = %v, %v; want %v", tp.Rows, err, want2)
		}
		return nil
	})
	err := s.Update(ctx, func(tx store.Tx) error { return tx.Delete("services", svc) })
	var re *store.ReferencedError
	if !errors.As(err, &re) {
		t.Errorf("deleting referenced row after reopen: err = %v, want *ReferencedError", err)
	}
}

// ---- helpers ----

func newID() string { return uuid.NewString() }

func mustUpdate(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func mustView(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// insert adds rows to table in one transaction.
func insert(t *testing.T, s store.Store, table string, rows ...store.Row) {
	t.Helper()
	mustUpdate(t, s, func(tx store.Tx) error {
		for _, r := range rows {
			if err := tx.Insert(table, r); err != nil {
				return fmt.Errorf("inserting %v: %w", r["id"], err)
			}
		}
		return nil
	})
}

// tryInsert inserts one row in its own transaction and returns the error.
func tryInsert(s store.Store, table string, row store.Row) error {
	return s.Update(context.Background(), func(tx store.Tx) error { return tx.Insert(table, row) })
}

func tryUpdate(s store.Store, table string, row store.Row) error {
	return s.Update(context.Background(), func(tx store.Tx) error { return tx.Update(table, row) })
}

func tryDelete(s store.Store, table, id string) error {
	return s.Update(context.Background(), func(tx store.Tx) error { return tx.Delete(table, id) })
}

func get(t *testing.T, s store.Store, table, id string) (store.Row, error) {
	t.Helper()
	var row store.Row
	var gerr error
	mustView(t, s, func(tx store.Tx) error {
		row, gerr = tx.Get(table, id)
		return nil
	})
	return row, gerr
}

func getUnique(t *testing.T, s store.Store, table string, fields []string, values ...any) (store.Row, error) {
	t.Helper()
	var row store.Row
	var gerr error
	mustView(t, s, func(tx store.Tx) error {
		row, gerr = tx.GetUnique(table, fields, values)
		return nil
	})
	return row, gerr
}

// allPages reads every page of q, checking the page invariants: no page is
// larger than Size, only the last may be smaller, and only the last has an
// empty offset.
func allPages(t *testing.T, s store.Store, table string, q store.PageQuery) []store.Row {
	t.Helper()
	return readPages(t, s, table, "paging", q.Size, func(tx store.Tx, offset string) (store.Page, error) {
		q.Offset = offset
		return tx.Page(table, q)
	})
}

// readPages reads every page read returns from the first offset on,
// checking the page invariants of allPages.
func readPages(t *testing.T, s store.Store, table, verb string, size int, read func(tx store.Tx, offset string) (store.Page, error)) []store.Row {
	t.Helper()
	var rows []store.Row
	offset := ""
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("%s %s: no last page after %d pages", verb, table, pages)
		}
		var p store.Page
		mustView(t, s, func(tx store.Tx) error {
			var err error
			p, err = read(tx, offset)
			return err
		})
		if len(p.Rows) > size {
			t.Fatalf("%s %s: page of %d rows, size %d", verb, table, len(p.Rows), size)
		}
		rows = append(rows, p.Rows...)
		if p.Offset == "" {
			return rows
		}
		if len(p.Rows) != size {
			t.Fatalf("%s %s: page %d has %d rows and offset %q; only the last page may be short",
				verb, table, pages, len(p.Rows), p.Offset)
		}
		offset = p.Offset
	}
}

func allTags(t *testing.T, s store.Store, q store.TagPageQuery) []store.TagRow {
	t.Helper()
	var rows []store.TagRow
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("paging tags: no last page after %d pages", pages)
		}
		var p store.TagPage
		mustView(t, s, func(tx store.Tx) error {
			var err error
			p, err = tx.Tags(q)
			return err
		})
		if len(p.Rows) > q.Size || (p.Offset != "" && len(p.Rows) != q.Size) {
			t.Fatalf("paging tags: page of %d rows with offset %q, size %d", len(p.Rows), p.Offset, q.Size)
		}
		rows = append(rows, p.Rows...)
		if p.Offset == "" {
			return rows
		}
		q.Offset = p.Offset
	}
}

func ids(rows []store.Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i], _ = r["id"].(string)
	}
	return out
}

func sorted(ss []string) []string {
	out := slices.Clone(ss)
	sort.Strings(out)
	return out
}

// jsonRow is what a row looks like after a JSON round trip: the form every
// engine returns.
func jsonRow(t *testing.T, r store.Row) store.Row {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("encoding %v: %v", r, err)
	}
	var out store.Row
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return out
}

// rowsEqual compares rows treating a top-level nil like a missing field (an
// SQL engine cannot tell them apart).
func rowsEqual(a, b store.Row) bool {
	strip := func(r store.Row) store.Row {
		out := store.Row{}
		for k, v := range r {
			if v != nil {
				out[k] = v
			}
		}
		return out
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

func ref(id string) map[string]any { return map[string]any{"id": id} }

func tagRow(table, id, tag string) store.TagRow {
	return store.TagRow{EntityName: table, EntityID: id, Tag: tag}
}

// ---- tests ----

func testRoundTrip(t *testing.T, open Opener) {
	s := open(t, Tables())
	cases := []struct {
		name string
		row  store.Row
	}{
		{"scalars", store.Row{"name": "scalars", "port": 8080, "weight": 2.5, "big": int64(1) << 52,
			"neg": -7, "enabled": true, "disabled": false, "host": "example.com", "empty": ""}},
		{"nested", store.Row{"name": "nested", "config": map[string]any{
			"a":    map[string]any{"b": []any{1, "two", true, nil, map[string]any{"c": 3.25}}},
			"list": []any{}, "obj": map[string]any{}, "null": nil,
		}}},
		{"go types", store.Row{"name": "go types", "tags": []string{"x", "y"}, "ports": []int{80, 443},
			"headers": map[string][]string{"X-A": {"1", "2"}}}},
		{"nil fields", store.Row{"name": nil, "path": nil, "tags": nil}},
		{"text", store.Row{"name": "sérvice ☃ <&>", "desc": "line\n\"quoted\"\t\\ /slash"}},
		{"id with slashes", store.Row{"id": "a/b/c", "name": "slashes"}},
		{"id prefix of another", store.Row{"id": "a/b", "name": "prefix"}},
		{"id with unicode", store.Row{"id": "ïd ☃ %2F", "name": "unicode id"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			row := tc.row
			if row["id"] == nil {
				row["id"] = newID()
			}
			id := row["id"].(string)
			insert(t, s, "services", row)
			got, err := get(t, s, "services", id)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if want := jsonRow(t, row); !rowsEqual(got, want) {
				t.Errorf("Get = %#v\nwant %#v", got, want)
			}
		})
	}
}

func testGetMissing(t *testing.T, open Opener) {
	s := open(t, Tables())
	insert(t, s, "services", store.Row{"id": newID(), "name": "other"})
	for _, id := range []string{newID(), "", "a/b"} {
		if _, err := get(t, s, "services", id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q): err = %v, want ErrNotFound", id, err)
		}
	}
}

func testUnknownTable(t *testing.T, open Opener) {
	s := open(t, Tables())
	ctx := context.Background()
	calls := []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"Get", func(tx store.Tx) error { _, err := tx.Get("nope", newID()); return err }},
		{"GetUnique", func(tx store.Tx) error { _, err := tx.GetUnique("nope", []string{"name"}, []any{"x"}); return err }},
		{"Insert", func(tx store.Tx) error { return tx.Insert("nope", store.Row{"id": newID()}) }},
		{"Update", func(tx store.Tx) error { return tx.Update("nope", store.Row{"id": newID()}) }},
		{"Delete", func(tx store.Tx) error { return tx.Delete("nope", newID()) }},
		{"Page", func(tx store.Tx) error { _, err := tx.Page("nope", store.PageQuery{Size: 10}); return err }},
	}
	for _, c := range calls {
		if err := s.Update(ctx, c.fn); !errors.Is(err, store.ErrUnknownTable) {
			t.Errorf("%s: err = %v, want ErrUnknownTable", c.name, err)
		} else if !strings.Contains(err.Error(), "nope") {
			t.Errorf("%s: error %q does not name the table", c.name, err)
		}
	}
}

func testPrimaryKey(t *testing.T, open Opener) {
	s := open(t, Tables())
	id := newID()
	insert(t, s, "services", store.Row{"id": id, "name": "first"})
	err := tryInsert(s, "services", store.Row{"id": id, "name": "second"})
	var pk *store.PrimaryKeyError
	if !errors.As(err, &pk) {
		t.Fatalf("second insert: err = %v, want *PrimaryKeyError", err)
	}
	if pk.Table != "services" || pk.ID != id {
		t.Errorf("PrimaryKeyError = %+v", pk)
	}
	if row, _ := get(t, s, "services", id); row["name"] != "first" {
		t.Errorf("row after failed insert = %v", row)
	}
	// The same id in another table is fine.
	insert(t, s, "consumers", store.Row{"id": id, "username": "u"})
}

func testUnique(t *testing.T, open Opener) {
	u1, u2 := newID(), newID()
	cases := []struct {
		name          string
		table         string
		first, second store.Row
		fields        []string // nil: the second insert succeeds
		values        []any
	}{
		{name: "single", table: "consumers",
			first:  store.Row{"username": "alice"},
			second: store.Row{"username": "alice", "custom_id": "c"},
			fields: []string{"username"}, values: []any{"alice"}},
		{name: "second set", table: "consumers",
			first:  store.Row{"username": "a", "custom_id": "c1"},
			second: store.Row{"username": "b", "custom_id": "c1"},
			fields: []string{"custom_id"}, values: []any{"c1"}},
		{name: "case sensitive", table: "consumers",
			first: store.Row{"username": "alice"}, second: store.Row{"username": "Alice"}},
		{name: "missing values are not unique", table: "consumers",
			first: store.Row{"username": "a"}, second: store.Row{"username": "b"}},
		{name: "nil values are not unique", table: "consumers",
			first:  store.Row{"username": nil, "custom_id": nil},
			second: store.Row{"username": nil, "custom_id": nil}},
		{name: "composite", table: "targets",
			first:  store.Row{"upstream": ref(u1), "target": "t:80"},
			second: store.Row{"upstream": ref(u1), "target": "t:80"},
			fields: []string{"upstream", "target"}, values: []any{ref(u1), "t:80"}},
		{name: "composite string ref", table: "targets",
			first:  store.Row{"upstream": u1, "target": "t:80"},
			second: store.Row{"upstream": ref(u1), "target": "t:80"},
			fields: []string{"upstream", "target"}, values: []any{ref(u1), "t:80"}},
		{name: "composite other target", table: "targets",
			first:  store.Row{"upstream": ref(u1), "target": "t:80"},
			second: store.Row{"upstream": ref(u1), "target": "t:81"}},
		{name: "composite other upstream", table: "targets",
			first:  store.Row{"upstream": ref(u1), "target": "t:80"},
			second: store.Row{"upstream": ref(u2), "target": "t:80"}},
		{name: "composite with nil", table: "targets",
			first:  store.Row{"upstream": ref(u1), "target": nil},
			second: store.Row{"upstream": ref(u1)}},
		{name: "composite with nil reference", table: "targets",
			first:  store.Row{"upstream": nil, "target": "t:80"},
			second: store.Row{"target": "t:80"}},
		{name: "composite value ambiguity", table: "targets",
			first:  store.Row{"upstream": ref(u1), "target": "a,b"},
			second: store.Row{"upstream": ref(u1), "target": "a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, Tables())
			insert(t, s, "upstreams", store.Row{"id": u1, "name": "u1"}, store.Row{"id": u2, "name": "u2"})
			tc.first["id"], tc.second["id"] = newID(), newID()
			insert(t, s, tc.table, tc.first)
			err := tryInsert(s, tc.table, tc.second)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("second insert: %v", err)
				}
				return
			}
			var ue *store.UniqueError
			if !errors.As(err, &ue) {
				t.Fatalf("second insert: err = %v, want *UniqueError", err)
			}
			if ue.Table != tc.table || !slices.Equal(ue.Fields, tc.fields) || !reflect.DeepEqual(ue.Values, tc.values) {
				t.Errorf("UniqueError = %+v, want fields %v values %v", ue, tc.fields, tc.values)
			}
			if _, err := get(t, s, tc.table, tc.second["id"].(string)); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("rejected row was written: %v", err)
			}
			// The same conflict is caught by Update.
			tc.second["id"] = newID()
			tc.second["username"], tc.second["custom_id"] = nil, nil
			if tc.table == "targets" {
				tc.second["target"] = "free"
			}
			insert(t, s, tc.table, tc.second)
			clash := jsonRow(t, tc.first)
			clash["id"] = tc.second["id"]
			if err := tryUpdate(s, tc.table, clash); !errors.As(err, &ue) {
				t.Errorf("update into a taken value: err = %v, want *UniqueError", err)
			}
		})
	}
}

func testUniqueUpdate(t *testing.T, open Opener) {
	s := open(t, Tables())
	c1, c2, c3 := newID(), newID(), newID()
	insert(t, s, "consumers", store.Row{"id": c1, "username": "a"})
	mustUpdate(t, s, func(tx store.Tx) error { return tx.Update("consumers", store.Row{"id": c1, "username": "b"}) })
	if _, err := getUnique(t, s, "consumers", []string{"username"}, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old value after update: err = %v, want ErrNotFound", err)
	}
	if err := tryInsert(s, "consumers", store.Row{"id": c2, "username": "a"}); err != nil {
		t.Fatalf("insert with freed value: %v", err)
	}
	var ue *store.UniqueError
	if err := tryInsert(s, "consumers", store.Row{"id": c3, "username": "b"}); !errors.As(err, &ue) {
		t.Errorf("insert with new value: err = %v, want *UniqueError", err)
	}
	if err := tryUpdate(s, "consumers", store.Row{"id": c2, "username": "b"}); !errors.As(err, &ue) {
		t.Errorf("update to a taken value: err = %v, want *UniqueError", err)
	}
	// Keeping one's own value is not a conflict.
	if err := tryUpdate(s, "consumers", store.Row{"id": c1, "username": "b", "custom_id": "x"}); err != nil {
		t.Errorf("update keeping own value: %v", err)
	}
	// Dropping the value frees it.
	if err := tryUpdate(s, "consumers", store.Row{"id": c1, "custom_id": "x"}); err != nil {
		t.Fatalf("update dropping value: %v", err)
	}
	if err := tryInsert(s, "consumers", store.Row{"id": c3, "username": "b"}); err != nil {
		t.Errorf("insert after value dropped: %v", err)
	}
	if row, err := getUnique(t, s, "consumers", []string{"username"}, "b"); err != nil || row["id"] != c3 {
		t.Errorf("GetUnique(b) = %v, %v; want %s", row, err, c3)
	}
	if row, err := getUnique(t, s, "consumers", []string{"custom_id"}, "x"); err != nil || row["id"] != c1 {
		t.Errorf("GetUnique(custom_id x) = %v, %v; want %s", row, err, c1)
	}
}

func testGetUnique(t *testing.T, open Opener) {
	s := open(t, Tables())
	up, tg, svc := newID(), newID(), newID()
	insert(t, s, "upstreams", store.Row{"id": up, "name": "up"})
	insert(t, s, "targets", store.Row{"id": tg, "upstream": ref(up), "target": "h:1"})
	insert(t, s, "services", store.Row{"id": svc, "name": "svc"})
	cases := []struct {
		name   string
		table  string
		fields []string
		values []any
		wantID string // "" with notFound false: some other error
		nf     bool
	}{
		{"single", "services", []string{"name"}, []any{"svc"}, svc, false},
		{"single missing", "services", []string{"name"}, []any{"nope"}, "", true},
		{"nil value", "services", []string{"name"}, []any{nil}, "", true},
		{"composite ref", "targets", []string{"upstream", "target"}, []any{ref(up), "h:1"}, tg, false},
		{"composite string ref", "targets", []string{"upstream", "target"}, []any{up, "h:1"}, tg, false},
		{"composite missing", "targets", []string{"upstream", "target"}, []any{up, "h:2"}, "", true},
		{"undeclared set", "services", []string{"host"}, []any{"x"}, "", false},
		{"set in wrong order", "targets", []string{"target", "upstream"}, []any{"h:1", up}, "", false},
		{"partial set", "targets", []string{"upstream"}, []any{up}, "", false},
		{"value count mismatch", "services", []string{"name"}, []any{"svc", "x"}, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			row, err := getUnique(t, s, tc.table, tc.fields, tc.values...)
			switch {
			case tc.wantID != "":
				if err != nil || row["id"] != tc.wantID {
					t.Errorf("GetUnique = %v, %v; want row %s", row, err, tc.wantID)
				}
			case tc.nf:
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("GetUnique: err = %v, want ErrNotFound", err)
				}
			default:
				if err == nil || errors.Is(err, store.ErrNotFound) {
					t.Errorf("GetUnique: err = %v, want an error other than ErrNotFound", err)
				}
			}
		})
	}
}

func testForeignKey(t *testing.T, open Opener) {
	s := open(t, Tables())
	svc, missing := newID(), newID()
	insert(t, s, "services", store.Row{"id": svc, "name": "svc"})
	cases := []struct {
		name    string
		service any
		wantErr bool
	}{
		{"missing reference", ref(missing), true},
		{"missing plain string reference", missing, true},
		{"present reference", ref(svc), false},
		{"plain string reference", svc, false},
		{"nil reference", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := newID()
			err := tryInsert(s, "routes", store.Row{"id": id, "service": tc.service})
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Insert: %v", err)
				}
				return
			}
			var fe *store.ForeignKeyError
			if !errors.As(err, &fe) {
				t.Fatalf("Insert: err = %v, want *ForeignKeyError", err)
			}
			want := store.ForeignKeyError{Table: "routes", Field: "service", RefTable: "services", ID: missing}
			if *fe != want {
				t.Errorf("ForeignKeyError = %+v, want %+v", *fe, want)
			}
			if _, err := get(t, s, "routes", id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("rejected row was written: %v", err)
			}
		})
	}
	t.Run("missing field", func(t *testing.T) {
		if err := tryInsert(s, "routes", store.Row{"id": newID()}); err != nil {
			t.Errorf("Insert: %v", err)
		}
	})
	t.Run("update to missing reference", func(t *testing.T) {
		id := newID()
		insert(t, s, "routes", store.Row{"id": id, "service": ref(svc)})
		var fe *store.ForeignKeyError
		if err := tryUpdate(s, "routes", store.Row{"id": id, "service": ref(missing)}); !errors.As(err, &fe) {
			t.Errorf("Update: err = %v, want *ForeignKeyError", err)
		}
		if row, _ := get(t, s, "routes", id); !reflect.DeepEqual(row["service"], ref(svc)) {
			t.Errorf("row after failed update = %v", row)
		}
	})
	t.Run("several references", func(t *testing.T) {
		route, cons := newID(), newID()
		insert(t, s, "routes", store.Row{"id": route, "service": ref(svc)})
		insert(t, s, "consumers", store.Row{"id": cons})
		insert(t, s, "plugins", store.Row{"id": newID(), "service": ref(svc), "route": ref(route), "consumer": ref(cons)})
		var fe *store.ForeignKeyError
		err := tryInsert(s, "plugins", store.Row{"id": newID(), "service": ref(svc), "route": ref(route), "consumer": ref(missing)})
		if !errors.As(err, &fe) || fe.Field != "consumer" || fe.RefTable != "consumers" {
			t.Errorf("Insert: err = %v, want *ForeignKeyError on consumer", err)
		}
	})
}

func testDeleteRestricted(t *testing.T, open Opener) {
	s := open(t, Tables())
	svc, route, plugin := newID(), newID(), newID()
	insert(t, s, "services", store.Row{"id": svc, "name": "svc"})
	insert(t, s, "routes", store.Row{"id": route, "name": "r", "service": ref(svc)})
	insert(t, s, "plugins", store.Row{"id": plugin, "route": route}) // plain string reference

	cases := []struct {
		table, id, child string
	}{
		{"services", svc, "routes"},  // OnDelete Cascade: the store still refuses
		{"routes", route, "plugins"}, // OnDelete Restrict
	}
	for _, tc := range cases {
		err := tryDelete(s, tc.table, tc.id)
		var re *store.ReferencedError
		if !errors.As(err, &re) {
			t.Fatalf("Delete %s: err = %v, want *ReferencedError", tc.table, err)
		}
		if re.Table != tc.table || re.ChildTable != tc.child {
			t.Errorf("ReferencedError = %+v, want table %s child %s", re, tc.table, tc.child)
		}
		if _, err := get(t, s, tc.table, tc.id); err != nil {
			t.Errorf("refused delete removed the row: %v", err)
		}
	}

	// Children first, in one transaction, as the db layer cascades.
	mustUpdate(t, s, func(tx store.Tx) error {
		for _, d := range []struct{ table, id string }{{"plugins", plugin}, {"routes", route}, {"services", svc}} {
			if err := tx.Delete(d.table, d.id); err != nil {
				return fmt.Errorf("deleting %s: %w", d.table, err)
			}
		}
		return nil
	})
	for _, table := range []string{"plugins", "routes", "services"} {
		p := allPages(t, s, table, store.PageQuery{Size: 10})
		if len(p) != 0 {
			t.Errorf("%s left after cascade: %v", table, p)
		}
	}

	// A reference moved away no longer restricts.
	s1, s2, r := newID(), newID(), newID()
	insert(t, s, "services", store.Row{"id": s1, "name": "s1"}, store.Row{"id": s2, "name": "s2"})
	insert(t, s, "routes", store.Row{"id": r, "service": ref(s1)})
	mustUpdate(t, s, func(tx store.Tx) error { return tx.Update("routes", store.Row{"id": r, "service": ref(s2)}) })
	if err := tryDelete(s, "services", s1); err != nil {
		t.Errorf("deleting a service no longer referenced: %v", err)
	}
	if err := tryDelete(s, "services", s2); err == nil {
		t.Errorf("deleting the newly referenced service succeeded")
	}
}

func testDeleteMissing(t *testing.T, open Opener) {
	s := open(t, Tables())
	id := newID()
	insert(t, s, "services", store.Row{"id": id, "name": "x"})
	for _, del := range []string{newID(), id, id, ""} {
		if err := tryDelete(s, "services", del); err != nil {
			t.Errorf("Delete(%q): %v", del, err)
		}
	}
}

func testDeleteRemovesIndexes(t *testing.T, open Opener) {
	s := open(t, Tables())
	svc, route := newID(), newID()
	insert(t, s, "services", store.Row{"id": svc, "name": "svc", "tags": []any{"t"}})
	insert(t, s, "routes", store.Row{"id": route, "name": "r", "service": ref(svc), "tags": []any{"t", "u"}})
	mustUpdate(t, s, func(tx store.Tx) error { return tx.Delete("routes", route) })
	if _, err := getUnique(t, s, "routes", []string{"name"}, "r"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUnique after delete: err = %v, want ErrNotFound", err)
	}
	if rows := allPages(t, s, "routes", store.PageQuery{Size: 10, Foreign: &store.ForeignFilter{Field: "service", ID: svc}}); len(rows) != 0 {
		t.Errorf("foreign page after delete = %v", rows)
	}
	if rows := allPages(t, s, "routes", store.PageQuery{Size: 10, Tags: []string{"t"}}); len(rows) != 0 {
		t.Errorf("tag page after delete = %v", rows)
	}
	want := []store.TagRow{{EntityName: "services", EntityID: svc, Tag: "t"}}
	if got := allTags(t, s, store.TagPageQuery{Size: 10}); !reflect.DeepEqual(got, want) {
		t.Errorf("Tags after delete = %v, want %v", got, want)
	}
	if err := tryInsert(s, "routes", store.Row{"id": newID(), "name": "r"}); err != nil {
		t.Errorf("reusing the unique value: %v", err)
	}
	if err := tryDelete(s, "services", svc); err != nil {
		t.Errorf("deleting the parent: %v", err)
	}
}

func testUpdateMissing(t *testing.T, open Opener) {
	s := open(t, Tables())
	id := newID()
	if err := tryUpdate(s, "services", store.Row{"id": id, "name": "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Update: err = %v, want ErrNotFound", err)
	}
	if _, err := get(t, s, "services", id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Update of a missing row created it: %v", err)
	}
	if _, err := getUnique(t, s, "services", []string{"name"}, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Update of a missing row indexed it: %v", err)
	}
}

func testUpdateReplaces(t *testing.T, open Opener) {
	s := open(t, Tables())
	id := newID()
	insert(t, s, "services", store.Row{"id": id, "name": "a", "host": "h", "tags": []any{"x", "y"}})
	mustUpdate(t, s, func(tx store.Tx) error {
		return tx.Update("services", store.Row{"id": id, "name": "b", "tags": []any{"y", "z"}})
	})
	row, err := get(t, s, "services", id)
	if want := (store.Row{"id": id, "name": "b", "tags": []any{"y", "z"}}); err != nil || !rowsEqual(row, want) {
		t.Errorf("Get after Update = %v, %v; want %v", row, err, want)
	}
	want := []store.TagRow{tagRow("services", id, "y"), tagRow("services", id, "z")}
	if got := allTags(t, s, store.TagPageQuery{Size: 10}); !reflect.DeepEqual(got, want) {
		t.Errorf("Tags after Update = %v, want %v", got, want)
	}
	if _, err := getUnique(t, s, "services", []string{"name"}, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old unique value after Update: err = %v, want ErrNotFound", err)
	}
}

func testBadRows(t *testing.T, open Opener) {
	s := open(t, Tables())
	svc := newID()
	insert(t, s, "services", store.Row{"id": svc, "name": "svc"})
	cases := []struct {
		name  string
		table string
		row   store.Row
	}{
		{"no id", "services", store.Row{"name": "x"}},
		{"empty id", "services", store.Row{"id": "", "name": "x"}},
		{"numeric id", "services", store.Row{"id": 42, "name": "x"}},
		{"reference of wrong type", "routes", store.Row{"id": newID(), "service": 42}},
		{"reference without id", "routes", store.Row{"id": newID(), "service": map[string]any{"name": "svc"}}},
		{"unencodable value", "services", store.Row{"id": newID(), "name": "y", "ch": make(chan int)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tryInsert(s, tc.table, tc.row); err == nil {
				t.Errorf("Insert(%v) succeeded", tc.row)
			}
			if err := tryUpdate(s, tc.table, tc.row); err == nil {
				t.Errorf("Update(%v) succeeded", tc.row)
			}
		})
	}
	if rows := allPages(t, s, "services", store.PageQuery{Size: 10}); len(rows) != 1 {
		t.Errorf("rows after bad writes = %v", rows)
	}
}

func testPaging(t *testing.T, open Opener) {
	for _, n := range []int{0, 1, 7, 8, 100, 101, 250} {
		t.Run(fmt.Sprintf("rows=%d", n), func(t *testing.T) {
			s := open(t, Tables())
			want := make([]string, n)
			for i := range want {
				want[i] = newID()
			}
			for lo := 0; lo < n; lo += 50 {
				var batch []store.Row
				for _, id := range want[lo:min(lo+50, n)] {
					batch = append(batch, store.Row{"id": id, "i": len(batch)})
				}
				insert(t, s, "services", batch...)
			}
			// Another table's rows must not leak in.
			insert(t, s, "consumers", store.Row{"id": newID()}, store.Row{"id": "zzz"}, store.Row{"id": "0"})
			want = sorted(want)
			for _, size := range []int{1, 7, 100} {
				got := ids(allPages(t, s, "services", store.PageQuery{Size: size}))
				if !slices.Equal(got, want) {
					t.Errorf("size %d: got %d ids %v\nwant %d ids in order", size, len(got), got, len(want))
				}
			}
			if n > 0 {
				// A page that exactly ends the data is the last one.
				var p store.Page
				mustView(t, s, func(tx store.Tx) error {
					var err error
					p, err = tx.Page("services", store.PageQuery{Size: n})
					return err
				})
				if len(p.Rows) != n || p.Offset != "" {
					t.Errorf("page of size %d: %d rows, offset %q; want %d rows, no offset", n, len(p.Rows), p.Offset, n)
				}
			}
		})
	}
}

func testBadOffset(t *testing.T, open Opener) {
	s := open(t, Tables())
	insert(t, s, "services", store.Row{"id": newID()}, store.Row{"id": newID()})
	insert(t, s, "consumers", store.Row{"id": newID()}, store.Row{"id": newID()})
	var otherTable string
	mustView(t, s, func(tx store.Tx) error {
		p, err := tx.Page("consumers", store.PageQuery{Size: 1})
		otherTable = p.Offset
		return err
	})
	if otherTable == "" {
		t.Fatal("no offset for a second page")
	}
	cases := []struct {
		name, tok, reason string
	}{
		{"not base64", "%%% not base64 %%%", "bad base64 encoding"},
		{"not base64 either", "a", "bad base64 encoding"},
		{"garbage base64", base64.RawURLEncoding.EncodeToString([]byte("garbage")), "bad offset"},
		{"garbage std base64", base64.StdEncoding.EncodeToString([]byte("\x00\x01\xff garbage")), "bad offset"},
		{"another table", otherTable, "bad offset"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check := func(what string, err error) {
				t.Helper()
				var oe *store.OffsetError
				if !errors.As(err, &oe) {
					t.Fatalf("%s: err = %v, want *OffsetError", what, err)
				}
				if oe.Offset != tc.tok || oe.Reason != tc.reason {
					t.Errorf("%s: OffsetError = %+v, want reason %q", what, oe, tc.reason)
				}
			}
			mustView(t, s, func(tx store.Tx) error {
				_, err := tx.Page("services", store.PageQuery{Size: 1, Offset: tc.tok})
				check("Page", err)
				if tc.name != "another table" {
					_, err = tx.Tags(store.TagPageQuery{Size: 1, Offset: tc.tok})
					check("Tags", err)
				}
				return nil
			})
		})
	}
}

func testForeignPaging(t *testing.T, open Opener) {
	s := open(t, Tables())
	s1, s2, s3 := newID(), newID(), newID()
	insert(t, s, "services", store.Row{"id": s1, "name": "s1"}, store.Row{"id": s2, "name": "s2"}, store.Row{"id": s3, "name": "s3"})
	var of1, of2, http1 []string
	var rows []store.Row
	for i := range 25 {
		id := newID()
		var svc any = ref(s1)
		if i%5 == 0 {
			svc = s1 // plain string reference
		}
		proto := []string{"http", "grpc"}[i%2]
		rows = append(rows, store.Row{"id": id, "service": svc, "protocol": proto})
		of1 = append(of1, id)
		if proto == "http" {
			http1 = append(http1, id)
		}
	}
	for range 5 {
		id := newID()
		rows = append(rows, store.Row{"id": id, "service": ref(s2), "protocol": "http"})
		of2 = append(of2, id)
	}
	for range 3 {
		rows = append(rows, store.Row{"id": newID(), "service": nil})
	}
	insert(t, s, "routes", rows...)
	// Plugins reference services too, through a field of the same name.
	insert(t, s, "plugins", store.Row{"id": newID(), "service": ref(s1)})

	cases := []struct {
		name  string
		q     store.PageQuery
		want  []string
		sizes []int
	}{
		{"s1", store.PageQuery{Foreign: &store.ForeignFilter{Field: "service", ID: s1}}, of1, []int{1, 7, 25, 100}},
		{"s2", store.PageQuery{Foreign: &store.ForeignFilter{Field: "service", ID: s2}}, of2, []int{2, 5, 100}},
		{"no children", store.PageQuery{Foreign: &store.ForeignFilter{Field: "service", ID: s3}}, nil, []int{1, 100}},
		{"unknown parent", store.PageQuery{Foreign: &store.ForeignFilter{Field: "service", ID: newID()}}, nil, []int{1}},
		{"with equal", store.PageQuery{Foreign: &store.ForeignFilter{Field: "service", ID: s1},
			Equal: map[string]any{"protocol": "http"}}, http1, []int{1, 4, 100}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range tc.sizes {
				q := tc.q
				q.Size = size
				got := allPages(t, s, "routes", q)
				if g, w := ids(got), sorted(tc.want); !slices.Equal(g, w) {
					t.Errorf("size %d: got %v\nwant %v", size, g, w)
				}
			}
		})
	}
	t.Run("undeclared field", func(t *testing.T) {
		err := s.View(context.Background(), func(tx store.Tx) error {
			_, err := tx.Page("routes", store.PageQuery{Size: 10, Foreign: &store.ForeignFilter{Field: "name", ID: s1}})
			return err
		})
		if err == nil {
			t.Error("paging by a field that is not a foreign key succeeded")
		}
	})
	t.Run("after moving a child", func(t *testing.T) {
		moved := sorted(of1)[0]
		mustUpdate(t, s, func(tx store.Tx) error {
			return tx.Update("routes", store.Row{"id": moved, "service": ref(s3)})
		})
		got := ids(allPages(t, s, "routes", store.PageQuery{Size: 3, Foreign: &store.ForeignFilter{Field: "service", ID: s3}}))
		if !slices.Equal(got, []string{moved}) {
			t.Errorf("children of s3 = %v, want [%s]", got, moved)
		}
		got = ids(allPages(t, s, "routes", store.PageQuery{Size: 3, Foreign: &store.ForeignFilter{Field: "service", ID: s1}}))
		if want := sorted(of1)[1:]; !slices.Equal(got, want) {
			t.Errorf("children of s1 = %v, want %v", got, want)
		}
	})
}

// tagRows inserts services named after their tags and returns name → id.
func tagRows(t *testing.T, s store.Store) map[string]string {
	t.Helper()
	tags := map[string][]any{
		"A": {"a"}, "B": {"b"}, "AB": {"a", "b"}, "ABC": {"c", "b", "a"}, "C": {"c"},
		"none": {}, "nil": nil, "AA": {"a", "a"}, "prefix": {"aa"},
	}
	m := map[string]string{}
	var rows []store.Row
	for name, tt := range tags {
		id := newID()
		m[name] = id
		rows = append(rows, store.Row{"id": id, "name": name, "tags": tt})
	}
	insert(t, s, "services", rows...)
	return m
}

func testTagFilter(t *testing.T, open Opener) {
	s := open(t, Tables())
	m := tagRows(t, s)
	cases := []struct {
		name string
		tags []string
		any  bool
		want []string
	}{
		{"one tag", []string{"a"}, false, []string{"A", "AB", "ABC", "AA"}},
		{"one tag any", []string{"a"}, true, []string{"A", "AB", "ABC", "AA"}},
		{"and", []string{"a", "b"}, false, []string{"AB", "ABC"}},
		{"and reversed", []string{"b", "a"}, false, []string{"AB", "ABC"}},
		{"and three", []string{"c", "a", "b"}, false, []string{"ABC"}},
		{"or", []string{"a", "b"}, true, []string{"A", "B", "AB", "ABC", "AA"}},
		{"or disjoint", []string{"b", "c"}, true, []string{"B", "AB", "ABC", "C"}},
		{"or with unknown", []string{"zzz", "c"}, true, []string{"ABC", "C"}},
		{"and with unknown", []string{"a", "zzz"}, false, nil},
		{"unknown", []string{"zzz"}, false, nil},
		{"no prefix match", []string{"aa"}, false, []string{"prefix"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for _, n := range tc.want {
				want = append(want, m[n])
			}
			want = sorted(want)
			for _, size := range []int{1, 2, 100} {
				got := ids(allPages(t, s, "services", store.PageQuery{Size: size, Tags: tc.tags, TagsAny: tc.any}))
				if !slices.Equal(got, want) {
					t.Errorf("size %d: got %v\nwant %v", size, got, want)
				}
			}
		})
	}
}

func testTagFilterPaging(t *testing.T, open Opener) {
	s := open(t, Tables())
	var rows []store.Row
	var x, xy, xOrY []string
	for i := range 60 {
		id := newID()
		var tags []any
		if i%3 == 0 {
			tags = append(tags, "x")
			x = append(x, id)
		}
		if i%4 == 0 {
			tags = append(tags, "y")
		}
		if i%3 == 0 && i%4 == 0 {
			xy = append(xy, id)
		}
		if i%3 == 0 || i%4 == 0 {
			xOrY = append(xOrY, id)
		}
		rows = append(rows, store.Row{"id": id, "tags": tags, "even": i%2 == 0})
	}
	insert(t, s, "services", rows...)
	cases := []struct {
		name string
		q    store.PageQuery
		want []string
	}{
		{"x", store.PageQuery{Tags: []string{"x"}}, x},
		{"x and y", store.PageQuery{Tags: []string{"x", "y"}}, xy},
		{"x or y", store.PageQuery{Tags: []string{"x", "y"}, TagsAny: true}, xOrY},
	}
	for _, tc := range cases {
		for _, size := range []int{1, 3, 4, 5, 20} {
			q := tc.q
			q.Size = size
			if got, want := ids(allPages(t, s, "services", q)), sorted(tc.want); !slices.Equal(got, want) {
				t.Errorf("%s, size %d: got %v\nwant %v", tc.name, size, got, want)
			}
		}
	}
}

func testEqualFilter(t *testing.T, open Opener) {
	s := open(t, Tables())
	m := map[string]string{}
	rows := map[string]store.Row{
		"http80":   {"protocol": "http", "port": 80, "enabled": true, "path": "/a"},
		"http443":  {"protocol": "http", "port": 443, "enabled": false},
		"https443": {"protocol": "https", "port": 443.0, "enabled": true, "path": nil},
		"grpc":     {"protocol": "grpc", "port": 9000, "enabled": false, "path": "/a", "host": "h"},
	}
	for name, r := range rows {
		id := newID()
		m[name] = id
		r["id"] = id
		insert(t, s, "services", r)
	}
	cases := []struct {
		name  string
		equal map[string]any
		want  []string
	}{
		{"string", map[string]any{"protocol": "http"}, []string{"http80", "http443"}},
		{"int", map[string]any{"port": 443}, []string{"http443", "https443"}},
		{"float", map[string]any{"port": 80.0}, []string{"http80"}},
		{"bool", map[string]any{"enabled": false}, []string{"http443", "grpc"}},
		{"nil matches missing and nil", map[string]any{"path": nil}, []string{"http443", "https443"}},
		{"nil matches missing", map[string]any{"host": nil}, []string{"http80", "http443", "https443"}},
		{"several fields", map[string]any{"protocol": "http", "port": 443}, []string{"http443"}},
		{"no match", map[string]any{"protocol": "ftp"}, nil},
		{"type matters", map[string]any{"port": "80"}, nil},
		{"unknown field", map[string]any{"nope": "x"}, nil},
		{"with tags", map[string]any{"protocol": "http"}, nil}, // combined with a tag nobody has
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for _, n := range tc.want {
				want = append(want, m[n])
			}
			want = sorted(want)
			for _, size := range []int{1, 3, 100} {
				q := store.PageQuery{Size: size, Equal: tc.equal}
				if tc.name == "with tags" {
					q.Tags = []string{"t"}
				}
				if got := ids(allPages(t, s, "services", q)); !slices.Equal(got, want) {
					t.Errorf("size %d: got %v\nwant %v", size, got, want)
				}
			}
		})
	}
}

func testEqualFilterSparse(t *testing.T, open Opener) {
	s := open(t, Tables())
	var rows []store.Row
	var want []string
	for i := range 100 {
		id := newID()
		r := store.Row{"id": id, "kind": "common"}
		if i%20 == 7 {
			r["kind"] = "rare"
			want = append(want, id)
		}
		rows = append(rows, r)
	}
	insert(t, s, "notes", rows...)
	want = sorted(want)
	// Pages hold Size matching rows, however many rows are skipped.
	var pages []int
	q := store.PageQuery{Size: 2, Equal: map[string]any{"kind": "rare"}}
	var got []string
	for {
		var p store.Page
		mustView(t, s, func(tx store.Tx) error {
			var err error
			p, err = tx.Page("notes", q)
			return err
		})
		pages = append(pages, len(p.Rows))
		got = append(got, ids(p.Rows)...)
		if p.Offset == "" || len(pages) > 10 {
			break
		}
		q.Offset = p.Offset
	}
	if !slices.Equal(pages, []int{2, 2, 1}) || !slices.Equal(got, want) {
		t.Errorf("pages of %v rows with ids %v; want [2 2 1] and %v", pages, got, want)
	}
}

func testTagsIndex(t *testing.T, open Opener) {
	s := open(t, Tables())
	s1, s2, r1, c1 := newID(), newID(), newID(), newID()
	insert(t, s, "services", store.Row{"id": s1, "tags": []any{"b", "a"}}, store.Row{"id": s2, "tags": []string{"a"}})
	insert(t, s, "routes", store.Row{"id": r1, "tags": []any{"a", "c"}, "service": s1})
	insert(t, s, "consumers", store.Row{"id": c1, "tags": []any{"c"}})
	insert(t, s, "notes", store.Row{"id": newID(), "tags": []any{"a"}}) // untagged table
	sv := sorted([]string{s1, s2})
	all := []store.TagRow{
		tagRow("routes", r1, "a"), tagRow("services", sv[0], "a"), tagRow("services", sv[1], "a"),
		tagRow("services", s1, "b"),
		tagRow("consumers", c1, "c"), tagRow("routes", r1, "c"),
	}
	cases := []struct {
		tag  string
		want []store.TagRow
	}{
		{"", all},
		{"a", all[:3]},
		{"b", all[3:4]},
		{"c", all[4:]},
		{"zzz", nil},
	}
	for _, tc := range cases {
		for _, size := range []int{1, 2, 3, 100} {
			got := allTags(t, s, store.TagPageQuery{Size: size, Tag: tc.tag})
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("tag %q, size %d: got %v\nwant %v", tc.tag, size, got, tc.want)
			}
		}
	}
	// An offset of one tag's listing does not resume another's.
	var off string
	mustView(t, s, func(tx store.Tx) error {
		p, err := tx.Tags(store.TagPageQuery{Size: 1, Tag: "a"})
		off = p.Offset
		return err
	})
	err := s.View(context.Background(), func(tx store.Tx) error {
		_, err := tx.Tags(store.TagPageQuery{Size: 1, Tag: "c", Offset: off})
		return err
	})
	var oe *store.OffsetError
	if !errors.As(err, &oe) {
		t.Errorf("offset of tag a used for tag c: err = %v, want *OffsetError", err)
	}

	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.Update("services", store.Row{"id": s1, "tags": []any{"c"}}); err != nil {
			return err
		}
		return tx.Delete("routes", r1)
	})
	cs := sorted([]string{"consumers/" + c1, "services/" + s1})
	var want []store.TagRow
	want = append(want, tagRow("services", s2, "a"))
	for _, e := range cs {
		table, id, _ := strings.Cut(e, "/")
		want = append(want, tagRow(table, id, "c"))
	}
	if got := allTags(t, s, store.TagPageQuery{Size: 2}); !reflect.DeepEqual(got, want) {
		t.Errorf("after update and delete: got %v\nwant %v", got, want)
	}
}

func testRollback(t *testing.T, open Opener) {
	s := open(t, Tables())
	keep, doomed := newID(), newID()
	insert(t, s, "consumers", store.Row{"id": keep, "username": "keep", "tags": []any{"k"}})
	insert(t, s, "consumers", store.Row{"id": doomed, "username": "doomed"})
	svc, route := newID(), newID()
	sentinel := errors.New("roll back")
	err := s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.Insert("services", store.Row{"id": svc, "name": "rb", "tags": []any{"rb"}}); err != nil {
			return err
		}
		if err := tx.Insert("routes", store.Row{"id": route, "name": "rbr", "service": ref(svc), "tags": []any{"rb"}}); err != nil {
			return err
		}
		if err := tx.Update("consumers", store.Row{"id": keep, "username": "changed", "tags": []any{"rb"}}); err != nil {
			return err
		}
		if err := tx.Delete("consumers", doomed); err != nil {
			return err
		}
		return fmt.Errorf("giving up: %w", sentinel)
	})
	if !errors.Is(err, sentinel) {
		t.Fatalf("Update: err = %v, want the function's error", err)
	}
	mustView(t, s, func(tx store.Tx) error {
		for _, c := range []struct{ table, id string }{{"services", svc}, {"routes", route}} {
			if _, err := tx.Get(c.table, c.id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s row survived rollback: %v", c.table, err)
			}
		}
		for _, c := range []struct{ table, value string }{{"services", "rb"}, {"routes", "rbr"}} {
			if _, err := tx.GetUnique(c.table, []string{"name"}, []any{c.value}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s unique index entry survived rollback: %v", c.table, err)
			}
		}
		if row, err := tx.Get("consumers", keep); err != nil || row["username"] != "keep" {
			t.Errorf("updated row after rollback = %v, %v", row, err)
		}
		if row, err := tx.GetUnique("consumers", []string{"username"}, []any{"keep"}); err != nil || row["id"] != keep {
			t.Errorf("old unique value after rollback = %v, %v", row, err)
		}
		if _, err := tx.GetUnique("consumers", []string{"username"}, []any{"changed"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("new unique value survived rollback: %v", err)
		}
		if _, err := tx.Get("consumers", doomed); err != nil {
			t.Errorf("deleted row after rollback: %v", err)
		}
		p, err := tx.Page("routes", store.PageQuery{Size: 10, Foreign: &store.ForeignFilter{Field: "service", ID: svc}})
		if err != nil || len(p.Rows) != 0 {
			t.Errorf("foreign index entry survived rollback: %v, %v", p.Rows, err)
		}
		tp, err := tx.Tags(store.TagPageQuery{Size: 10})
		want := []store.TagRow{tagRow("consumers", keep, "k")}
		if err != nil || !reflect.DeepEqual(tp.Rows, want) {
			t.Errorf("tag index after rollback = %v, %v; want %v", tp.Rows, err, want)
		}
		return nil
	})
	insert(t, s, "services", store.Row{"id": svc, "name": "rb"})
}

type customError struct{ code int }

func (e *customError) Error() string { return fmt.Sprintf("custom %d", e.code) }

func testErrorsUnchanged(t *testing.T, open Opener) {
	s := open(t, Tables())
	insert(t, s, "services", store.Row{"id": newID(), "name": "taken"})
	err := s.Update(context.Background(), func(tx store.Tx) error {
		return tx.Insert("services", store.Row{"id": newID(), "name": "taken"})
	})
	var ue *store.UniqueError
	if !errors.As(err, &ue) {
		t.Errorf("UniqueError from fn: got %v", err)
	}
	ce := &customError{code: 7}
	err = s.Update(context.Background(), func(tx store.Tx) error { return ce })
	var got *customError
	if !errors.As(err, &got) || got != ce {
		t.Errorf("custom error from Update fn: got %v", err)
	}
	err = s.View(context.Background(), func(tx store.Tx) error { return ce })
	if !errors.As(err, &got) || got != ce {
		t.Errorf("custom error from View fn: got %v", err)
	}
}

func testOwnWrites(t *testing.T, open Opener) {
	s := open(t, Tables())
	svc, route := newID(), newID()
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.Insert("services", store.Row{"id": svc, "name": "own", "tags": []any{"o"}}); err != nil {
			return err
		}
		if err := tx.Insert("routes", store.Row{"id": route, "service": ref(svc)}); err != nil {
			return fmt.Errorf("child of a row inserted in the same transaction: %w", err)
		}
		if _, err := tx.Get("services", svc); err != nil {
			return fmt.Errorf("Get own insert: %w", err)
		}
		if _, err := tx.GetUnique("services", []string{"name"}, []any{"own"}); err != nil {
			return fmt.Errorf("GetUnique own insert: %w", err)
		}
		p, err := tx.Page("services", store.PageQuery{Size: 10, Tags: []string{"o"}})
		if err != nil || len(p.Rows) != 1 {
			return fmt.Errorf("Page own insert = %v, %v", p.Rows, err)
		}
		p, err = tx.Page("routes", store.PageQuery{Size: 10, Foreign: &store.ForeignFilter{Field: "service", ID: svc}})
		if err != nil || len(p.Rows) != 1 {
			return fmt.Errorf("foreign Page own insert = %v, %v", p.Rows, err)
		}
		tp, err := tx.Tags(store.TagPageQuery{Size: 10, Tag: "o"})
		if err != nil || len(tp.Rows) != 1 {
			return fmt.Errorf("Tags own insert = %v, %v", tp.Rows, err)
		}
		var re *store.ReferencedError
		if err := tx.Delete("services", svc); !errors.As(err, &re) {
			return fmt.Errorf("Delete of a parent referenced in the same transaction: %v", err)
		}
		if err := tx.Delete("routes", route); err != nil {
			return err
		}
		if err := tx.Delete("services", svc); err != nil {
			return err
		}
		if _, err := tx.Get("services", svc); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("Get own delete: %v", err)
		}
		p, err = tx.Page("services", store.PageQuery{Size: 10})
		if err != nil || len(p.Rows) != 0 {
			return fmt.Errorf("Page own delete = %v, %v", p.Rows, err)
		}
		return nil
	})
}

func testReadOnlyView(t *testing.T, open Opener) {
	s := open(t, Tables())
	id := newID()
	insert(t, s, "services", store.Row{"id": id, "name": "ro"})
	mustView(t, s, func(tx store.Tx) error {
		if err := tx.Insert("services", store.Row{"id": newID(), "name": "x"}); err == nil {
			t.Error("Insert in View succeeded")
		}
		if err := tx.Update("services", store.Row{"id": id, "name": "y"}); err == nil {
			t.Error("Update in View succeeded")
		}
		if err := tx.Delete("services", id); err == nil {
			t.Error("Delete in View succeeded")
		}
		return nil
	})
	if rows := allPages(t, s, "services", store.PageQuery{Size: 10}); len(rows) != 1 || rows[0]["name"] != "ro" {
		t.Errorf("rows after writes in View = %v", rows)
	}
}

func testTxAfterReturn(t *testing.T, open Opener) {
	s := open(t, Tables())
	id := newID()
	insert(t, s, "services", store.Row{"id": id, "name": "x"})
	var leaked []store.Tx
	mustView(t, s, func(tx store.Tx) error { leaked = append(leaked, tx); return nil })
	mustUpdate(t, s, func(tx store.Tx) error { leaked = append(leaked, tx); return nil })
	for i, tx := range leaked {
		if _, err := tx.Get("services", id); err == nil {
			t.Errorf("tx %d: Get after return succeeded", i)
		}
		if err := tx.Insert("services", store.Row{"id": newID()}); err == nil {
			t.Errorf("tx %d: Insert after return succeeded", i)
		}
		if _, err := tx.Page("services", store.PageQuery{Size: 10}); err == nil {
			t.Errorf("tx %d: Page after return succeeded", i)
		}
		if _, err := tx.Tags(store.TagPageQuery{Size: 10}); err == nil {
			t.Errorf("tx %d: Tags after return succeeded", i)
		}
	}
}

func testCanceledContext(t *testing.T, open Opener) {
	s := open(t, Tables())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	id := newID()
	err := s.Update(ctx, func(tx store.Tx) error { return tx.Insert("services", store.Row{"id": id}) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update with canceled context: err = %v, want context.Canceled", err)
	}
	if _, err := get(t, s, "services", id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Update with canceled context wrote: %v", err)
	}
	if err := s.View(ctx, func(tx store.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("View with canceled context: err = %v, want context.Canceled", err)
	}
}

func testConcurrentUnique(t *testing.T, open Opener) {
	s := open(t, Tables())
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = tryInsert(s, "consumers", store.Row{"id": newID(), "username": "same"})
		}()
	}
	close(start)
	wg.Wait()
	ok, unique := 0, 0
	for _, err := range errs {
		var ue *store.UniqueError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &ue):
			unique++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || unique != n-1 {
		t.Errorf("%d successes and %d unique errors, want 1 and %d", ok, unique, n-1)
	}
	if rows := allPages(t, s, "consumers", store.PageQuery{Size: 100}); len(rows) != 1 {
		t.Errorf("%d rows, want 1", len(rows))
	}
}

func testConcurrentInserts(t *testing.T, open Opener) {
	s := open(t, Tables())
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- tryInsert(s, "consumers", store.Row{"id": newID(), "username": fmt.Sprintf("u%d-%d", w, i), "tags": []any{"c"}})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("insert: %v", err)
		}
	}
	if rows := allPages(t, s, "consumers", store.PageQuery{Size: 33, Tags: []string{"c"}}); len(rows) != workers*each {
		t.Errorf("%d rows, want %d", len(rows), workers*each)
	}
}

func testLostUpdate(t *testing.T, open Opener) {
	s := open(t, Tables())
	id := newID()
	insert(t, s, "notes", store.Row{"id": id, "n": 0})
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				errs <- s.Update(context.Background(), func(tx store.Tx) error {
					row, err := tx.Get("notes", id)
					if err != nil {
						return err
					}
					row["n"] = row["n"].(float64) + 1
					return tx.Update("notes", row)
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("increment: %v", err)
		}
	}
	if row, err := get(t, s, "notes", id); err != nil || row["n"] != float64(workers*each) {
		t.Errorf("counter = %v, %v; want %d", row, err, workers*each)
	}
}

// testDeleteParentVsInsertChild races the deletion of a parent with the
// insertion of a child: whatever the interleaving, no child may be left
// referencing a missing parent.
func testDeleteParentVsInsertChild(t *testing.T, open Opener) {
	s := open(t, Tables())
	for range 100 {
		svc, route := newID(), newID()
		insert(t, s, "services", store.Row{"id": svc})
		var wg sync.WaitGroup
		var delErr, insErr error
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			delErr = tryDelete(s, "services", svc)
		}()
		go func() {
			defer wg.Done()
			<-start
			insErr = tryInsert(s, "routes", store.Row{"id": route, "service": ref(svc)})
		}()
		close(start)
		wg.Wait()
		var re *store.ReferencedError
		var fe *store.ForeignKeyError
		if delErr != nil && !errors.As(delErr, &re) {
			t.Fatalf("delete: %v", delErr)
		}
		if insErr != nil && !errors.As(insErr, &fe) {
			t.Fatalf("insert: %v", insErr)
		}
		_, svcErr := get(t, s, "services", svc)
		_, routeErr := get(t, s, "routes", route)
		if routeErr == nil && svcErr != nil {
			t.Fatalf("route left referencing deleted service (delete: %v, insert: %v)", delErr, insErr)
		}
		if (delErr == nil) == (insErr == nil) {
			t.Fatalf("exactly one of delete and insert should win: delete %v, insert %v", delErr, insErr)
		}
	}
}

func testBootstrap(t *testing.T, open Opener) {
	s := open(t, Tables())
	ctx := context.Background()
	if ok, err := s.Bootstrapped(ctx); err != nil || ok {
		t.Fatalf("new store: Bootstrapped = %v, %v; want false", ok, err)
	}
	id := newID()
	insert(t, s, "services", store.Row{"id": id})
	for i := range 2 {
		if err := s.Bootstrap(ctx); err != nil {
			t.Fatalf("Bootstrap #%d: %v", i+1, err)
		}
		if ok, err := s.Bootstrapped(ctx); err != nil || !ok {
			t.Fatalf("after Bootstrap #%d: Bootstrapped = %v, %v; want true", i+1, ok, err)
		}
	}
	if _, err := get(t, s, "services", id); err != nil {
		t.Errorf("Bootstrap lost data: %v", err)
	}
}

func testClosed(t *testing.T, open Opener) {
	s := open(t, Tables())
	insert(t, s, "services", store.Row{"id": newID()})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := context.Background()
	called := false
	fn := func(tx store.Tx) error { called = true; return nil }
	if err := s.Update(ctx, fn); err == nil {
		t.Error("Update after Close succeeded")
	}
	if err := s.View(ctx, fn); err == nil {
		t.Error("View after Close succeeded")
	}
	if called {
		t.Error("a function ran after Close")
	}
	if _, err := s.Bootstrapped(ctx); err == nil {
		t.Error("Bootstrapped after Close succeeded")
	}
	if err := s.Bootstrap(ctx); err == nil {
		t.Error("Bootstrap after Close succeeded")
	}
}

// testCacheKey: nulls take part in a cache key, so two global plugins of one
// name collide, while the same name on two services does not.
func testCacheKey(t *testing.T, open Opener) {
	s := open(t, Tables())
	svc1, svc2 := newID(), newID()
	insert(t, s, "services", store.Row{"id": svc1, "name": "a"}, store.Row{"id": svc2, "name": "b"})
	insert(t, s, "plugins", store.Row{"id": newID(), "name": "key-auth"})
	tests := []struct {
		name string
		row  store.Row
		ok   bool
	}{
		{"global twice", store.Row{"name": "key-auth"}, false},
		{"explicit nulls", store.Row{"name": "key-auth", "route": nil, "service": nil, "consumer": nil}, false},
		{"other name", store.Row{"name": "cors"}, true},
		{"on a service", store.Row{"name": "key-auth", "service": ref(svc1)}, true},
		{"same service again", store.Row{"name": "key-auth", "service": ref(svc1)}, false},
		{"other service", store.Row{"name": "key-auth", "service": ref(svc2)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := store.Row{"id": newID()}
			for k, v := range tt.row {
				row[k] = v
			}
			err := tryInsert(s, "plugins", row)
			var ue *store.UniqueError
			switch {
			case tt.ok && err != nil:
				t.Fatalf("insert: %v", err)
			case !tt.ok && !errors.As(err, &ue):
				t.Fatalf("got %v, want a unique error", err)
			case !tt.ok && len(ue.Fields) != 4:
				t.Fatalf("unique error fields %v, want the cache key", ue.Fields)
			}
		})
	}
}

// testLooseReference: a loose reference is indexed for paging but neither
// checked on write nor restricting deletes.
func testLooseReference(t *testing.T, open Opener) {
	s := open(t, Tables())
	c := newID()
	insert(t, s, "consumers", store.Row{"id": c, "username": "u"})
	missing := newID()
	insert(t, s, "audits", store.Row{"id": newID(), "consumer": ref(c)}, store.Row{"id": newID(), "consumer": ref(c)},
		store.Row{"id": newID(), "consumer": ref(missing)})
	if err := tryDelete(s, "consumers", c); err != nil {
		t.Fatalf("deleting a loosely referenced row: %v", err)
	}
	rows := allPages(t, s, "audits", store.PageQuery{Size: 1, Foreign: &store.ForeignFilter{Field: "consumer", ID: c}})
	if len(rows) != 2 {
		t.Fatalf("paged %d children of the deleted consumer, want 2", len(rows))
	}
	rows = allPages(t, s, "audits", store.PageQuery{Size: 10, Foreign: &store.ForeignFilter{Field: "consumer", ID: missing}})
	if len(rows) != 1 {
		t.Fatalf("paged %d children of a missing consumer, want 1", len(rows))
	}
}

// testEqualFilterOnUnique: filters that pin a unique field set (an engine
// may answer them from its unique index) give the same answers as a scan.
func testEqualFilterOnUnique(t *testing.T, open Opener) {
	s := open(t, Tables())
	up1, up2 := newID(), newID()
	insert(t, s, "upstreams", store.Row{"id": up1, "name": "u1"})
	insert(t, s, "upstreams", store.Row{"id": up2, "name": "u2"})
	t1 := newID()
	insert(t, s, "targets", store.Row{"id": t1, "upstream": store.Row{"id": up1}, "target": "a:80", "tags": []any{"x"}})
	insert(t, s, "targets", store.Row{"id": newID(), "upstream": store.Row{"id": up2}, "target": "a:80"})
	c1 := newID()
	insert(t, s, "consumers", store.Row{"id": c1, "username": "alice", "custom_id": "42"})
	insert(t, s, "consumers", store.Row{"id": newID(), "username": "bob"})
	insert(t, s, "consumers", store.Row{"id": newID(), "username": "carol"})
	cases := []struct {
		name  string
		table string
		q     store.PageQuery
		want  int
		id    string
	}{
		{"unique field", "consumers", store.PageQuery{Equal: map[string]any{"custom_id": "42"}}, 1, c1},
		{"unique field, no match", "consumers", store.PageQuery{Equal: map[string]any{"custom_id": "43"}}, 0, ""},
		{"unique field, another type", "consumers", store.PageQuery{Equal: map[string]any{"custom_id": 42}}, 0, ""},
		{"nil on a unique field scans", "consumers", store.PageQuery{Equal: map[string]any{"custom_id": nil}}, 2, ""},
		{"unique field and another filter", "consumers", store.PageQuery{Equal: map[string]any{"custom_id": "42", "username": "bob"}}, 0, ""},
		{"set with a foreign key", "targets", store.PageQuery{Foreign: &store.ForeignFilter{Field: "upstream", ID: up1}, Equal: map[string]any{"target": "a:80"}}, 1, t1},
		{"set with a foreign key, with tags", "targets", store.PageQuery{Foreign: &store.ForeignFilter{Field: "upstream", ID: up1}, Equal: map[string]any{"target": "a:80"}, Tags: []string{"x"}}, 1, t1},
		{"set with a foreign key, other tags", "targets", store.PageQuery{Foreign: &store.ForeignFilter{Field: "upstream", ID: up1}, Equal: map[string]any{"target": "a:80"}, Tags: []string{"y"}}, 0, ""},
		{"part of a set", "targets", store.PageQuery{Equal: map[string]any{"target": "a:80"}}, 2, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Size = 10
			var page store.Page
			err := s.View(context.Background(), func(tx store.Tx) error {
				var err error
				page, err = tx.Page(tc.table, tc.q)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Rows) != tc.want || page.Offset != "" {
				t.Fatalf("%d rows (offset %q), want %d", len(page.Rows), page.Offset, tc.want)
			}
			if tc.id != "" && page.Rows[0]["id"] != tc.id {
				t.Fatalf("row %v, want id %s", page.Rows[0]["id"], tc.id)
			}
		})
	}
}

// A job's marker is written with its transaction: rolled back with it,
// visible once it commits, read only in views.
func testMarks(t *testing.T, open Opener) {
	s := open(t, Tables())
	ctx := context.Background()
	marked := func() bool {
		var ok bool
		mustView(t, s, func(tx store.Tx) error {
			var err error
			ok, err = tx.Marked("adopt")
			return err
		})
		return ok
	}
	if marked() {
		t.Fatal("a fresh store has a job marked")
	}
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Mark("adopt"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || marked() {
		t.Fatalf("a rolled back mark stayed (err %v)", err)
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.Mark("adopt") })
	if !marked() {
		t.Error("a committed mark is not seen")
	}
	mustView(t, s, func(tx store.Tx) error {
		if tx.Mark("other") == nil {
			t.Error("a view marked a job")
		}
		if ok, err := tx.Marked("other"); ok || err != nil {
			t.Errorf("Marked(other) = %v, %v", ok, err)
		}
		return nil
	})
}

// Two transactions claiming the same name while both run: the one that
// commits second runs again, after the first committed, and so sees its
// writes. Different names do not conflict.
func testClaims(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name          string
		first, second string
		wantRuns      int
	}{
		{"same name", "token/abc", "token/abc", 2},
		{"other names", "token/abc", "token/def", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, Tables())
			ctx := context.Background()
			claimed, released := make(chan struct{}), make(chan struct{})
			var runs int
			done := make(chan error, 1)
			go func() {
				done <- s.Update(ctx, func(tx store.Tx) error {
					runs++
					if err := tx.Claim(tc.second); err != nil {
						return err
					}
					if runs == 1 {
						close(claimed)
						<-released // the other transaction commits meanwhile
					}
					return tx.Insert("services", store.Row{"id": newID(), "name": "second"})
				})
			}()
			<-claimed
			mustUpdate(t, s, func(tx store.Tx) error {
				if err := tx.Claim(tc.first); err != nil {
					return err
				}
				return tx.Insert("services", store.Row{"id": newID(), "name": "first"})
			})
			close(released)
			if err := <-done; err != nil {
				t.Fatalf("second transaction: %v", err)
			}
			if runs != tc.wantRuns {
				t.Errorf("the second transaction ran %d times, want %d", runs, tc.wantRuns)
			}
		})
	}
	s := open(t, Tables())
	mustView(t, s, func(tx store.Tx) error {
		if tx.Claim("x") == nil {
			t.Error("a view claimed a name")
		}
		return nil
	})
}

// allRanges reads every page of q through a sorted index, checking the
// page invariants as allPages does.
func allRanges(t *testing.T, s store.Store, table string, q store.RangeQuery) []store.Row {
	t.Helper()
	return readPages(t, s, table, "ranging", q.Size, func(tx store.Tx, offset string) (store.Page, error) {
		q.Offset = offset
		return tx.Range(table, q)
	})
}

// testSortedIndex: rows listed through a sorted index in the order of its
// fields' values (nil, booleans, numbers numerically, strings bytewise),
// then id; Equal pins leading fields, Below bounds the next one; updates
// move a row's entry and deletes remove it.
func testSortedIndex(t *testing.T, open Opener) {
	s := open(t, Tables())
	row := func(id string, status any, due any) store.Row {
		r := store.Row{"id": id, "consumer": ref("c-" + id)}
		if status != nil {
			r["status"] = status
		}
		if due != nil {
			r["due"] = due
		}
		return r
	}
	insert(t, s, "audits",
		row("a", "pending", 30.0),
		row("b", "pending", -2.5),
		row("c", "pending", 1e9),
		row("d", "done", 5.0),
		row("e", "pending", 30.0),
		row("f", "pending", nil),
		row("g", nil, 1.0),
		row("h", "pending", "text"),
		row("i", "pending", true),
		row("j", "pending", 0.0),
	)
	cases := []struct {
		name string
		q    store.RangeQuery
		want []string
	}{
		{"whole index", store.RangeQuery{Index: "status_due", Size: 3},
			[]string{"g", "d", "f", "i", "b", "j", "a", "e", "c", "h"}},
		{"one status in due order", store.RangeQuery{Index: "status_due", Equal: []any{"pending"}, Size: 2},
			[]string{"f", "i", "b", "j", "a", "e", "c", "h"}},
		{"below a due time", store.RangeQuery{Index: "status_due", Equal: []any{"pending"}, Below: 30.0, Size: 2},
			[]string{"f", "i", "b", "j"}},
		{"pinned completely", store.RangeQuery{Index: "status_due", Equal: []any{"pending", 30.0}, Size: 1},
			[]string{"a", "e"}},
		{"nothing", store.RangeQuery{Index: "status_due", Equal: []any{"gone"}, Size: 5}, nil},
		{"by a reference", store.RangeQuery{Index: "consumer", Below: "c-c", Size: 5}, []string{"a", "b"}},
		{"from a due time", store.RangeQuery{Index: "status_due", Equal: []any{"pending"}, From: 0.0, Size: 2},
			[]string{"j", "a", "e", "c", "h"}},
		{"from and below", store.RangeQuery{Index: "status_due", Equal: []any{"pending"}, From: -3.0, Below: 30.0, Size: 10},
			[]string{"b", "j"}},
		{"ids only", store.RangeQuery{Index: "status_due", Equal: []any{"pending"}, Below: 1.0, Size: 2, IDsOnly: true},
			[]string{"f", "i", "b", "j"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ids(allRanges(t, s, "audits", tc.q))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("update moves the entry, delete removes it", func(t *testing.T) {
		mustUpdate(t, s, func(tx store.Tx) error {
			if err := tx.Update("audits", row("a", "done", 1.0)); err != nil {
				return err
			}
			return tx.Delete("audits", "b")
		})
		got := ids(allRanges(t, s, "audits", store.RangeQuery{Index: "status_due", Equal: []any{"pending"}, Below: 31.0, Size: 10}))
		if want := "[f i j e]"; fmt.Sprint(got) != want {
			t.Errorf("pending below 31: %v, want %v", got, want)
		}
		got = ids(allRanges(t, s, "audits", store.RangeQuery{Index: "status_due", Equal: []any{"done"}, Size: 10}))
		if want := "[a d]"; fmt.Sprint(got) != want {
			t.Errorf("done: %v, want %v", got, want)
		}
	})
	t.Run("errors", func(t *testing.T) {
		err := s.View(context.Background(), func(tx store.Tx) error {
			_, err := tx.Range("audits", store.RangeQuery{Index: "nope", Size: 1})
			return err
		})
		if err == nil {
			t.Error("an undeclared index was accepted")
		}
		err = s.View(context.Background(), func(tx store.Tx) error {
			_, err := tx.Range("audits", store.RangeQuery{Index: "status_due", Size: 1, Offset: "garbage!"})
			return err
		})
		var oe *store.OffsetError
		if !errors.As(err, &oe) {
			t.Errorf("a bad offset gave %v, want an *store.OffsetError", err)
		}
	})
}

// mapFields is store.Fields over a decoded row.
type mapFields store.Row

func (m mapFields) Field(name string) any { return m[name] }

// encoded is row as InsertEncoded takes it.
func encoded(t *testing.T, row store.Row) store.EncodedRow {
	t.Helper()
	data, err := json.Marshal(row)
	if err != nil {
		t.Fatal(err)
	}
	return store.EncodedRow{ID: row["id"].(string), JSON: data, Fields: mapFields(row)}
}

// testInsertEncoded: a row inserted already encoded reads back as given and
// is indexed as Insert indexes it (references, sorted indexes, unique sets,
// tags), so that Update and Delete treat it as any row.
func testInsertEncoded(t *testing.T, open Opener) {
	s := open(t, Tables())
	insert(t, s, "consumers", store.Row{"id": "c-1", "username": "alice"})
	audit := func(id, status string, due float64) store.Row {
		return store.Row{"id": id, "consumer": ref("c-1"), "status": status, "due": due, "note": "tab\t \"quoted\" é"}
	}
	mustUpdate(t, s, func(tx store.Tx) error {
		for _, r := range []store.Row{audit("a", "pending", 2), audit("b", "pending", 1), audit("c", "done", 3)} {
			if err := tx.InsertEncoded("audits", encoded(t, r)); err != nil {
				return err
			}
		}
		return tx.InsertEncoded("services", encoded(t, store.Row{"id": "s-1", "name": "svc", "tags": []any{"x", "y"}}))
	})
	err := s.View(context.Background(), func(tx store.Tx) error {
		got, err := tx.Get("audits", "a")
		if err != nil {
			return err
		}
		want := store.Row{"id": "a", "consumer": map[string]any{"id": "c-1"}, "status": "pending", "due": 2.0, "note": "tab\t \"quoted\" é"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Get: %#v, want %#v", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(allRanges(t, s, "audits", store.RangeQuery{Index: "status_due", Equal: []any{"pending"}, Size: 10})); fmt.Sprint(got) != "[b a]" {
		t.Errorf("sorted index: %v, want [b a]", got)
	}
	if got := ids(allPages(t, s, "audits", store.PageQuery{Size: 10, Foreign: &store.ForeignFilter{Field: "consumer", ID: "c-1"}})); fmt.Sprint(got) != "[a b c]" {
		t.Errorf("reference index: %v, want [a b c]", got)
	}
	if got := ids(allPages(t, s, "services", store.PageQuery{Size: 10, Tags: []string{"y"}})); fmt.Sprint(got) != "[s-1]" {
		t.Errorf("tag index: %v, want [s-1]", got)
	}
	err = s.Update(context.Background(), func(tx store.Tx) error {
		return tx.InsertEncoded("services", encoded(t, store.Row{"id": "s-2", "name": "svc"}))
	})
	var ue *store.UniqueError
	if !errors.As(err, &ue) {
		t.Errorf("a duplicate name gave %v, want a *store.UniqueError", err)
	}
	for _, bad := range []store.EncodedRow{
		{ID: "", JSON: []byte(`{"id":""}`), Fields: mapFields{}},
		{ID: "x", JSON: []byte(`[1]`), Fields: mapFields{"id": "x"}},
	} {
		if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.InsertEncoded("audits", bad) }); err == nil {
			t.Errorf("InsertEncoded accepted %q as %q", bad.JSON, bad.ID)
		}
	}
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.Update("audits", audit("b", "done", 4)); err != nil {
			return err
		}
		return tx.Delete("audits", "a")
	})
	if got := ids(allRanges(t, s, "audits", store.RangeQuery{Index: "status_due", Size: 10})); fmt.Sprint(got) != "[c b]" {
		t.Errorf("after an update and a delete: %v, want [c b]", got)
	}
	if got := ids(allPages(t, s, "audits", store.PageQuery{Size: 10, Foreign: &store.ForeignFilter{Field: "consumer", ID: "c-1"}})); fmt.Sprint(got) != "[b c]" {
		t.Errorf("reference index after a delete: %v, want [b c]", got)
	}
	if err := s.Update(context.Background(), func(tx store.Tx) error {
		return tx.InsertEncoded("nope", encoded(t, store.Row{"id": "z"}))
	}); !errors.Is(err, store.ErrUnknownTable) {
		t.Errorf("an unknown table gave %v", err)
	}
}

// rangeIDs reads the ids of every row of table through a sorted index.
func rangeIDs(t *testing.T, s store.Store, table string, q store.RangeQuery) []string {
	t.Helper()
	var out []string
	mustView(t, s, func(tx store.Tx) error {
		for {
			page, err := tx.Range(table, q)
			if err != nil {
				return err
			}
			out = append(out, ids(page.Rows)...)
			if page.Offset == "" {
				return nil
			}
			q.Offset = page.Offset
		}
	})
	return out
}

// testReplace: Replace, given the row read in its transaction, writes the
// new row and moves every index entry as Update does (unique, tags,
// references, sorted indexes), keeps the constraints, refuses an old row
// of another id, and a row replaced concurrently conflicts (no update is
// lost).
func testReplace(t *testing.T, open Opener) {
	s := open(t, Tables())
	replace := func(table, id string, change func(next store.Row)) error {
		return s.Update(context.Background(), func(tx store.Tx) error {
			old, err := tx.Get(table, id)
			if err != nil {
				return err
			}
			next := maps.Clone(old)
			change(next)
			return tx.Replace(table, old, next)
		})
	}

	t.Run("indexes move", func(t *testing.T) {
		id := newID()
		insert(t, s, "services", store.Row{"id": id, "name": "a", "host": "h", "tags": []any{"x", "y"}})
		if err := replace("services", id, func(r store.Row) {
			r["name"] = "b"
			r["tags"] = []any{"y", "z"}
			delete(r, "host")
		}); err != nil {
			t.Fatalf("Replace: %v", err)
		}
		row, err := get(t, s, "services", id)
		if want := (store.Row{"id": id, "name": "b", "tags": []any{"y", "z"}}); err != nil || !rowsEqual(row, want) {
			t.Errorf("Get after Replace = %v, %v; want %v", row, err, want)
		}
		want := []store.TagRow{tagRow("services", id, "y"), tagRow("services", id, "z")}
		if got := allTags(t, s, store.TagPageQuery{Size: 10}); !reflect.DeepEqual(got, want) {
			t.Errorf("Tags after Replace = %v, want %v", got, want)
		}
		if _, err := getUnique(t, s, "services", []string{"name"}, "a"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("old unique value after Replace: err = %v, want ErrNotFound", err)
		}
		if got, err := getUnique(t, s, "services", []string{"name"}, "b"); err != nil || got["id"] != id {
			t.Errorf("new unique value after Replace = %v, %v", got, err)
		}
		// The unique entry is free for another row.
		insert(t, s, "services", store.Row{"id": newID(), "name": "a"})
	})

	t.Run("sorted and loose reference", func(t *testing.T) {
		id := newID()
		insert(t, s, "audits", store.Row{"id": id, "status": "pending", "due": 5.0, "consumer": ref("c-1")})
		if err := replace("audits", id, func(r store.Row) {
			r["status"], r["due"], r["consumer"] = "done", 7.0, ref("c-2")
		}); err != nil {
			t.Fatalf("Replace: %v", err)
		}
		if got := rangeIDs(t, s, "audits", store.RangeQuery{Index: "status_due", Equal: []any{"pending"}, Size: 5}); len(got) != 0 {
			t.Errorf("pending after Replace = %v, want none", got)
		}
		if got := rangeIDs(t, s, "audits", store.RangeQuery{Index: "status_due", Equal: []any{"done", 7.0}, Size: 5}); !slices.Equal(got, []string{id}) {
			t.Errorf("done at 7 after Replace = %v, want [%s]", got, id)
		}
		if got := rangeIDs(t, s, "audits", store.RangeQuery{Index: "consumer", Equal: []any{"c-1"}, Size: 5}); len(got) != 0 {
			t.Errorf("by the old reference after Replace = %v, want none", got)
		}
		if got := allPages(t, s, "audits", store.PageQuery{Size: 10, Foreign: &store.ForeignFilter{Field: "consumer", ID: "c-2"}}); !slices.Equal(ids(got), []string{id}) {
			t.Errorf("children of the new reference = %v, want [%s]", ids(got), id)
		}
	})

	t.Run("constraints", func(t *testing.T) {
		a, b := newID(), newID()
		insert(t, s, "services", store.Row{"id": a, "name": "one"}, store.Row{"id": b, "name": "two"})
		var ue *store.UniqueError
		if err := replace("services", b, func(r store.Row) { r["name"] = "one" }); !errors.As(err, &ue) {
			t.Errorf("Replace onto a taken name: err = %v, want *UniqueError", err)
		}
		var fe *store.ForeignKeyError
		r := newID()
		insert(t, s, "routes", store.Row{"id": r, "service": ref(a)})
		if err := replace("routes", r, func(row store.Row) { row["service"] = ref(newID()) }); !errors.As(err, &fe) {
			t.Errorf("Replace to a missing reference: err = %v, want *ForeignKeyError", err)
		}
		err := s.Update(context.Background(), func(tx store.Tx) error {
			old, err := tx.Get("services", a)
			if err != nil {
				return err
			}
			return tx.Replace("services", old, store.Row{"id": b, "name": "three"})
		})
		if err == nil {
			t.Error("Replace with the old row of another id: no error")
		}
		if row, err := get(t, s, "services", b); err != nil || row["name"] != "two" {
			t.Errorf("after refused Replaces = %v, %v; want name two", row, err)
		}
	})

	t.Run("read only", func(t *testing.T) {
		id := newID()
		insert(t, s, "notes", store.Row{"id": id, "n": 0.0})
		err := s.View(context.Background(), func(tx store.Tx) error {
			old, err := tx.Get("notes", id)
			if err != nil {
				return err
			}
			return tx.Replace("notes", old, store.Row{"id": id, "n": 1.0})
		})
		if err == nil {
			t.Error("Replace in a View: no error")
		}
	})

	t.Run("no lost update", func(t *testing.T) {
		id := newID()
		insert(t, s, "notes", store.Row{"id": id, "n": 0.0})
		const workers, each = 4, 10
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					errs <- replace("notes", id, func(r store.Row) { r["n"] = r["n"].(float64) + 1 })
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("increment: %v", err)
			}
		}
		if row, err := get(t, s, "notes", id); err != nil || row["n"] != float64(workers*each) {
			t.Errorf("counter = %v, %v; want %d", row, err, workers*each)
		}
	})
}
