package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSeedSlackAdminsWithRBAC follows the seed's custom webhook section
// command for command: a webhook-custom hook on admins, RBAC turned on, the
// super admin (KONG_PASSWORD at bootstrap) invites Arya Stark, and the
// receiver gets the rendered Slack message.
func TestSeedSlackAdminsWithRBAC(t *testing.T) {
	const password = "s3cret-Passw0rd"
	rcv := newHookReceiver(t)
	g := startGateway(t, "KONG_PASSWORD="+password)

	r := g.cli("curl", "-s", "-i", "-X", "POST", "http://"+g.adminHost()+"/event-hooks",
		"-d", "source=crud", "-d", "event=admins", "-d", "handler=webhook-custom",
		"-d", "config.method=POST", "-d", "config.url="+rcv.URL+"/slack",
		"-d", "config.headers.content-type=application/json",
		"-d", "config.payload.text=Admin account `{{ entity.username }}` {{ operation}}d; email address set to `{{ entity.email }}`")
	wantStatus(t, r, 201)

	// Turn on RBAC (a restart with enforce_rbac = on).
	g.stop()
	g.env = append(g.env, "KONG_ENFORCE_RBAC=on")
	g.start()

	for _, c := range []struct{ name, header string }{
		{"no token", ""},
		{"wrong token", "Kong-Admin-Token: nope"},
		{"over-long token", "Kong-Admin-Token: " + strings.Repeat("x", 2000)},
	} {
		args := []string{"-s", "-i", "-X", "POST", "http://" + g.adminHost() + "/admins", "-d", "username=Mallory"}
		if c.header != "" {
			args = append(args, "-H", c.header)
		}
		r := g.cli("curl", args...)
		wantStatus(t, r, 401)
		wantFields(t, r.body, map[string]any{"message": "Invalid RBAC credentials"})
	}
	// A head larger than large_client_header_buffers (4 8k) is refused
	// before any check.
	r = g.cli("curl", "-s", "-i", "http://"+g.adminHost()+"/consumers", "-H", "Kong-Admin-Token: "+strings.Repeat("x", 40000))
	wantStatus(t, r, 400)
	// A token in the query string or the body is not a credential.
	wantStatus(t, g.do("GET", "/consumers?Kong-Admin-Token="+password, "", ""), 401)
	wantStatus(t, g.do("POST", "/consumers", "application/x-www-form-urlencoded", "username=x&Kong-Admin-Token="+password), 401)

	r = g.cli("curl", "-s", "-i", "-X", "POST", "http://"+g.adminHost()+"/admins",
		"-d", "username=Arya Stark", "-d", "email=arya@gameofthrones.com",
		"-H", "Kong-Admin-Token:"+password)
	wantStatus(t, r, 200)
	admin, _ := r.body["admin"].(map[string]any)
	wantFields(t, admin, map[string]any{"username": "Arya Stark", "email": "arya@gameofthrones.com",
		"status": 4, "rbac_token_enabled": true})
	if strings.Contains(string(r.raw), password) {
		t.Fatal("a response shows the password")
	}
	got := rcv.waitFor(t, "the Slack message", 1, func(req hookRequest) bool { return req.Path == "/slack" })
	if want := "Admin account `Arya Stark` created; email address set to `arya@gameofthrones.com`"; got[0].JSON()["text"] != want {
		t.Fatalf("Slack body %s, want text %q", got[0].Body, want)
	}

	// The same with HTTPie.
	r = g.cli("http", "--print=hb", "--ignore-stdin", "-f", ":"+itoa(g.adminPort)+"/admins",
		"username=Jon Snow", "email=jon@gameofthrones.com", "Kong-Admin-Token:"+password)
	wantStatus(t, r, 200)
	rcv.waitFor(t, "the second Slack message", 2, func(req hookRequest) bool { return req.Path == "/slack" })

	// The RBAC user's token is never shown.
	r = g.cli("curl", "-s", "-i", "http://"+g.adminHost()+"/rbac/users/kong_admin", "-H", "Kong-Admin-Token:"+password)
	wantStatus(t, r, 200)
	if _, ok := r.body["user_token"]; ok || strings.Contains(string(r.raw), "$2a$") {
		t.Fatalf("the RBAC user shows its token: %s", r.raw)
	}

	// No log holds the password, not even the one sent in a query string.
	g.stop()
	logs, _ := filepath.Glob(filepath.Join(g.prefix, "logs", "*"))
	if len(logs) == 0 {
		t.Fatal("no logs written")
	}
	for _, f := range logs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), password) {
			t.Errorf("%s holds the password", f)
		}
		if strings.HasSuffix(f, "admin_access.log") && !strings.Contains(string(b), "Kong-Admin-Token=******") {
			t.Errorf("%s does not show the masked query token", f)
		}
	}
}
