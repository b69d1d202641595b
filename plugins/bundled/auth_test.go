package bundled

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema/entities"
)

// fakeData is plugins.Data over rows held in memory, keyed as the store's
// indexes are: (entity, field, value) for lookups, (entity, field, value)
// for finds. The workspace is checked against each row's ws_id.
type fakeData struct {
	rows  []fakeRow
	fails bool
}

type fakeRow struct {
	entity string
	row    map[string]any
}

func (d *fakeData) add(entity string, row map[string]any) map[string]any {
	row["ws_id"] = testWS
	d.rows = append(d.rows, fakeRow{entity, row})
	return row
}

func (d *fakeData) Lookup(entity, field, value, ws string) (map[string]any, error) {
	if d.fails {
		return nil, errors.New("store down")
	}
	for _, r := range d.rows {
		if r.entity == entity && r.row[field] == value && r.row["ws_id"] == ws {
			return r.row, nil
		}
	}
	return nil, nil
}

func (d *fakeData) Find(entity, field, value string) ([]map[string]any, error) {
	if d.fails {
		return nil, errors.New("store down")
	}
	var out []map[string]any
	for _, r := range d.rows {
		ref, _ := r.row[field].(map[string]any)
		if r.entity == entity && ref["id"] == value {
			out = append(out, r.row)
		}
	}
	return out, nil
}

const (
	testWS      = "11111111-0000-4000-8000-000000000000"
	bobID       = "22222222-0000-4000-8000-000000000001"
	anonID      = "22222222-0000-4000-8000-000000000002"
	aliceID     = "22222222-0000-4000-8000-000000000003"
	bobKeyID    = "33333333-0000-4000-8000-000000000001"
	bobBasicID  = "33333333-0000-4000-8000-000000000002"
	aliceKeyID  = "33333333-0000-4000-8000-000000000003"
	bobPassword = "kong"
)

// authData is bob (key "bob-key", basic-auth bob:kong, groups admin and
// dev), alice (key "alice-key", no groups) and an anonymous consumer.
func authData() *fakeData {
	d := &fakeData{}
	d.add("consumers", map[string]any{"id": bobID, "username": "bob", "custom_id": "b-1"})
	d.add("consumers", map[string]any{"id": aliceID, "username": "alice"})
	d.add("consumers", map[string]any{"id": anonID, "username": "anon"})
	d.add("keyauth_credentials", map[string]any{"id": bobKeyID, "key": "bob-key", "consumer": map[string]any{"id": bobID}})
	d.add("keyauth_credentials", map[string]any{"id": aliceKeyID, "key": "alice-key", "consumer": map[string]any{"id": aliceID}})
	d.add("basicauth_credentials", map[string]any{"id": bobBasicID, "username": "bob", "consumer": map[string]any{"id": bobID},
		"password": entities.HashBasicAuthPassword(bobID, bobPassword)})
	d.add("acls", map[string]any{"id": "a1", "group": "admin", "consumer": map[string]any{"id": bobID}})
	d.add("acls", map[string]any{"id": "a2", "group": "dev", "consumer": map[string]any{"id": bobID}})
	return d
}

// authContext is a request in testWS through a plugin context with data.
func authContext(method, uri string, headers map[string]string, body string, data plugins.Data) *plugins.Context {
	c := newContext(uri, headers, body)
	c.Request.Header.SetMethod(method)
	c.Data = data
	c.Route.Row = map[string]any{"id": "r1", "ws_id": testWS}
	return c
}

// outcome is what a test sees of a request after the access phase.
type outcome struct {
	status    int    // 0: the request goes on
	message   string // in the error body
	challenge string // WWW-Authenticate
	headers   map[string]string
}

func checkOutcome(t *testing.T, c *plugins.Context, err error, want outcome) {
	t.Helper()
	if err != nil {
		if want.status != 500 {
			t.Fatalf("failed: %v", err)
		}
		return
	}
	if want.status == 500 {
		t.Fatal("did not fail")
	}
	if want.status == 0 {
		if c.Exited() {
			t.Fatalf("exited %d %s", c.Response.StatusCode(), c.Response.Body())
		}
	} else {
		if !c.Exited() || c.Response.StatusCode() != want.status {
			t.Fatalf("exited %v with %d, want %d", c.Exited(), c.Response.StatusCode(), want.status)
		}
		if body := string(c.Response.Body()); !strings.Contains(body, `"message":"`+want.message+`"`) {
			t.Fatalf("body %s, want message %q", body, want.message)
		}
		if got := string(c.Response.Header.Peek("WWW-Authenticate")); got != want.challenge {
			t.Fatalf("WWW-Authenticate %q, want %q", got, want.challenge)
		}
	}
	for name, v := range want.headers {
		got := c.Request.Header.Peek(name)
		if v == "<none>" {
			if got != nil {
				t.Errorf("upstream header %s = %q, want none", name, got)
			}
			continue
		}
		if string(got) != v {
			t.Errorf("upstream header %s = %q, want %q", name, got, v)
		}
	}
}

// bobHeaders are the upstream headers of a request bob authenticated.
func bobHeaders(credential string, extra ...string) map[string]string {
	h := map[string]string{"X-Consumer-ID": bobID, "X-Consumer-Username": "bob", "X-Consumer-Custom-ID": "b-1",
		"X-Credential-Identifier": credential, "X-Anonymous-Consumer": "<none>"}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

var anonHeaders = map[string]string{"X-Consumer-ID": anonID, "X-Consumer-Username": "anon", "X-Credential-Identifier": "<none>",
	"X-Anonymous-Consumer": "true", "X-Consumer-Custom-ID": "<none>"}

func TestKeyAuth(t *testing.T) {
	for _, tc := range []struct {
		name    string
		conf    map[string]any
		method  string
		uri     string
		headers map[string]string
		body    string
		// prior authenticates alice before the plugin runs.
		prior bool
		fail  bool
		want  outcome
		// upstream checks what goes upstream after hide_credentials.
		uri2, body2 string
	}{
		{name: "a key in a header", headers: map[string]string{"apikey": "bob-key"}, want: outcome{headers: bobHeaders(bobKeyID)}},
		{name: "a key in the query", uri: "/?apikey=bob-key", want: outcome{headers: bobHeaders(bobKeyID)}},
		{name: "no key", want: outcome{status: 401, message: msgNoAPIKey, challenge: "Key"}},
		{name: "an empty key", uri: "/?apikey=", want: outcome{status: 401, message: msgNoAPIKey, challenge: "Key"}},
		{name: "an unknown key", headers: map[string]string{"apikey": "nope"}, want: outcome{status: 401, message: msgUnauthorized, challenge: "Key"}},
		{name: "a realm", conf: map[string]any{"realm": "kong"}, want: outcome{status: 401, message: msgNoAPIKey, challenge: `Key realm="kong"`}},
		{name: "a key twice in the query", uri: "/?apikey=bob-key&apikey=x", want: outcome{status: 401, message: msgDuplicateAPIKey, challenge: "Key"}},
		{name: "other key names", conf: map[string]any{"key_names": []any{"x-key", "api_key"}}, headers: map[string]string{"api-key": "bob-key"},
			want: outcome{headers: bobHeaders(bobKeyID)}},
		{name: "headers not read", conf: map[string]any{"key_in_header": false}, headers: map[string]string{"apikey": "bob-key"},
			want: outcome{status: 401, message: msgNoAPIKey, challenge: "Key"}},
		{name: "the query not read", conf: map[string]any{"key_in_query": false}, uri: "/?apikey=bob-key",
			want: outcome{status: 401, message: msgNoAPIKey, challenge: "Key"}},
		{name: "the body not read by default", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "apikey=bob-key",
			want: outcome{status: 401, message: msgNoAPIKey, challenge: "Key"}},
		{name: "a key in a form body", conf: map[string]any{"key_in_body": true}, method: "POST",
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "apikey=bob-key&x=1",
			want: outcome{headers: bobHeaders(bobKeyID)}},
		{name: "a key in a JSON body", conf: map[string]any{"key_in_body": true}, method: "POST",
			headers: map[string]string{"Content-Type": "application/json"}, body: `{"apikey":"bob-key"}`,
			want: outcome{headers: bobHeaders(bobKeyID)}},
		{name: "keys in a JSON array", conf: map[string]any{"key_in_body": true}, method: "POST",
			headers: map[string]string{"Content-Type": "application/json"}, body: `{"apikey":["a","b"]}`,
			want: outcome{status: 401, message: msgDuplicateAPIKey, challenge: "Key"}},
		{name: "hidden from the query", conf: map[string]any{"hide_credentials": true}, uri: "/p?a=1&apikey=bob-key&b=2",
			want: outcome{headers: bobHeaders(bobKeyID)}, uri2: "/p?a=1&b=2"},
		{name: "hidden from the headers", conf: map[string]any{"hide_credentials": true}, headers: map[string]string{"apikey": "bob-key"},
			want: outcome{headers: bobHeaders(bobKeyID, "apikey", "<none>")}},
		{name: "hidden from a form body", conf: map[string]any{"hide_credentials": true, "key_in_body": true}, method: "POST",
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "apikey=bob-key&x=1",
			want: outcome{headers: bobHeaders(bobKeyID)}, body2: "x=1"},
		{name: "hidden from a JSON body", conf: map[string]any{"hide_credentials": true, "key_in_body": true}, method: "POST",
			headers: map[string]string{"Content-Type": "application/json"}, body: `{"apikey":"bob-key","x":1}`,
			want: outcome{headers: bobHeaders(bobKeyID)}, body2: `{"x":1}`},
		{name: "kept by default", headers: map[string]string{"apikey": "bob-key"}, want: outcome{headers: bobHeaders(bobKeyID, "apikey", "bob-key")}},
		{name: "a preflight skipped", conf: map[string]any{"run_on_preflight": false}, method: "OPTIONS", want: outcome{}},
		{name: "a preflight authenticated", method: "OPTIONS", want: outcome{status: 401, message: msgNoAPIKey, challenge: "Key"}},
		{name: "anonymous by id", conf: map[string]any{"anonymous": anonID}, want: outcome{headers: anonHeaders}},
		{name: "anonymous by username", conf: map[string]any{"anonymous": "anon"}, headers: map[string]string{"apikey": "nope"},
			want: outcome{headers: anonHeaders}},
		{name: "an anonymous consumer that does not exist", conf: map[string]any{"anonymous": "ghost"}, want: outcome{status: 500}},
		{name: "anonymous and a key", conf: map[string]any{"anonymous": "anon"}, headers: map[string]string{"apikey": "bob-key"},
			want: outcome{headers: bobHeaders(bobKeyID)}},
		{name: "already authenticated, with anonymous", conf: map[string]any{"anonymous": "anon"}, prior: true,
			want: outcome{headers: map[string]string{"X-Consumer-ID": aliceID}}},
		{name: "already authenticated, without anonymous", prior: true, want: outcome{status: 401, message: msgNoAPIKey, challenge: "Key"}},
		{name: "the store failing", headers: map[string]string{"apikey": "bob-key"}, fail: true, want: outcome{status: 500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := map[string]any{"key_names": []any{"apikey"}, "hide_credentials": false, "key_in_header": true, "key_in_query": true,
				"key_in_body": false, "run_on_preflight": true}
			for k, v := range tc.conf {
				conf[k] = v
			}
			h, err := newKeyAuth(conf)
			if err != nil {
				t.Fatal(err)
			}
			data := authData()
			data.fails = tc.fail
			method, uri := tc.method, tc.uri
			if method == "" {
				method = "GET"
			}
			if uri == "" {
				uri = "/"
			}
			c := authContext(method, uri, tc.headers, tc.body, data)
			if tc.prior {
				alice, _ := data.Lookup("consumers", "id", aliceID, testWS)
				cred, _ := data.Lookup("keyauth_credentials", "id", aliceKeyID, testWS)
				c.Authenticate(alice, cred)
			}
			err = h.(plugins.Accessor).Access(c)
			checkOutcome(t, c, err, tc.want)
			if tc.uri2 != "" {
				if got := string(c.Request.Header.RequestURI()); !strings.HasSuffix(got, tc.uri2) {
					t.Errorf("upstream request target %q, want %q", got, tc.uri2)
				}
			}
			if tc.body2 != "" {
				if got := string(c.Request.Body()); got != tc.body2 {
					t.Errorf("upstream body %q, want %q", got, tc.body2)
				}
			}
		})
	}
}

func basicHeader(userPass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
}

func TestBasicAuth(t *testing.T) {
	const challenge = `Basic realm="service"`
	unauth := outcome{status: 401, message: msgUnauthorized, challenge: challenge}
	for _, tc := range []struct {
		name    string
		conf    map[string]any
		headers map[string]string
		prior   bool
		fail    bool
		want    outcome
	}{
		{name: "Authorization", headers: map[string]string{"Authorization": basicHeader("bob:kong")},
			want: outcome{headers: bobHeaders("bob", "Authorization", basicHeader("bob:kong"))}},
		{name: "Proxy-Authorization", headers: map[string]string{"Proxy-Authorization": basicHeader("bob:kong")}, want: outcome{headers: bobHeaders("bob")}},
		{name: "a bad Proxy-Authorization, a good Authorization",
			headers: map[string]string{"Proxy-Authorization": basicHeader("bob:nope"), "Authorization": basicHeader("bob:kong")},
			want:    unauth},
		{name: "an unknown Proxy-Authorization user, a good Authorization",
			headers: map[string]string{"Proxy-Authorization": basicHeader("eve:x"), "Authorization": basicHeader("bob:kong")},
			want:    outcome{headers: bobHeaders("bob")}},
		{name: "no header", want: unauth},
		{name: "a wrong password", headers: map[string]string{"Authorization": basicHeader("bob:kong2")}, want: unauth},
		{name: "an unknown user", headers: map[string]string{"Authorization": basicHeader("eve:kong")}, want: unauth},
		{name: "not base64", headers: map[string]string{"Authorization": "Basic !!!"}, want: unauth},
		{name: "no colon", headers: map[string]string{"Authorization": basicHeader("bob")}, want: unauth},
		{name: "another scheme", headers: map[string]string{"Authorization": "Bearer abc"}, want: unauth},
		{name: "lower-case scheme", headers: map[string]string{"Authorization": "basic " + base64.StdEncoding.EncodeToString([]byte("bob:kong"))},
			want: outcome{headers: bobHeaders("bob")}},
		{name: "a realm", conf: map[string]any{"realm": "kong"}, want: outcome{status: 401, message: msgUnauthorized, challenge: `Basic realm="kong"`}},
		{name: "hidden", conf: map[string]any{"hide_credentials": true}, headers: map[string]string{"Authorization": basicHeader("bob:kong")},
			want: outcome{headers: bobHeaders("bob", "Authorization", "<none>")}},
		{name: "hidden, both", conf: map[string]any{"hide_credentials": true},
			headers: map[string]string{"Proxy-Authorization": basicHeader("eve:x"), "Authorization": basicHeader("bob:kong")},
			want:    outcome{headers: bobHeaders("bob", "Authorization", "<none>", "Proxy-Authorization", "<none>")}},
		{name: "anonymous", conf: map[string]any{"anonymous": "anon"}, want: outcome{headers: anonHeaders}},
		{name: "anonymous after a wrong password", conf: map[string]any{"anonymous": anonID},
			headers: map[string]string{"Authorization": basicHeader("bob:x")}, want: outcome{headers: anonHeaders}},
		{name: "an anonymous consumer that does not exist", conf: map[string]any{"anonymous": "ghost"}, want: outcome{status: 500}},
		{name: "already authenticated, with anonymous", conf: map[string]any{"anonymous": "anon"}, prior: true,
			want: outcome{headers: map[string]string{"X-Consumer-ID": aliceID}}},
		{name: "the store failing", headers: map[string]string{"Authorization": basicHeader("bob:kong")}, fail: true, want: outcome{status: 500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := map[string]any{"hide_credentials": false, "realm": "service"}
			for k, v := range tc.conf {
				conf[k] = v
			}
			h, _ := newBasicAuth(conf)
			data := authData()
			data.fails = tc.fail
			c := authContext("GET", "/", tc.headers, "", data)
			if tc.prior {
				alice, _ := data.Lookup("consumers", "id", aliceID, testWS)
				cred, _ := data.Lookup("keyauth_credentials", "id", aliceKeyID, testWS)
				c.Authenticate(alice, cred)
			}
			checkOutcome(t, c, h.(plugins.Accessor).Access(c), tc.want)
		})
	}
}

func TestParseBasicAuthorization(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name, header string
		user, pass   string
		ok           bool
	}{
		{"plain", "Basic " + b64("bob:kong"), "bob", "kong", true},
		{"empty password", "Basic " + b64("bob:"), "bob", "", true},
		{"colons in the password", "Basic " + b64("bob:a:b"), "bob", "a:b", true},
		{"leading colons", "Basic " + b64("::bob:x"), "bob", "x", true},
		{"no username", "Basic " + b64(":kong"), "", "", false},
		{"no colon", "Basic " + b64("bob"), "", "", false},
		{"unpadded", "Basic " + strings.TrimRight(b64("bob:kongs"), "="), "bob", "kongs", true},
		{"no space", "Basic" + b64("bob:kong"), "bob", "kong", true},
		{"text before", "xBasic " + b64("bob:kong"), "bob", "kong", true},
		{"spaces only", "Basic   ", "", "", false},
		{"nothing after", "Basic", "", "", false},
		{"a stray byte", "Basic Ym9iOmtvbmc!", "", "", false},
		{"ends at padding, as nginx", "Basic " + b64("bob:k") + "zz!", "bob", "k", true},
		{"a length nginx refuses", "Basic Ym9iOmtvbmcx1", "", "", false},
		{"a newline in the password", "Basic " + b64("bob:ko\nng"), "bob", "ko", true},
		{"BASIC is not Basic", "BASIC " + b64("bob:kong"), "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, user, pass, ok := parseBasicAuthorization(nil, []byte(tc.header))
			if ok != tc.ok || string(user) != tc.user || string(pass) != tc.pass {
				t.Fatalf("got %q %q %v, want %q %q %v", user, pass, ok, tc.user, tc.pass, tc.ok)
			}
		})
	}
}

// FuzzParseBasicAuthorization: any header parses without a panic, and a
// parsed credential is what the header encodes.
func FuzzParseBasicAuthorization(f *testing.F) {
	for _, s := range []string{"Basic Ym9iOmtvbmc=", "basic Ym9iOg", "Basic", "Basic ==", "xx basic Og==", "Basic Ym9iOmtvbmc=\n", "Basic Ym9i\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, header []byte) {
		_, user, pass, ok := parseBasicAuthorization(make([]byte, 0, 4), header)
		if !ok {
			return
		}
		if len(user) == 0 || strings.Contains(string(user), ":") || strings.Contains(string(pass), "\n") {
			t.Fatalf("parsed %q %q from %q", user, pass, header)
		}
	})
}

func TestACL(t *testing.T) {
	for _, tc := range []struct {
		name     string
		conf     map[string]any
		consumer string // authenticated with a credential: "bob", "alice"; "anon": anonymous
		shared   any    // kong.ctx.shared.authenticated_groups
		fail     bool
		want     outcome
	}{
		{name: "allowed", conf: map[string]any{"allow": []any{"admin"}}, consumer: "bob",
			want: outcome{headers: map[string]string{"X-Consumer-Groups": "admin, dev"}}},
		{name: "not allowed", conf: map[string]any{"allow": []any{"ops"}}, consumer: "bob", want: outcome{status: 403, message: msgCannotConsume}},
		{name: "denied", conf: map[string]any{"deny": []any{"dev"}}, consumer: "bob", want: outcome{status: 403, message: msgCannotConsume}},
		{name: "not denied", conf: map[string]any{"deny": []any{"ops"}}, consumer: "bob",
			want: outcome{headers: map[string]string{"X-Consumer-Groups": "admin, dev"}}},
		{name: "groups header hidden", conf: map[string]any{"allow": []any{"admin"}, "hide_groups_header": true}, consumer: "bob",
			want: outcome{headers: map[string]string{"X-Consumer-Groups": "<none>"}}},
		{name: "no consumer", conf: map[string]any{"allow": []any{"admin"}}, want: outcome{status: 401, message: "Unauthorized"}},
		{name: "a consumer without groups, allow", conf: map[string]any{"allow": []any{"admin"}}, consumer: "alice",
			want: outcome{status: 403, message: msgCannotConsume}},
		{name: "a consumer without groups, deny", conf: map[string]any{"deny": []any{"admin"}}, consumer: "alice",
			want: outcome{headers: map[string]string{"X-Consumer-Groups": "<none>"}}},
		{name: "anonymous without groups", conf: map[string]any{"allow": []any{"admin"}}, consumer: "anon",
			want: outcome{status: 401, message: "Unauthorized"}},
		{name: "authenticated groups", conf: map[string]any{"allow": []any{"ldap"}}, shared: []string{"ldap", "x"},
			want: outcome{headers: map[string]string{"X-Authenticated-Groups": "ldap, x"}}},
		{name: "authenticated groups refused", conf: map[string]any{"allow": []any{"admin"}}, shared: []any{"ldap"},
			want: outcome{status: 403, message: msgCannotConsume}},
		{name: "authenticated groups for an anonymous consumer", conf: map[string]any{"allow": []any{"ldap"}}, consumer: "anon", shared: []string{"ldap"},
			want: outcome{headers: map[string]string{"X-Authenticated-Groups": "ldap"}}},
		{name: "a consumer's groups before authenticated ones", conf: map[string]any{"allow": []any{"admin"}}, consumer: "bob", shared: []string{"ldap"},
			want: outcome{headers: map[string]string{"X-Consumer-Groups": "admin, dev"}}},
		{name: "always_use_authenticated_groups", conf: map[string]any{"allow": []any{"admin"}, "always_use_authenticated_groups": true},
			consumer: "bob", shared: []string{"ldap"}, want: outcome{status: 403, message: msgCannotConsume}},
		{name: "the store failing", conf: map[string]any{"allow": []any{"admin"}}, consumer: "bob", fail: true, want: outcome{status: 500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := map[string]any{"hide_groups_header": false, "always_use_authenticated_groups": false}
			for k, v := range tc.conf {
				conf[k] = v
			}
			h, _ := newACL(conf)
			data := authData()
			c := authContext("GET", "/", nil, "", data)
			switch tc.consumer {
			case "bob":
				bob, _ := data.Lookup("consumers", "id", bobID, testWS)
				cred, _ := data.Lookup("keyauth_credentials", "id", bobKeyID, testWS)
				c.Authenticate(bob, cred)
			case "alice":
				alice, _ := data.Lookup("consumers", "id", aliceID, testWS)
				cred, _ := data.Lookup("keyauth_credentials", "id", aliceKeyID, testWS)
				c.Authenticate(alice, cred)
			case "anon":
				anon, _ := data.Lookup("consumers", "id", anonID, testWS)
				c.Authenticate(anon, nil)
			}
			if tc.shared != nil {
				c.Shared[sharedAuthenticatedGroups] = tc.shared
			}
			data.fails = tc.fail
			checkOutcome(t, c, h.(plugins.Accessor).Access(c), tc.want)
		})
	}
}

func benchmarkAuth(b *testing.B, h plugins.Handler, headers map[string]string) {
	data := authData()
	c := authContext("GET", "/", headers, "", data)
	a := h.(plugins.Accessor)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c.Consumer, c.Credential = nil, nil
		if err := a.Access(c); err != nil || c.Exited() || c.Consumer == nil {
			b.Fatalf("not authenticated: %v", err)
		}
	}
}

// BenchmarkKeyAuthAccess is key-auth's access phase with the credential
// and consumer cached (a map standing in for the node's lookups).
func BenchmarkKeyAuthAccess(b *testing.B) {
	h, _ := newKeyAuth(map[string]any{"key_names": []any{"apikey"}, "key_in_header": true, "key_in_query": true, "run_on_preflight": true})
	benchmarkAuth(b, h, map[string]string{"apikey": "bob-key"})
}

func BenchmarkBasicAuthAccess(b *testing.B) {
	h, _ := newBasicAuth(map[string]any{"realm": "service"})
	benchmarkAuth(b, h, map[string]string{"Authorization": basicHeader("bob:kong")})
}

func BenchmarkACLAccess(b *testing.B) {
	h, _ := newACL(map[string]any{"allow": []any{"dev"}})
	data := authData()
	c := authContext("GET", "/", nil, "", data)
	bob, _ := data.Lookup("consumers", "id", bobID, testWS)
	cred, _ := data.Lookup("keyauth_credentials", "id", bobKeyID, testWS)
	c.Authenticate(bob, cred)
	a := h.(plugins.Accessor)
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Access(c); err != nil || c.Exited() {
			b.Fatal("refused")
		}
	}
}
