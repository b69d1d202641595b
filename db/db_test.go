package db

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
	"github.com/portico-gw/portico/store/badger"
)

// testRegistry is a small Kong-like model: parents with children that
// cascade, and children that restrict.
func testRegistry() *schema.Registry {
	id := func() *schema.Field { return &schema.Field{Name: "id", Type: schema.String, UUID: true, Auto: true} }
	ts := func(n string) *schema.Field {
		return &schema.Field{Name: n, Type: schema.Integer, Timestamp: true, Auto: true}
	}
	tags := func() *schema.Field {
		return &schema.Field{Name: "tags", Type: schema.Set, Elements: &schema.Field{Type: schema.String}}
	}
	reg := schema.NewRegistry()
	reg.Register(
		&schema.Entity{Name: "services", EndpointKey: "name", Fields: []*schema.Field{
			id(), ts("created_at"), ts("updated_at"),
			{Name: "name", Type: schema.String, Unique: true},
			{Name: "host", Type: schema.String, Required: true},
			{Name: "port", Type: schema.Integer, Default: 80.0, Between: schema.Range(0, 65535)},
			tags(),
		}},
		&schema.Entity{Name: "routes", EndpointKey: "name", Fields: []*schema.Field{
			id(), ts("created_at"), ts("updated_at"),
			{Name: "name", Type: schema.String, Unique: true},
			{Name: "service", Type: schema.Foreign, Reference: "services"},
		}},
		&schema.Entity{Name: "plugins", CacheKey: []string{"name", "service"}, Fields: []*schema.Field{
			id(), ts("created_at"),
			{Name: "name", Type: schema.String, Required: true},
			{Name: "service", Type: schema.Foreign, Reference: "services", OnDelete: "cascade"},
			{Name: "config", Type: schema.Record, Required: true, Fields: []*schema.Field{
				{Name: "minute", Type: schema.Number},
				{Name: "policy", Type: schema.String, Default: "local"},
			}},
		}},
	)
	return reg
}

type fixture struct {
	db      *DB
	changes []Change
	ids     int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	reg := testRegistry()
	st, err := badger.Open("", Tables(reg), badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{}
	bus := &events.Bus{}
	bus.Subscribe(SourceCRUD, func(ev events.Event) { f.changes = append(f.changes, ev.Data.(Change)) })
	f.db = New(reg, st, Options{Bus: bus, Now: func() time.Time { return time.Unix(1700000000, 0) }, NewID: func() string {
		f.ids++
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", f.ids)
	}})
	return f
}

func (f *fixture) entity(name string) *schema.Entity { return f.db.Entity(name) }

func wantCode(t *testing.T, err error, code Code, msg string) {
	t.Helper()
	var de *Error
	if !errors.As(err, &de) {
		t.Fatalf("got %v, want a DAO error %d", err, code)
	}
	if de.Code != code || (msg != "" && de.Message != msg) {
		t.Fatalf("got %d %q, want %d %q", de.Code, de.Message, code, msg)
	}
}

func TestInsertSelectUpdateDelete(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	svc := f.entity("services")
	row, err := f.db.Insert(ctx, svc, map[string]any{"name": "s1", "host": "a.test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if row["port"] != 80.0 || row["created_at"] != 1700000000.0 || row["id"] == nil {
		t.Fatalf("defaults not applied: %v", row)
	}
	for _, key := range []string{"s1", row["id"].(string)} {
		got, err := f.db.Select(ctx, svc, key, nil)
		if err != nil || got == nil || got["host"] != "a.test" {
			t.Fatalf("select %q: %v %v", key, got, err)
		}
	}
	if got, _ := f.db.Select(ctx, svc, "nope", nil); got != nil {
		t.Fatalf("select missing: %v", got)
	}

	up, err := f.db.Update(ctx, svc, "s1", map[string]any{"port": 8080.0}, nil)
	if err != nil || up["port"] != 8080.0 || up["host"] != "a.test" {
		t.Fatalf("update: %v %v", up, err)
	}
	_, err = f.db.Update(ctx, svc, "missing", map[string]any{"port": 1.0}, nil)
	wantCode(t, err, CodeNotFound, `could not find the entity with '{name="missing"}'`)

	// PUT by endpoint key replaces everything and keeps the id.
	put, created, err := f.db.Upsert(ctx, svc, "s1", map[string]any{"host": "b.test"}, nil)
	if err != nil || created || put["id"] != row["id"] || put["port"] != 80.0 || put["name"] != "s1" {
		t.Fatalf("upsert replace: %v %v %v", put, created, err)
	}
	put, created, err = f.db.Upsert(ctx, svc, "s2", map[string]any{"host": "c.test"}, nil)
	if err != nil || !created || put["name"] != "s2" {
		t.Fatalf("upsert create: %v %v %v", put, created, err)
	}

	if err := f.db.Delete(ctx, svc, "s1", nil); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Delete(ctx, svc, "s1", nil); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	ops := ""
	for _, c := range f.changes {
		ops += c.Entity.Name + ":" + c.Operation + " "
	}
	if want := "services:create services:update services:update services:create services:delete "; ops != want {
		t.Fatalf("events %q, want %q", ops, want)
	}
	if f.changes[1].Old["port"] != 80.0 {
		t.Fatalf("update event lacks the old entity: %v", f.changes[1].Old)
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	svc, routes, plugins := f.entity("services"), f.entity("routes"), f.entity("plugins")
	s, err := f.db.Insert(ctx, svc, map[string]any{"name": "s1", "host": "a.test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sid := s["id"].(string)
	tests := []struct {
		name string
		run  func() error
		code Code
		msg  string
	}{
		{"schema violation", func() error {
			_, err := f.db.Insert(ctx, svc, map[string]any{"name": "x"}, nil)
			return err
		}, CodeSchemaViolation, "schema violation (host: required field missing)"},
		{"unique", func() error {
			_, err := f.db.Insert(ctx, svc, map[string]any{"name": "s1", "host": "b"}, nil)
			return err
		}, CodeUniqueViolation, `UNIQUE violation detected on '{name="s1"}'`},
		{"foreign key", func() error {
			_, err := f.db.Insert(ctx, routes, map[string]any{"service": map[string]any{"id": "00000000-0000-4000-8000-999999999999"}}, nil)
			return err
		}, CodeForeignKeyViolation, `the foreign key '{id="00000000-0000-4000-8000-999999999999"}' does not reference an existing 'services' entity.`},
		{"cache key with null", func() error {
			if _, err := f.db.Insert(ctx, plugins, map[string]any{"name": "p"}, nil); err != nil {
				return err
			}
			_, err := f.db.Insert(ctx, plugins, map[string]any{"name": "p"}, nil)
			return err
		}, CodeUniqueViolation, `UNIQUE violation detected on '{name="p",service=null}'`},
		{"primary key", func() error {
			_, err := f.db.Insert(ctx, svc, map[string]any{"id": sid, "host": "b"}, nil)
			return err
		}, CodePrimaryKeyViolation, `primary key violation on key '{id="` + sid + `"}'`},
		{"page size", func() error {
			_, _, err := f.db.Page(ctx, svc, PageOptions{Size: 0})
			return err
		}, CodeInvalidSize, ""},
		{"offset", func() error {
			_, _, err := f.db.Page(ctx, svc, PageOptions{Size: 1, Offset: "%%"})
			return err
		}, CodeInvalidOffset, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.run(), tt.code, tt.msg) })
	}
}

func TestDeleteCascadesAndRestricts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	svc, routes, plugins := f.entity("services"), f.entity("routes"), f.entity("plugins")
	s, _ := f.db.Insert(ctx, svc, map[string]any{"name": "s1", "host": "a"}, nil)
	scope := &Scope{Field: "service", ID: s["id"].(string)}
	for i := 0; i < 150; i++ {
		if _, err := f.db.Insert(ctx, plugins, map[string]any{"name": fmt.Sprintf("p%d", i)}, scope); err != nil {
			t.Fatal(err)
		}
	}
	r, err := f.db.Insert(ctx, routes, map[string]any{"name": "r1"}, scope)
	if err != nil {
		t.Fatal(err)
	}
	err = f.db.Delete(ctx, svc, "s1", nil)
	wantCode(t, err, CodeForeignKeyViolation, "an existing 'routes' entity references this 'services' entity")
	if rows, _, _ := f.db.Page(ctx, plugins, PageOptions{Size: 1000}); len(rows) != 150 {
		t.Fatalf("a refused delete removed plugins: %d left", len(rows))
	}
	if err := f.db.Delete(ctx, routes, r["id"].(string), nil); err != nil {
		t.Fatal(err)
	}
	f.changes = nil
	if err := f.db.Delete(ctx, svc, "s1", nil); err != nil {
		t.Fatal(err)
	}
	if rows, _, _ := f.db.Page(ctx, plugins, PageOptions{Size: 1000}); len(rows) != 0 {
		t.Fatalf("cascade left %d plugins", len(rows))
	}
	if len(f.changes) != 151 || f.changes[150].Entity.Name != "services" {
		t.Fatalf("cascade emitted %d events", len(f.changes))
	}
}

func TestScopes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	svc, routes := f.entity("services"), f.entity("routes")
	s1, _ := f.db.Insert(ctx, svc, map[string]any{"name": "s1", "host": "a"}, nil)
	s2, _ := f.db.Insert(ctx, svc, map[string]any{"name": "s2", "host": "a"}, nil)
	sc1 := &Scope{Field: "service", ID: s1["id"].(string)}
	sc2 := &Scope{Field: "service", ID: s2["id"].(string)}
	// A nested POST forces the parent even when the body names another.
	r, err := f.db.Insert(ctx, routes, map[string]any{"name": "r1", "service": map[string]any{"id": sc2.ID}}, sc1)
	if err != nil || RefID(r["service"]) != sc1.ID {
		t.Fatalf("nested insert: %v %v", r, err)
	}
	if got, _ := f.db.Select(ctx, routes, "r1", sc2); got != nil {
		t.Fatal("a route was found under another service")
	}
	if got, _ := f.db.Select(ctx, routes, "r1", sc1); got == nil {
		t.Fatal("a route was not found under its service")
	}
	if rows, _, _ := f.db.Page(ctx, routes, PageOptions{Size: 10, Scope: sc2}); len(rows) != 0 {
		t.Fatalf("nested page of s2: %v", rows)
	}
	if err := f.db.Delete(ctx, routes, "r1", sc2); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.db.Select(ctx, routes, "r1", nil); got == nil {
		t.Fatal("a scoped delete removed another parent's child")
	}
}

func TestTxHookAbortsWrite(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var seen []string
	committed := 0
	f.db.AddTxHook(func(tx store.Tx, ch Change) (func(), error) {
		seen = append(seen, ch.Operation)
		if ch.Row["name"] == "refused" {
			return func() { committed += 100 }, errors.New("outbox full")
		}
		return func() { committed++ }, nil
	})
	svc := f.entity("services")
	if _, err := f.db.Insert(ctx, svc, map[string]any{"name": "ok", "host": "a"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Insert(ctx, svc, map[string]any{"name": "refused", "host": "a"}, nil); err == nil {
		t.Fatal("a failing hook did not abort the write")
	}
	if got, _ := f.db.Select(ctx, svc, "refused", nil); got != nil {
		t.Fatal("the aborted write was committed")
	}
	if len(f.changes) != 1 {
		t.Fatalf("aborted write was published: %d events", len(f.changes))
	}
	if committed != 1 {
		t.Fatalf("after-commit hooks ran %d times, want once (only for the committed write)", committed)
	}
}

func TestLuaPretty(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{map[string]any{"name": "a"}, `{name="a"}`},
		{map[string]any{"b": nil, "a": 1.0, "c": map[string]any{"id": "x"}}, `{a=1,b=null,c={id="x"}}`},
		{map[string]any{"s": "q\"uote"}, `{s="q\"uote"}`},
		{[]any{"a", true}, `{"a",true}`},
	}
	for _, tt := range tests {
		if got := luaPretty(tt.in); got != tt.want {
			t.Errorf("luaPretty(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func BenchmarkInsert(b *testing.B) {
	reg := testRegistry()
	st, err := badger.Open(b.TempDir(), Tables(reg), badger.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	d := New(reg, st, Options{})
	svc := reg.Entity("services")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Insert(ctx, svc, map[string]any{"name": fmt.Sprintf("s%d", i), "host": "a.test"}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSelect(b *testing.B) {
	reg := testRegistry()
	st, err := badger.Open(b.TempDir(), Tables(reg), badger.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	d := New(reg, st, Options{})
	svc := reg.Entity("services")
	ctx := context.Background()
	row, err := d.Insert(ctx, svc, map[string]any{"name": "s", "host": "a.test"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	id := row["id"].(string)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Select(ctx, svc, id, nil); err != nil {
			b.Fatal(err)
		}
	}
}
