package bundled

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/plugins"
)

func hmacData() *authTestData {
	return &authTestData{rows: map[string][]map[string]any{
		"hmacauth_credentials": {
			{"id": "h-bob", "username": "bob", "secret": "secret", "consumer": map[string]any{"id": consumerAlice["id"]}},
			{"id": "h-orphan", "username": "orphan", "secret": "secret", "consumer": map[string]any{"id": "0d9f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"}},
		},
		"consumers": {consumerAlice, consumerAnon},
	}}
}

// hmacSign is the base64 signature of a signing string.
func hmacSign(alg, secret, signing string) string {
	newHash := hmacHashes[hmacAlgorithmIndex([]byte(alg))]
	m := hmac.New(newHash, []byte(secret))
	m.Write([]byte(signing))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func hmacHeader(user, alg, headers, sig string) string {
	return fmt.Sprintf(`hmac username="%s", algorithm="%s", headers="%s", signature="%s"`, user, alg, headers, sig)
}

func bodyDigest(body string) string {
	sum := sha256.Sum256([]byte(body))
	return "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
}

func TestHMACAuthAccess(t *testing.T) {
	now := time.Now().UTC()
	date := now.Format(http.TimeFormat)
	old := now.Add(-10 * time.Minute).Format(http.TimeFormat)
	sig1 := hmacSign("hmac-sha1", "secret", "date: "+date)
	auth1 := hmacHeader("bob", "hmac-sha1", "date", sig1)
	full := "date: " + date + "\ncontent-md5: md5\nGET /request HTTP/1.1"
	const body = `{"a":"b"}`
	tests := []struct {
		name    string
		conf    map[string]any
		method  string
		uri     string
		headers map[string]string
		body    string
		status  int // 0: authenticated
		message string
		www     string
	}{
		{"no credentials", map[string]any{"realm": "test-realm"}, "", "", map[string]string{"Date": date}, "", 401, "Unauthorized", `hmac realm="test-realm"`},
		{"no credentials, no realm", nil, "", "", map[string]string{"Date": date}, "", 401, "Unauthorized", "hmac"},
		{"an invalid header", nil, "", "", map[string]string{"Date": date, "Authorization": "asd"}, "", 401, msgHMACNotValid, "hmac"},
		{"a signature that is not base64", nil, "", "", map[string]string{"Date": date,
			"Authorization": hmacHeader("bob", "hmac-sha1", "date", "not really a base64 encoded value!!!")}, "", 401, msgHMACNotSame, "hmac"},
		{"no date", nil, "", "", map[string]string{"Authorization": "asd"}, "", 401, msgHMACNoDate, "hmac"},
		{"a date too old", nil, "", "", map[string]string{"Date": old, "Authorization": auth1}, "", 401, msgHMACNoDate, "hmac"},
		{"a date within a larger skew", map[string]any{"clock_skew": float64(900)}, "", "", map[string]string{"Date": old,
			"Authorization": hmacHeader("bob", "hmac-sha1", "date", hmacSign("hmac-sha1", "secret", "date: "+old))}, "", 0, "", ""},
		{"a bad proxy-authorization", nil, "", "", map[string]string{"Date": date, "Proxy-Authorization": "hmac username", "Authorization": "hello"}, "", 401, msgHMACNotValid, "hmac"},
		{"only a digest", nil, "", "", map[string]string{"Date": date, "Authorization": "hmac", "Digest": bodyDigest("")}, "", 401, msgHMACNotValid, "hmac"},
		{"wrong parameters", nil, "", "", map[string]string{"Date": date, "Authorization": `hmac username=,algorithm,`}, "", 401, msgHMACNotValid, "hmac"},
		{"username missing", nil, "", "", map[string]string{"Date": date,
			"Authorization": `hmac algorithm="hmac-sha1", headers="date", signature="` + sig1 + `"`}, "", 401, msgHMACNotValid, "hmac"},
		{"signature missing", nil, "", "", map[string]string{"Date": date,
			"Authorization": `hmac username="bob", algorithm="hmac-sha1", headers="date"`}, "", 401, msgHMACNotValid, "hmac"},
		{"GET", nil, "", "", map[string]string{"Date": date, "Authorization": auth1}, "", 0, "", ""},
		{"POST", nil, "POST", "", map[string]string{"Date": date, "Authorization": auth1}, body, 0, "", ""},
		{"in Proxy-Authorization", nil, "", "", map[string]string{"Date": date, "Proxy-Authorization": auth1}, "", 0, "", ""},
		{"valid Authorization, bad Proxy-Authorization", nil, "", "", map[string]string{"Date": date, "Authorization": auth1, "Proxy-Authorization": "hello"}, "", 0, "", ""},
		{"bad Authorization, valid Proxy-Authorization", nil, "", "", map[string]string{"Date": date, "Authorization": "hello", "Proxy-Authorization": auth1}, "", 0, "", ""},
		{"content-md5 and request-line", nil, "", "", map[string]string{"Date": date, "Content-MD5": "md5",
			"Proxy-Authorization": hmacHeader("bob", "hmac-sha1", "date content-md5 request-line", hmacSign("hmac-sha1", "secret", full))}, "", 0, "", ""},
		{"@request-target", nil, "", "/request?a=1", map[string]string{"Date": date, "Content-MD5": "md5",
			"Authorization": hmacHeader("bob", "hmac-sha1", "date content-md5 @request-target",
				hmacSign("hmac-sha1", "secret", "date: "+date+"\ncontent-md5: md5\n@request-target: get /request?a=1"))}, "", 0, "", ""},
		{"a header the request lacks", nil, "", "", map[string]string{"Date": date,
			"Authorization": hmacHeader("bob", "hmac-sha1", "date x-missing", hmacSign("hmac-sha1", "secret", "date: "+date+"\nx-missing:"))}, "", 0, "", ""},
		{"a header named with an underscore", nil, "", "", map[string]string{"Date": date, "X-Custom": "v",
			"Authorization": hmacHeader("bob", "hmac-sha1", "date x_custom", hmacSign("hmac-sha1", "secret", "date: "+date+"\nx_custom: v"))}, "", 0, "", ""},
		{"a malformed headers list", nil, "", "", map[string]string{"Date": date,
			"Authorization": hmacHeader("bob", "hmac-sha1", "  date", hmacSign("hmac-sha1", "secret", "date: "+date))}, "", 401, msgHMACNotSame, "hmac"},
		{"unknown username", nil, "", "", map[string]string{"Date": date, "Authorization": hmacHeader("bobb", "hmac-sha1", "date", sig1)}, "", 401, msgHMACNotValid, "hmac"},
		{"empty username", nil, "", "", map[string]string{"Date": date, "Authorization": hmacHeader("", "hmac-sha1", "date", sig1)}, "", 401, msgHMACNotValid, "hmac"},
		{"wrong headers field name", nil, "", "", map[string]string{"Date": date,
			"Authorization": `hmac username="bob", algorithm="hmac-sha1", wrong_header="date", signature="` + sig1 + `"`}, "", 401, msgHMACNotValid, "hmac"},
		{"no comma after the algorithm", nil, "", "", map[string]string{"Date": date,
			"Authorization": `hmac username="bob", algorithm="hmac-sha1" headers="date", signature="` + sig1 + `"`}, "", 401, msgHMACNotValid, "hmac"},
		{"no spaces between fields", nil, "", "", map[string]string{"Date": date,
			"Authorization": `hmac username="bob",algorithm="hmac-sha1",headers="date",signature="` + sig1 + `"`}, "", 0, "", ""},
		{"an unknown algorithm", nil, "", "", map[string]string{"Date": date, "Authorization": hmacHeader("bob", "hmac-sha", "date", sig1)}, "", 401, msgHMACNotValid, "hmac"},
		{"an algorithm not allowed", map[string]any{"algorithms": []any{"hmac-sha256"}}, "", "", map[string]string{"Date": date, "Authorization": auth1}, "", 401, msgHMACNotValid, "hmac"},
		{"the wrong secret", nil, "", "", map[string]string{"Date": date,
			"Authorization": hmacHeader("bob", "hmac-sha1", "date", hmacSign("hmac-sha1", "other", "date: "+date))}, "", 401, msgHMACNotSame, "hmac"},
		{"another algorithm than signed with", nil, "", "", map[string]string{"Date": date,
			"Authorization": hmacHeader("bob", "hmac-sha256", "date", sig1)}, "", 401, msgHMACNotSame, "hmac"},
		{"x-date", nil, "", "", map[string]string{"X-Date": date,
			"Authorization": hmacHeader("bob", "hmac-sha1", "x-date", hmacSign("hmac-sha1", "secret", "x-date: "+date))}, "", 0, "", ""},
		{"x-date malformed, no date", nil, "", "", map[string]string{"X-Date": "wrong date", "Authorization": auth1}, "", 401, msgHMACNoDate, "hmac"},
		{"x-date malformed, date correct", nil, "", "", map[string]string{"X-Date": "wrong date", "Date": date, "Authorization": auth1}, "", 0, "", ""},
		{"date malformed and signed, x-date correct", nil, "", "", map[string]string{"X-Date": date, "Date": "wrong date",
			"Authorization": hmacHeader("bob", "hmac-sha1", "date", hmacSign("hmac-sha1", "secret", "date: wrong date"))}, "", 0, "", ""},
		{"an RFC 850 date", nil, "", "", map[string]string{"Date": now.Format(time.RFC850),
			"Authorization": hmacHeader("bob", "hmac-sha1", "date", hmacSign("hmac-sha1", "secret", "date: "+now.Format(time.RFC850)))}, "", 0, "", ""},
		{"enforced headers signed", map[string]any{"enforce_headers": []any{"date", "request-line"}}, "", "", map[string]string{"Date": date, "Content-MD5": "md5",
			"Authorization": hmacHeader("bob", "hmac-sha1", "date content-md5 request-line", hmacSign("hmac-sha1", "secret", full))}, "", 0, "", ""},
		{"an enforced header not signed", map[string]any{"enforce_headers": []any{"date", "request-line"}}, "", "", map[string]string{"Date": date, "Authorization": auth1}, "", 401, msgHMACNotValid, "hmac"},
		{"body: no digest, a body", map[string]any{"validate_request_body": true}, "POST", "", map[string]string{"Date": date, "Authorization": auth1}, body, 401, msgHMACNotSame, "hmac"},
		{"body: no digest, no body", map[string]any{"validate_request_body": true}, "", "", map[string]string{"Date": date, "Authorization": auth1}, "", 0, "", ""},
		{"body: digest of no body", map[string]any{"validate_request_body": true}, "", "", map[string]string{"Date": date, "Digest": bodyDigest(""),
			"Authorization": hmacHeader("bob", "hmac-sha1", "date digest", hmacSign("hmac-sha1", "secret", "date: "+date+"\ndigest: "+bodyDigest("")))}, "", 0, "", ""},
		{"body: digest", map[string]any{"validate_request_body": true}, "POST", "", map[string]string{"Date": date, "Digest": bodyDigest(body),
			"Authorization": hmacHeader("bob", "hmac-sha1", "date digest", hmacSign("hmac-sha1", "secret", "date: "+date+"\ndigest: "+bodyDigest(body)))}, body, 0, "", ""},
		{"body: digest not signed", map[string]any{"validate_request_body": true}, "POST", "", map[string]string{"Date": date, "Digest": bodyDigest(body),
			"Authorization": auth1}, body, 0, "", ""},
		{"body: tampered", map[string]any{"validate_request_body": true}, "POST", "", map[string]string{"Date": date, "Digest": bodyDigest(body),
			"Authorization": hmacHeader("bob", "hmac-sha1", "date digest", hmacSign("hmac-sha1", "secret", "date: "+date+"\ndigest: "+bodyDigest(body)))}, `{"a":"c"}`, 401, msgHMACNotSame, "hmac"},
		{"body: digest tampered", map[string]any{"validate_request_body": true}, "POST", "", map[string]string{"Date": date, "Digest": bodyDigest("x"),
			"Authorization": hmacHeader("bob", "hmac-sha1", "date digest", hmacSign("hmac-sha1", "secret", "date: "+date+"\ndigest: "+bodyDigest("x")))}, body, 401, msgHMACNotSame, "hmac"},
	}
	for _, alg := range []string{"hmac-sha256", "hmac-sha384", "hmac-sha512"} {
		tests = append(tests, struct {
			name    string
			conf    map[string]any
			method  string
			uri     string
			headers map[string]string
			body    string
			status  int
			message string
			www     string
		}{alg, nil, "", "", map[string]string{"Date": date, "Content-MD5": "md5",
			"Authorization": hmacHeader("bob", alg, "date content-md5 request-line", hmacSign(alg, "secret", full))}, "", 0, "", ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := newHMACAuth(tt.conf)
			if err != nil {
				t.Fatal(err)
			}
			method, uri := tt.method, tt.uri
			if method == "" {
				method = "GET"
			}
			if uri == "" {
				uri = "/request"
			}
			c := signedContext(method, uri, tt.headers, tt.body, hmacData())
			if err := h.(plugins.Accessor).Access(c); err != nil {
				t.Fatal(err)
			}
			if tt.status == 0 {
				if c.Exited() {
					t.Fatalf("refused: %d %s", c.Response.StatusCode(), c.Response.Body())
				}
				if c.Consumer["id"] != consumerAlice["id"] || c.Credential["username"] != "bob" {
					t.Fatalf("consumer %v, credential %v", c.Consumer, c.Credential)
				}
				return
			}
			var got struct {
				Message   string `json:"message"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(c.Response.Body(), &got); err != nil || !c.Exited() || c.Response.StatusCode() != tt.status {
				t.Fatalf("exited %v: %d %s", c.Exited(), c.Response.StatusCode(), c.Response.Body())
			}
			if got.Message != tt.message {
				t.Errorf("message %q, want %q", got.Message, tt.message)
			}
			if www := string(c.Response.Header.Peek("WWW-Authenticate")); www != tt.www {
				t.Errorf("WWW-Authenticate %q, want %q", www, tt.www)
			}
			if c.Consumer != nil {
				t.Errorf("a refused request has consumer %v", c.Consumer)
			}
		})
	}
}

// The upstream gets Kong's consumer headers, and the credentials unless
// they are hidden.
func TestHMACAuthHeaders(t *testing.T) {
	date := time.Now().UTC().Format(http.TimeFormat)
	auth := hmacHeader("bob", "hmac-sha256", "date", hmacSign("hmac-sha256", "secret", "date: "+date))
	for _, tt := range []struct {
		name   string
		hide   bool
		header string
		other  string // the header not used, sent with "hello"
	}{
		{"Authorization kept", false, "Authorization", ""},
		{"Authorization hidden", true, "Authorization", ""},
		{"Proxy-Authorization hidden, Authorization kept", true, "Proxy-Authorization", "Authorization"},
		{"Authorization hidden, Proxy-Authorization kept", true, "Authorization", "Proxy-Authorization"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newHMACAuth(map[string]any{"hide_credentials": tt.hide})
			headers := map[string]string{"Date": date, tt.header: auth, "X-Anonymous-Consumer": "true"}
			if tt.other != "" {
				headers[tt.other] = "hello"
			}
			c := signedContext("GET", "/", headers, "", hmacData())
			if err := h.(plugins.Accessor).Access(c); err != nil || c.Exited() {
				t.Fatalf("err %v: %s", err, c.Response.Body())
			}
			want := map[string]string{"X-Consumer-ID": consumerAlice["id"].(string), "X-Consumer-Username": "alice",
				"X-Consumer-Custom-ID": "a-1", "X-Credential-Identifier": "bob", "X-Anonymous-Consumer": ""}
			if tt.hide {
				want[tt.header] = ""
			} else {
				want[tt.header] = auth
			}
			if tt.other != "" {
				want[tt.other] = "hello"
			}
			for k, v := range want {
				if got := string(c.Request.Header.Peek(k)); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestHMACAuthAnonymous(t *testing.T) {
	date := time.Now().UTC().Format(http.TimeFormat)
	good := hmacHeader("bob", "hmac-sha1", "date", hmacSign("hmac-sha1", "secret", "date: "+date))
	for _, tt := range []struct {
		name, anonymous, auth string
		already               bool
		status                int
		consumer              any
		anonHeader            string
	}{
		{"valid credentials", "no-body", good, false, 0, consumerAlice["id"], ""},
		{"invalid credentials, anonymous by id", consumerAnon["id"].(string), "hello", false, 0, consumerAnon["id"], "true"},
		{"no credentials, anonymous by username", "no-body", "", false, 0, consumerAnon["id"], "true"},
		{"already authenticated", "no-body", "", true, 0, "other", ""},
		{"anonymous consumer missing", "ghost", "", false, 500, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newHMACAuth(map[string]any{"anonymous": tt.anonymous})
			headers := map[string]string{"Date": date}
			if tt.auth != "" {
				headers["Authorization"] = tt.auth
			}
			c := signedContext("GET", "/", headers, "", hmacData())
			if tt.already {
				c.Consumer, c.Credential = map[string]any{"id": "other"}, map[string]any{"id": "k"}
			}
			err := h.(plugins.Accessor).Access(c)
			if tt.status == 500 {
				// The node answers Kong's 500 and logs why.
				if err == nil || err.Error() != "anonymous consumer ghost is configured but doesn't exist" {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Exited() || c.Consumer["id"] != tt.consumer {
				t.Fatalf("exited %v, consumer %v", c.Exited(), c.Consumer)
			}
			if got := string(c.Request.Header.Peek("X-Anonymous-Consumer")); got != tt.anonHeader {
				t.Errorf("X-Anonymous-Consumer %q", got)
			}
		})
	}
}

// A body still arriving is read for its digest, up to hmacMaxBody, and
// left for the upstream either way.
func TestHMACAuthStreamedBody(t *testing.T) {
	date := time.Now().UTC().Format(http.TimeFormat)
	h, _ := newHMACAuth(map[string]any{"validate_request_body": true})
	for _, tt := range []struct {
		name string
		size int
		ok   bool
	}{
		{"small", 100, true},
		{"at the limit", hmacMaxBody, true},
		{"too large, announced", hmacMaxBody + 1, false},
		{"too large, chunked", -1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.size
			if n < 0 {
				n = hmacMaxBody + 10
			}
			body := strings.Repeat("x", n)
			signing := "date: " + date + "\ndigest: " + bodyDigest(body)
			c := signedContext("POST", "/", map[string]string{"Date": date, "Digest": bodyDigest(body),
				"Authorization": hmacHeader("bob", "hmac-sha1", "date digest", hmacSign("hmac-sha1", "secret", signing))}, "", hmacData())
			c.Request.SetBodyStream(strings.NewReader(body), tt.size)
			if err := h.(plugins.Accessor).Access(c); err != nil {
				t.Fatal(err)
			}
			if c.Exited() == tt.ok {
				t.Fatalf("exited %v: %s", c.Exited(), c.Response.Body())
			}
			if got := c.Request.Body(); string(got) != body {
				t.Fatalf("the upstream would get %d bytes of %d", len(got), len(body))
			}
		})
	}
}

func TestHMACAuthStoreFailure(t *testing.T) {
	date := time.Now().UTC().Format(http.TimeFormat)
	data := hmacData()
	data.err = errors.New("store down")
	h, _ := newHMACAuth(nil)
	c := signedContext("GET", "/", map[string]string{"Date": date,
		"Authorization": hmacHeader("bob", "hmac-sha1", "date", hmacSign("hmac-sha1", "secret", "date: "+date))}, "", data)
	if err := h.(plugins.Accessor).Access(c); err == nil || c.Exited() {
		t.Errorf("err %v, exited %v", err, c.Exited())
	}
}

func TestParseHMACAuthorization(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string // username, algorithm, headers, signature; nil: no match
	}{
		{`hmac username="bob", algorithm="hmac-sha1", headers="date", signature="c2ln"`, []string{"bob", "hmac-sha1", "date", "c2ln"}},
		{`Hmac username="bob",algorithm="a",headers="h",signature="s"`, []string{"bob", "a", "h", "s"}},
		{`  hmac   username="b\"ob", algorithm="a", headers="h", signature="s" trailing"`, []string{`b\"ob`, "a", "h", `s" trailing`}},
		{`hmac username="u", algorithm="a", headers="h", signature="s", algorithm="x", headers="y", signature="z"`, []string{`u", algorithm="a", headers="h", signature="s`, "x", "y", "z"}},
		{`Signature hmac username="u",	algorithm="a",	headers="h",	signature="s"`, []string{"u", "a", "h", "s"}},
		{`hmac username="", algorithm="a", headers="h", signature="s"`, nil},
		{`hmac username="u", algorithm="a" headers="h", signature="s"`, nil},
		{`hmac username="u", algorithm="a", headers="h", signature=""`, nil},
		{`hmac username`, nil},
		{``, nil},
		{"hmac username=\"u\",\nalgorithm=\"a\", headers=\"h\", signature=\"s\"", []string{"u", "a", "h", "s"}},
	} {
		p, ok := parseHMACAuthorization([]byte(tt.in))
		var got []string
		if ok {
			got = []string{string(p.username), string(p.algorithm), string(p.headers), string(p.signature)}
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%q: %q, want %q", tt.in, got, tt.want)
		}
	}
}

// parseHMACAuthorization finds what Kong's pattern captures.
func FuzzHMACAuthorization(f *testing.F) {
	for _, s := range []string{
		`hmac username="bob", algorithm="hmac-sha1", headers="date", signature="c2ln"`,
		`hmac username="u", algorithm="a", headers="h", signature="s", algorithm="x", headers="y", signature="z"`,
		`hmac username="",algorithm="",headers="",signature=""`,
		`HMAC hmac username="a"",algorithm="b",  headers="c",signature="d""`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := parseHMACAuthorization([]byte(s))
		m := hmacPattern.FindStringSubmatch(s)
		if ok != (m != nil) {
			t.Fatalf("%q: matched %v, pattern %v", s, ok, m != nil)
		}
		if ok && (string(p.username) != m[1] || string(p.algorithm) != m[2] || string(p.headers) != m[3] || string(p.signature) != m[4]) {
			t.Fatalf("%q: %q %q %q %q, pattern %q", s, p.username, p.algorithm, p.headers, p.signature, m[1:])
		}
	})
}

// Any Authorization header gets an answer, never a panic or an error.
func FuzzHMACAuthAccess(f *testing.F) {
	date := time.Now().UTC().Format(http.TimeFormat)
	f.Add(hmacHeader("bob", "hmac-sha1", "date @request-target request-line x_y", "AAAA"), true)
	f.Add(hmacHeader("bob", "hmac-sha256", " ", "====="), false)
	h, _ := newHMACAuth(map[string]any{"enforce_headers": []any{"date"}, "validate_request_body": true})
	hide, _ := newHMACAuth(map[string]any{"hide_credentials": true})
	f.Fuzz(func(t *testing.T, auth string, hidden bool) {
		a := h.(plugins.Accessor)
		if hidden {
			a = hide.(plugins.Accessor)
		}
		c := signedContext("POST", "/p?q", map[string]string{"Date": date, "Authorization": auth}, "body", hmacData())
		if err := a.Access(c); err != nil {
			t.Fatalf("%q: %v", auth, err)
		}
		if c.Exited() && c.Response.StatusCode() != 401 {
			t.Fatalf("%q: %d", auth, c.Response.StatusCode())
		}
	})
}

func TestHeaderList(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"date", "[date]"}, {"date digest", "[date digest]"}, {"  date", "[  date]"},
		{"date ", "[date ]"}, {" ", "[]"}, {"  ", "[  ]"},
	} {
		var got []string
		for l := newHeaderList([]byte(tt.in)); ; {
			name, more := l.next()
			if !more {
				break
			}
			got = append(got, string(name))
		}
		if fmt.Sprint(got) != tt.want || (tt.in == " " && len(got) != 1) {
			t.Errorf("%q: %q", tt.in, got)
		}
	}
}

func TestParseHTTPDate(t *testing.T) {
	want := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC).Unix()
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"Sun, 06 Nov 1994 08:49:37 GMT", true},
		{"Sunday, 06-Nov-94 08:49:37 GMT", true},
		{"Sun Nov  6 08:49:37 1994", true},
		{"Sun, 06 Nov 1994 25:49:37 GMT", false},
		{"Sun, 06 Xyz 1994 08:49:37 GMT", false},
		{"wrong date", false},
	} {
		got, ok := parseHTTPDate([]byte(tt.in))
		if ok != tt.ok || (ok && got != want) {
			t.Errorf("%q: %d %v", tt.in, got, ok)
		}
	}
}

// The hot path: a valid hmac-sha256 signature over date and request-line.
func BenchmarkHMACAuthAccess(b *testing.B) {
	date := time.Now().UTC().Format(http.TimeFormat)
	signing := "date: " + date + "\nGET /request HTTP/1.1"
	c := signedContext("GET", "/request", map[string]string{"Date": date,
		"Authorization": hmacHeader("bob", "hmac-sha256", "date request-line", hmacSign("hmac-sha256", "secret", signing))}, "", hmacData())
	h, _ := newHMACAuth(nil)
	a := h.(plugins.Accessor)
	b.ReportAllocs()
	for b.Loop() {
		c.Consumer, c.Credential = nil, nil
		if a.Access(c); c.Exited() {
			b.Fatal(string(c.Response.Body()))
		}
	}
}

// Headers assembled at random from the pattern's pieces are read as Kong's
// pattern reads them (random bytes rarely make a match; these often do).
func TestParseHMACAuthorizationMatchesPattern(t *testing.T) {
	pieces := []string{"hmac ", `username="`, `", `, `",`, `algorithm="`, `headers="`, `signature="`, `"`, "a", " ", "\t", ",", "\n", "é", ""}
	rng := rand.New(rand.NewPCG(1, 2))
	some := func(n int) string {
		var s string
		for range rng.IntN(n + 1) {
			s += pieces[rng.IntN(len(pieces))]
		}
		return s
	}
	ws := func() string { return []string{"", " ", "  ", "\t"}[rng.IntN(4)] }
	matched := 0
	for range 8000 {
		parts := []string{some(2), []string{"hmac", "Hmac", "HMAC"}[rng.IntN(3)], ws(), `username="`, some(3), `",`, ws(), `algorithm="`, some(3),
			`",`, ws(), `headers="`, some(3), `",`, ws(), `signature="`, some(3), `"`, some(2)}
		if rng.IntN(4) == 0 {
			parts[rng.IntN(len(parts))] = some(1)
		}
		b := []byte(strings.Join(parts, ""))
		p, ok := parseHMACAuthorization(b)
		m := hmacPattern.FindSubmatch(b)
		if ok != (m != nil) {
			t.Fatalf("%q: matched %v, pattern %v", b, ok, m != nil)
		}
		if !ok {
			continue
		}
		matched++
		if string(p.username) != string(m[1]) || string(p.algorithm) != string(m[2]) || string(p.headers) != string(m[3]) || string(p.signature) != string(m[4]) {
			t.Fatalf("%q: %q %q %q %q, pattern %q", b, p.username, p.algorithm, p.headers, p.signature, m[1:])
		}
	}
	t.Logf("%d of 8000 matched", matched)
	if matched < 100 {
		t.Fatalf("only %d matches: the pieces need tuning", matched)
	}
}
