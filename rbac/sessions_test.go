package rbac

import (
	"strings"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	now := time.Unix(1000, 0)
	s := NewSessions("secret", time.Minute, time.Hour)
	s.now = func() time.Time { return now }
	c := s.Create("u1", "kong_admin")
	if got := s.Get(c); got == nil || got.UserID != "u1" || got.Username != "kong_admin" {
		t.Fatalf("Get = %+v", got)
	}
	// A forged or altered cookie is refused.
	raw, _, _ := strings.Cut(c, ".")
	for _, bad := range []string{"", raw, raw + ".x", "x" + c[1:], NewSessions("other", 0, 0).Create("u1", "a")} {
		if s.Get(bad) != nil {
			t.Errorf("Get(%q) found a session", bad)
		}
	}
	// Use renews; idleness ends it.
	now = now.Add(50 * time.Second)
	if s.Get(c) == nil {
		t.Fatal("session ended early")
	}
	now = now.Add(61 * time.Second)
	if s.Get(c) != nil {
		t.Fatal("idle session still valid")
	}
	// The absolute timeout ends a session in use.
	c = s.Create("u1", "kong_admin")
	for i := 0; i < 70; i++ {
		now = now.Add(time.Minute - time.Second)
		if s.Get(c) == nil {
			if i < 60 {
				t.Fatalf("ended after %d renewals", i)
			}
			break
		}
	}
	if s.Get(c) != nil {
		t.Fatal("session outlived absolute timeout")
	}
	// Logout revokes.
	c = s.Create("u2", "b")
	s.Delete(c)
	if s.Get(c) != nil {
		t.Fatal("deleted session still valid")
	}
}
