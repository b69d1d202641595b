package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookRequest is one request a receiver got, as it arrived.
type hookRequest struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte    // raw bytes, for signature checks
	At     time.Time // when it arrived
	Status int       // what the receiver answered
}

// JSON decodes the body (nil when it is not a JSON object).
func (r hookRequest) JSON() map[string]any {
	var m map[string]any
	if json.Unmarshal(r.Body, &m) != nil {
		return nil
	}
	return m
}

// isPing reports whether the request is an event hook ping.
func (r hookRequest) isPing() bool {
	m := r.JSON()
	return m != nil && m["source"] == "kong:event_hooks" && m["event"] == "ping"
}

// accepted reports whether the receiver answered it with a 2xx.
func (r hookRequest) accepted() bool { return r.Status >= 200 && r.Status <= 299 }

// hookReceiver is a local webhook receiver: an httptest.Server that records
// every request and answers as configured. Pings are always answered 200,
// so that the failure modes apply to events only.
type hookReceiver struct {
	t    *testing.T
	srv  *httptest.Server
	URL  string // base URL; hooks post to URL + "/hook"
	addr string

	mu       sync.Mutex
	reqs     []hookRequest
	failNext int           // answer 503 to the next N events
	status   int           // when non-zero, answer every event with it
	hang     bool          // hold events until released or the client gives up
	release  chan struct{} // closed to release held requests
}

// newHookReceiver starts a receiver answering 200 to everything; it is closed
// when the test ends.
func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	r := &hookReceiver{t: t, release: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL, r.addr = r.srv.URL, r.srv.Listener.Addr().String()
	t.Cleanup(r.close)
	return r
}

func (r *hookReceiver) close() {
	r.mu.Lock()
	select {
	case <-r.release:
	default:
		close(r.release)
	}
	r.mu.Unlock()
	r.srv.CloseClientConnections()
	r.srv.Close()
}

// down closes the receiver's port: connections are refused until up.
func (r *hookReceiver) down() {
	r.srv.CloseClientConnections()
	r.srv.Close()
}

// up listens again on the same address as before down.
func (r *hookReceiver) up() {
	r.t.Helper()
	var ln net.Listener
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for {
		if ln, err = net.Listen("tcp", r.addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("receiver: listening again on %s: %v", r.addr, err)
	}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.Listener.Close()
	r.srv.Listener = ln
	r.srv.Start()
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	rec := hookRequest{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Body: body, At: time.Now(), Status: 200}
	r.mu.Lock()
	hang, release := false, r.release
	if !rec.isPing() {
		switch {
		case r.hang:
			hang = true
			rec.Status = 0 // never answered
		case r.failNext > 0:
			r.failNext--
			rec.Status = http.StatusServiceUnavailable
		case r.status != 0:
			rec.Status = r.status
		}
	}
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()
	if hang {
		select {
		case <-release:
		case <-req.Context().Done():
		}
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(rec.Status)
	fmt.Fprintf(w, "receiver answered %d", rec.Status)
}

// setFailNext makes the next n events fail with 503.
func (r *hookReceiver) setFailNext(n int) { r.mu.Lock(); r.failNext = n; r.mu.Unlock() }

// setStatus answers every event with status (0: back to 200).
func (r *hookReceiver) setStatus(status int) { r.mu.Lock(); r.status = status; r.mu.Unlock() }

// setHang holds every event without answering.
func (r *hookReceiver) setHang(on bool) { r.mu.Lock(); r.hang = on; r.mu.Unlock() }

// requests returns a copy of what was received so far.
func (r *hookReceiver) requests() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookRequest(nil), r.reqs...)
}

// matching returns the requests for which match is true.
func (r *hookReceiver) matching(match func(hookRequest) bool) []hookRequest {
	var out []hookRequest
	for _, req := range r.requests() {
		if match(req) {
			out = append(out, req)
		}
	}
	return out
}

// waitFor polls (10s, every 20ms) until at least n requests match, and
// returns the matching ones.
func (r *hookReceiver) waitFor(t *testing.T, what string, n int, match func(hookRequest) bool) []hookRequest {
	t.Helper()
	var got []hookRequest
	ok := pollFor(10*time.Second, func() bool {
		got = r.matching(match)
		return len(got) >= n
	})
	if !ok {
		t.Fatalf("receiver: waited 10s for %d× %s, got %d; all requests:\n%s", n, what, len(got), r.dump())
	}
	return got
}

// dump describes the received requests for failure messages.
func (r *hookReceiver) dump() string {
	var b strings.Builder
	for i, req := range r.requests() {
		fmt.Fprintf(&b, "  #%d %s %s → %d webhook-id=%q %s\n", i+1, req.Method, req.Path, req.Status, req.Header.Get("Webhook-Id"), req.Body)
	}
	if b.Len() == 0 {
		return "  (none)"
	}
	return b.String()
}

// pollFor calls cond every 20ms until it is true or the timeout passes.
func pollFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Matchers.

func isPingOp(op string) func(hookRequest) bool {
	return func(r hookRequest) bool {
		if !r.isPing() {
			return false
		}
		got, ok := r.JSON()["operation"]
		if op == "" {
			return !ok
		}
		return got == op
	}
}

// isConsumerEvent matches a crud event about the consumer username.
func isConsumerEvent(username string) func(hookRequest) bool {
	return func(r hookRequest) bool {
		m := r.JSON()
		if m == nil || m["source"] != "crud" {
			return false
		}
		e, _ := m["entity"].(map[string]any)
		return e != nil && e["username"] == username
	}
}

// isHookEvent matches any non-ping request.
func isHookEvent(r hookRequest) bool { return !r.isPing() }

func allOf(ms ...func(hookRequest) bool) func(hookRequest) bool {
	return func(r hookRequest) bool {
		for _, m := range ms {
			if !m(r) {
				return false
			}
		}
		return true
	}
}
