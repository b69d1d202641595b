package balancer

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// request is a HashInput with fixed values.
type request struct {
	consumer, ip               string
	headers, cookies, args, uc map[string]string
	path                       string
}

func (r *request) ConsumerID() string          { return r.consumer }
func (r *request) ClientIP() string            { return r.ip }
func (r *request) Header(name string) []byte   { return bytesOf(r.headers[strings.ToLower(name)]) }
func (r *request) Cookie(name string) []byte   { return bytesOf(r.cookies[name]) }
func (r *request) Path() []byte                { return bytesOf(r.path) }
func (r *request) QueryArg(name string) []byte { return bytesOf(r.args[name]) }
func (r *request) URICapture(name string) []byte {
	return bytesOf(r.uc[name])
}

func bytesOf(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

// fakeResolver answers from a table the test changes.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string]Answer
	errs    map[string]error
	calls   map[string]int
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{answers: map[string]Answer{}, errs: map[string]error{}, calls: map[string]int{}}
}

func (f *fakeResolver) set(name string, ans Answer, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[name], f.errs[name] = ans, err
}

func (f *fakeResolver) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

func (f *fakeResolver) Resolve(_ context.Context, name string) (Answer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[name]++
	if err := f.errs[name]; err != nil {
		return Answer{}, err
	}
	ans, ok := f.answers[name]
	if !ok {
		return Answer{}, ErrNameNotFound
	}
	return ans, nil
}

// aRecords is an A answer.
func aRecords(ttl time.Duration, ips ...string) Answer {
	ans := Answer{Type: "A", TTL: ttl}
	for _, ip := range ips {
		ans.Records = append(ans.Records, Record{IP: ip})
	}
	return ans
}

// fastTuning makes DNS retries quick for tests.
var fastTuning = tuning{
	minTTL:        10 * time.Millisecond,
	notFoundRetry: 20 * time.Millisecond,
	errorRetryMin: 10 * time.Millisecond,
	errorRetryMax: 50 * time.Millisecond,
	staleTTL:      time.Hour,
	firstResolve:  time.Second,
	resolve:       time.Second,
	parallel:      4,
}

// testManager is a Manager with a fake resolver and an event recorder,
// closed (and checked for leaked goroutines) when the test ends.
type testManager struct {
	*Manager
	res    *fakeResolver
	mu     sync.Mutex
	events []HealthEvent
}

func newTestManager(t *testing.T) *testManager {
	t.Helper()
	return newTestManagerTuned(t, fastTuning)
}

func newTestManagerTuned(t *testing.T, tune tuning) *testManager {
	t.Helper()
	tm := &testManager{res: newFakeResolver()}
	tm.Manager = newManager(Options{
		Resolver: tm.res,
		OnHealth: func(ev HealthEvent) {
			tm.mu.Lock()
			tm.events = append(tm.events, ev)
			tm.mu.Unlock()
		},
		Logf: func(level, format string, args ...any) {
			if testing.Verbose() {
				t.Logf("["+level+"] "+format, args...)
			}
		},
	}, tune)
	t.Cleanup(func() {
		tm.Close()
		checkNoGoroutines(t)
	})
	return tm
}

// healthEvents waits until n events arrived and returns them.
func (tm *testManager) healthEvents(t *testing.T, n int) []HealthEvent {
	t.Helper()
	var got []HealthEvent
	eventually(t, func() bool {
		tm.mu.Lock()
		defer tm.mu.Unlock()
		got = append([]HealthEvent(nil), tm.events...)
		return len(got) >= n
	}, "%d health events", n)
	time.Sleep(20 * time.Millisecond) // no more than n
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if len(tm.events) != n {
		t.Fatalf("got %d health events, want %d: %+v", len(tm.events), n, tm.events)
	}
	return append([]HealthEvent(nil), tm.events...)
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for "+format, args...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkNoGoroutines fails if goroutines of this package outlive Close.
func checkNoGoroutines(t *testing.T) {
	t.Helper()
	var stacks string
	for i := 0; i < 200; i++ {
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		if !leaked(stacks) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("goroutines left after Close:\n%s", stacks)
}

func leaked(stacks string) bool {
	for _, g := range strings.Split(stacks, "\n\n") {
		if strings.Contains(g, "proxy/balancer.(*Manager)") || strings.Contains(g, "proxy/balancer.(*activeChecker)") {
			return true
		}
	}
	return false
}

// upstream builds an Upstream with targets "host:port" of weight 100 (or
// "host:port@weight").
func upstream(id, algorithm string, targets ...string) Upstream {
	u := Upstream{ID: id, Name: id, WorkspaceID: "ws", Algorithm: algorithm, Slots: 10000}
	for i, t := range targets {
		w := 100
		if at := strings.IndexByte(t, '@'); at >= 0 {
			fmt.Sscan(t[at+1:], &w)
			t = t[:at]
		}
		u.Targets = append(u.Targets, Target{ID: fmt.Sprintf("t%d", i), Target: t, Weight: w, CreatedAt: float64(i)})
	}
	return u
}

// passiveChecks is a healthchecks record with passive limits.
func passiveChecks(tcp, timeouts, http, successes int) map[string]any {
	return map[string]any{
		"passive": map[string]any{
			"healthy":   map[string]any{"successes": float64(successes)},
			"unhealthy": map[string]any{"tcp_failures": float64(tcp), "timeouts": float64(timeouts), "http_failures": float64(http)},
		},
	}
}

// picks counts the peers chosen by n picks.
func picks(t *testing.T, b *Balancer, in HashInput, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := 0; i < n; i++ {
		var p Peer
		if err := b.Pick(in, nil, &p); err != nil {
			t.Fatalf("pick %d: %v", i, err)
		}
		got[p.Addr]++
		b.Done(&p, Result{Status: 200})
	}
	return got
}
