package admin

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/rbac"
)

// newSessionHarness is newRBACHarness with Kong Manager's login on, for
// pages from http://ui.test.
func newSessionHarness(t *testing.T) *harness {
	t.Helper()
	t.Setenv(rbac.PasswordEnv, superToken)
	bus := &events.Bus{}
	api := newAPIWith(t, db.Options{Bus: bus}, func(d *db.DB, o *Options) {
		if err := rbac.Bootstrap(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		o.RBAC, o.RBACHeader = rbac.New(d, bus), tokenHeader
		o.Session = &SessionOptions{Sessions: rbac.NewSessions("", time.Hour, 0), UserHeader: "Kong-Admin-User",
			CookieName: "session", CookiePath: "/", SameSite: "Strict",
			Origin: func(o []byte) bool { return string(o) == "http://ui.test" }}
	})
	return serveAPI(t, api).with(tokenHeader, superToken)
}

// login returns the cookie header of a session of user.
func login(t *testing.T, h *harness, user, password string) *harness {
	t.Helper()
	anon := &harness{tb: h.tb, api: h.api, client: h.client, header: map[string]string{
		"Authorization":   "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password)),
		"Kong-Admin-User": user,
	}}
	r := anon.get("/auth").want(t, 200)
	if r.obj(t)["username"] != user {
		t.Errorf("/auth answered %s", r.raw)
	}
	set := r.header["Set-Cookie"]
	if !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Strict") || strings.Contains(set, "secure") {
		t.Errorf("Set-Cookie %q", set)
	}
	cookie, _, _ := strings.Cut(set, ";")
	return &harness{tb: h.tb, api: h.api, client: h.client, header: map[string]string{"Cookie": cookie, "Kong-Admin-User": user}}
}

func TestAuthSessions(t *testing.T) {
	h := newSessionHarness(t)
	// Sansa, a read-only admin whose password is her token.
	admin := h.json("POST", "/admins", map[string]any{"username": "sansa"}).want(t, 200).obj(t)["admin"].(map[string]any)
	h.json("PATCH", "/rbac/users/"+db.RefID(admin["rbac_user"]), map[string]any{"user_token": "sansa-pass"}).want(t, 200)
	h.json("POST", "/admins/sansa/roles", map[string]any{"roles": "read-only"}).want(t, 201)

	anon := &harness{tb: t, client: h.client, header: map[string]string{}}
	for _, tc := range []struct{ user, named, pass string }{
		{"sansa", "sansa", "wrong"}, {"nobody", "nobody", "sansa-pass"}, {"sansa", "", "sansa-pass"},
		{"sansa", "kong_admin", "sansa-pass"},
	} {
		c := anon.with("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(tc.user+":"+tc.pass)))
		if tc.named != "" {
			c = c.with("Kong-Admin-User", tc.named)
		}
		r := c.get("/auth").want(t, 401)
		if r.obj(t)["message"] != "Unauthorized" || r.header["Set-Cookie"] != "" {
			t.Errorf("%+v: %s %q", tc, r.raw, r.header["Set-Cookie"])
		}
	}

	sansa := login(t, h, "sansa", "sansa-pass")
	sansa.get("/consumers").want(t, 200)
	sansa.get("/auth").want(t, 200) // the session's admin
	// RBAC applies to the session as to the token.
	sansa.json("POST", "/consumers", map[string]any{"username": "x"}).want(t, 403)
	// The cookie alone, or from another page, is no credential.
	(&harness{tb: t, client: h.client, header: map[string]string{"Cookie": sansa.header["Cookie"]}}).get("/consumers").want(t, 401)
	sansa.with("Origin", "http://evil.test").get("/consumers").want(t, 401)
	r := sansa.with("Origin", "http://ui.test").get("/consumers").want(t, 200)
	if r.header["Access-Control-Allow-Origin"] != "http://ui.test" || r.header["Access-Control-Allow-Credentials"] != "true" {
		t.Errorf("CORS headers %v", r.header)
	}
	// A preflight needs no credentials.
	pre := anon.with("Origin", "http://ui.test").with("Access-Control-Request-Method", "POST").
		with("Access-Control-Request-Headers", "content-type,kong-admin-user")
	r = pre.do("OPTIONS", "/consumers", "", nil).want(t, 204)
	if r.header["Access-Control-Allow-Headers"] != "content-type,kong-admin-user" {
		t.Errorf("preflight headers %v", r.header)
	}
	pre.do("OPTIONS", "/auth", "", nil).want(t, 204)

	// Disabling the admin ends the session at once; logout revokes it.
	h.json("PATCH", "/admins/sansa", map[string]any{"rbac_token_enabled": false}).want(t, 200)
	sansa.get("/consumers").want(t, 401)
	h.json("PATCH", "/admins/sansa", map[string]any{"rbac_token_enabled": true}).want(t, 200)
	sansa.get("/consumers").want(t, 401) // the session is gone for good
	sansa = login(t, h, "sansa", "sansa-pass")
	sansa.get("/consumers").want(t, 200)
	sansa.do("DELETE", "/auth", "", nil).want(t, 200)
	sansa.get("/consumers").want(t, 401)
	sansa.get("/auth").want(t, 401)

	// The super admin logs in with KONG_PASSWORD.
	login(t, h, "kong_admin", superToken).json("POST", "/consumers", map[string]any{"username": "ada"}).want(t, 201)
}
