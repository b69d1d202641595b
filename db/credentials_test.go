package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/internal/dbtest"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/schema/entities"
)

// credentialsDB is a DB with one consumer, bob, and a clock the test moves.
func credentialsDB(t *testing.T) (*db.DB, map[string]any, *time.Time) {
	t.Helper()
	now := time.Unix(1700000000, 0)
	d, _ := dbtest.Open(t, db.Options{Now: func() time.Time { return now }})
	bob, err := d.Insert(context.Background(), d.Entity("consumers"), map[string]any{"username": "bob"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d, bob, &now
}

func daoCode(err error) db.Code {
	var de *db.Error
	if errors.As(err, &de) {
		return de.Code
	}
	return -1
}

// TestCredentialsDAO: the credential entities served through the generic
// DAO, as Kong's plugin API specs exercise them.
func TestCredentialsDAO(t *testing.T) {
	ctx := context.Background()
	d, bob, now := credentialsDB(t)
	under := &db.Scope{Field: "consumer", ID: bob["id"].(string)}
	keys, basic, acls := d.Entity(entities.KeyAuthCredentialsName), d.Entity(entities.BasicAuthCredentialsName), d.Entity(entities.ACLsName)

	for _, tc := range []struct {
		name  string
		e     *schema.Entity
		input map[string]any
		code  db.Code // 0: created
	}{
		{"a key", keys, map[string]any{"key": "1234"}, 0},
		{"the same key", keys, map[string]any{"key": "1234"}, db.CodeUniqueViolation},
		{"a generated key", keys, map[string]any{}, 0},
		{"a ttl", keys, map[string]any{"key": "short", "ttl": 10.0}, 0},
		{"a bad ttl", keys, map[string]any{"ttl": -1.0}, db.CodeInvalidOptions},
		{"a ttl elsewhere", basic, map[string]any{"username": "x", "password": "y", "ttl": 10.0}, db.CodeInvalidOptions},
		{"a username", basic, map[string]any{"username": "bob", "password": "kong"}, 0},
		{"the same username", basic, map[string]any{"username": "bob", "password": "other"}, db.CodeUniqueViolation},
		{"a group", acls, map[string]any{"group": "admin"}, 0},
		{"the same group", acls, map[string]any{"group": "admin"}, db.CodeUniqueViolation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Insert(ctx, tc.e, tc.input, under)
			if got := daoCode(err); (tc.code == 0 && err != nil) || (tc.code != 0 && got != tc.code) {
				t.Fatalf("got %v (code %d), want code %d", err, got, tc.code)
			}
		})
	}

	t.Run("an unknown consumer", func(t *testing.T) {
		_, err := d.Insert(ctx, keys, map[string]any{"consumer": map[string]any{"id": "00000000-0000-4000-8000-000000000099"}}, nil)
		if daoCode(err) != db.CodeForeignKeyViolation {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("the password is stored hashed", func(t *testing.T) {
		row, err := d.Select(ctx, basic, "bob", nil)
		if err != nil || row == nil {
			t.Fatal(row, err)
		}
		if row["password"] != entities.HashBasicAuthPassword(bob["id"].(string), "kong") {
			t.Fatalf("stored password %v", row["password"])
		}
		// A PATCH of the username keeps it; a new password is hashed.
		row, err = d.Update(ctx, basic, "bob", map[string]any{"username": "bobby"}, under)
		if err != nil || row["password"] != entities.HashBasicAuthPassword(bob["id"].(string), "kong") {
			t.Fatalf("after a rename: %v %v", row["password"], err)
		}
		row, err = d.Update(ctx, basic, "bobby", map[string]any{"password": "new"}, under)
		if err != nil || row["password"] != entities.HashBasicAuthPassword(bob["id"].(string), "new") {
			t.Fatalf("after a new password: %v %v", row["password"], err)
		}
	})

	t.Run("a group is addressed under its consumer", func(t *testing.T) {
		alice, err := d.Insert(ctx, d.Entity("consumers"), map[string]any{"username": "alice"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		underAlice := &db.Scope{Field: "consumer", ID: alice["id"].(string)}
		if row, _ := d.Select(ctx, acls, "admin", underAlice); row != nil {
			t.Fatal("alice sees bob's group")
		}
		// PUT of a group name creates alice's own, leaving bob's.
		row, created, err := d.Upsert(ctx, acls, "admin", map[string]any{}, underAlice)
		if err != nil || !created || db.RefID(row["consumer"]) != alice["id"] {
			t.Fatalf("upsert: %v %v %v", row, created, err)
		}
		if row, _ := d.Select(ctx, acls, "admin", under); row == nil {
			t.Fatal("bob lost his group")
		}
	})

	t.Run("a key expires", func(t *testing.T) {
		row, err := d.Select(ctx, keys, "short", nil)
		if err != nil || row == nil {
			t.Fatal(row, err)
		}
		if got := keys.Output(row)["ttl"]; got == nil {
			t.Fatal("no ttl shown")
		}
		*now = now.Add(11 * time.Second)
		if row, _ := d.Select(ctx, keys, "short", nil); row != nil {
			t.Fatal("an expired key is found")
		}
		rows, _, err := d.Page(ctx, keys, db.PageOptions{Size: 100})
		for _, r := range rows {
			if r["key"] == "short" || err != nil {
				t.Fatal("an expired key is listed", err)
			}
		}
		n, err := d.DeleteExpired(ctx)
		if err != nil || n != 1 {
			t.Fatalf("deleted %d, %v", n, err)
		}
		if _, err := d.Insert(ctx, keys, map[string]any{"key": "short"}, under); err != nil {
			t.Fatalf("the expired key's value is still held: %v", err)
		}
	})

	t.Run("credentials go with their consumer", func(t *testing.T) {
		if err := d.Delete(ctx, d.Entity("consumers"), "bob", nil); err != nil {
			t.Fatal(err)
		}
		for _, e := range []*schema.Entity{keys, basic, acls} {
			rows, _, err := d.Page(ctx, e, db.PageOptions{Size: 100, Scope: under})
			if err != nil || len(rows) != 0 {
				t.Fatalf("%s left: %d %v", e.Name, len(rows), err)
			}
		}
	})
}
