package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fast delivery settings for these tests: retries within a fraction of a
// second instead of Standard Webhooks' minutes.
const fastSchedule = "KONG_EVENT_HOOKS_RETRY_SCHEDULE=0s,100ms,200ms"

// on returns a view of g whose failures are reported on t (a subtest):
// t.Fatal must be called from the goroutine of the test that fails.
func (g *gateway) withT(t *testing.T) *gateway {
	c := *g
	c.t = t
	return &c
}

// curl runs `curl -s -i <args>` (the documentation's commands; -s only
// silences the progress meter).
func (g *gateway) curlDoc(args ...string) response {
	g.t.Helper()
	return g.cli("curl", append([]string{"-s", "-i"}, args...)...)
}

// httpie runs `http -f <args>` printing headers and body.
func (g *gateway) httpieDoc(args ...string) response {
	g.t.Helper()
	return g.cli("http", append([]string{"--print=hb", "--ignore-stdin", "-f"}, args...)...)
}

func (g *gateway) httpiePort() string { return ":" + strconv.Itoa(g.adminPort) }

// text GETs an Admin API path that does not answer JSON.
func (g *gateway) getText(path string) (int, string) {
	g.t.Helper()
	resp, err := http.Get(g.adminURL(path))
	if err != nil {
		g.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// createHook POSTs a hook as JSON and returns its body.
func createHook(t *testing.T, g *gateway, hook map[string]any) map[string]any {
	t.Helper()
	r := g.withT(t).postJSON("/event-hooks", hook)
	wantStatus(t, r, 201)
	return r.body
}

// deliveries lists a hook's delivery records.
func hookDeliveries(t *testing.T, g *gateway, hookID string) []map[string]any {
	t.Helper()
	r := g.withT(t).get("/event-hooks/" + hookID + "/deliveries?size=1000")
	wantStatus(t, r, 200)
	var out []map[string]any
	for _, d := range r.body["data"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

// isConsumerDelivery matches the delivery record of the crud event about
// username.
func isConsumerDelivery(username string) func(map[string]any) bool {
	return func(d map[string]any) bool {
		data, _ := d["data"].(map[string]any)
		entity, _ := data["entity"].(map[string]any)
		return d["source"] == "crud" && entity != nil && entity["username"] == username
	}
}

// waitDelivery polls the hook's delivery records until one matches and
// has the status, and returns it.
func waitDelivery(t *testing.T, g *gateway, hookID, status string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	var found map[string]any
	var last []map[string]any
	ok := pollFor(10*time.Second, func() bool {
		last = hookDeliveries(t, g, hookID)
		for _, d := range last {
			if match(d) && d["status"] == status {
				found = d
				return true
			}
		}
		return false
	})
	if !ok {
		b, _ := json.MarshalIndent(last, "", "  ")
		t.Fatalf("no %s delivery within 10s; records:\n%s", status, b)
	}
	return found
}

// attemptCodes returns the status_code of each recorded attempt.
func attemptCodes(d map[string]any) []int {
	var codes []int
	for _, a := range d["attempts"].([]any) {
		codes = append(codes, int(a.(map[string]any)["status_code"].(float64)))
	}
	return codes
}

func lastAttemptError(d map[string]any) string {
	as := d["attempts"].([]any)
	if len(as) == 0 {
		return ""
	}
	s, _ := as[len(as)-1].(map[string]any)["error"].(string)
	return s
}

// wantKeys fails unless m has exactly these keys.
func wantExactKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	sort.Strings(keys)
	if !slices.Equal(got, keys) {
		t.Errorf("%s has keys %v, want exactly %v (%v)", what, got, keys, m)
	}
}

// wantJSON fails unless got and want encode to the same JSON.
func wantSameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) {
		t.Errorf("%s = %s\nwant %s", what, gj, wj)
	}
}

// ---------------------------------------------------------------------
// 1. The Webhook section of the examples, with curl and with HTTPie.

func TestEventHooksSeedWebhook(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"curl", "httpie"} {
		t.Run(tool, func(t *testing.T) {
			t.Parallel()
			requireTool(t, map[string]string{"curl": "curl", "httpie": "http"}[tool])
			g := startGateway(t)
			rcv := newHookReceiver(t)
			url := rcv.URL + "/hook"
			username := map[string]string{"curl": "Ada Lovelace", "httpie": "Ada Byron"}[tool]

			// Step 3: create the webhook event hook.
			var r response
			if tool == "curl" {
				r = g.curlDoc("-X", "POST", "http://"+g.adminHost()+"/event-hooks",
					"-d", "source=crud", "-d", "event=consumers", "-d", "handler=webhook", "-d", "config.url="+url)
			} else {
				r = g.httpieDoc(g.httpiePort()+"/event-hooks",
					"source=crud", "event=consumers", "handler=webhook", "config.url="+url)
			}
			wantStatus(t, r, 201)
			hook := r.body
			wantExactKeys(t, "hook", hook, "id", "created_at", "updated_at", "source", "event", "handler", "on_change", "snooze", "config")
			wantFields(t, hook, map[string]any{
				"source": "crud", "event": "consumers", "handler": "webhook", "on_change": nil, "snooze": nil,
				"config": map[string]any{"headers": map[string]any{}, "secret": nil, "ssl_verify": false, "url": url},
			})
			for _, f := range []string{"created_at", "updated_at"} {
				if _, ok := hook[f].(float64); !ok {
					t.Errorf("hook %s = %v, want a number", f, hook[f])
				}
			}
			if id, _ := hook["id"].(string); !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(id) {
				t.Errorf("hook id %q", hook["id"])
			}

			// Step 4: the receiver gets a ping about the creation.
			ping := rcv.waitFor(t, "ping (create)", 1, isPingOp("create"))[0]
			if ping.Method != "POST" || ping.Path != "/hook" || !strings.HasPrefix(ping.Header.Get("Content-Type"), "application/json") {
				t.Errorf("ping request: %s %s Content-Type %q", ping.Method, ping.Path, ping.Header.Get("Content-Type"))
			}
			pb := ping.JSON()
			wantExactKeys(t, "ping", pb, "source", "event", "operation", "event_hooks")
			wantFields(t, pb, map[string]any{"source": "kong:event_hooks", "event": "ping", "operation": "create", "event_hooks": hook})

			// Step 5: create a consumer.
			if tool == "curl" {
				r = g.curlDoc("-X", "POST", "http://"+g.adminHost()+"/consumers", "-d", "username="+username)
			} else {
				r = g.httpieDoc(g.httpiePort()+"/consumers", "username="+username)
			}
			wantStatus(t, r, 201)
			consumer := r.body

			// Step 6: the receiver gets the event with the consumer.
			ev := rcv.waitFor(t, "consumer event", 1, isConsumerEvent(username))[0]
			if ev.Method != "POST" || ev.Path != "/hook" || !strings.HasPrefix(ev.Header.Get("Content-Type"), "application/json") {
				t.Errorf("event request: %s %s Content-Type %q", ev.Method, ev.Path, ev.Header.Get("Content-Type"))
			}
			body := ev.JSON()
			wantExactKeys(t, "event body", body, "source", "event", "operation", "schema", "entity")
			wantFields(t, body, map[string]any{"source": "crud", "event": "consumers", "operation": "create", "schema": "consumers"})
			entity, _ := body["entity"].(map[string]any)
			// Kong 3's entities carry their workspace's id.
			wantExactKeys(t, "event entity (no null fields)", entity, "username", "id", "created_at", "updated_at", "ws_id")
			wantFields(t, entity, map[string]any{
				"username": username, "id": consumer["id"],
				"created_at": consumer["created_at"], "updated_at": consumer["updated_at"],
			})
			if n := len(rcv.matching(isHookEvent)); n != 1 {
				t.Errorf("receiver got %d events, want 1:\n%s", n, rcv.dump())
			}
		})
	}
}

// ---------------------------------------------------------------------
// 2. The Log section, with curl and with HTTPie.

func TestEventHooksSeedLog(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"curl", "httpie"} {
		t.Run(tool, func(t *testing.T) {
			t.Parallel()
			requireTool(t, map[string]string{"curl": "curl", "httpie": "http"}[tool])
			g := startGateway(t)
			var r response
			if tool == "curl" {
				r = g.curlDoc("-X", "POST", "http://"+g.adminHost()+"/event-hooks",
					"-d", "source=crud", "-d", "event=consumers", "-d", "handler=log")
			} else {
				r = g.httpieDoc(g.httpiePort()+"/event-hooks", "source=crud", "event=consumers", "handler=log")
			}
			wantStatus(t, r, 201)
			wantExactKeys(t, "hook", r.body, "id", "created_at", "updated_at", "source", "event", "handler", "on_change", "snooze", "config")
			wantFields(t, r.body, map[string]any{"source": "crud", "event": "consumers", "handler": "log",
				"config": map[string]any{}, "on_change": nil, "snooze": nil})

			if tool == "curl" {
				r = g.curlDoc("-X", "POST", "http://"+g.adminHost()+"/consumers", "-d", "username=Elizabeth Bennet")
			} else {
				r = g.httpieDoc(g.httpiePort()+"/consumers", "username=Elizabeth Bennet")
			}
			wantStatus(t, r, 201)

			pid := g.cmd.Process.Pid
			var block []string
			var logText string
			ok := pollFor(10*time.Second, func() bool {
				b, _ := os.ReadFile(filepath.Join(g.prefix, "logs", "error.log"))
				logText = string(b)
				block = hookLogBlock(logText)
				return block != nil && strings.Contains(block[len(block)-1], "+")
			})
			if !ok {
				t.Fatalf("no framed \"log callback\" block in error.log within 10s:\n%s", logText)
			}
			checkHookLogBlock(t, block, pid)
		})
	}
}

var (
	hookLogLineRE   = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[notice\] (\d+)#0: (.*)$`)
	hookLogHeaderRE = regexp.MustCompile(`^\|\[kong\] event_hooks\.lua:\?:452 "log callback: " \{ "consumers", "crud", \{\|$`)
	hookLogBorderRE = regexp.MustCompile(`^\+-+\+$`)
)

// logBlock returns the error-log lines from the border before the "log
// callback" header to the border after it (nil if there is no header yet).
func hookLogBlock(text string) []string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		m := hookLogLineRE.FindStringSubmatch(l)
		if m == nil || !hookLogHeaderRE.MatchString(m[2]) || i == 0 {
			continue
		}
		for j := i + 1; j < len(lines); j++ {
			if m := hookLogLineRE.FindStringSubmatch(lines[j]); m != nil && hookLogBorderRE.MatchString(m[2]) {
				return lines[i-1 : j+1]
			}
		}
		return lines[i-1:]
	}
	return nil
}

func checkHookLogBlock(t *testing.T, block []string, pid int) {
	t.Helper()
	joined := strings.Join(block, "\n")
	var inner []string
	for _, l := range block {
		m := hookLogLineRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line not in Kong's notice format: %q\nblock:\n%s", l, joined)
		}
		if m[1] != strconv.Itoa(pid) {
			t.Errorf("line pid %s, want %d: %q", m[1], pid, l)
		}
		inner = append(inner, m[2])
	}
	top, bottom := inner[0], inner[len(inner)-1]
	if !hookLogBorderRE.MatchString(top) || top != bottom {
		t.Errorf("block not framed by equal borders:\n%s", joined)
	}
	for i, l := range inner[2 : len(inner)-1] { // the header line overflows, as in Kong
		if len(l) != len(top) || !strings.HasPrefix(l, "|") || !strings.HasSuffix(l, "|") {
			t.Errorf("box line %d %q is not |…| of the border's width %d", i+2, l, len(top))
		}
	}
	for _, want := range []*regexp.Regexp{
		// Kong 3's entities carry their workspace: ws_id sorts last.
		regexp.MustCompile(`^\|\s+username = "Elizabeth Bennet",\s*\|$`),
		regexp.MustCompile(`^\|\s+ws_id = "[0-9a-f-]{36}"\s*\|$`),
		regexp.MustCompile(`^\|\s+operation = "create",\s*\|$`),
		regexp.MustCompile(`^\|\s+schema = "consumers"\s*\|$`),
		regexp.MustCompile(`^\|\s+entity = \{\s*\|$`),
		regexp.MustCompile(`^\|\s+id = "[0-9a-f-]{36}",\s*\|$`),
		regexp.MustCompile(`^\|  \}, ` + strconv.Itoa(pid) + ` \}\s*\|$`),
	} {
		if !slices.ContainsFunc(inner, want.MatchString) {
			t.Errorf("no line matching %s in the block:\n%s", want, joined)
		}
	}
}

// ---------------------------------------------------------------------
// 3. Signatures: Kong's X-Kong-Signature and Standard Webhooks'.

func kongSignatureOf(key, body []byte) string {
	m := hmac.New(sha1.New, key)
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// verifySigned checks both signatures of a request under key, as a
// receiver would.
func verifySigned(t *testing.T, what string, req hookRequest, key []byte) {
	t.Helper()
	if got, want := req.Header.Get("X-Kong-Signature"), kongSignatureOf(key, req.Body); !hmac.Equal([]byte(got), []byte(want)) {
		t.Errorf("%s: X-Kong-Signature %q, want %q (HMAC-SHA1 of the raw body)", what, got, want)
	}
	id, ts := req.Header.Get("Webhook-Id"), req.Header.Get("Webhook-Timestamp")
	if id == "" || ts == "" {
		t.Fatalf("%s: webhook-id %q, webhook-timestamp %q", what, id, ts)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > time.Minute {
		t.Errorf("%s: webhook-timestamp %q is not now", what, ts)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(req.Body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	sigs := strings.Fields(req.Header.Get("Webhook-Signature"))
	if !slices.ContainsFunc(sigs, func(s string) bool { return hmac.Equal([]byte(s), []byte(want)) }) {
		t.Errorf("%s: webhook-signature %q has no %q", what, sigs, want)
	}
}

func TestEventHooksSignatures(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	plain, std := newHookReceiver(t), newHookReceiver(t)

	// Kong's free-text secret, the documentation's way (form-encoded).
	r := g.curlDoc("-X", "POST", "http://"+g.adminHost()+"/event-hooks", "-d", "source=crud", "-d", "event=consumers",
		"-d", "handler=webhook", "-d", "config.url="+plain.URL+"/hook", "-d", "config.secret=hunter2")
	wantStatus(t, r, 201)

	// A Standard Webhooks secret: whsec_ and base64 of random bytes.
	raw := make([]byte, 24)
	rand.Read(raw)
	whsec := "whsec_" + base64.StdEncoding.EncodeToString(raw)
	createHook(t, g, map[string]any{"source": "crud", "event": "consumers", "handler": "webhook",
		"config": map[string]any{"url": std.URL + "/hook", "secret": whsec}})

	// The pings are signed too, and do not carry the secret.
	for _, c := range []struct {
		rcv    *hookReceiver
		key    []byte
		secret string
	}{{plain, []byte("hunter2"), "hunter2"}, {std, raw, whsec}} {
		ping := c.rcv.waitFor(t, "ping", 1, isPingOp("create"))[0]
		verifySigned(t, "ping", ping, c.key)
		if bytes.Contains(ping.Body, []byte(c.secret)) {
			t.Errorf("the ping carries the hook's secret: %s", ping.Body)
		}
	}

	wantStatus(t, g.postJSON("/consumers", map[string]any{"username": "Signed Consumer"}), 201)

	ev := plain.waitFor(t, "consumer event", 1, isConsumerEvent("Signed Consumer"))[0]
	verifySigned(t, "hunter2 event", ev, []byte("hunter2"))

	ev = std.waitFor(t, "consumer event", 1, isConsumerEvent("Signed Consumer"))[0]
	verifySigned(t, "whsec_ event", ev, raw)
	// The key is the decoded secret, not the string.
	if ev.Header.Get("X-Kong-Signature") == kongSignatureOf([]byte(whsec), ev.Body) {
		t.Errorf("whsec_ secret: X-Kong-Signature computed over the undecoded string")
	}
}

// ---------------------------------------------------------------------
// 4. Retries, 410, giving up, redrive.

func TestEventHooksRetries(t *testing.T) {
	t.Parallel()

	t.Run("retried until delivered, 410 stops", func(t *testing.T) {
		t.Parallel()
		g := startGateway(t, fastSchedule)
		flaky, gone := newHookReceiver(t), newHookReceiver(t)
		flaky.setFailNext(2)
		gone.setStatus(http.StatusGone)
		hookOf := map[*hookReceiver]string{}
		for _, rcv := range []*hookReceiver{flaky, gone} {
			h := createHook(t, g, map[string]any{"source": "crud", "event": "consumers", "handler": "webhook",
				"config": map[string]any{"url": rcv.URL + "/hook", "secret": "s3cret"}})
			hookOf[rcv] = h["id"].(string)
			rcv.waitFor(t, "ping", 1, isPingOp("create"))
		}
		wantStatus(t, g.postJSON("/consumers", map[string]any{"username": "Retry Me"}), 201)

		// Two 503s, then the event arrives on the third try.
		flaky.waitFor(t, "accepted event", 1, allOf(isConsumerEvent("Retry Me"), hookRequest.accepted))
		tries := flaky.matching(isConsumerEvent("Retry Me"))
		var statuses []int
		for _, tr := range tries {
			statuses = append(statuses, tr.Status)
		}
		if !slices.Equal(statuses, []int{503, 503, 200}) {
			t.Fatalf("receiver answered %v, want [503 503 200]:\n%s", statuses, flaky.dump())
		}
		id := tries[0].Header.Get("Webhook-Id")
		for i, tr := range tries {
			if got := tr.Header.Get("Webhook-Id"); got == "" || got != id {
				t.Errorf("try %d: webhook-id %q, want %q (stable across retries)", i+1, got, id)
			}
			verifySigned(t, fmt.Sprintf("try %d", i+1), tr, []byte("s3cret"))
		}
		// The schedule's third step (100ms–200ms) is respected.
		if gap := tries[2].At.Sub(tries[1].At); gap < 95*time.Millisecond {
			t.Errorf("third try %v after the second, want ≥ 100ms (schedule 0s,100ms,200ms)", gap)
		}
		d := waitDelivery(t, g, hookOf[flaky], "delivered", isConsumerDelivery("Retry Me"))
		if got := attemptCodes(d); !slices.Equal(got, []int{503, 503, 200}) {
			t.Errorf("delivery attempts %v, want [503 503 200]: %v", got, d)
		}
		wantExactKeys(t, "delivery record", d, "id", "event_hook", "handler", "source", "event", "data", "status",
			"attempts", "created_at", "updated_at", "next_attempt_at")
		wantFields(t, d, map[string]any{"id": id, "event": "consumers", "source": "crud", "handler": "webhook",
			"event_hook": map[string]any{"id": hookOf[flaky]}, "next_attempt_at": nil})
		for i, a := range d["attempts"].([]any) {
			a := a.(map[string]any)
			if _, ok := a["at"].(float64); !ok {
				t.Errorf("attempt %d has no time: %v", i+1, a)
			}
			if i < 2 && !strings.Contains(fmt.Sprint(a["error"]), "503") {
				t.Errorf("attempt %d error %v, want the 503", i+1, a["error"])
			}
		}

		// 410 Gone: one attempt, failed, not retried.
		d = waitDelivery(t, g, hookOf[gone], "failed", isConsumerDelivery("Retry Me"))
		if got := attemptCodes(d); !slices.Equal(got, []int{410}) {
			t.Errorf("410 delivery attempts %v, want [410]: %v", got, d)
		}
		if n := len(gone.matching(isConsumerEvent("Retry Me"))); n != 1 {
			t.Errorf("410 receiver got %d tries, want 1:\n%s", n, gone.dump())
		}

		// Retrying that one delivery by id once the receiver is back.
		gone.setStatus(0)
		r := g.postJSON("/event-hooks/"+hookOf[gone]+"/deliveries/"+d["id"].(string)+"/retry", nil)
		wantStatus(t, r, 200)
		wantFields(t, r.body, map[string]any{"id": d["id"], "status": "pending"})
		gone.waitFor(t, "accepted event", 1, allOf(isConsumerEvent("Retry Me"), hookRequest.accepted))
		d = waitDelivery(t, g, hookOf[gone], "delivered", isConsumerDelivery("Retry Me"))
		if got := attemptCodes(d); !slices.Equal(got, []int{410, 200}) {
			t.Errorf("after retry: attempts %v, want [410 200]", got)
		}
		r = g.postJSON("/event-hooks/"+hookOf[gone]+"/deliveries/"+hookOf[gone]+"/retry", nil)
		wantStatus(t, r, 404)
		wantSameJSON(t, "retry of an unknown delivery", r.body, map[string]any{"message": "Not found"})
		// A delivery is retried under its own hook only.
		wantStatus(t, g.postJSON("/event-hooks/"+hookOf[flaky]+"/deliveries/"+d["id"].(string)+"/retry", nil), 404)
	})

	t.Run("gives up after max attempts, redrive", func(t *testing.T) {
		t.Parallel()
		g := startGateway(t, fastSchedule, "KONG_EVENT_HOOKS_MAX_ATTEMPTS=2", "KONG_EVENT_HOOKS_READ_TIMEOUT=300ms")
		broken, hanging := newHookReceiver(t), newHookReceiver(t)
		broken.setStatus(500)
		hanging.setHang(true)
		hookOf := map[*hookReceiver]string{}
		for _, rcv := range []*hookReceiver{broken, hanging} {
			h := createHook(t, g, map[string]any{"source": "crud", "event": "consumers", "handler": "webhook",
				"config": map[string]any{"url": rcv.URL + "/hook", "secret": "s3cret"}})
			hookOf[rcv] = h["id"].(string)
			rcv.waitFor(t, "ping", 1, isPingOp("create"))
		}
		wantStatus(t, g.postJSON("/consumers", map[string]any{"username": "Give Up"}), 201)

		d := waitDelivery(t, g, hookOf[broken], "failed", isConsumerDelivery("Give Up"))
		if got := attemptCodes(d); !slices.Equal(got, []int{500, 500}) {
			t.Errorf("attempts %v, want [500 500]", got)
		}
		if e := lastAttemptError(d); !strings.Contains(e, "gave up after 2 attempts") {
			t.Errorf("last attempt error %q", e)
		}
		tries := broken.matching(isConsumerEvent("Give Up"))
		if len(tries) != 2 {
			t.Errorf("receiver got %d tries, want 2:\n%s", len(tries), broken.dump())
		}

		// A receiver that never answers: read timeout, then given up too.
		hd := waitDelivery(t, g, hookOf[hanging], "failed", isConsumerDelivery("Give Up"))
		if got := attemptCodes(hd); !slices.Equal(got, []int{0, 0}) {
			t.Errorf("hanging receiver: attempts %v, want [0 0]", got)
		}
		if e := lastAttemptError(hd); !strings.Contains(e, "read timeout") {
			t.Errorf("hanging receiver: last error %q, want a read timeout", e)
		}

		// Fixed receiver: redrive the failed deliveries.
		broken.setStatus(0)
		r := g.postJSON("/event-hooks/"+hookOf[broken]+"/deliveries/retry?status=failed", nil)
		wantStatus(t, r, 200)
		wantSameJSON(t, "redrive", r.body, map[string]any{"retried": 1})
		ok := broken.waitFor(t, "accepted event", 1, allOf(isConsumerEvent("Give Up"), hookRequest.accepted))[0]
		if ok.Header.Get("Webhook-Id") != tries[0].Header.Get("Webhook-Id") {
			t.Errorf("redriven webhook-id %q, want the delivery's %q", ok.Header.Get("Webhook-Id"), tries[0].Header.Get("Webhook-Id"))
		}
		d = waitDelivery(t, g, hookOf[broken], "delivered", isConsumerDelivery("Give Up"))
		if got := attemptCodes(d); !slices.Equal(got, []int{500, 500, 200}) {
			t.Errorf("after redrive: attempts %v, want [500 500 200]", got)
		}
		// Nothing failed is left to redrive.
		r = g.postJSON("/event-hooks/"+hookOf[broken]+"/deliveries/retry?status=failed", nil)
		wantStatus(t, r, 200)
		wantSameJSON(t, "second redrive", r.body, map[string]any{"retried": 0})
		wantStatus(t, g.postJSON("/event-hooks/"+hookOf[broken]+"/deliveries/retry?status=bogus", nil), 400)
	})
}

// ---------------------------------------------------------------------
// Kong's crud and dao:crud events for create, update and delete.

func TestEventHooksCrudEvents(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	all, del, dao := newHookReceiver(t), newHookReceiver(t), newHookReceiver(t)
	hookOf := map[*hookReceiver]string{}
	for _, h := range []struct {
		rcv           *hookReceiver
		source, event string
	}{{all, "crud", "consumers"}, {del, "crud", "consumers:delete"}, {dao, "dao:crud", "update"}} {
		hook := createHook(t, g, map[string]any{"source": h.source, "event": h.event, "handler": "webhook",
			"config": map[string]any{"url": h.rcv.URL + "/hook"}})
		hookOf[h.rcv] = hook["id"].(string)
		h.rcv.waitFor(t, "ping", 1, isPingOp("create"))
	}
	r := g.postJSON("/consumers", map[string]any{"username": "Old Name"})
	wantStatus(t, r, 201)
	id := r.body["id"].(string)
	wantStatus(t, g.sendJSON("PATCH", "/consumers/"+id, map[string]any{"username": "New Name", "custom_id": "c1"}), 200)
	wantStatus(t, g.do("DELETE", "/consumers/"+id, "", ""), 204)

	// The outbox rows are written with the consumer: each hook owes exactly
	// the events it subscribed to.
	for rcv, want := range map[*hookReceiver]int{all: 3, del: 1, dao: 1} {
		n := 0
		for _, d := range hookDeliveries(t, g, hookOf[rcv]) {
			if d["source"] != "kong:event_hooks" {
				n++
			}
		}
		if n != want {
			t.Errorf("hook %s owes %d events, want %d", hookOf[rcv], n, want)
		}
	}

	// Deliveries to one hook may run concurrently: no order is promised.
	byOp := map[string]map[string]any{}
	for _, e := range all.waitFor(t, "create, update and delete events", 3, isHookEvent) {
		m := e.JSON()
		byOp[m["operation"].(string)] = m
	}
	if len(byOp) != 3 {
		t.Fatalf("operations %v, want create, update and delete:\n%s", byOp, all.dump())
	}
	wantExactKeys(t, "create event", byOp["create"], "source", "event", "operation", "schema", "entity")
	up := byOp["update"]
	wantExactKeys(t, "update event", up, "source", "event", "operation", "schema", "entity", "old_entity")
	wantFields(t, up["entity"].(map[string]any), map[string]any{"id": id, "username": "New Name", "custom_id": "c1"})
	wantFields(t, up["old_entity"].(map[string]any), map[string]any{"id": id, "username": "Old Name"})
	if _, ok := up["old_entity"].(map[string]any)["custom_id"]; ok {
		t.Errorf("old_entity has the null custom_id: %v", up["old_entity"])
	}
	dl := byOp["delete"]
	wantExactKeys(t, "delete event", dl, "source", "event", "operation", "schema", "entity")
	wantFields(t, dl["entity"].(map[string]any), map[string]any{"id": id, "username": "New Name"})

	d := del.waitFor(t, "delete event", 1, isHookEvent)[0].JSON()
	wantFields(t, d, map[string]any{"source": "crud", "event": "consumers:delete", "operation": "delete", "schema": "consumers"})
	u := dao.waitFor(t, "dao:crud update", 1, isHookEvent)[0].JSON()
	wantFields(t, u, map[string]any{"source": "dao:crud", "event": "update", "operation": "update", "schema": "consumers"})
}

// ---------------------------------------------------------------------
// 5. Durability: acknowledged writes owe their events across a crash.

func TestEventHooksDurability(t *testing.T) {
	t.Parallel()
	const n = 20
	for _, mode := range []string{"SIGKILL", "graceful"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, "KONG_EVENT_HOOKS_MAX_ATTEMPTS=1000", "KONG_EVENT_HOOKS_RETRY_SCHEDULE=0s,50ms")
			rcv := newHookReceiver(t)
			hook := createHook(t, g, map[string]any{"source": "crud", "event": "consumers", "handler": "webhook",
				"config": map[string]any{"url": rcv.URL + "/hook", "secret": "durable"}})
			hookID := hook["id"].(string)
			rcv.waitFor(t, "ping", 1, isPingOp("create"))

			// The receiver is down: a closed port for the crash, 503s for
			// the graceful restart.
			if mode == "SIGKILL" {
				rcv.down()
			} else {
				rcv.setStatus(503)
			}
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf("durable %s %02d", mode, i)
				wantStatus(t, g.postJSON("/consumers", map[string]any{"username": names[i]}), 201)
			}
			// All owed, none delivered.
			pending := 0
			for _, d := range hookDeliveries(t, g, hookID) {
				if d["source"] == "crud" {
					if d["status"] != "pending" {
						t.Errorf("delivery %v is %v while the receiver is down", d["id"], d["status"])
					}
					pending++
				}
			}
			if pending != n {
				t.Errorf("%d consumer deliveries recorded, want %d", pending, n)
			}

			if mode == "SIGKILL" {
				g.kill()
				rcv.up()
			} else {
				g.stop()
				rcv.setStatus(0)
			}
			g.start()

			// Every event arrives (at least once), under one webhook-id each.
			var idsOf map[string]map[string]bool
			ok := pollFor(10*time.Second, func() bool {
				idsOf = rcv.webhookIDsByUsername()
				return len(idsOf) >= n
			})
			var missing []string
			for _, name := range names {
				if idsOf[name] == nil {
					missing = append(missing, name)
				} else if len(idsOf[name]) != 1 {
					t.Errorf("%q delivered under %d webhook-ids, want 1: %v", name, len(idsOf[name]), idsOf[name])
				}
			}
			if !ok || len(missing) > 0 {
				t.Fatalf("lost events after the %s restart: %v\nreceiver:\n%s", mode, missing, rcv.dump())
			}
			for id := range idsOf {
				if !slices.Contains(names, id) {
					t.Errorf("unexpected event for %q", id)
				}
			}
			// The records agree: every consumer delivery is delivered.
			for _, name := range names {
				waitDelivery(t, g, hookID, "delivered", isConsumerDelivery(name))
			}
		})
	}
}

// TestEventHooksKillDuringWrites: a node killed (SIGKILL) at a random
// moment while writers stream consumer creations, several times over: every
// write that was acknowledged (201) is delivered after the restarts, each
// under one webhook-id, however often it is delivered. A write cut short by
// the kill may or may not be delivered: it was never acknowledged.
func TestEventHooksKillDuringWrites(t *testing.T) {
	t.Parallel()
	const trials, writers = 8, 4
	g := startGateway(t, "KONG_EVENT_HOOKS_MAX_ATTEMPTS=1000", "KONG_EVENT_HOOKS_RETRY_SCHEDULE=0s,50ms")
	rcv := newHookReceiver(t)
	createHook(t, g, map[string]any{"source": "crud", "event": "consumers", "handler": "webhook",
		"config": map[string]any{"url": rcv.URL + "/hook"}})
	rcv.waitFor(t, "ping", 1, isPingOp("create"))

	client := &http.Client{Timeout: 5 * time.Second}
	var mu sync.Mutex
	var acked []string
	rnd := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for trial := 0; trial < trials; trial++ {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					name := fmt.Sprintf("kill-%d-%d-%d", trial, w, i)
					resp, err := client.Post(g.adminURL("/consumers"), "application/json",
						strings.NewReader(`{"username":"`+name+`"}`))
					if err != nil {
						return // the node is gone
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 201 {
						mu.Lock()
						acked = append(acked, name)
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(20+rnd.IntN(400)) * time.Millisecond)
		g.kill()
		close(stop)
		wg.Wait()
		g.start()
	}
	mu.Lock()
	want := slices.Clone(acked)
	mu.Unlock()
	if len(want) == 0 {
		t.Fatal("no write was acknowledged")
	}

	var idsOf map[string]map[string]bool
	var missing []string
	ok := pollFor(60*time.Second, func() bool {
		idsOf = rcv.webhookIDsByUsername()
		missing = missing[:0]
		for _, name := range want {
			if idsOf[name] == nil {
				missing = append(missing, name)
			}
		}
		return len(missing) == 0
	})
	if !ok {
		t.Fatalf("%d of %d acknowledged writes never delivered after %d kills, e.g. %v",
			len(missing), len(want), trials, missing[:min(5, len(missing))])
	}
	for name, ids := range idsOf {
		if len(ids) != 1 {
			t.Errorf("%q delivered under %d webhook-ids, want 1: %v", name, len(ids), ids)
		}
	}
	t.Logf("%d kills, %d acknowledged writes, all delivered", trials, len(want))
}

// ---------------------------------------------------------------------
// 6. and 7. Admin API endpoints and metrics.

func TestEventHooksAdminAPI(t *testing.T) {
	t.Parallel()
	g := startGateway(t, fastSchedule)
	rcv, rcv2 := newHookReceiver(t), newHookReceiver(t)
	crudFields := map[string]any{"fields": []any{"operation", "entity", "old_entity", "schema"}}

	t.Run("sources", func(t *testing.T) {
		g := g.withT(t)
		r := g.get("/event-hooks/sources")
		wantStatus(t, r, 200)
		data, _ := r.body["data"].(map[string]any)
		crud, _ := data["crud"].(map[string]any)
		wantSameJSON(t, "crud consumers:create", crud["consumers:create"], crudFields)
		wantSameJSON(t, "crud consumers", crud["consumers"], crudFields)
		wantSameJSON(t, "dao:crud", data["dao:crud"], map[string]any{"create": crudFields, "update": crudFields, "delete": crudFields})

		r = g.get("/event-hooks/sources/crud/consumers")
		wantStatus(t, r, 200)
		wantSameJSON(t, "sources/crud/consumers", r.body, map[string]any{"data": crudFields})
		r = g.get("/event-hooks/sources/dao:crud")
		wantStatus(t, r, 200)
		wantSameJSON(t, "sources/dao:crud", r.body, map[string]any{"data": map[string]any{"create": crudFields, "update": crudFields, "delete": crudFields}})

		for _, p := range []string{"/event-hooks/sources/nope", "/event-hooks/sources/crud/nope"} {
			r = g.get(p)
			wantStatus(t, r, 404)
			wantSameJSON(t, p, r.body, map[string]any{"message": "Not Found"})
		}
	})

	hook := createHook(t, g, map[string]any{"source": "crud", "event": "consumers", "handler": "webhook",
		"config": map[string]any{"url": rcv.URL + "/hook"}})
	id := hook["id"].(string)
	rcv.waitFor(t, "ping (create)", 1, isPingOp("create"))

	t.Run("test", func(t *testing.T) {
		g := g.withT(t)
		r := g.postJSON("/event-hooks/"+id+"/test", map[string]any{"consumer": map[string]any{"username": "Jane Austen"}})
		wantStatus(t, r, 200)
		want := map[string]any{"consumer": map[string]any{"username": "Jane Austen"}, "event": "consumers", "source": "crud"}
		wantSameJSON(t, "test data", r.body["data"], want)
		result, _ := r.body["result"].(map[string]any)
		wantFields(t, result, map[string]any{"status": 200, "body": "receiver answered 200"})
		if h, _ := result["headers"].(map[string]any); h["Content-Type"] != "text/plain" {
			t.Errorf("result headers %v", result["headers"])
		}
		got := rcv.waitFor(t, "test event", 1, func(r hookRequest) bool {
			m := r.JSON()
			return m != nil && m["consumer"] != nil
		})[0]
		wantSameJSON(t, "test body at the receiver", got.JSON(), want)

		r = g.postJSON("/event-hooks/00000000-0000-4000-8000-000000000000/test", map[string]any{"x": "y"})
		wantStatus(t, r, 404)
		wantSameJSON(t, "unknown hook", r.body, map[string]any{"message": "Not found"})
	})

	t.Run("ping", func(t *testing.T) {
		g := g.withT(t)
		r := g.get("/event-hooks/" + id + "/ping")
		wantStatus(t, r, 200)
		// GET /ping has no operation (Kong: only CRUD pings have one).
		p := rcv.waitFor(t, "ping (GET)", 1, isPingOp(""))[0].JSON()
		wantExactKeys(t, "ping", p, "source", "event", "event_hooks")
		if eh, _ := p["event_hooks"].(map[string]any); eh["id"] != id {
			t.Errorf("ping event_hooks %v", p["event_hooks"])
		}

		logHook := createHook(t, g, map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
		r = g.get("/event-hooks/" + logHook["id"].(string) + "/ping")
		wantStatus(t, r, 400)
		wantSameJSON(t, "ping a log hook", r.body, map[string]any{"message": "handler 'log' does not support 'ping'"})
		wantStatus(t, g.do("DELETE", "/event-hooks/"+logHook["id"].(string), "", ""), 204)
	})

	t.Run("PUT and PATCH", func(t *testing.T) {
		g := g.withT(t)
		r := g.sendJSON("PUT", "/event-hooks/"+id, map[string]any{"source": "crud", "handler": "webhook",
			"config": map[string]any{"url": rcv.URL + "/hook"}})
		wantStatus(t, r, 405)
		wantSameJSON(t, "PUT", r.body, map[string]any{"message": "Method not allowed"})

		// PATCH merges config, moves the hook to another receiver (which
		// gets the update ping) and snoozes it.
		r = g.sendJSON("PATCH", "/event-hooks/"+id, map[string]any{"snooze": 60, "config": map[string]any{"url": rcv2.URL + "/hook"}})
		wantStatus(t, r, 200)
		wantFields(t, r.body, map[string]any{"id": id, "snooze": 60, "source": "crud", "event": "consumers",
			"config": map[string]any{"headers": map[string]any{}, "secret": nil, "ssl_verify": false, "url": rcv2.URL + "/hook"}})
		// The update ping goes to the hook as updated (Kong pings with the
		// new entity): wait for it at either url, then check where it went.
		pollFor(10*time.Second, func() bool {
			return len(rcv.matching(isPingOp("update")))+len(rcv2.matching(isPingOp("update"))) > 0
		})
		if old := rcv.matching(isPingOp("update")); len(old) > 0 {
			t.Errorf("the update ping went to the hook's old url %s:\n%s", rcv.URL, rcv.dump())
		}
		p := rcv2.waitFor(t, "ping (update)", 1, isPingOp("update"))[0].JSON()
		wantSameJSON(t, "update ping event_hooks", p["event_hooks"], r.body)

		// Snooze drops repeats inside its window: the second consumer owes
		// no delivery (the outbox row is written with the consumer, so the
		// listing is exact as soon as the 201 is back).
		wantStatus(t, g.postJSON("/consumers", map[string]any{"username": "Snoozed 1"}), 201)
		wantStatus(t, g.postJSON("/consumers", map[string]any{"username": "Snoozed 2"}), 201)
		var names []string
		for _, d := range hookDeliveries(t, g, id) {
			if d["source"] == "crud" {
				names = append(names, d["data"].(map[string]any)["entity"].(map[string]any)["username"].(string))
			}
		}
		if !slices.Equal(names, []string{"Snoozed 1"}) {
			t.Errorf("deliveries of a snoozed hook for %v, want [Snoozed 1]", names)
		}
		rcv2.waitFor(t, "consumer event", 1, isConsumerEvent("Snoozed 1"))
		if n := len(rcv.matching(isConsumerEvent("Snoozed 1"))); n != 0 {
			t.Errorf("the old receiver got %d events after the PATCH", n)
		}
	})

	t.Run("custom webhook and lambda", func(t *testing.T) {
		// The seed's custom webhook (on consumers: admins come with RBAC).
		g := g.withT(t)
		r := g.curlDoc("-X", "POST", "http://"+g.adminHost()+"/event-hooks",
			"-d", "source=crud", "-d", "event=consumers", "-d", "handler=webhook-custom",
			"-d", "config.method=POST", "-d", "config.url="+rcv.URL+"/slack",
			"-d", "config.headers.content-type=application/json",
			"-d", "config.payload.text=Consumer account `{{ entity.username }}` {{ operation}}d; custom id set to `{{ entity.custom_id }}`")
		wantStatus(t, r, 201)
		wantFields(t, r.body["config"].(map[string]any), map[string]any{
			"method": "POST", "payload_format": true, "body": nil, "body_format": true, "headers_format": false,
			"headers": map[string]any{"content-type": "application/json"}})
		wantStatus(t, g.do("POST", "/consumers", "application/x-www-form-urlencoded", "username=Arya+Stark&custom_id=arya"), 201)
		got := rcv.waitFor(t, "the custom webhook", 1, func(req hookRequest) bool { return req.Path == "/slack" })
		if want := "Consumer account `Arya Stark` created; custom id set to `arya`"; got[0].JSON()["text"] != want {
			t.Fatalf("custom webhook body %s, want text %q", got[0].Body, want)
		}

		// A template that does not compile is refused, naming the field.
		r = g.do("POST", "/event-hooks", "application/json", `{"source":"crud","handler":"webhook-custom",`+
			`"config":{"url":"`+rcv.URL+`","method":"POST","payload":{"text":"{{ entity.username"}}}`)
		wantStatus(t, r, 400)
		if !strings.Contains(string(r.raw), "config.payload.text") {
			t.Errorf("bad template: %s", r.raw)
		}

		// The seed's lambda: its error lands in the error log as Kong's.
		lambdaFile := filepath.Join(t.TempDir(), "lambda.lua")
		if err := os.WriteFile(lambdaFile, []byte("return function (data, event, source, pid)\n"+
			"  local user = data.entity.username\n  error(\"Event hook on consumer \" .. user .. \"\")\nend\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r = g.cli("http", "--print=hb", "--ignore-stdin", "-f", ":"+itoa(g.adminPort)+"/event-hooks",
			"source=crud", "event=consumers", "handler=lambda", "config.functions[]=@"+lambdaFile)
		wantStatus(t, r, 201)
		wantStatus(t, g.do("POST", "/consumers", "application/x-www-form-urlencoded", "username=Lois+Lane"), 201)
		want := `\[error\] \d+#0: \[kong\] event_hooks\.lua:190 \[string "return function \(data, event, source, pid\)\.\.\."\]:3: Event hook on consumer Lois Lane`
		if !pollFor(10*time.Second, func() bool {
			log, _ := os.ReadFile(filepath.Join(g.prefix, "logs", "error.log"))
			return regexp.MustCompile(want).Match(log)
		}) {
			log, _ := os.ReadFile(filepath.Join(g.prefix, "logs", "error.log"))
			t.Fatalf("error.log lacks the lambda's error:\n%s", log)
		}

		// The same with curl's multipart form (curl cannot mix the seed's -d
		// and -F in one command, so every field goes as -F).
		r = g.cli("curl", "-s", "-i", "-X", "POST", "http://"+g.adminHost()+"/event-hooks",
			"-F", "source=crud", "-F", "event=consumers", "-F", "handler=lambda",
			"-F", `config.functions=return function (data, event, source, pid) local user = data.entity.username error("Event hook on consumer " .. user .. "")end`)
		wantStatus(t, r, 201)
		if fns, _ := r.body["config"].(map[string]any)["functions"].([]any); len(fns) != 1 {
			t.Fatalf("multipart lambda functions: %s", r.raw)
		}

		// Lambda functions are checked when written.
		r = g.do("POST", "/event-hooks", "application/json",
			`{"source":"crud","handler":"lambda","config":{"functions":["return 1"]}}`)
		wantStatus(t, r, 400)
		if !strings.Contains(string(r.raw), "Bad return value from function, expected function type, got number") {
			t.Errorf("lambda check: %s", r.raw)
		}
		r = g.do("POST", "/event-hooks", "application/json",
			`{"source":"crud","handler":"lambda","config":{"functions":["return function("]}}`)
		wantStatus(t, r, 400)
		if !strings.Contains(string(r.raw), "Error parsing function: ") {
			t.Errorf("lambda syntax: %s", r.raw)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		g := g.withT(t)
		violation := func(msg string, fields map[string]any) map[string]any {
			return map[string]any{"code": 2, "name": "schema violation", "message": "schema violation (" + msg + ")", "fields": fields}
		}
		for _, c := range []struct {
			name, form string
			want       map[string]any
		}{
			{"missing url", "source=crud&event=consumers&handler=webhook&config.secret=x",
				violation("config.url: required field missing", map[string]any{"config": map[string]any{"url": "required field missing"}})},
			{"missing config", "source=crud&event=consumers&handler=webhook",
				violation("config.url: required field missing", map[string]any{"config": map[string]any{"url": "required field missing"}})},
			{"unknown handler", "source=crud&event=consumers&handler=foo",
				violation("handler: unknown type: foo", map[string]any{"handler": "unknown type: foo"})},
			{"method on a webhook", "source=crud&event=consumers&handler=webhook&config.url=http://example.com/&config.method=POST",
				violation("config.method: unknown field", map[string]any{"config": map[string]any{"method": "unknown field"}})},
			{"snooze", "source=crud&event=consumers&handler=log&snooze=x",
				violation("snooze: expected an integer", map[string]any{"snooze": "expected an integer"})},
		} {
			r := g.do("POST", "/event-hooks", "application/x-www-form-urlencoded", c.form)
			if r.status != 400 {
				t.Errorf("%s: status %d, want 400: %s", c.name, r.status, r.raw)
				continue
			}
			wantSameJSON(t, c.name, r.body, c.want)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		g := g.withT(t)
		// The hook has delivered its pings (and, if PATCH ran, an event).
		re := regexp.MustCompile(`(?m)^portico_event_hooks_attempts_total\{event_hook="` + id + `",outcome="delivered"\} (\d+)$`)
		var body string
		ok := pollFor(10*time.Second, func() bool {
			var status int
			status, body = g.getText("/metrics")
			m := re.FindStringSubmatch(body)
			return status == 200 && m != nil && m[1] != "0"
		})
		if !ok {
			t.Fatalf("no delivered attempts for hook %s in /metrics:\n%s", id, body)
		}
		if !regexp.MustCompile(`(?m)^portico_event_hooks_queue_depth \d+$`).MatchString(body) {
			t.Errorf("no portico_event_hooks_queue_depth in /metrics:\n%s", body)
		}
	})

	t.Run("DELETE pings", func(t *testing.T) {
		g := g.withT(t)
		cur := rcv // where the hook posts now: rcv2 once PATCH has run
		if cfg, _ := g.get("/event-hooks/" + id).body["config"].(map[string]any); cfg["url"] == rcv2.URL+"/hook" {
			cur = rcv2
		}
		r := g.do("DELETE", "/event-hooks/"+id, "", "")
		wantStatus(t, r, 204)
		p := cur.waitFor(t, "ping (delete)", 1, isPingOp("delete"))[0].JSON()
		if eh, _ := p["event_hooks"].(map[string]any); eh["id"] != id {
			t.Errorf("delete ping %v", p)
		}
		wantStatus(t, g.get("/event-hooks/"+id), 404)
	})
}

// ---------------------------------------------------------------------
// 8. event_hooks_enabled = off.

func TestEventHooksDisabled(t *testing.T) {
	t.Parallel()
	g := startGateway(t, "KONG_EVENT_HOOKS_ENABLED=off")
	rcv := newHookReceiver(t)
	disabled := map[string]any{"message": "event hooks are disabled (event_hooks_enabled = off)"}

	r := g.curlDoc("-X", "POST", "http://"+g.adminHost()+"/event-hooks",
		"-d", "source=crud", "-d", "event=consumers", "-d", "handler=webhook", "-d", "config.url="+rcv.URL+"/hook")
	wantStatus(t, r, 201)
	id := r.body["id"].(string)

	r = g.postJSON("/event-hooks/"+id+"/test", map[string]any{"consumer": map[string]any{"username": "Jane Austen"}})
	wantStatus(t, r, 400)
	wantSameJSON(t, "test", r.body, disabled)
	r = g.get("/event-hooks/" + id + "/ping")
	wantStatus(t, r, 400)
	wantSameJSON(t, "ping", r.body, disabled)
	r = g.get("/event-hooks/" + id + "/deliveries")
	wantStatus(t, r, 400)
	wantSameJSON(t, "deliveries", r.body, disabled)

	// Kong publishes no crud sources when event hooks are off.
	r = g.get("/event-hooks/sources")
	wantStatus(t, r, 200)
	if data, _ := r.body["data"].(map[string]any); data == nil || data["crud"] != nil || data["dao:crud"] != nil {
		t.Errorf("sources while disabled: %s", r.raw)
	}

	wantStatus(t, g.postJSON("/consumers", map[string]any{"username": "Unheard"}), 201)
	// Nothing to wait for when nothing is delivered: watch the receiver for
	// a while (a delivery, when enabled, takes milliseconds).
	if pollFor(500*time.Millisecond, func() bool { return len(rcv.requests()) > 0 }) {
		t.Errorf("delivered while event hooks are off:\n%s", rcv.dump())
	}
}

// ---------------------------------------------------------------------
// An update ping reaches the hook as updated: a PATCH that moves a hook to
// another url (or rotates its secret) is announced at the new url, signed
// with the new secret, as Kong does. Other hooks are configured (as on any
// real node), which makes the reload of the hooks take a little longer.

func TestEventHooksUpdatePingUsesNewConfig(t *testing.T) {
	t.Parallel()
	g := startGateway(t, fastSchedule)
	for i := 0; i < 200; i++ {
		createHook(t, g, map[string]any{"source": "decoy", "event": fmt.Sprintf("e%d", i), "handler": "log"})
	}
	a, b := newHookReceiver(t), newHookReceiver(t)
	hook := createHook(t, g, map[string]any{"source": "crud", "event": "consumers", "handler": "webhook",
		"config": map[string]any{"url": a.URL + "/hook", "secret": "secret-0"}})
	id := hook["id"].(string)
	a.waitFor(t, "ping (create)", 1, isPingOp("create"))

	for i := 1; i <= 5; i++ {
		to, from := b, a
		if i%2 == 0 {
			to, from = a, b
		}
		secret := fmt.Sprintf("secret-%d", i)
		patch := strconv.Itoa(i)
		r := g.sendJSON("PATCH", "/event-hooks/"+id, map[string]any{"config": map[string]any{
			"url": to.URL + "/hook", "secret": secret, "headers": map[string]any{"x-patch": patch}}})
		wantStatus(t, r, 200)
		isThis := func(r hookRequest) bool { // this PATCH's ping
			if !isPingOp("update")(r) {
				return false
			}
			cfg, _ := r.JSON()["event_hooks"].(map[string]any)["config"].(map[string]any)
			h, _ := cfg["headers"].(map[string]any)
			return h["x-patch"] == patch
		}
		pollFor(10*time.Second, func() bool { return len(to.matching(isThis))+len(from.matching(isThis)) > 0 })
		if wrong := from.matching(isThis); len(wrong) > 0 {
			t.Errorf("PATCH %d: the update ping went to the old url %s (x-patch header %q, signed with the new secret: %v)",
				i, from.URL, wrong[0].Header.Get("X-Patch"), wrong[0].Header.Get("X-Kong-Signature") == kongSignatureOf([]byte(secret), wrong[0].Body))
			continue
		}
		ping := to.waitFor(t, fmt.Sprintf("ping (update %d)", i), 1, isThis)[0]
		if got := ping.Header.Get("X-Kong-Signature"); got != kongSignatureOf([]byte(secret), ping.Body) {
			signer := "an unknown key"
			for j := 0; j < i; j++ {
				if got == kongSignatureOf([]byte(fmt.Sprintf("secret-%d", j)), ping.Body) {
					signer = fmt.Sprintf("the previous secret secret-%d", j)
				}
			}
			t.Errorf("PATCH %d: the update ping is signed with %s, not the new %s", i, signer, secret)
			continue
		}
		verifySigned(t, fmt.Sprintf("update ping %d", i), ping, []byte(secret))
		if got := ping.Header.Get("X-Patch"); got != patch {
			t.Errorf("PATCH %d: the update ping carries x-patch %q, want the new config's headers", i, got)
		}
	}
}

// webhookIDsByUsername lists the webhook-ids under which each consumer's
// event was accepted.
func (r *hookReceiver) webhookIDsByUsername() map[string]map[string]bool {
	idsOf := map[string]map[string]bool{}
	for _, req := range r.matching(allOf(isHookEvent, hookRequest.accepted)) {
		e, _ := req.JSON()["entity"].(map[string]any)
		name, _ := e["username"].(string)
		if idsOf[name] == nil {
			idsOf[name] = map[string]bool{}
		}
		idsOf[name][req.Header.Get("Webhook-Id")] = true
	}
	return idsOf
}
