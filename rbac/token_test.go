package rbac

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/portico-gw/portico/catalog"
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/schema/entities"
	"github.com/portico-gw/portico/store"
	"github.com/portico-gw/portico/store/badger"
)

// TestTokensAreUnique: a token another user holds, in any workspace, is
// refused with Kong's unique violation naming the field, not the token,
// and nothing changes.
func TestTokensAreUnique(t *testing.T) {
	ctx := context.Background()
	d, _, _ := open(t)
	users := d.Entity(UsersEntity)
	ws, err := d.Insert(ctx, d.Workspaces(), map[string]any{"name": "other"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	inOther := db.InWorkspace(ctx, ws["id"].(string))
	for _, u := range []struct{ name, token string }{{"arya", "arya-token"}, {"bran", "bran-token"}} {
		if _, err := d.Insert(ctx, users, map[string]any{"name": u.name, "user_token": u.token}, nil); err != nil {
			t.Fatal(err)
		}
	}
	const want = `UNIQUE violation detected on '{"user_token"}'`
	tests := []struct {
		name  string
		write func() error
		ok    bool
	}{
		{"create with a held token", func() error {
			_, err := d.Insert(ctx, users, map[string]any{"name": "cat", "user_token": "arya-token"}, nil)
			return err
		}, false},
		{"create in another workspace", func() error {
			_, err := d.Insert(inOther, users, map[string]any{"name": "cat", "user_token": "arya-token"}, nil)
			return err
		}, false},
		{"update to a held token", func() error {
			_, err := d.Update(ctx, users, "bran", map[string]any{"user_token": "arya-token"}, nil)
			return err
		}, false},
		{"replace with a held token", func() error {
			_, _, err := d.Upsert(ctx, users, "bran", map[string]any{"user_token": "arya-token"}, nil)
			return err
		}, false},
		{"a user given its own token again", func() error {
			_, err := d.Update(ctx, users, "arya", map[string]any{"user_token": "arya-token"}, nil)
			return err
		}, true},
		{"a token nobody holds", func() error {
			_, err := d.Insert(ctx, users, map[string]any{"name": "dany", "user_token": "dany-token"}, nil)
			return err
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := storedTokens(t, d)
			err := tt.write()
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var de *db.Error
			if !errors.As(err, &de) || de.Code != db.CodeUniqueViolation || de.Message != want {
				t.Fatalf("got %v, want code 5 %q", err, want)
			}
			if strings.Contains(fmt.Sprint(de.Fields), "arya-token") {
				t.Fatalf("the error shows the token: %v", de.Fields)
			}
			if after := storedTokens(t, d); !maps.Equal(after, before) {
				t.Fatalf("the stored tokens changed from %v to %v", before, after)
			}
		})
	}
}

// storedTokens maps every user, in every workspace, to its stored hash.
func storedTokens(t *testing.T, d *db.DB) map[string]string {
	t.Helper()
	rows, err := d.All(db.AcrossWorkspaces(context.Background()), d.Entity(UsersEntity), db.PageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r["name"].(string)], _ = r["user_token"].(string)
	}
	return out
}

// countingStore counts the rows a store's transactions return, and the
// pages of rbac_users read without an index (scans).
type countingStore struct {
	store.Store
	rows, scans atomic.Int64
}

type countingTx struct {
	store.Tx
	s *countingStore
}

func (s *countingStore) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(countingTx{tx, s}) })
}

func (s *countingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(countingTx{tx, s}) })
}

func (t countingTx) Get(table, id string) (store.Row, error) {
	r, err := t.Tx.Get(table, id)
	if r != nil {
		t.s.rows.Add(1)
	}
	return r, err
}

func (t countingTx) GetUnique(table string, fields []string, values []any) (store.Row, error) {
	r, err := t.Tx.GetUnique(table, fields, values)
	if r != nil {
		t.s.rows.Add(1)
	}
	return r, err
}

func (t countingTx) Page(table string, q store.PageQuery) (store.Page, error) {
	p, err := t.Tx.Page(table, q)
	t.s.rows.Add(int64(len(p.Rows)))
	if table == UsersEntity && q.Foreign == nil {
		t.s.scans.Add(1)
	}
	return p, err
}

// storeWithUsers returns a DB over a counting store holding n RBAC users,
// written straight to the store (their hash is computed once), none of
// whose identifiers is that of the token "unknown".
func storeWithUsers(tb testing.TB, n int) (*db.DB, *countingStore) {
	tb.Helper()
	ctx := context.Background()
	reg, _, err := catalog.Build([]string{"bundled"})
	if err != nil {
		tb.Fatal(err)
	}
	st, err := badger.Open("", db.Tables(reg), badger.Options{InMemory: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	cs := &countingStore{Store: st}
	d := db.New(reg, cs, db.Options{})
	if err := d.Bootstrap(ctx); err != nil {
		tb.Fatal(err)
	}
	ws, err := d.DefaultWorkspaceID(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("known"), bcrypt.MinCost)
	if err != nil {
		tb.Fatal(err)
	}
	unknown := entities.TokenIdent("unknown")
	for start := 0; start < n; start += 1000 {
		err := st.Update(ctx, func(tx store.Tx) error {
			for i := start; i < start+1000 && i < n; i++ {
				ident := fmt.Sprintf("%07x", i)
				if ident == unknown {
					ident = "fffffff"
				}
				row := store.Row{"id": fmt.Sprintf("00000000-0000-4000-8000-%012d", i), "name": fmt.Sprintf("user%d", i),
					"user_token": string(hash), "user_token_ident": ident, "enabled": true,
					"created_at": 1.0, "updated_at": 1.0, db.FieldWorkspace: ws}
				if err := tx.Insert(UsersEntity, row); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return d, cs
}

// TestUnknownTokenReadsTheIndex: an unknown token costs the same few row
// reads with 100 users as with 10,000, and never a scan of the users.
func TestUnknownTokenReadsTheIndex(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{100, 10_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			d, cs := storeWithUsers(t, n)
			a := New(d, nil)
			cs.rows.Store(0)
			cs.scans.Store(0)
			if _, err := a.Authenticate(ctx, "unknown"); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Authenticate(unknown) = %v, want ErrInvalid", err)
			}
			if rows, scans := cs.rows.Load(), cs.scans.Load(); rows > 1 || scans > 0 {
				t.Fatalf("an unknown token read %d rows in %d scans of %d users", rows, scans, n)
			}
			// A new user's token is checked for uniqueness through the
			// same index.
			cs.scans.Store(0)
			if _, err := d.Insert(ctx, d.Entity(UsersEntity), map[string]any{"name": "new", "user_token": "unknown"}, nil); err != nil {
				t.Fatal(err)
			}
			if scans := cs.scans.Load(); scans > 0 {
				t.Fatalf("creating a user scanned the users %d times", scans)
			}
		})
	}
}

// TestIndexOfEarlierStores: users written before their token identifier
// was indexed are indexed at start, and their tokens found.
func TestIndexOfEarlierStores(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	reg, _, err := catalog.Build([]string{"bundled"})
	if err != nil {
		t.Fatal(err)
	}
	// The tables as they were: rbac_users without the identifier's index.
	var earlier []store.Table
	for _, tb := range db.Tables(reg) {
		if tb.Name == UsersEntity {
			kept := tb.Foreign[:0:0]
			for _, fk := range tb.Foreign {
				if fk.Field != "user_token_ident" {
					kept = append(kept, fk)
				}
			}
			tb.Foreign = kept
		}
		earlier = append(earlier, tb)
	}
	st, err := badger.Open(dir, earlier, badger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := db.New(reg, st, db.Options{})
	if err := old.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	ws, err := old.DefaultWorkspaceID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("hunter2-hunter2"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		return tx.Insert(UsersEntity, store.Row{"id": "00000000-0000-4000-8000-000000000001", "name": "arya",
			"user_token": string(hash), "user_token_ident": entities.TokenIdent("hunter2-hunter2"), "enabled": true,
			"created_at": 1.0, "updated_at": 1.0, db.FieldWorkspace: ws})
	})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	st, err = badger.Open(dir, db.Tables(reg), badger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := db.New(reg, st, db.Options{})
	users := d.Entity(UsersEntity)
	find := func() int {
		rows, err := d.Find(ctx, users, "user_token_ident", entities.TokenIdent("hunter2-hunter2"))
		if err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}
	if n := find(); n != 0 {
		t.Fatalf("before the start: %d users found; want none (the premise)", n)
	}
	if err := d.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Bootstrap(ctx); err != nil { // indexed once
		t.Fatal(err)
	}
	if n := find(); n != 1 {
		t.Fatalf("after the start: %d users found; want arya", n)
	}
	_, err = d.Insert(ctx, users, map[string]any{"name": "bran", "user_token": "hunter2-hunter2"}, nil)
	var de *db.Error
	if !errors.As(err, &de) || de.Code != db.CodeUniqueViolation {
		t.Fatalf("arya's token given to bran: %v, want a unique violation", err)
	}
}

// BenchmarkUnknownToken: the cost of refusing an unknown token does not
// grow with the number of users.
func BenchmarkUnknownToken(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			d, _ := storeWithUsers(b, n)
			a := New(d, nil)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := a.Authenticate(ctx, "unknown"); !errors.Is(err, ErrInvalid) {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestConcurrentUsersWithOneToken: users created at the same moment with
// one token cannot both pass the uniqueness check; one is stored, every
// other gets the unique violation.
func TestConcurrentUsersWithOneToken(t *testing.T) {
	ctx := context.Background()
	d, _, _ := open(t)
	users := d.Entity(UsersEntity)
	const n = 6
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		go func() {
			<-start
			_, err := d.Insert(ctx, users, map[string]any{"name": fmt.Sprint("twin-", i), "user_token": "shared-token"}, nil)
			errs <- err
		}()
	}
	close(start)
	stored := 0
	for range n {
		err := <-errs
		var de *db.Error
		switch {
		case err == nil:
			stored++
		case errors.As(err, &de) && de.Code == db.CodeUniqueViolation:
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if stored != 1 {
		t.Errorf("%d users stored with one token, want 1", stored)
	}
	// The stored user's token is the one given, even when its transaction
	// ran again after a conflict (not a hash of its hash).
	candidates, err := d.Find(ctx, users, "user_token_ident", entities.TokenIdent("shared-token"))
	if err != nil || len(entities.TokenUsers(candidates, "shared-token")) != 1 {
		t.Errorf("the token finds %d users (%v), want 1", len(entities.TokenUsers(candidates, "shared-token")), err)
	}
}
