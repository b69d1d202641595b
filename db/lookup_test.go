package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/internal/dbtest"
	"github.com/portico-gw/portico/schema/entities"
)

func TestLookups(t *testing.T) {
	ctx := context.Background()
	d, bob, now := credentialsDB(t)
	l := db.NewLookups(d, 0)
	keys, acls := d.Entity(entities.KeyAuthCredentialsName), d.Entity(entities.ACLsName)
	under := &db.Scope{Field: "consumer", ID: bob["id"].(string)}
	ws, err := d.DefaultWorkspaceID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := d.Insert(ctx, keys, map[string]any{"key": "k1"}, under)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Insert(ctx, keys, map[string]any{"key": "k-ttl", "ttl": 5.0}, under); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"admin", "dev"} {
		if _, err := d.Insert(ctx, acls, map[string]any{"group": g}, under); err != nil {
			t.Fatal(err)
		}
	}

	lookup := func(entity, field, value, ws string) map[string]any {
		t.Helper()
		row, err := l.Lookup(entity, field, value, ws)
		if err != nil {
			t.Fatal(err)
		}
		return row
	}

	for _, tc := range []struct {
		name                 string
		entity, field, value string
		ws                   string
		wantID               any // nil: no row
	}{
		{"a key", "keyauth_credentials", "key", "k1", ws, cred["id"]},
		{"a key in the default workspace", "keyauth_credentials", "key", "k1", "", cred["id"]},
		{"a key in another workspace", "keyauth_credentials", "key", "k1", "00000000-0000-4000-8000-00000000ffff", nil},
		{"an unknown key", "keyauth_credentials", "key", "nope", ws, nil},
		{"a consumer by id", "consumers", "id", bob["id"].(string), ws, bob["id"]},
		{"a consumer by username", "consumers", "username", "bob", ws, bob["id"]},
		{"a consumer by an id that is a name", "consumers", "id", "bob", ws, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // a miss, then a hit
				row := lookup(tc.entity, tc.field, tc.value, tc.ws)
				if (tc.wantID == nil) != (row == nil) || (row != nil && row["id"] != tc.wantID) {
					t.Fatalf("got %v, want id %v", row, tc.wantID)
				}
			}
		})
	}

	t.Run("a field that is not unique", func(t *testing.T) {
		if _, err := l.Lookup("acls", "group", "admin", ws); err == nil {
			t.Fatal("no error")
		}
		if _, err := l.Lookup("nothing", "id", "x", ws); err == nil {
			t.Fatal("no error for an unknown entity")
		}
	})

	t.Run("hits read nothing", func(t *testing.T) {
		before := l.Stats()
		lookup("keyauth_credentials", "key", "k1", ws)
		lookup("keyauth_credentials", "key", "nope", ws)
		after := l.Stats()
		if after.Misses != before.Misses {
			t.Fatalf("before %+v, after %+v", before, after)
		}
	})

	t.Run("a consumer's groups", func(t *testing.T) {
		rows, err := l.Find("acls", "consumer", bob["id"].(string))
		if err != nil || len(rows) != 2 {
			t.Fatalf("%d rows, %v", len(rows), err)
		}
		if _, err := d.Insert(ctx, acls, map[string]any{"group": "ops"}, under); err != nil {
			t.Fatal(err)
		}
		if rows, _ := l.Find("acls", "consumer", bob["id"].(string)); len(rows) != 3 {
			t.Fatalf("after a new group: %d rows", len(rows))
		}
	})

	t.Run("a revoked key is gone at once", func(t *testing.T) {
		if err := d.Delete(ctx, keys, "k1", nil); err != nil {
			t.Fatal(err)
		}
		if row := lookup("keyauth_credentials", "key", "k1", ws); row != nil {
			t.Fatal("the revoked key is still found")
		}
	})

	t.Run("a created key is found at once", func(t *testing.T) {
		if _, err := d.Insert(ctx, keys, map[string]any{"key": "nope"}, under); err != nil {
			t.Fatal(err)
		}
		if row := lookup("keyauth_credentials", "key", "nope", ws); row == nil {
			t.Fatal("the cached miss hides the new key")
		}
	})

	t.Run("a key expires", func(t *testing.T) {
		if lookup("keyauth_credentials", "key", "k-ttl", ws) == nil {
			t.Fatal("not found before expiry")
		}
		*now = now.Add(6 * time.Second)
		if lookup("keyauth_credentials", "key", "k-ttl", ws) != nil {
			t.Fatal("found after expiry")
		}
	})

	t.Run("a consumer's credentials go with it", func(t *testing.T) {
		if err := d.Delete(ctx, d.Entity("consumers"), "bob", nil); err != nil {
			t.Fatal(err)
		}
		if lookup("keyauth_credentials", "key", "nope", ws) != nil || lookup("consumers", "username", "bob", ws) != nil {
			t.Fatal("found after the consumer's delete")
		}
		if rows, _ := l.Find("acls", "consumer", bob["id"].(string)); len(rows) != 0 {
			t.Fatalf("%d groups left", len(rows))
		}
	})
}

func TestLookupsBounded(t *testing.T) {
	d, _ := dbtest.Open(t, db.Options{})
	l := db.NewLookups(d, 64)
	for i := range 1000 {
		if _, err := l.Lookup("consumers", "username", string(rune('a'+i%26))+time.Duration(i).String(), ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.Stats().Entries; n > 64 {
		t.Fatalf("%d entries cached, at most 64 wanted", n)
	}
}

func BenchmarkLookupHit(b *testing.B) {
	l, ws := lookupBenchSetup(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if row, _ := l.Lookup("keyauth_credentials", "key", "k1", ws); row == nil {
			b.Fatal("miss")
		}
	}
}

// BenchmarkLookupHitParallel is one popular key read on every core, as
// the proxy reads it: reads must not contend.
func BenchmarkLookupHitParallel(b *testing.B) {
	l, ws := lookupBenchSetup(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if row, _ := l.Lookup("keyauth_credentials", "key", "k1", ws); row == nil {
				b.Error("miss")
				return
			}
		}
	})
}

// lookupBenchSetup is a consumer with the key "k1", cached.
func lookupBenchSetup(b *testing.B) (*db.Lookups, string) {
	ctx := context.Background()
	d, _ := dbtest.Open(b, db.Options{})
	l := db.NewLookups(d, 0)
	bob, err := d.Insert(ctx, d.Entity("consumers"), map[string]any{"username": "bob"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.Insert(ctx, d.Entity(entities.KeyAuthCredentialsName), map[string]any{"key": "k1", "consumer": map[string]any{"id": bob["id"]}}, nil); err != nil {
		b.Fatal(err)
	}
	ws, _ := d.DefaultWorkspaceID(ctx)
	if row, _ := l.Lookup("keyauth_credentials", "key", "k1", ws); row == nil {
		b.Fatal("no key")
	}
	return l, ws
}
