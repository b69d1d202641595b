package rbac

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/schema/entities"
	"github.com/portico-gw/portico/store"
)

func mustCreate(t *testing.T, s *Sessions, user, name string) string {
	t.Helper()
	c, err := s.Create(context.Background(), user, name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func get(t *testing.T, s *Sessions, cookie string) *Session {
	t.Helper()
	sess, err := s.Get(context.Background(), cookie)
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

func TestSessions(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testSessions(t, NewSessions("secret", time.Minute, time.Hour)) })
	t.Run("store", func(t *testing.T) {
		_, st, _ := open(t)
		s, err := NewStoredSessions(context.Background(), st, "secret", time.Minute, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		testSessions(t, s)
	})
}

func testSessions(t *testing.T, s *Sessions) {
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	c := mustCreate(t, s, "u1", "kong_admin")
	if got := get(t, s, c); got == nil || got.UserID != "u1" || got.Username != "kong_admin" {
		t.Fatalf("Get = %+v", got)
	}
	// A forged or altered cookie is refused.
	raw, _, _ := strings.Cut(c, ".")
	for _, bad := range []string{"", raw, raw + ".x", "x" + c[1:], mustCreate(t, NewSessions("other", 0, 0), "u1", "a")} {
		if get(t, s, bad) != nil {
			t.Errorf("Get(%q) found a session", bad)
		}
	}
	// Use renews; idleness ends it.
	now = now.Add(50 * time.Second)
	if get(t, s, c) == nil {
		t.Fatal("session ended early")
	}
	now = now.Add(61 * time.Second)
	if get(t, s, c) != nil {
		t.Fatal("idle session still valid")
	}
	// The absolute timeout ends a session in use.
	c = mustCreate(t, s, "u1", "kong_admin")
	for i := 0; i < 70; i++ {
		now = now.Add(time.Minute - time.Second)
		if get(t, s, c) == nil {
			if i < 60 {
				t.Fatalf("ended after %d renewals", i)
			}
			break
		}
	}
	if get(t, s, c) != nil {
		t.Fatal("session outlived absolute timeout")
	}
	// Logout revokes.
	c = mustCreate(t, s, "u2", "b")
	if err := s.Delete(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if get(t, s, c) != nil {
		t.Fatal("deleted session still valid")
	}
}

// sessionRows returns the session rows of the store (the secret row left
// out), by id.
func sessionRows(t *testing.T, st store.Store) map[string]store.Row {
	t.Helper()
	out := map[string]store.Row{}
	err := st.View(context.Background(), func(tx store.Tx) error {
		page, err := tx.Page(entities.AdminGUISessionsName, store.PageQuery{Size: 1000})
		for _, r := range page.Rows {
			if r["id"] != secretRowID {
				out[r["id"].(string)] = r
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStoredSessionsSurviveRestart: a session made by one Sessions is
// found by another built on the same store (a restart, or another node),
// with the stored secret when none is configured; logout deletes its row.
func TestStoredSessionsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	_, st, _ := open(t)
	before, err := NewStoredSessions(ctx, st, "", 15*time.Minute, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := mustCreate(t, before, "u1", "kong_admin")
	after, err := NewStoredSessions(ctx, st, "", 15*time.Minute, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if after.Len() != 0 {
		t.Fatal("a new table starts with a cache")
	}
	if got := get(t, after, c); got == nil || got.UserID != "u1" || got.Username != "kong_admin" {
		t.Fatalf("after a restart Get = %+v", got)
	}
	if after.Len() != 1 {
		t.Fatal("a session read from the store is not cached")
	}
	// Another secret cannot read the cookie.
	other, err := NewStoredSessions(ctx, st, "configured", 15*time.Minute, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if get(t, other, c) != nil {
		t.Fatal("a cookie signed with another secret was accepted")
	}
	if len(sessionRows(t, st)) != 1 {
		t.Fatalf("rows = %v", sessionRows(t, st))
	}
	// Logout on one node deletes the row: the other no longer finds it
	// once its cache is gone, and ends it at its next write of the
	// session's use anyway.
	if err := after.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	if rows := sessionRows(t, st); len(rows) != 0 {
		t.Fatalf("logout left %v", rows)
	}
	if get(t, after, c) != nil {
		t.Fatal("logged-out session still valid")
	}
	now := time.Now().Add(2 * time.Minute)
	before.now = func() time.Time { return now }
	if get(t, before, c) != nil {
		t.Fatal("a session ended on another node lives on past the next renewal")
	}
}

// TestStoredSessionRow: the row holds the id's digest, never the cookie
// or the id, and the use of a session is written at most every minute.
func TestStoredSessionRow(t *testing.T) {
	ctx := context.Background()
	_, st, _ := open(t)
	s, err := NewStoredSessions(ctx, st, "", 15*time.Minute, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(100000, 0)
	s.now = func() time.Time { return now }
	c := mustCreate(t, s, "u1", "kong_admin")
	raw, sig, _ := strings.Cut(c, ".")
	id, _ := base64.RawURLEncoding.DecodeString(raw)
	digest := sha256.Sum256(id)
	rows := sessionRows(t, st)
	row := rows[hex.EncodeToString(digest[:])]
	if len(rows) != 1 || row == nil {
		t.Fatalf("rows = %v", rows)
	}
	j, _ := json.Marshal(row)
	for _, secret := range []string{c, raw, sig, hex.EncodeToString(id), base64.StdEncoding.EncodeToString(id)} {
		if strings.Contains(string(j), secret) {
			t.Fatalf("the row %s holds %q", j, secret)
		}
	}
	if row["user_id"] != "u1" || row["username"] != "kong_admin" || row["created_at"] != 100000.0 ||
		row["last_seen"] != 100000.0 || row["expires_at"] != 100000.0+900 {
		t.Fatalf("row = %s", j)
	}
	now = now.Add(30 * time.Second)
	get(t, s, c)
	if seen := sessionRows(t, st)[row["id"].(string)]["last_seen"]; seen != 100000.0 {
		t.Fatalf("a use within a minute was written: last_seen %v", seen)
	}
	now = now.Add(31 * time.Second)
	get(t, s, c)
	r := sessionRows(t, st)[row["id"].(string)]
	if r["last_seen"] != 100061.0 || r["expires_at"] != 100061.0+900 {
		t.Fatalf("the use after a minute was not written: %v", r)
	}
}

// TestSessionsSweep: expired rows go, through the expiry index; live
// ones and the secret stay.
func TestSessionsSweep(t *testing.T) {
	ctx := context.Background()
	_, st, _ := open(t)
	s, err := NewStoredSessions(ctx, st, "", time.Minute, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s.now = func() time.Time { return now }
	for range 300 { // more than one batch
		mustCreate(t, s, "u1", "old")
	}
	now = now.Add(2 * time.Minute)
	live := mustCreate(t, s, "u2", "new")
	n, err := s.Sweep(ctx)
	if err != nil || n != 300 {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
	rows := sessionRows(t, st)
	if len(rows) != 1 {
		t.Fatalf("%d rows left", len(rows))
	}
	for _, r := range rows {
		if r["username"] != "new" {
			t.Fatalf("left %v", r)
		}
	}
	if s.Len() != 1 || get(t, s, live) == nil {
		t.Fatal("the live session went")
	}
	err = st.View(ctx, func(tx store.Tx) error {
		_, err := tx.Get(entities.AdminGUISessionsName, secretRowID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		t.Fatal("the sweep deleted the secret")
	}
}
