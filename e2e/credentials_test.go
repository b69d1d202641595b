package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// echoUpstream answers with the request headers it got, as JSON.
func echoUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := map[string]string{"_query": r.URL.RawQuery}
		for k := range r.Header {
			h[strings.ToLower(k)] = r.Header.Get(k)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(h)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// curlDo runs curl -si with args and fails on a status other than want.
func (g *gateway) curlDo(t *testing.T, want int, args ...string) response {
	t.Helper()
	r := g.withT(t).cli("curl", append([]string{"-si"}, args...)...)
	wantStatus(t, r, want)
	return r
}

// Consumers get credentials through the Admin API as Kong's documentation
// shows; key-auth, basic-auth and acl then let them through the proxy, or
// answer Kong's 401 and 403.
func TestCredentialsWithCurl(t *testing.T) {
	upstream := echoUpstream(t)
	g := startGateway(t)
	rcv := newHookReceiver(t)
	admin := g.adminURL

	// An event hook on key-auth credentials.
	g.curlDo(t, 201, "-X", "POST", admin("/event-hooks"), "-d", "source=crud", "-d", "event=keyauth_credentials",
		"-d", "handler=webhook", "-d", "config.url="+rcv.URL+"/hook")

	g.curlCreate("/consumers", "username=bob", "custom_id=b-1")
	g.curlCreate("/consumers", "username=alice")
	g.curlCreate("/consumers", "username=anon")
	key := g.curlDo(t, 201, "-X", "POST", admin("/consumers/bob/key-auth"), "-d", "key=bob-secret-key")
	if key.body["key"] != "bob-secret-key" || key.body["ttl"] != nil {
		t.Fatalf("key-auth credential %s", key.raw)
	}
	generated := g.curlDo(t, 201, "-X", "POST", admin("/consumers/alice/key-auth"))
	aliceKey, _ := generated.body["key"].(string)
	if len(aliceKey) != 32 {
		t.Fatalf("generated key %q", aliceKey)
	}
	basic := g.curlDo(t, 201, "-X", "POST", admin("/consumers/bob/basic-auth"), "-d", "username=bob", "-d", "password=kong")
	if basic.body["password"] == "kong" || len(basic.body["password"].(string)) != 40 {
		t.Fatalf("basic-auth credential %s", basic.raw)
	}
	g.curlDo(t, 201, "-X", "POST", admin("/consumers/bob/acls"), "-d", "group=admins")

	g.curlCreate("/services", "name=svc", "url="+upstream.URL)
	g.curlCreate("/services/svc/routes", "name=key", "paths[]=/key")
	g.curlCreate("/services/svc/routes", "name=basic", "paths[]=/basic")
	g.curlCreate("/services/svc/routes", "name=either", "paths[]=/either")
	g.curlCreate("/routes/key/plugins", "name=key-auth", "config.key_names[]=apikey", "config.realm=portico")
	g.curlCreate("/routes/key/plugins", "name=acl", "config.allow[]=admins")
	g.curlCreate("/routes/basic/plugins", "name=basic-auth", "config.hide_credentials=true")
	g.curlCreate("/routes/either/plugins", "name=key-auth", "config.anonymous=anon")
	g.curlCreate("/routes/either/plugins", "name=basic-auth", "config.anonymous=anon")
	g.waitProxy("/either", "", 200)

	t.Run("key-auth", func(t *testing.T) {
		r := g.curlDo(t, 401, g.proxyURL("/key"))
		wantFields(t, r.body, map[string]any{"message": "No API key found in request"})
		if got := r.header.Get("WWW-Authenticate"); got != `Key realm="portico"` {
			t.Errorf("WWW-Authenticate %q", got)
		}
		r = g.curlDo(t, 401, g.proxyURL("/key?apikey=wrong"))
		wantFields(t, r.body, map[string]any{"message": "Unauthorized"})

		r = g.curlDo(t, 200, g.proxyURL("/key"), "-H", "apikey: bob-secret-key")
		wantFields(t, r.body, map[string]any{"x-consumer-username": "bob", "x-consumer-custom-id": "b-1",
			"x-consumer-id": key.body["consumer"].(map[string]any)["id"], "x-credential-identifier": key.body["id"],
			"x-consumer-groups": "admins", "apikey": "bob-secret-key"})
		r = g.curlDo(t, 200, g.proxyURL("/key?apikey=bob-secret-key&x=1"))
		wantFields(t, r.body, map[string]any{"x-consumer-username": "bob", "_query": "apikey=bob-secret-key&x=1"})
	})

	t.Run("acl", func(t *testing.T) {
		r := g.curlDo(t, 403, g.proxyURL("/key"), "-H", "apikey: "+aliceKey)
		wantFields(t, r.body, map[string]any{"message": "You cannot consume this service"})
	})

	t.Run("basic-auth", func(t *testing.T) {
		r := g.curlDo(t, 401, g.proxyURL("/basic"))
		wantFields(t, r.body, map[string]any{"message": "Unauthorized"})
		if got := r.header.Get("WWW-Authenticate"); got != `Basic realm="service"` {
			t.Errorf("WWW-Authenticate %q", got)
		}
		g.curlDo(t, 401, "-u", "bob:nope", g.proxyURL("/basic"))
		r = g.curlDo(t, 200, "-u", "bob:kong", g.proxyURL("/basic"))
		wantFields(t, r.body, map[string]any{"x-consumer-username": "bob", "x-credential-identifier": "bob"})
		if _, seen := r.body["authorization"]; seen {
			t.Errorf("hide_credentials: the upstream saw Authorization")
		}
	})

	t.Run("anonymous and the logical OR", func(t *testing.T) {
		r := g.curlDo(t, 200, g.proxyURL("/either"))
		wantFields(t, r.body, map[string]any{"x-consumer-username": "anon", "x-anonymous-consumer": "true"})
		r = g.curlDo(t, 200, "-u", "bob:kong", g.proxyURL("/either"))
		wantFields(t, r.body, map[string]any{"x-consumer-username": "bob"})
		if _, anon := r.body["x-anonymous-consumer"]; anon {
			t.Error("an authenticated request is marked anonymous")
		}
	})

	t.Run("Admin API", func(t *testing.T) {
		r := g.curlDo(t, 409, "-X", "POST", admin("/consumers/alice/key-auth"), "-d", "key=bob-secret-key")
		wantFields(t, r.body, map[string]any{"code": 5.0, "name": "unique constraint violation"})
		g.curlDo(t, 404, "-X", "POST", admin("/consumers/nobody/key-auth"))
		r = g.curlDo(t, 400, "-X", "POST", admin("/key-auths"), "-d", "key=x")
		wantFields(t, r.body, map[string]any{"message": "schema violation (consumer: required field missing)"})
		r = g.curlDo(t, 200, admin("/key-auths/bob-secret-key/consumer"))
		wantFields(t, r.body, map[string]any{"username": "bob"})
		r = g.curlDo(t, 200, admin("/key-auths?size=1"))
		if data := r.body["data"].([]any); len(data) != 1 || r.body["next"] == nil {
			t.Errorf("page %s", r.raw)
		}
		r = g.curlDo(t, 200, admin("/consumers/bob/acls/admins"))
		wantFields(t, r.body, map[string]any{"group": "admins"})
		g.curlDo(t, 404, admin("/consumers/alice/acls/admins"))
		r = g.curlDo(t, 200, "-X", "PUT", admin("/consumers/alice/basic-auth/alice"), "-d", "password=s3cret")
		wantFields(t, r.body, map[string]any{"username": "alice"})
		r = g.curlDo(t, 200, admin("/basic-auths/alice/consumer"))
		wantFields(t, r.body, map[string]any{"username": "alice"})
		g.curlDo(t, 200, admin("/schemas/keyauth_credentials"))
	})

	t.Run("a key with a ttl expires", func(t *testing.T) {
		r := g.curlDo(t, 201, "-X", "POST", admin("/consumers/bob/key-auth"), "-d", "key=short-lived", "-d", "ttl=1")
		if ttl, _ := r.body["ttl"].(float64); ttl < 0 || ttl > 1 {
			t.Fatalf("ttl %v", r.body["ttl"])
		}
		g.curlDo(t, 200, g.proxyURL("/key"), "-H", "apikey: short-lived")
		if !pollFor(5*time.Second, func() bool {
			return g.withT(t).cli("curl", "-si", g.proxyURL("/key"), "-H", "apikey: short-lived").status == 401
		}) {
			t.Fatal("the key still works 5 s after its ttl of 1 s")
		}
		g.curlDo(t, 404, admin("/consumers/bob/key-auth/short-lived"))
	})

	t.Run("a revoked key stops working within 1 s", func(t *testing.T) {
		g.curlDo(t, 204, "-X", "DELETE", admin("/consumers/bob/key-auth/bob-secret-key"))
		revoked := time.Now()
		for {
			resp, err := http.Get(g.proxyURL("/key?apikey=bob-secret-key"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == 401 {
				break
			}
			if time.Since(revoked) > time.Second {
				t.Fatalf("the revoked key still answers %d after 1 s", resp.StatusCode)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})

	t.Run("the event hook fired", func(t *testing.T) {
		isKeyEvent := func(op string) func(hookRequest) bool {
			return func(r hookRequest) bool {
				m := r.JSON()
				e, _ := m["entity"].(map[string]any)
				return m != nil && m["source"] == "crud" && m["event"] == "keyauth_credentials" &&
					m["operation"] == op && e != nil && e["id"] == key.body["id"]
			}
		}
		rcv.waitFor(t, "the key's create event", 1, isKeyEvent("create"))
		rcv.waitFor(t, "the key's delete event", 1, isKeyEvent("delete"))
	})

	t.Run("credentials go with their consumer", func(t *testing.T) {
		g.curlDo(t, 204, "-X", "DELETE", admin("/consumers/alice"))
		g.curlDo(t, 404, admin("/key-auths/"+aliceKey))
		g.curlDo(t, 404, admin("/basic-auths/alice"))
	})
}
