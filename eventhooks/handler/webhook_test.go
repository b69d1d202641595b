package handler

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// received is one request as a test receiver saw it.
type received struct {
	header http.Header
	host   string
	method string
	body   []byte
}

// recorder is a receiver that keeps the requests it gets and answers with
// answer (200 when nil).
type recorder struct {
	mu     sync.Mutex
	reqs   []received
	answer http.HandlerFunc
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, received{header: r.Header.Clone(), host: r.Host, method: r.Method, body: body})
	rc.mu.Unlock()
	if rc.answer != nil {
		rc.answer(w, r)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (rc *recorder) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

func newWebhookForTest(t *testing.T, opts WebhookOptions) *Webhook {
	t.Helper()
	h := NewWebhook(opts)
	t.Cleanup(h.CloseIdleConnections)
	return h
}

func consumerEvent() Event {
	return Event{Source: "crud", Name: "consumers", Data: map[string]any{
		"schema":    "consumers",
		"operation": "create",
		"entity": map[string]any{
			"username":   "Ada <Lovelace> & co/",
			"id":         "0fd2319f-13ea-4582-a448-8d11893026a8",
			"created_at": float64(1627581878),
			"type":       0,
		},
	}}
}

const consumerBody = `{"entity":{"created_at":1627581878,"id":"0fd2319f-13ea-4582-a448-8d11893026a8","type":0,"username":"Ada <Lovelace> & co/"},"event":"consumers","operation":"create","schema":"consumers","source":"crud"}`

func delivery(url string, config map[string]any) Delivery {
	cfg := map[string]any{"url": url}
	maps.Copy(cfg, config)
	return Delivery{
		ID:      "msg_2f1d0d7c",
		Attempt: 1,
		Hook:    Hook{ID: "hook-1", Source: "crud", Event: "consumers", Handler: "webhook", Config: cfg},
		Event:   consumerEvent(),
	}
}

func TestWebhookInterfaces(t *testing.T) {
	var h Handler = NewWebhook(WebhookOptions{})
	p, ok := h.(Pinger)
	if !ok || !p.Pings() {
		t.Fatal("the webhook handler must ping")
	}
}

func TestWebhookRequest(t *testing.T) {
	tests := []struct {
		name        string
		config      map[string]any
		opts        WebhookOptions
		wantHeaders map[string]string
		wantHost    string
	}{
		{
			name:   "defaults",
			config: map[string]any{"headers": nil, "secret": nil, "ssl_verify": false},
			wantHeaders: map[string]string{
				"Content-Type": "application/json",
				"User-Agent":   "Portico event hooks",
			},
		},
		{
			name: "user headers kept, content-type overridden",
			config: map[string]any{"headers": map[string]any{
				"X-Custom":      "yes",
				"authorization": "Bearer t0ken",
				"content-type":  "text/plain",
			}},
			wantHeaders: map[string]string{
				"X-Custom":      "yes",
				"Authorization": "Bearer t0ken",
				"Content-Type":  "application/json",
				"User-Agent":    "Portico event hooks",
			},
		},
		{
			name:        "headers as map[string]string, own user agent",
			config:      map[string]any{"headers": map[string]string{"User-Agent": "mine/1.0"}},
			opts:        WebhookOptions{UserAgent: "other"},
			wantHeaders: map[string]string{"User-Agent": "mine/1.0", "Content-Type": "application/json"},
		},
		{
			name:        "configured user agent",
			opts:        WebhookOptions{UserAgent: "portico/9"},
			wantHeaders: map[string]string{"User-Agent": "portico/9"},
		},
		{
			name:     "host header",
			config:   map[string]any{"headers": map[string]any{"Host": "hooks.example.com"}},
			wantHost: "hooks.example.com",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recorder{}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			h := newWebhookForTest(t, tt.opts)
			d := delivery(srv.URL+"/hook?x=1", tt.config)
			res, err := h.Deliver(context.Background(), d)
			if err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if res.Status != http.StatusOK {
				t.Errorf("Status = %d", res.Status)
			}
			reqs := rc.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if r.method != http.MethodPost {
				t.Errorf("method %s", r.method)
			}
			if string(r.body) != consumerBody {
				t.Errorf("body\n got: %s\nwant: %s", r.body, consumerBody)
			}
			for k, v := range tt.wantHeaders {
				if got := r.header.Values(k); len(got) != 1 || got[0] != v {
					t.Errorf("%s = %q, want [%q]", k, got, v)
				}
			}
			for _, k := range []string{HeaderKongSignature, HeaderWebhookSignature} {
				if v := r.header.Get(k); v != "" {
					t.Errorf("unsigned hook sent %s: %q", k, v)
				}
			}
			// Every delivery carries its id and time, signed or not, so
			// receivers can drop duplicates.
			if r.header.Get(HeaderWebhookID) != d.ID || r.header.Get(HeaderWebhookTimestamp) == "" {
				t.Errorf("webhook-id %q (want %q), webhook-timestamp %q",
					r.header.Get(HeaderWebhookID), d.ID, r.header.Get(HeaderWebhookTimestamp))
			}
			if tt.wantHost != "" && r.host != tt.wantHost {
				t.Errorf("Host = %q, want %q", r.host, tt.wantHost)
			}
			// Data is the caller's: not touched.
			if _, ok := d.Event.Data["event"]; ok {
				t.Error("Deliver added event to Data")
			}
			if _, ok := d.Event.Data["source"]; ok {
				t.Error("Deliver added source to Data")
			}
		})
	}
}

// verifySignatures recomputes both signatures of r with key.
func verifySignatures(t *testing.T, r received, key []byte) {
	t.Helper()
	m := hmac.New(sha1.New, key)
	m.Write(r.body)
	if got, want := r.header.Get("X-Kong-Signature"), "sha1="+hex.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("X-Kong-Signature = %q, want %q", got, want)
	}
	id, ts := r.header.Get("webhook-id"), r.header.Get("webhook-timestamp")
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		t.Errorf("webhook-timestamp %q: %v", ts, err)
	}
	m = hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "." + string(r.body)))
	if got, want := r.header.Get("webhook-signature"), "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("webhook-signature = %q, want %q", got, want)
	}
}

func TestWebhookSignatures(t *testing.T) {
	tests := []struct {
		name   string
		secret any
		key    []byte
		signed bool
	}{
		{name: "free text secret", secret: "hunter2", key: []byte("hunter2"), signed: true},
		{name: "whsec secret is base64-decoded", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			key: mustB64(t, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), signed: true},
		{name: "empty secret", secret: ""},
		{name: "null secret", secret: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recorder{}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			h := newWebhookForTest(t, WebhookOptions{})
			clock := time.Unix(1614265330, 0)
			h.now = func() time.Time { return clock }

			d := delivery(srv.URL, map[string]any{"secret": tt.secret})
			if _, err := h.Deliver(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			// A second attempt of the same delivery, later.
			clock = clock.Add(90 * time.Second)
			d.Attempt = 2
			if _, err := h.Deliver(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			reqs := rc.requests()
			if len(reqs) != 2 {
				t.Fatalf("%d requests", len(reqs))
			}
			if string(reqs[0].body) != string(reqs[1].body) {
				t.Errorf("attempts sent different bodies:\n%s\n%s", reqs[0].body, reqs[1].body)
			}
			if !tt.signed {
				if v := reqs[0].header.Get("X-Kong-Signature"); v != "" {
					t.Errorf("signed without a secret: %q", v)
				}
				return
			}
			for i, r := range reqs {
				verifySignatures(t, r, tt.key)
				if got := r.header.Get("webhook-id"); got != d.ID {
					t.Errorf("attempt %d: webhook-id = %q, want %q", i+1, got, d.ID)
				}
			}
			if ts0, ts1 := reqs[0].header.Get("webhook-timestamp"), reqs[1].header.Get("webhook-timestamp"); ts0 != "1614265330" || ts1 != "1614265420" {
				t.Errorf("timestamps %s, %s: want the time of each attempt", ts0, ts1)
			}
		})
	}
}

func mustB64(t *testing.T, s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWebhookStatus(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		location   string
		wantStatus int // in the StatusError; 0 for success
	}{
		{name: "200", status: 200},
		{name: "201", status: 201},
		{name: "204", status: 204},
		{name: "400", status: 400, wantStatus: 400},
		{name: "404", status: 404, wantStatus: 404},
		{name: "429", status: 429, wantStatus: 429},
		{name: "500", status: 500, wantStatus: 500},
		{name: "503", status: 503, wantStatus: 503},
		{name: "301 not followed", status: 301, location: "/moved", wantStatus: 301},
		{name: "302 not followed", status: 302, location: "/moved", wantStatus: 302},
		{name: "307 not followed", status: 307, location: "/moved", wantStatus: 307},
		{name: "308 not followed", status: 308, location: "/moved", wantStatus: 308},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var moved atomic.Int32
			mux := http.NewServeMux()
			mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { moved.Add(1) })
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				if tt.location != "" {
					w.Header().Set("Location", tt.location)
				}
				w.Header().Set("X-Answer", "a")
				w.Header().Add("X-Answer", "b")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, "answer "+strconv.Itoa(tt.status))
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			h := newWebhookForTest(t, WebhookOptions{})

			res, err := h.Deliver(context.Background(), delivery(srv.URL+"/", nil))
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("Deliver: %v", err)
				}
			} else {
				var se *StatusError
				if !errors.As(err, &se) || se.Status != tt.wantStatus {
					t.Fatalf("err = %v, want StatusError %d", err, tt.wantStatus)
				}
			}
			if res.Status != tt.status {
				t.Errorf("Status = %d, want %d", res.Status, tt.status)
			}
			wantBody := "answer " + strconv.Itoa(tt.status)
			if tt.status == 204 {
				wantBody = ""
			}
			if res.Body != wantBody {
				t.Errorf("Body = %q, want %q", res.Body, wantBody)
			}
			if res.Headers["X-Answer"] != "a" {
				t.Errorf("Headers[X-Answer] = %q, want the first value", res.Headers["X-Answer"])
			}
			if tt.location != "" && res.Headers["Location"] != tt.location {
				t.Errorf("Location = %q", res.Headers["Location"])
			}
			if n := moved.Load(); n != 0 {
				t.Errorf("redirect followed %d times", n)
			}
		})
	}
}

func TestWebhookRetryAfter(t *testing.T) {
	now := time.Date(2021, 7, 29, 15, 57, 26, 0, time.UTC)
	tests := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{name: "absent", value: "", want: 0},
		{name: "seconds", value: "120", want: 120 * time.Second},
		{name: "zero", value: "0", want: 0},
		{name: "spaces", value: " 7 ", want: 7 * time.Second},
		{name: "capped seconds", value: "100000", want: 24 * time.Hour},
		{name: "huge seconds", value: "99999999999999999999999", want: 24 * time.Hour},
		{name: "date", value: now.Add(90 * time.Second).Format(http.TimeFormat), want: 90 * time.Second},
		{name: "capped date", value: now.Add(72 * time.Hour).Format(http.TimeFormat), want: 24 * time.Hour},
		{name: "past date", value: now.Add(-time.Hour).Format(http.TimeFormat), want: 0},
		{name: "negative", value: "-5", want: 0},
		{name: "signed", value: "+5", want: 0},
		{name: "fraction", value: "1.5", want: 0},
		{name: "garbage", value: "soon", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.value, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.value, got, tt.want)
			}
		})
	}

	// Through a receiver, both forms.
	for _, tt := range []struct {
		name     string
		value    func() string
		min, max time.Duration
	}{
		{"http seconds", func() string { return "7" }, 7 * time.Second, 7 * time.Second},
		{"http date", func() string { return time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat) }, 100 * time.Second, 2 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", tt.value())
				w.WriteHeader(http.StatusServiceUnavailable)
			}))
			defer srv.Close()
			res, err := newWebhookForTest(t, WebhookOptions{}).Deliver(context.Background(), delivery(srv.URL, nil))
			var se *StatusError
			if !errors.As(err, &se) || se.Status != 503 {
				t.Fatalf("err = %v", err)
			}
			if res.RetryAfter < tt.min || res.RetryAfter > tt.max {
				t.Errorf("RetryAfter = %v, want within [%v, %v]", res.RetryAfter, tt.min, tt.max)
			}
		})
	}
}

// TestWebhookTransportFailures: the attempt fails with Result.Status 0 and
// a short message naming the url and what failed, within about the
// configured timeouts.
func TestWebhookTransportFailures(t *testing.T) {
	const readTimeout = 300 * time.Millisecond

	// release ends the stalled handlers of a subtest before its server
	// closes (Close waits for them).
	var release chan struct{}
	stall := func(r *http.Request) {
		select {
		case <-r.Context().Done(): // the client hung up
		case <-release:
		}
	}
	hang := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		stall(r)
	}
	stallBody := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		stall(r)
	}
	reset := func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_ = conn.(*net.TCPConn).SetLinger(0) // close with RST
		_ = conn.Close()
	}
	closeEarly := func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}

	tests := []struct {
		name     string
		handler  http.HandlerFunc // nil: nothing listens
		ctx      time.Duration    // the caller's deadline, 0 for none
		wantMsg  []string         // any of these
		wantBody string
		wantErr  error
	}{
		{name: "connection refused", wantMsg: []string{"connect: connection refused"}},
		{name: "no answer within read timeout", handler: hang, wantMsg: []string{"no answer within 300ms (read timeout)"}},
		{name: "body stalls", handler: stallBody, wantMsg: []string{"reading response: timed out after 300ms"}, wantBody: "partial"},
		{name: "connection reset", handler: reset, wantMsg: []string{"connection reset by peer", "connection closed by the receiver"}},
		{name: "closed before answering", handler: closeEarly, wantMsg: []string{"connection closed by the receiver", "connection reset by peer"}},
		{name: "caller deadline", handler: hang, ctx: 100 * time.Millisecond, wantMsg: []string{"context deadline exceeded"}, wantErr: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release = make(chan struct{})
			var url string
			if tt.handler == nil {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				url = "http://" + ln.Addr().String() + "/hook"
				_ = ln.Close()
			} else {
				srv := httptest.NewServer(tt.handler)
				defer srv.Close()
				url = srv.URL + "/hook"
			}
			defer close(release)
			h := newWebhookForTest(t, WebhookOptions{ReadTimeout: readTimeout, ConnectTimeout: time.Second})
			ctx := context.Background()
			if tt.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctx)
				defer cancel()
			}
			d := delivery(url, map[string]any{"secret": "s3cr3t-value"})
			start := time.Now()
			res, err := h.Deliver(ctx, d)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.HasPrefix(msg, "posting to "+url+": ") {
				t.Errorf("error %q does not start with %q", msg, "posting to "+url+": ")
			}
			if !containsAny(msg, tt.wantMsg) {
				t.Errorf("error %q, want one of %q", msg, tt.wantMsg)
			}
			if strings.Contains(msg, "s3cr3t") {
				t.Errorf("error %q shows the secret", msg)
			}
			var se *StatusError
			if errors.As(err, &se) {
				t.Errorf("transport failure reported as %v", se)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantErr)
			}
			if tt.wantBody == "" && res.Status != 0 {
				t.Errorf("Status = %d, want 0", res.Status)
			}
			if res.Body != tt.wantBody {
				t.Errorf("Body = %q, want %q", res.Body, tt.wantBody)
			}
			// Loosely: well within the 10s defaults it replaced.
			if elapsed > 5*time.Second {
				t.Errorf("took %v", elapsed)
			}
		})
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestWebhookLargeAnswer(t *testing.T) {
	const size = 10 << 20
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = 'a' + byte(i%26)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return // the client hung up: what it should do
			}
		}
	}))
	defer srv.Close()
	h := newWebhookForTest(t, WebhookOptions{})

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := h.Deliver(context.Background(), delivery(srv.URL, nil))
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if res.Status != 200 || len(res.Body) != DefaultWebhookMaxResponseBody {
		t.Fatalf("Status %d, %d bytes of body; want 200 and %d", res.Status, len(res.Body), DefaultWebhookMaxResponseBody)
	}
	if res.Body != string(chunk[:DefaultWebhookMaxResponseBody]) {
		t.Error("Body is not the start of the answer")
	}
	// Loose: the 10 MB answer was not buffered (the server side's own
	// allocations are small: it writes one chunk again and again).
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Errorf("allocated %d bytes for a %d-byte answer", grew, size)
	}

	t.Run("configured cap", func(t *testing.T) {
		res, err := newWebhookForTest(t, WebhookOptions{MaxResponseBody: 10}).Deliver(context.Background(), delivery(srv.URL, nil))
		if err != nil || res.Body != string(chunk[:10]) {
			t.Fatalf("Body %q, err %v", res.Body, err)
		}
	})
	t.Run("nothing kept", func(t *testing.T) {
		res, err := newWebhookForTest(t, WebhookOptions{MaxResponseBody: -1}).Deliver(context.Background(), delivery(srv.URL, nil))
		if err != nil || res.Body != "" || res.Status != 200 {
			t.Fatalf("Status %d, Body %q, err %v", res.Status, res.Body, err)
		}
	})
}

func TestWebhookBadConfig(t *testing.T) {
	tests := []struct {
		name   string
		config map[string]any
	}{
		{name: "no url", config: map[string]any{}},
		{name: "empty url", config: map[string]any{"url": ""}},
		{name: "url not a string", config: map[string]any{"url": 42}},
		{name: "unparsable", config: map[string]any{"url": "http://[::1"}},
		{name: "bad escape", config: map[string]any{"url": "http://host/%zz"}},
		{name: "space in scheme", config: map[string]any{"url": "ht tp://x"}},
		{name: "no scheme", config: map[string]any{"url": "://nohost"}},
		{name: "relative", config: map[string]any{"url": "/hook"}},
		{name: "other scheme", config: map[string]any{"url": "ftp://example.com/"}},
		{name: "no host", config: map[string]any{"url": "http://"}},
		{name: "no host with path", config: map[string]any{"url": "http:///path"}},
		{name: "control character", config: map[string]any{"url": "http://exa\nmple.com/"}},
		{name: "headers not a map", config: map[string]any{"url": "http://127.0.0.1:1/", "headers": "x"}},
		{name: "header not a string", config: map[string]any{"url": "http://127.0.0.1:1/", "headers": map[string]any{"x": 1}}},
		{name: "secret not a string", config: map[string]any{"url": "http://127.0.0.1:1/", "secret": 1}},
		{name: "bad whsec secret", config: map[string]any{"url": "http://127.0.0.1:1/", "secret": "whsec_***"}},
		{name: "ssl_verify not a bool", config: map[string]any{"url": "http://127.0.0.1:1/", "ssl_verify": "yes"}},
		{name: "nil config", config: nil},
	}
	h := newWebhookForTest(t, WebhookOptions{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := delivery("", nil)
			d.Hook.Config = tt.config
			res, err := h.Deliver(context.Background(), d)
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if res.Status != 0 {
				t.Errorf("Status = %d", res.Status)
			}
			if strings.Contains(err.Error(), "***") {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

func TestWebhookRedactsURLPassword(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	_, err = newWebhookForTest(t, WebhookOptions{}).Deliver(context.Background(), delivery("http://user:pa55word@"+addr+"/", nil))
	if err == nil || strings.Contains(err.Error(), "pa55word") {
		t.Fatalf("error %v", err)
	}
}

func TestWebhookTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 1 {
			t.Errorf("protocol %s, want HTTP/1.1", r.Proto)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	srv.EnableHTTP2 = true                           // offered; the client must stay on HTTP/1.1
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshake
	srv.StartTLS()
	defer srv.Close()
	trusted := x509.NewCertPool()
	trusted.AddCert(srv.Certificate())

	tests := []struct {
		name      string
		sslVerify any
		roots     *x509.CertPool
		wantErr   string
	}{
		{name: "ssl_verify false accepts any certificate", sslVerify: false},
		{name: "ssl_verify absent is false", sslVerify: nil},
		{name: "ssl_verify true rejects an unknown authority", sslVerify: true, wantErr: "tls: failed to verify certificate"},
		{name: "ssl_verify true with the authority trusted", sslVerify: true, roots: trusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newWebhookForTest(t, WebhookOptions{RootCAs: tt.roots})
			res, err := h.Deliver(context.Background(), delivery(srv.URL, map[string]any{"ssl_verify": tt.sslVerify}))
			if tt.wantErr != "" {
				t.Log(err)
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "posting to "+srv.URL) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || res.Status != http.StatusAccepted {
				t.Fatalf("Status %d, err %v", res.Status, err)
			}
		})
	}
}

// TestWebhookConcurrent: one handler, many deliveries at once, connections
// reused.
func TestWebhookConcurrent(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	h := newWebhookForTest(t, WebhookOptions{})
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				d := delivery(srv.URL, map[string]any{"secret": "hunter2"})
				d.ID = "msg_" + strconv.Itoa(w) + "_" + strconv.Itoa(i)
				if res, err := h.Deliver(context.Background(), d); err != nil || res.Body != "ok" {
					t.Errorf("Deliver: %v %q", err, res.Body)
					return
				}
			}
		})
	}
	wg.Wait()
	// Go's transport may dial a spare connection when one is handed back
	// just after a new request started; 200 requests over at most twice the
	// senders' connections still proves reuse.
	if n := conns.Load(); n > 2*workers {
		t.Errorf("%d connections for %d concurrent senders (%d requests): not reused", n, workers, workers*each)
	}
}

func TestWebhookBody(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{name: "consumer", ev: consumerEvent(), want: consumerBody},
		{name: "no data", ev: Event{Source: "kong:event_hooks", Name: "ping"}, want: `{"event":"ping","source":"kong:event_hooks"}`},
		{name: "event and source win", ev: Event{Source: "crud", Name: "x", Data: map[string]any{"event": "y", "source": "z"}},
			want: `{"event":"x","source":"crud"}`},
		{name: "html and unicode kept", ev: Event{Source: "s", Name: "e", Data: map[string]any{"a": "<b>&é\u2028"}}, want: "{\"a\":\"<b>&é\\u2028\",\"event\":\"e\",\"source\":\"s\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := webhookBody(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	t.Run("unencodable", func(t *testing.T) {
		if _, err := webhookBody(Event{Data: map[string]any{"c": make(chan int)}}); err == nil {
			t.Error("no error")
		}
	})
}

// BenchmarkWebhookDeliver posts signed and unsigned events to a local
// fasthttp receiver.
func BenchmarkWebhookDeliver(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetBodyString(`{"ok":true}`)
	}}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown() }()
	url := "http://" + ln.Addr().String() + "/hook"

	for _, bc := range []struct {
		name   string
		config map[string]any
	}{
		{"unsigned", nil},
		{"signed", map[string]any{"secret": "hunter2", "headers": map[string]any{"X-Env": "bench"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := NewWebhook(WebhookOptions{})
			defer h.CloseIdleConnections()
			d := delivery(url, bc.config)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.Deliver(ctx, d); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			h := NewWebhook(WebhookOptions{})
			defer h.CloseIdleConnections()
			d := delivery(url, bc.config)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if _, err := h.Deliver(ctx, d); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
