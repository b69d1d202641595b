package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/internal/dbtest"
)

// A read-only DB (DB-less mode) refuses every write with Kong's
// operation_unsupported error, after the lookups and validation Kong
// makes first, and changes nothing.
func TestReadOnlyRefusesWrites(t *testing.T) {
	ctx := context.Background()
	w, st := dbtest.Open(t, db.Options{})
	svc := mustInsert(t, w, "services", map[string]any{"name": "billing", "host": "example.com"})
	svcID := svc["id"].(string)
	mustInsert(t, w, "routes", map[string]any{"name": "r1", "paths": []any{"/r1"}, "service": map[string]any{"id": svcID}})
	ro := db.New(w.Registry(), st, db.Options{ReadOnly: true})
	services, routes := ro.Entity("services"), ro.Entity("routes")
	missing := "8a3b1a3c-1d7f-4f7e-9f1e-000000000000"

	for _, tc := range []struct {
		name string
		op   func() error
		want string // the refusal's message; "" for no error
		code db.Code
	}{
		{"insert", func() error {
			_, err := ro.Insert(ctx, services, map[string]any{"name": "x", "host": "example.com"}, nil)
			return err
		}, "cannot create 'services' entities when not using a database", db.CodeOperationUnsupported},
		{"insert of an invalid entity is a schema violation first", func() error {
			_, err := ro.Insert(ctx, services, map[string]any{"port": -1}, nil)
			return err
		}, "", db.CodeSchemaViolation},
		{"update by id", func() error {
			_, err := ro.Update(ctx, services, svcID, map[string]any{"retries": float64(2)}, nil)
			return err
		}, "cannot update 'services' entities when not using a database", db.CodeOperationUnsupported},
		{"update by name", func() error {
			_, err := ro.Update(ctx, services, "billing", map[string]any{"retries": float64(2)}, nil)
			return err
		}, "cannot update 'services' entities by 'name' when not using a database", db.CodeOperationUnsupported},
		{"update of a missing entity is not found", func() error {
			_, err := ro.Update(ctx, services, missing, map[string]any{"retries": float64(2)}, nil)
			return err
		}, "", db.CodeNotFound},
		{"upsert by id", func() error {
			_, _, err := ro.Upsert(ctx, routes, missing, map[string]any{"paths": []any{"/"}}, nil)
			return err
		}, "cannot create or update 'routes' entities when not using a database", db.CodeOperationUnsupported},
		{"upsert by name", func() error {
			_, _, err := ro.Upsert(ctx, services, "billing", map[string]any{"host": "example.org"}, nil)
			return err
		}, "cannot create or update 'services' entities by 'name' when not using a database", db.CodeOperationUnsupported},
		{"delete by id", func() error {
			return ro.Delete(ctx, services, svcID, nil)
		}, "cannot remove 'services' entities when not using a database", db.CodeOperationUnsupported},
		{"delete by name", func() error {
			return ro.Delete(ctx, routes, "r1", nil)
		}, "cannot remove 'routes' entities by 'name' when not using a database", db.CodeOperationUnsupported},
		{"delete of a missing entity succeeds, as Kong's", func() error {
			return ro.Delete(ctx, services, missing, nil)
		}, "", 0},
		{"referenced upsert", func() error {
			_, err := ro.UpsertReferenced(ctx, routes, "r1", "service", map[string]any{"host": "example.org"})
			return err
		}, "cannot create or update 'services' entities when not using a database", db.CodeOperationUnsupported},
		{"batch", func() error {
			return ro.Batch(ctx, db.BatchOptions{}, func(b *db.Batch) error {
				_, err := b.Upsert(services, map[string]any{"id": missing, "host": "example.com"})
				return err
			})
		}, "writing a batch: the database is read-only", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.op()
			var de *db.Error
			switch {
			case tc.code == 0 && tc.want == "":
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
			case tc.code == 0:
				if err == nil || err.Error() != tc.want {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
			case !errors.As(err, &de) || de.Code != tc.code:
				t.Fatalf("err = %#v, want code %d", err, tc.code)
			case tc.want != "" && (de.Message != tc.want || de.Name != "operation unsupported"):
				t.Fatalf("err = %q (%s), want %q", de.Message, de.Name, tc.want)
			}
		})
	}
	// Nothing changed.
	page, _, err := ro.Page(ctx, services, db.PageOptions{Size: 10})
	if err != nil || len(page) != 1 || page[0]["retries"] != svc["retries"] || page[0]["host"] != "example.com" {
		t.Fatalf("services after the refusals: %v, %v", page, err)
	}
	if r, _ := ro.Select(ctx, routes, "r1", nil); r == nil {
		t.Fatal("the route is gone")
	}
}
