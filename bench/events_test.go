package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeNode is a Kong-compatible Admin API that delivers consumer events to
// its webhook hooks, and can lose, repeat or refuse on request, to prove
// that `bench events` sees it.
type fakeNode struct {
	t      *testing.T
	srv    *httptest.Server
	token  string
	silent bool // never deliver anything
	// writeDelay holds every consumer write (a slow node).
	writeDelay time.Duration
	// fault decides, per username, what goes wrong.
	fault func(username string) fault

	mu        sync.Mutex
	hooks     map[string]string // id → url
	hookOrder []string
	consumers map[string]bool
	seq       int
	inflight  sync.WaitGroup
}

type fault int

const (
	noFault         fault = iota
	dropFirstHook         // the first hook never gets the event
	duplicate             // every hook gets the event twice, under two ids
	redeliver             // every hook gets the event twice, under one id
	failWrite             // 500, nothing written
	failAfterCommit       // 500, but written and delivered
)

func newFakeNode(t *testing.T) *fakeNode {
	n := &fakeNode{t: t, hooks: map[string]string{}, consumers: map[string]bool{}, fault: func(string) fault { return noFault }}
	n.srv = httptest.NewServer(http.HandlerFunc(n.serve))
	t.Cleanup(func() { n.inflight.Wait(); n.srv.Close() })
	return n
}

func (n *fakeNode) serve(w http.ResponseWriter, r *http.Request) {
	if n.token != "" && r.Header.Get("Kong-Admin-Token") != n.token {
		http.Error(w, `{"message":"Invalid RBAC credentials"}`, http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == "/consumers" {
		time.Sleep(n.writeDelay)
	}
	var body map[string]any
	if r.Body != nil {
		json.NewDecoder(r.Body).Decode(&body)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/":
		w.Write([]byte(`{"version":"3.9.1"}`))
	case r.Method == http.MethodPost && r.URL.Path == "/event-hooks":
		n.seq++
		id := fmt.Sprintf("hook-%d", n.seq)
		url := body["config"].(map[string]any)["url"].(string)
		n.hooks[id] = url
		n.hookOrder = append(n.hookOrder, id)
		n.send(url, "ping-"+id, map[string]any{"source": "kong:event_hooks", "event": "ping", "operation": "create"})
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%q}`, id)
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/event-hooks/"):
		id := strings.TrimPrefix(r.URL.Path, "/event-hooks/")
		if url, ok := n.hooks[id]; ok {
			n.send(url, "bye-"+id, map[string]any{"source": "kong:event_hooks", "event": "ping", "operation": "delete"})
		}
		delete(n.hooks, id)
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && r.URL.Path == "/consumers":
		name, _ := body["username"].(string)
		f := n.fault(name)
		if f == failWrite {
			http.Error(w, `{"message":"An unexpected error occurred"}`, http.StatusInternalServerError)
			return
		}
		n.consumers[name] = true
		if !n.silent {
			for i, id := range n.hookOrder {
				url, ok := n.hooks[id]
				if !ok || (f == dropFirstHook && i == 0) {
					continue
				}
				ev := map[string]any{"source": "crud", "event": "consumers", "operation": "create", "schema": "consumers",
					"entity": map[string]any{"username": name, "created_at": time.Now().Unix()}}
				n.seq++
				msg := fmt.Sprintf("msg-%d", n.seq)
				n.send(url, msg, ev)
				switch f {
				case duplicate:
					n.send(url, msg+"-again", ev)
				case redeliver:
					n.send(url, msg, ev)
				}
			}
		}
		if f == failAfterCommit {
			http.Error(w, `{"message":"An unexpected error occurred"}`, http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"username":%q}`, name)
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/consumers/"):
		name := strings.TrimPrefix(r.URL.Path, "/consumers/")
		if !n.consumers[name] {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		delete(n.consumers, name)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// send delivers one event in the background, as a node's workers do.
func (n *fakeNode) send(url, id string, ev map[string]any) {
	b, _ := json.Marshal(ev)
	n.inflight.Add(1)
	go func() {
		defer n.inflight.Done()
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
		req.Header.Set("Webhook-Id", id)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
}

// left is what the run left on the node.
func (n *fakeNode) left() (hooks, consumers int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.hooks), len(n.consumers)
}

// eventCounts are the counts of an EventsResult a test compares.
type eventCounts struct {
	Acknowledged, FailedWrites, Expected, Deliveries, Lost, Duplicated, Redelivered, Unacknowledged int64
}

func TestRunEventsCounts(t *testing.T) {
	on := func(f fault, seqs ...string) func(string) fault {
		return func(name string) fault {
			for _, s := range seqs {
				if strings.HasSuffix(name, "-"+s) {
					return f
				}
			}
			return noFault
		}
	}
	tests := []struct {
		name  string
		hooks int
		fault func(string) fault
		want  eventCounts
	}{
		{name: "every event once", hooks: 2,
			want: eventCounts{Acknowledged: 40, Expected: 80, Deliveries: 80}},
		{name: "one lost", hooks: 2, fault: on(dropFirstHook, "7"),
			want: eventCounts{Acknowledged: 40, Expected: 80, Deliveries: 79, Lost: 1}},
		{name: "two events for one write", hooks: 1, fault: on(duplicate, "3"),
			want: eventCounts{Acknowledged: 40, Expected: 40, Deliveries: 41, Duplicated: 1}},
		{name: "a redelivery under the same webhook-id", hooks: 3, fault: on(redeliver, "0"),
			want: eventCounts{Acknowledged: 40, Expected: 120, Deliveries: 123, Duplicated: 3, Redelivered: 3}},
		{name: "a failed write delivers nothing", hooks: 2, fault: on(failWrite, "5", "6"),
			want: eventCounts{Acknowledged: 38, FailedWrites: 2, Expected: 76, Deliveries: 76}},
		{name: "a failed answer to a committed write", hooks: 2, fault: on(failAfterCommit, "9"),
			want: eventCounts{Acknowledged: 39, FailedWrites: 1, Expected: 78, Deliveries: 78, Unacknowledged: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := newFakeNode(t)
			if tt.fault != nil {
				node.fault = tt.fault
			}
			res, err := RunEvents(context.Background(), EventsOptions{
				Admin: node.srv.URL, Hooks: tt.hooks, Writes: 40, Writers: 4, Drain: time.Second,
			})
			if err != nil {
				t.Fatalf("RunEvents: %v", err)
			}
			got := eventCounts{Acknowledged: res.Acknowledged, FailedWrites: res.FailedWrites, Expected: res.Expected,
				Deliveries: res.Deliveries, Lost: res.Lost, Duplicated: res.Duplicated, Redelivered: res.Redelivered,
				Unacknowledged: res.Unacknowledged}
			if got != tt.want {
				t.Errorf("counts\n got %+v\nwant %+v", got, tt.want)
			}
			if res.Attempted != 40 || res.Hooks != tt.hooks {
				t.Errorf("attempted %d with %d hooks", res.Attempted, res.Hooks)
			}
			if failed := tt.want.Lost+tt.want.Duplicated > 0; res.Failed() != failed {
				t.Errorf("Failed() = %v, want %v", res.Failed(), failed)
			}
			if res.Latency.Count != tt.want.Expected-tt.want.Lost || res.WriteLatency.Count != tt.want.Acknowledged {
				t.Errorf("latency samples %d, write latency samples %d", res.Latency.Count, res.WriteLatency.Count)
			}
			if res.DrainTimedOut != (tt.want.Lost > 0) {
				t.Errorf("drain timed out: %v", res.DrainTimedOut)
			}
			// The sink stays open until the deleted hooks' pings arrive,
			// and everything the run wrote is gone.
			if hooks, consumers := node.left(); hooks != 0 || consumers != 0 {
				t.Errorf("left on the node: %d hooks, %d consumers", hooks, consumers)
			}
			if res.Cleanup.Hooks != tt.hooks || res.Cleanup.Errors != 0 {
				t.Errorf("cleanup %+v", res.Cleanup)
			}
		})
	}
}

func TestRunEventsRate(t *testing.T) {
	node := newFakeNode(t)
	res, err := RunEvents(context.Background(), EventsOptions{
		Admin: node.srv.URL, Rate: 100, Duration: 500 * time.Millisecond, Drain: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	// 100/s for 0.5 s: writes due at 0, 10, ..., 490 ms.
	if res.Attempted != 50 || res.Lost != 0 || res.Deliveries != 50 {
		t.Errorf("attempted %d, delivered %d, lost %d; want 50, 50, 0", res.Attempted, res.Deliveries, res.Lost)
	}
	if res.WriteSeconds < 0.48 || res.WritesPerSecond > 105 {
		t.Errorf("%d writes in %.2fs (%.0f/s): faster than the rate", res.Acknowledged, res.WriteSeconds, res.WritesPerSecond)
	}
}

func TestRunEventsRateNotKeptUp(t *testing.T) {
	node := newFakeNode(t)
	node.writeDelay = 50 * time.Millisecond
	// 2 writers of 50 ms writes make at most 40/s of the 1000/s asked.
	res, err := RunEvents(context.Background(), EventsOptions{
		Admin: node.srv.URL, Rate: 1000, Writers: 2, Duration: 500 * time.Millisecond, Drain: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.WriteSeconds > 0.7 || res.Attempted > 25 || res.TargetRate != 1000 || res.WritesPerSecond > 50 {
		t.Errorf("%d writes in %.2fs (%.0f/s of %v): the run was stretched", res.Attempted, res.WriteSeconds, res.WritesPerSecond, res.TargetRate)
	}
	if res.Lost != 0 || res.Deliveries != res.Acknowledged {
		t.Errorf("delivered %d of %d, lost %d", res.Deliveries, res.Acknowledged, res.Lost)
	}
}

func TestRunEventsToken(t *testing.T) {
	node := newFakeNode(t)
	node.token = "s3cret"
	_, err := RunEvents(context.Background(), EventsOptions{Admin: node.srv.URL, Writes: 1})
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "--token") {
		t.Fatalf("without the token: %v", err)
	}
	res, err := RunEvents(context.Background(), EventsOptions{Admin: node.srv.URL, Token: "s3cret", Writes: 5})
	if err != nil || res.Deliveries != 5 {
		t.Fatalf("with the token: %v, %+v", err, res)
	}
}

func TestRunEventsInterrupted(t *testing.T) {
	node := newFakeNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	res, err := RunEvents(ctx, EventsOptions{Admin: node.srv.URL, Rate: 50, Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || time.Since(start) > 10*time.Second {
		t.Errorf("interrupted %v after %v", res.Interrupted, time.Since(start))
	}
	if res.Attempted == 0 || res.Attempted > 20 {
		t.Errorf("attempted %d writes in 0.3s at 50/s", res.Attempted)
	}
	if hooks, consumers := node.left(); hooks != 0 || consumers != 0 {
		t.Errorf("left on the node: %d hooks, %d consumers", hooks, consumers)
	}
}

func TestRunEventsBadInput(t *testing.T) {
	closed := func() string { // an address nothing listens on
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return "http://" + ln.Addr().String()
	}()
	silent := newFakeNode(t)
	silent.silent = true
	tests := []struct {
		name string
		opts EventsOptions
		want string
	}{
		{"no admin URL", EventsOptions{}, "--admin: required"},
		{"admin without a scheme", EventsOptions{Admin: "localhost:8001"}, "--admin:"},
		{"admin in another scheme", EventsOptions{Admin: "ftp://localhost"}, "--admin:"},
		{"admin without a host", EventsOptions{Admin: "http://"}, "--admin:"},
		{"negative rate", EventsOptions{Admin: "http://127.0.0.1:1", Rate: -5}, "--rate"},
		{"negative hooks", EventsOptions{Admin: "http://127.0.0.1:1", Hooks: -1}, "--hooks"},
		{"negative writes", EventsOptions{Admin: "http://127.0.0.1:1", Writes: -1}, "-n"},
		{"negative drain", EventsOptions{Admin: "http://127.0.0.1:1", Drain: -time.Second}, "--drain"},
		{"fail rate above 1", EventsOptions{Admin: "http://127.0.0.1:1", Sink: SinkOptions{FailRate: 2}}, "--fail-rate"},
		{"bad whsec secret", EventsOptions{Admin: "http://127.0.0.1:1", Secret: "whsec_%%%"}, "--secret"},
		{"bad sink URL", EventsOptions{Admin: "http://127.0.0.1:1", SinkURL: "sink:9999"}, "--sink-url"},
		{"unreachable admin", EventsOptions{Admin: closed, Timeout: 2 * time.Second}, "reaching the Admin API at " + closed},
		{"sink address taken", EventsOptions{Admin: silent.srv.URL, Listen: strings.TrimPrefix(silent.srv.URL, "http://")}, "starting the sink"},
		{"nothing delivered", EventsOptions{Admin: silent.srv.URL, readyTimeout: 300 * time.Millisecond}, "no event reached the sink"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			res, err := RunEvents(context.Background(), tt.opts)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one with %q", err, tt.want)
			}
			if res != nil {
				t.Errorf("a result with the error: %+v", res)
			}
			if strings.Contains(err.Error(), "%%%") {
				t.Errorf("the error shows the secret: %v", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	// The run that got nothing through removed its hook and probes.
	if hooks, consumers := silent.left(); hooks != 0 || consumers != 0 {
		t.Errorf("left on the node: %d hooks, %d consumers", hooks, consumers)
	}
}
