package e2e

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// managerGateway starts a node serving Portico Manager on a free port with
// Kong Manager's basic-auth login.
func managerGateway(t *testing.T, password string, extra ...string) (*gateway, string) {
	t.Helper()
	guiPort := freePort(t)
	g := startGateway(t, append([]string{"KONG_PASSWORD=" + password, "KONG_ENFORCE_RBAC=on", "KONG_ADMIN_GUI_AUTH=basic-auth",
		fmt.Sprintf("KONG_ADMIN_GUI_LISTEN=127.0.0.1:%d", guiPort),
		`KONG_ADMIN_GUI_SESSION_CONF={"secret":"e2e-secret","cookie_secure":false,"idling_timeout":600}`}, extra...)...)
	return g, fmt.Sprintf("http://127.0.0.1:%d/", guiPort)
}

// TestManagerAuth checks Kong Manager's /auth as a script would use it:
// a session cookie for good credentials, Kong's 401 for bad ones, the cookie
// standing for the admin's token only with Kong-Admin-User, and logout
// revoking it on the server.
func TestManagerAuth(t *testing.T) {
	g, ui := managerGateway(t, "kong-pass")
	auth := func(method, user, pass string, cookie *http.Cookie, origin string) *http.Response {
		req, _ := http.NewRequest(method, g.adminURL("/auth"), nil)
		if pass != "" {
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		}
		if user != "" {
			req.Header.Set("Kong-Admin-User", user)
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := auth("GET", "kong_admin", "wrong", nil, ""); r.StatusCode != 401 || len(r.Cookies()) != 0 {
		t.Fatalf("wrong password: %d, cookies %v", r.StatusCode, r.Cookies())
	}
	if r := auth("GET", "", "kong-pass", nil, ""); r.StatusCode != 401 {
		t.Fatalf("no Kong-Admin-User: %d", r.StatusCode)
	}
	origin := strings.TrimSuffix(ui, "/")
	r := auth("GET", "kong_admin", "kong-pass", nil, origin)
	if r.StatusCode != 200 || len(r.Cookies()) != 1 {
		t.Fatalf("login: %d, cookies %v", r.StatusCode, r.Cookies())
	}
	if r.Header.Get("Access-Control-Allow-Origin") != origin || r.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("CORS for the UI: %v", r.Header)
	}
	c := r.Cookies()[0]
	if c.Name != "session" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure {
		t.Errorf("cookie %+v", c)
	}
	get := func(user, origin string) int {
		req, _ := http.NewRequest("GET", g.adminURL("/consumers"), nil)
		req.AddCookie(c)
		if user != "" {
			req.Header.Set("Kong-Admin-User", user)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get("kong_admin", ""); s != 200 {
		t.Errorf("with the session: %d", s)
	}
	if s := get("", ""); s != 401 {
		t.Errorf("cookie without Kong-Admin-User: %d", s)
	}
	if s := get("kong_admin", "http://evil.test"); s != 401 {
		t.Errorf("cookie from another origin: %d", s)
	}
	// Sessions are kept in the store: the cookie still works after a
	// restart.
	g.stop()
	g.start()
	if s := get("kong_admin", ""); s != 200 {
		t.Errorf("with the session after a restart: %d", s)
	}
	if r := auth("DELETE", "kong_admin", "", c, ""); r.StatusCode != 200 {
		t.Errorf("logout: %d", r.StatusCode)
	}
	if s := get("kong_admin", ""); s != 401 {
		t.Errorf("after logout: %d", s)
	}
	g.stop()
	g.start()
	if s := get("kong_admin", ""); s != 401 {
		t.Errorf("after logout and a restart: %d", s)
	}
	// The secret never shows: not in the Admin API's configuration, nor in
	// the log.
	root := g.do("GET", "/", "", "")
	if root.status != 401 {
		t.Errorf("GET / without credentials: %d", root.status)
	}
	logs, _ := os.ReadFile(filepath.Join(g.prefix, "logs", "error.log"))
	if strings.Contains(string(logs), "e2e-secret") || strings.Contains(string(logs), "kong-pass") {
		t.Error("a secret is in the error log")
	}
}

// TestManagerAuthStoredSecret: with no secret in admin_gui_session_conf,
// the cookie's signing key is made once and kept in the store, so a
// session still survives a restart.
func TestManagerAuthStoredSecret(t *testing.T) {
	g, _ := managerGateway(t, "kong-pass", `KONG_ADMIN_GUI_SESSION_CONF={"cookie_secure":false}`)
	req, _ := http.NewRequest("GET", g.adminURL("/auth"), nil)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("kong_admin:kong-pass")))
	req.Header.Set("Kong-Admin-User", "kong_admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(resp.Cookies()) != 1 {
		t.Fatalf("login: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	c := resp.Cookies()[0]
	g.stop()
	g.start()
	req, _ = http.NewRequest("GET", g.adminURL("/consumers"), nil)
	req.AddCookie(c)
	req.Header.Set("Kong-Admin-User", "kong_admin")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with the session after a restart: %d", resp.StatusCode)
	}
}

// TestManagerWithoutRBAC: without enforce_rbac the UI opens directly.
func TestManagerWithoutRBAC(t *testing.T) {
	guiPort := freePort(t)
	g := startGateway(t, fmt.Sprintf("KONG_ADMIN_GUI_LISTEN=127.0.0.1:%d", guiPort), "KONG_ADMIN_GUI_PATH=/manager")
	base := fmt.Sprintf("http://127.0.0.1:%d", guiPort)
	for path, want := range map[string]string{
		"/manager/":              "<title>Portico Manager</title>",
		"/manager/kconfig.js":    fmt.Sprintf(`"ADMIN_API_URL":"http://127.0.0.1:%d"`, g.adminPort),
		"/manager/assets/app.js": "import",
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d %q lacks %q", path, resp.StatusCode, body, want)
		}
		if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s: CSP %q", path, resp.Header.Get("Content-Security-Policy"))
		}
	}
	if strings.Contains(string(mustGet(t, base+"/manager/kconfig.js")), `"LOGIN":true`) {
		t.Error("login asked without RBAC")
	}
	if resp, err := http.Get(base + "/other"); err != nil || resp.StatusCode != 404 {
		t.Errorf("outside admin_gui_path: %v %v", resp, err)
	}
}

func mustGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// TestManagerBrowser runs manager/tests/manager.test.mjs (Playwright and
// axe-core on the system's Chromium) against a node: in CI a missing node,
// Chromium or npm ci fails the test, elsewhere it is skipped.
func TestManagerBrowser(t *testing.T) {
	nodeBin := requireTool(t, "node")
	chromium := requireTool(t, "chromium")
	dir, _ := filepath.Abs("../manager/tests")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("run npm ci in manager/tests: %v", err)
		}
		t.Skip("manager/tests has no node_modules: run npm ci there")
	}
	// Two attempts a second apart, so that a failing receiver's delivery is
	// failed soon (for Retry and Redrive).
	g, ui := managerGateway(t, "kong-pass", "KONG_EVENT_HOOKS_MAX_ATTEMPTS=2", "KONG_EVENT_HOOKS_RETRY_SCHEDULE=0s, 1s")
	artifacts, err := os.MkdirTemp("", "portico-manager-screenshots-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", artifacts)
	cmd := exec.Command(nodeBin, "manager.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MANAGER_URL="+ui, "ADMIN_URL="+strings.TrimSuffix(g.adminURL(""), "/"),
		fmt.Sprintf("PROXY_URL=http://127.0.0.1:%d", g.proxyPort), "ADMIN_PASSWORD=kong-pass", "ARTIFACTS="+artifacts, "CHROMIUM="+chromium)
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("the browser test did not finish in 3 minutes:\n%s", out)
	}
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("browser test failed: %v (screenshots in %s)", err, artifacts)
	}
}
