package db_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-gw/portico/catalog"
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/schema/entities"
	"github.com/portico-gw/portico/store"
	"github.com/portico-gw/portico/store/badger"
)

// keySets is a whole new entity, declared as one file in schema/entities
// would declare it: its fields, its endpoint key, a reference with a
// cascade, and its behaviour (a hook refusing a reserved name). Nothing
// else is written for it.
func keySets() *schema.Entity {
	return &schema.Entity{
		Name:          "test_key_sets",
		EndpointKey:   "name",
		Workspaceable: true,
		Behaviour:     reservedNames{"kong"},
		Fields: []*schema.Field{
			schema.ID(),
			{Name: "name", Type: schema.String, Required: true, Unique: true},
			{Name: "service", Type: schema.Foreign, Reference: "services", OnDelete: "cascade"},
			schema.CreatedAt(),
			schema.UpdatedAt(),
			schema.Tags(),
		},
	}
}

// reservedNames refuses names, as a BeforeWriter.
type reservedNames []string

func (r reservedNames) BeforeWrite(_ schema.WriteTx, row, _ map[string]any) error {
	for _, n := range r {
		if row["name"] == n {
			return &schema.Refusal{Message: "name '" + n + "' is reserved"}
		}
	}
	return nil
}

// TestNewEntityIsOneDeclaration registers an entity from its declaration
// alone and serves it through db: the store's table, insert, lookups by id
// and endpoint key, listing, its hook, its cascade and delete all come from
// the declaration.
func TestNewEntityIsOneDeclaration(t *testing.T) {
	ctx := context.Background()
	reg, _, err := catalog.Build([]string{"bundled"})
	if err != nil {
		t.Fatal(err)
	}
	reg.Register(keySets())
	st, err := badger.Open("", db.Tables(reg), badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d := db.New(reg, st, db.Options{})
	if err := d.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	e := d.Entity("test_key_sets")
	svc, err := d.Insert(ctx, d.Entity("services"), map[string]any{"host": "a.test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, key string
		service   map[string]any
		wantCode  db.Code // 0: created
	}{
		{"plain", "ks1", nil, 0},
		{"with a service", "ks2", map[string]any{"id": svc["id"]}, 0},
		{"duplicate name", "ks1", nil, db.CodeUniqueViolation},
		{"reserved by its hook", "kong", nil, db.CodeSchemaViolation},
		{"missing reference", "ks3", map[string]any{"id": "11111111-1111-4111-8111-111111111111"}, db.CodeForeignKeyViolation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := map[string]any{"name": tt.key}
			if tt.service != nil {
				in["service"] = tt.service
			}
			row, err := d.Insert(ctx, e, in, nil)
			var de *db.Error
			switch {
			case tt.wantCode == 0 && err != nil:
				t.Fatalf("insert: %v", err)
			case tt.wantCode != 0 && (!errors.As(err, &de) || de.Code != tt.wantCode):
				t.Fatalf("insert: got %v (%#v), want code %d", err, de, tt.wantCode)
			case tt.wantCode == 0:
				for _, key := range []string{tt.key, row["id"].(string)} {
					got, err := d.Select(ctx, e, key, nil)
					if err != nil || got == nil || got["name"] != tt.key {
						t.Fatalf("select %s: %v, %v", key, got, err)
					}
				}
			}
		})
	}
	rows, _, err := d.Page(ctx, e, db.PageOptions{Size: 10})
	if err != nil || len(rows) != 2 {
		t.Fatalf("list: %d rows, %v; want ks1 and ks2", len(rows), err)
	}
	if err := d.Delete(ctx, d.Entity("services"), svc["id"].(string), nil); err != nil {
		t.Fatalf("deleting the service: %v", err)
	}
	if got, _ := d.Select(ctx, e, "ks2", nil); got != nil {
		t.Fatalf("ks2 outlived its service (cascade): %v", got)
	}
	if err := d.Delete(ctx, e, "ks1", nil); err != nil {
		t.Fatal(err)
	}
	if rows, _, err := d.Page(ctx, e, db.PageOptions{Size: 10}); err != nil || len(rows) != 0 {
		t.Fatalf("after deletes: %v, %v", rows, err)
	}
}

// TestDBNamesNoEntity keeps entity behaviour next to the schemas: no
// string literal in db's code is the name of an entity.
func TestDBNamesNoEntity(t *testing.T) {
	names := map[string]bool{}
	for _, e := range entities.All() {
		names[e.Name] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && names[s] {
					t.Errorf("%s names the entity %q", fset.Position(lit.Pos()), s)
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no source file checked")
	}
}

// TestTablesFromDeclarations: the store's tables follow the fields'
// declarations, internal entities included: an Indexed field becomes a
// value index (a loose reference to its own table), a Loose reference is
// indexed without a constraint, a workspaceable entity's unique sets take
// the workspace.
func TestTablesFromDeclarations(t *testing.T) {
	reg, _, err := catalog.Build([]string{"bundled"})
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]store.Table{}
	for _, tb := range db.Tables(reg) {
		tables[tb.Name] = tb
	}
	tests := []struct {
		table, field string
		want         store.ForeignKey
	}{
		{"rbac_users", "user_token_ident", store.ForeignKey{Field: "user_token_ident", Table: "rbac_users", Loose: true}},
		{"event_hook_deliveries", "event_hook", store.ForeignKey{Field: "event_hook", Table: "event_hooks", Loose: true}},
		{"snis", "certificate", store.ForeignKey{Field: "certificate", Table: "certificates", OnDelete: store.Cascade}},
		{"rbac_users", db.FieldWorkspace, store.ForeignKey{Field: db.FieldWorkspace, Table: "workspaces"}},
	}
	for _, tt := range tests {
		t.Run(tt.table+"."+tt.field, func(t *testing.T) {
			tb, ok := tables[tt.table]
			if !ok {
				t.Fatalf("no table %s", tt.table)
			}
			for _, fk := range tb.Foreign {
				if fk.Field == tt.field {
					if fk != tt.want {
						t.Fatalf("got %+v, want %+v", fk, tt.want)
					}
					return
				}
			}
			t.Fatalf("%s has no index on %s: %+v", tt.table, tt.field, tb.Foreign)
		})
	}
	if got := tables["rbac_users"].Unique; len(got) != 1 || strings.Join(got[0], ",") != db.FieldWorkspace+",name" {
		t.Errorf("rbac_users unique sets %v, want [[ws_id name]]", got)
	}
	// An entity's sorted indexes become the table's.
	got := tables["event_hook_deliveries"].Sorted
	if len(got) != 1 || got[0].Name != "queue" || strings.Join(got[0].Fields, ",") != "status,t" {
		t.Errorf("event_hook_deliveries sorted indexes %+v, want queue on (status, t)", got)
	}
}
