package handler

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/luavm"
)

// wcReceived is one request a webhook-custom receiver got.
type wcReceived struct {
	method string
	uri    string
	header http.Header
	body   []byte
}

type wcReceiver struct {
	mu   sync.Mutex
	reqs []wcReceived
	srv  *httptest.Server
	code int
}

func newWCReceiver(t *testing.T) *wcReceiver {
	t.Helper()
	rc := &wcReceiver{code: http.StatusOK}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, wcReceived{method: r.Method, uri: r.RequestURI, header: r.Header.Clone(), body: body})
		code := rc.code
		rc.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *wcReceiver) last(t *testing.T) wcReceived {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.reqs) == 0 {
		t.Fatal("the receiver got no request")
	}
	return rc.reqs[len(rc.reqs)-1]
}

func newWCForTest(t testing.TB, mode luavm.Mode) *WebhookCustom {
	t.Helper()
	vm, err := luavm.New(luavm.Options{Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	base := NewWebhook(WebhookOptions{})
	t.Cleanup(base.CloseIdleConnections)
	return NewWebhookCustom(vm, base)
}

func wcDelivery(config map[string]any, data map[string]any) Delivery {
	return Delivery{
		ID:      "msg_custom_1",
		Attempt: 1,
		Hook:    Hook{ID: "hook-c", Source: "crud", Event: "admins", Handler: "webhook-custom", Config: config},
		Event:   Event{Source: "crud", Name: "admins", Data: data},
	}
}

var slackData = map[string]any{
	"operation": "create",
	"entity":    map[string]any{"username": "Arya Stark", "email": "arya@gameofthrones.com"},
}

func parseMultipart(t *testing.T, r wcReceived) map[string]string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("content-type %q: %v", r.header.Get("Content-Type"), err)
	}
	if params["boundary"] != MultipartBoundary {
		t.Fatalf("boundary %q, want Kong's %q", params["boundary"], MultipartBoundary)
	}
	mr := multipart.NewReader(strings.NewReader(string(r.body)), params["boundary"])
	got := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v (body %q)", err, r.body)
		}
		b, _ := io.ReadAll(p)
		got[p.FormName()] = string(b)
	}
	return got
}

func TestWebhookCustomDeliver(t *testing.T) {
	some := map[string]any{"some": "data"}
	tests := []struct {
		name   string
		config map[string]any // url added
		data   map[string]any
		check  func(t *testing.T, r wcReceived)
	}{
		{
			name: "slack example, JSON payload",
			config: map[string]any{
				"method":  "POST",
				"headers": map[string]any{"content-type": "application/json"},
				"payload": map[string]any{"text": "Admin account `{{ entity.username }}` {{ operation}}d; email address set to `{{ entity.email }}`"},
			},
			data: slackData,
			check: func(t *testing.T, r wcReceived) {
				want := "{\"text\":\"Admin account `Arya Stark` created; email address set to `arya@gameofthrones.com`\"}"
				if string(r.body) != want {
					t.Errorf("body %s\nwant %s", r.body, want)
				}
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("content-type %q", ct)
				}
			},
		},
		{
			name: "EE-TEST payload, form",
			config: map[string]any{
				"method":  "POST",
				"headers": map[string]any{"Content-Type": "application/x-www-form-urlencoded"},
				"payload": map[string]any{"this_one": "is formatted with {{ some }}", "raw": "a b&c"},
			},
			data: some,
			check: func(t *testing.T, r wcReceived) {
				v, err := url.ParseQuery(string(r.body))
				if err != nil {
					t.Fatal(err)
				}
				if v.Get("this_one") != "is formatted with data" || v.Get("raw") != "a b&c" {
					t.Errorf("form %v", v)
				}
			},
		},
		{
			name: "multipart by default",
			config: map[string]any{
				"method":  "PUT",
				"payload": map[string]any{"this_one": "is formatted with {{ some }}", "event": "{{ source }}:{{ event }}"},
			},
			data: some,
			check: func(t *testing.T, r wcReceived) {
				if r.method != "PUT" {
					t.Errorf("method %s", r.method)
				}
				got := parseMultipart(t, r)
				if got["this_one"] != "is formatted with data" || got["event"] != "crud:admins" || len(got) != 2 {
					t.Errorf("parts %v", got)
				}
			},
		},
		{
			name: "multipart asked for",
			config: map[string]any{
				"method":  "PATCH",
				"headers": map[string]any{"CONTENT-TYPE": "multipart/form-data"},
				"payload": map[string]any{"k": "v {{ some }}"},
			},
			data: some,
			check: func(t *testing.T, r wcReceived) {
				if got := parseMultipart(t, r); got["k"] != "v data" {
					t.Errorf("parts %v", got)
				}
				if n := len(r.header.Values("Content-Type")); n != 1 {
					t.Errorf("%d content-type headers", n)
				}
			},
		},
		{
			name: "other content type: empty body",
			config: map[string]any{
				"method":  "POST",
				"headers": map[string]any{"Content-Type": "text/plain"},
				"payload": map[string]any{"k": "v"},
			},
			check: func(t *testing.T, r wcReceived) {
				if len(r.body) != 0 || r.header.Get("Content-Type") != "text/plain" {
					t.Errorf("body %q, content-type %q", r.body, r.header.Get("Content-Type"))
				}
			},
		},
		{
			name: "GET: payload in the query",
			config: map[string]any{
				"method":  "GET",
				"payload": map[string]any{"user": "{{ entity.username }}", "op": "{{ operation }}"},
			},
			data: slackData,
			check: func(t *testing.T, r wcReceived) {
				u, _ := url.Parse(r.uri)
				q := u.Query()
				if r.method != "GET" || q.Get("user") != "Arya Stark" || q.Get("op") != "create" || q.Get("x") != "1" {
					t.Errorf("%s %s", r.method, r.uri)
				}
				if len(r.body) != 0 {
					t.Errorf("body %q", r.body)
				}
			},
		},
		{
			name: "EE-TEST body wins over payload",
			config: map[string]any{
				"method":  "POST",
				"headers": map[string]any{"content-type": "application/json"},
				"payload": map[string]any{"ignored": "yes"},
				"body":    `{ "some {{ some }}": "arbitrary body {{ some }}" }`,
			},
			data: some,
			check: func(t *testing.T, r wcReceived) {
				if want := `{ "some data": "arbitrary body data" }`; string(r.body) != want {
					t.Errorf("body %s, want %s", r.body, want)
				}
			},
		},
		{
			name: "body_format false sends the template",
			config: map[string]any{
				"method":      "DELETE",
				"payload":     map[string]any{"ignored": "yes"},
				"body":        "raw {{ some }}",
				"body_format": false,
			},
			data: some,
			check: func(t *testing.T, r wcReceived) {
				if r.method != "DELETE" || string(r.body) != "raw {{ some }}" {
					t.Errorf("%s %q", r.method, r.body)
				}
			},
		},
		{
			name: "payload_format false",
			config: map[string]any{
				"method":         "POST",
				"headers":        map[string]any{"content-type": "application/json"},
				"payload":        map[string]any{"t": "{{ some }}"},
				"payload_format": false,
			},
			data: some,
			check: func(t *testing.T, r wcReceived) {
				if string(r.body) != `{"t":"{{ some }}"}` {
					t.Errorf("body %s", r.body)
				}
			},
		},
		{
			name: "EE-TEST headers_format",
			config: map[string]any{
				"method":         "POST",
				"body":           "",
				"headers":        map[string]any{"X-Give-Me": "some tests {{ some }}"},
				"headers_format": true,
			},
			data: some,
			check: func(t *testing.T, r wcReceived) {
				if got := r.header.Get("X-Give-Me"); got != "some tests data" {
					t.Errorf("X-Give-Me %q", got)
				}
			},
		},
		{
			name: "headers not formatted by default",
			config: map[string]any{
				"method":  "POST",
				"headers": map[string]any{"X-Give-Me": "some tests {{ some }}"},
			},
			data: some,
			check: func(t *testing.T, r wcReceived) {
				if got := r.header.Get("X-Give-Me"); got != "some tests {{ some }}" {
					t.Errorf("X-Give-Me %q", got)
				}
				if len(r.body) != 0 || r.header.Get("Content-Length") != "0" {
					t.Errorf("no payload nor body: body %q, length %q", r.body, r.header.Get("Content-Length"))
				}
			},
		},
		{
			name: "escaping and raw output, Lua expressions",
			config: map[string]any{
				"method": "POST",
				"body":   "{{ entity.username }}|{* entity.username *}|{{ entity.username:upper() }}|{{ missing }}",
			},
			data: map[string]any{"entity": map[string]any{"username": "a<b>/c"}},
			check: func(t *testing.T, r wcReceived) {
				if want := "a&lt;b&gt;&#47;c|a<b>/c|A&lt;B&gt;&#47;C|"; string(r.body) != want {
					t.Errorf("body %q, want %q", r.body, want)
				}
			},
		},
	}
	h := newWCForTest(t, luavm.ModeSandbox)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newWCReceiver(t)
			cfg := map[string]any{"url": rc.srv.URL + "/hook"}
			if tt.config["method"] == "GET" {
				cfg["url"] = rc.srv.URL + "/hook?x=1"
			}
			maps.Copy(cfg, tt.config)
			res, err := h.Deliver(context.Background(), wcDelivery(cfg, tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != 200 {
				t.Errorf("status %d", res.Status)
			}
			r := rc.last(t)
			if r.header.Get(HeaderWebhookID) != "msg_custom_1" || r.header.Get(HeaderWebhookTimestamp) == "" {
				t.Errorf("webhook-id %q, timestamp %q", r.header.Get(HeaderWebhookID), r.header.Get(HeaderWebhookTimestamp))
			}
			if r.header.Get(HeaderKongSignature) != "" {
				t.Error("signed without a secret")
			}
			tt.check(t, r)
		})
	}
}

func TestWebhookCustomSigning(t *testing.T) {
	h := newWCForTest(t, luavm.ModeSandbox)
	for _, secret := range []string{"hunter2", "whsec_" + "aHVudGVyMg=="} {
		t.Run(secret, func(t *testing.T) {
			rc := newWCReceiver(t)
			cfg := map[string]any{
				"url": rc.srv.URL, "method": "POST", "secret": secret,
				"headers": map[string]any{"content-type": "application/json"},
				"payload": map[string]any{"t": "{{ some }}"},
			}
			if _, err := h.Deliver(context.Background(), wcDelivery(cfg, map[string]any{"some": "data"})); err != nil {
				t.Fatal(err)
			}
			r := rc.last(t)
			if string(r.body) != `{"t":"data"}` {
				t.Fatalf("body %s", r.body)
			}
			// both secrets are the key "hunter2"
			verifySignatures(t, received{header: r.header, body: r.body}, []byte("hunter2"))
		})
	}
}

func TestWebhookCustomOutcomes(t *testing.T) {
	h := newWCForTest(t, luavm.ModeSandbox)
	rc := newWCReceiver(t)
	rc.code = http.StatusServiceUnavailable
	base := map[string]any{"url": rc.srv.URL, "method": "POST", "body": "x"}
	_, err := h.Deliver(context.Background(), wcDelivery(base, nil))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 503 {
		t.Errorf("503: %v", err)
	}

	permanent := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{"syntax error", map[string]any{"payload": map[string]any{"text": "{{ entity. }}"}}, "config.payload.text: line 1"},
		{"unclosed tag", map[string]any{"body": "{{ x"}, "config.body: line 1, column 1: unclosed"},
		{"runtime error", map[string]any{"headers_format": true, "headers": map[string]any{"X-A": "{{ nope.field }}"}}, "config.headers.X-A: rendering"},
		{"endless loop", map[string]any{"body": "{% while true do end %}"}, "config.body: rendering: lua execution exceeded"},
		{"lowercase method", map[string]any{"method": "post"}, "config.method: invalid value: post"},
		{"no url", map[string]any{"url": nil}, "webhook-custom: config.url: missing"},
		{"bad payload", map[string]any{"payload": map[string]any{"a": 1.0}}, "config.payload.a: expected a string"},
	}
	for _, tt := range permanent {
		t.Run(tt.name, func(t *testing.T) {
			cfg := maps.Clone(base)
			delete(cfg, "body")
			maps.Copy(cfg, tt.config)
			if cfg["url"] == nil {
				delete(cfg, "url")
			}
			_, err := h.Deliver(context.Background(), wcDelivery(cfg, nil))
			var pe *PermanentError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v (%T), want a *PermanentError", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}

	// A cancelled delivery is not permanent.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := maps.Clone(base)
	cfg["body"] = "{{ some }}"
	_, err = h.Deliver(ctx, wcDelivery(cfg, nil))
	var pe *PermanentError
	if err == nil || errors.As(err, &pe) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestWebhookCustomTemplateCache(t *testing.T) {
	h := newWCForTest(t, luavm.ModeSandbox)
	rc := newWCReceiver(t)
	cfg := map[string]any{
		"url": rc.srv.URL, "method": "POST",
		"headers": map[string]any{"content-type": "application/json"},
		"payload": map[string]any{"a": "{{ some }}", "b": "{{ some }}!", "plain": "no tags"},
	}
	for i, v := range []string{"one", "two", "three"} {
		if _, err := h.Deliver(context.Background(), wcDelivery(cfg, map[string]any{"some": v})); err != nil {
			t.Fatal(err)
		}
		if want := `{"a":"` + v + `","b":"` + v + `!","plain":"no tags"}`; string(rc.last(t).body) != want {
			t.Fatalf("delivery %d: %s", i, rc.last(t).body)
		}
		if n := h.compiles.Load(); n != 2 {
			t.Fatalf("delivery %d: %d compiles, want 2", i, n)
		}
	}
	// A template that fails is not recompiled either.
	bad := map[string]any{"url": rc.srv.URL, "method": "POST", "body": "{{ x"}
	for range 2 {
		if _, err := h.Deliver(context.Background(), wcDelivery(bad, nil)); err == nil {
			t.Fatal("no error")
		}
	}
	if n := h.compiles.Load(); n != 3 {
		t.Errorf("%d compiles, want 3", n)
	}
}

func TestWebhookCustomUntrustedLuaOff(t *testing.T) {
	h := newWCForTest(t, luavm.ModeOff)
	rc := newWCReceiver(t)
	cfg := map[string]any{"url": rc.srv.URL, "method": "POST", "body": "{{ some }}"}
	if _, err := h.Deliver(context.Background(), wcDelivery(cfg, map[string]any{"some": "data"})); err != nil {
		t.Fatal(err)
	}
	if got := string(rc.last(t).body); got != "data" {
		t.Errorf("body %q", got)
	}
	cfg = maps.Clone(cfg) // a changed hook comes with a new config map
	cfg["body"] = "{% x = 1 %}{{ x }}"
	_, err := h.Deliver(context.Background(), wcDelivery(cfg, nil))
	var pe *PermanentError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "untrusted_lua") {
		t.Errorf("code block with untrusted_lua off: %v", err)
	}
}

func TestWebhookCustomAppendQuery(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://h/p", "http://h/p?a=1"},
		{"http://h/p?x=1", "http://h/p?x=1&a=1"},
		{"http://h/p?", "http://h/p?a=1"},
		{"http://h/p?x=1&", "http://h/p?x=1&a=1"},
		{"http://h/p#frag", "http://h/p?a=1#frag"},
	} {
		if got := appendQuery(tt.in, "a=1"); got != tt.want {
			t.Errorf("appendQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWebhookCustomConcurrent(t *testing.T) {
	h := newWCForTest(t, luavm.ModeSandbox)
	rc := newWCReceiver(t)
	cfg := map[string]any{
		"url": rc.srv.URL, "method": "POST",
		"headers": map[string]any{"content-type": "application/json"},
		"payload": map[string]any{"t": "{{ n }}"},
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				if _, err := h.Deliver(context.Background(), wcDelivery(cfg, map[string]any{"n": float64(i*10 + j)})); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	seen := map[string]bool{}
	for _, r := range rc.reqs {
		var m map[string]string
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatal(err)
		}
		seen[m["t"]] = true
	}
	if len(seen) != 160 {
		t.Errorf("%d distinct bodies, want 160", len(seen))
	}
}

// BenchmarkWebhookCustomDeliver sends the Slack example (one JSON payload
// template, three expressions) to a local fasthttp receiver.
func BenchmarkWebhookCustomDeliver(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetBodyString(`ok`)
	}}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.ShutdownWithContext(context.Background()) }()
	url := "http://" + ln.Addr().String() + "/hook"
	for _, bc := range []struct {
		name   string
		config map[string]any
	}{
		{"slack-json", map[string]any{
			"method":  "POST",
			"headers": map[string]any{"content-type": "application/json"},
			"payload": map[string]any{"text": "Admin account `{{ entity.username }}` {{ operation}}d; email address set to `{{ entity.email }}`"},
		}},
		{"signed-body", map[string]any{
			"method": "POST", "secret": "hunter2",
			"body": `{"user":"{{ entity.username }}","op":"{{ operation }}"}`,
		}},
		{"no-templates", map[string]any{"method": "POST", "body": `{"static":true}`}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := newWCForTest(b, luavm.ModeSandbox)
			cfg := map[string]any{"url": url}
			maps.Copy(cfg, bc.config)
			d := wcDelivery(cfg, slackData)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.Deliver(ctx, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTemplateRender renders the seed's Slack payload through the
// sandbox, as a webhook-custom delivery does (template compiled and cached,
// the event data converted per call).
func BenchmarkTemplateRender(b *testing.B) {
	vm, err := luavm.New(luavm.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer vm.Close()
	h := NewWebhookCustom(vm, NewWebhook(WebhookOptions{}))
	src := "Admin account `{{ entity.username }}` {{ operation}}d; email address set to `{{ entity.email }}`"
	data := map[string]any{"operation": "create", "schema": "admins", "event": "admins", "source": "crud",
		"entity": map[string]any{"username": "Arya Stark", "email": "arya@gameofthrones.com"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		out, err := h.render(ctx, "payload.text", src, data)
		if err != nil || out != "Admin account `Arya Stark` created; email address set to `arya@gameofthrones.com`" {
			b.Fatalf("%q %v", out, err)
		}
	}
}

// TestWebhookCustomClose: Close closes the Lua states of the sandbox the
// handler made for itself (untrusted_lua off) and leaves a VM it was given
// to its owner.
func TestWebhookCustomClose(t *testing.T) {
	tests := []struct {
		name      string
		mode      luavm.Mode
		ownsItsVM bool
	}{
		{"own sandbox (untrusted_lua off)", luavm.ModeOff, true},
		{"the node's VM", luavm.ModeSandbox, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shared, err := luavm.New(luavm.Options{Mode: tt.mode})
			if err != nil {
				t.Fatal(err)
			}
			defer shared.Close()
			base := NewWebhook(WebhookOptions{})
			t.Cleanup(base.CloseIdleConnections)
			h := NewWebhookCustom(shared, base)
			if got := h.vm == shared; got == tt.ownsItsVM {
				t.Fatalf("handler uses the given VM: %v", got)
			}
			rc := newWCReceiver(t)
			cfg := map[string]any{"url": rc.srv.URL, "method": "POST", "body": "{{ some }}"}
			if _, err := h.Deliver(context.Background(), wcDelivery(cfg, map[string]any{"some": "data"})); err != nil {
				t.Fatal(err)
			}
			before := h.vm.OpenStates()
			if before == 0 {
				t.Fatal("no Lua state open after rendering")
			}
			h.Close()
			want := before
			if tt.ownsItsVM {
				want = 0
			}
			if got := h.vm.OpenStates(); got != want {
				t.Fatalf("%d Lua states open after Close, want %d", got, want)
			}
		})
	}
}
