package rbac

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/internal/dbtest"
	"github.com/portico-gw/portico/store"
)

func open(t *testing.T) (*db.DB, store.Store, *events.Bus) {
	t.Helper()
	bus := &events.Bus{}
	d, st := dbtest.Open(t, db.Options{Bus: bus})
	return d, st, bus
}

func TestBootstrapAndAuthenticate(t *testing.T) {
	ctx := context.Background()
	d, st, bus := open(t)
	t.Setenv(PasswordEnv, "hunter2-hunter2")
	if err := Bootstrap(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := Bootstrap(ctx, d); err != nil { // idempotent
		t.Fatalf("second bootstrap: %v", err)
	}
	// The password is stored only as a bcrypt hash.
	var raw string
	st.View(ctx, func(tx store.Tx) error {
		p, err := tx.Page("rbac_users", store.PageQuery{Size: 10})
		for _, r := range p.Rows {
			raw += r["user_token"].(string)
		}
		return err
	})
	if strings.Contains(raw, "hunter2") || !strings.HasPrefix(raw, "$2a$") {
		t.Fatalf("stored token %q is not a bcrypt hash", raw)
	}
	a := New(d, bus)
	tests := []struct {
		name, token string
		ok          bool
	}{
		{"the password", "hunter2-hunter2", true},
		{"cached", "hunter2-hunter2", true},
		{"wrong", "hunter2", false},
		{"empty", "", false},
		{"over-long", strings.Repeat("a", 2000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := a.Authenticate(ctx, tt.token)
			if ok := err == nil; ok != tt.ok || (!ok && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("Authenticate = %v, %v; want ok %v", u, err, tt.ok)
			}
			if tt.ok && (u.Name != SuperAdmin || !u.Permissions.Allows("default", "/rbac/users", "/rbac/users", Create)) {
				t.Fatalf("the super admin is %+v, without full rights", u)
			}
		})
	}
	// Disabling the user takes effect at once (the cache is emptied).
	if _, err := d.Update(ctx, d.Entity("rbac_users"), SuperAdmin, map[string]any{"enabled": false}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, "hunter2-hunter2"); err == nil {
		t.Fatal("a disabled user's token is still accepted")
	}
	// A PATCH that does not touch the token keeps it (not re-hashed).
	if _, err := d.Update(ctx, d.Entity("rbac_users"), SuperAdmin, map[string]any{"enabled": true, "comment": "x"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, "hunter2-hunter2"); err != nil {
		t.Fatal("the token was lost by an unrelated PATCH")
	}
}

func TestBootstrapWithoutPassword(t *testing.T) {
	d, _, _ := open(t)
	t.Setenv(PasswordEnv, "")
	if err := Bootstrap(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if row, _ := d.Select(context.Background(), d.Entity("admins"), SuperAdmin, nil); row != nil {
		t.Fatal("a super admin was created without KONG_PASSWORD")
	}
}
