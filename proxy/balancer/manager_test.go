package balancer

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// Health carries over a configuration change; a removed upstream's health
// is forgotten.
func TestUpdateCarriesHealth(t *testing.T) {
	m := newTestManager(t)
	u := upstream("u", AlgorithmRoundRobin, "10.0.0.1:80", "10.0.0.2:80")
	u.Healthchecks = passiveChecks(1, 0, 0, 0)
	set1 := m.Update([]Upstream{u}, nil)
	if err := m.SetHealth("u", "10.0.0.1:80", "", false); err != nil {
		t.Fatal(err)
	}
	u.Algorithm = AlgorithmLeastConnections
	u.Targets = append(u.Targets, Target{ID: "t9", Target: "10.0.0.3:80", Weight: 100})
	set2 := m.Update([]Upstream{u}, nil)
	if set1.Upstream("ws", "u") == set2.Upstream("ws", "u") {
		t.Fatal("a changed upstream kept its balancer")
	}
	if got := healthOf(t, m, "u", "10.0.0.1:80"); got != HealthUnhealthy {
		t.Errorf("health after a config change: %s", got)
	}
	if got := picks(t, set2.Upstream("ws", "u"), &request{}, 10); got["10.0.0.1:80"] != 0 {
		t.Errorf("unhealthy peer picked: %v", got)
	}
	// An unchanged upstream keeps its balancer.
	if set3 := m.Update([]Upstream{u}, nil); set3.Upstream("ws", "u") != set2.Upstream("ws", "u") {
		t.Error("an unchanged upstream got a new balancer")
	}
	m.Update(nil, nil)
	if _, ok := m.Health("u"); ok {
		t.Error("a removed upstream still reports health")
	}
	m.Update([]Upstream{u}, nil)
	if got := healthOf(t, m, "u", "10.0.0.1:80"); got != HealthHealthy {
		t.Errorf("a re-created upstream starts %s", got)
	}
}

func TestUpstreamsByWorkspace(t *testing.T) {
	m := newTestManager(t)
	a := upstream("a", AlgorithmRoundRobin, "10.0.0.1:80")
	a.Name, a.WorkspaceID = "shared", "ws1"
	b := upstream("b", AlgorithmRoundRobin, "10.0.0.2:80")
	b.Name, b.WorkspaceID = "shared", "ws2"
	set := m.Update([]Upstream{a, b}, nil)
	for ws, want := range map[string]string{"ws1": "10.0.0.1:80", "ws2": "10.0.0.2:80"} {
		var p Peer
		if err := set.Upstream(ws, "shared").Pick(&request{}, nil, &p); err != nil || p.Addr != want {
			t.Errorf("%s: %s %v, want %s", ws, p.Addr, err, want)
		}
	}
}

// Close stops every goroutine: checkers, refresher, dispatcher, probes in
// flight; Update after Close starts none.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	be := newBackend(t, false)
	m := newManager(Options{Resolver: newFakeResolver(), OnHealth: func(HealthEvent) { panic("subscriber bug") }}, fastTuning)
	u := upstream("u", AlgorithmRoundRobin, be.addr(), "name.test:80")
	u.Healthchecks = activeChecks("http", nil)
	m.Update([]Upstream{u}, []string{"svc.test:80"})
	eventually(t, func() bool { return be.probeCount() >= 2 }, "probes")
	if err := m.SetHealth("u", be.addr(), "", false); err != nil { // the subscriber panics
		t.Fatal(err)
	}
	m.Close()
	m.Close()
	checkNoGoroutines(t)
	m.Update([]Upstream{u}, []string{"svc.test:80"})
	time.Sleep(50 * time.Millisecond)
	checkNoGoroutines(t)
}

// Picks, reports and configuration changes at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	m := newTestManager(t)
	m.res.set("api.test", aRecords(5*time.Millisecond, "10.0.0.1", "10.0.0.2"), nil)
	mk := func(alg string, n int) []Upstream {
		var ups []Upstream
		for i, a := range []string{AlgorithmRoundRobin, AlgorithmConsistentHashing, AlgorithmLeastConnections, AlgorithmLatency} {
			u := upstream(fmt.Sprint("u", i), a, "api.test:80", fmt.Sprintf("10.0.1.%d:80", n))
			u.HashOn = map[bool]string{true: "ip", false: "none"}[a == AlgorithmConsistentHashing]
			u.Healthchecks = passiveChecks(2, 1, 2, 1)
			ups = append(ups, u)
		}
		return ups
	}
	set := m.Update(mk(AlgorithmRoundRobin, 1), nil)
	var cur sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := &request{ip: fmt.Sprint("192.168.0.", g)}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				cur.Lock()
				s := set
				cur.Unlock()
				b := s.Upstream("ws", fmt.Sprint("u", i%4))
				var p Peer
				if b.Pick(in, nil, &p) == nil {
					b.Done(&p, Result{Status: []int{200, 500, 503}[i%3], Failure: Failure(i % 3), Latency: time.Millisecond})
				}
			}
		}()
	}
	for i := 0; i < 30; i++ {
		s := m.Update(mk(AlgorithmRoundRobin, i%3), nil)
		cur.Lock()
		set = s
		cur.Unlock()
		_ = m.SetHealth("u0", "api.test:80", "", i%2 == 0)
		m.Health("u1")
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
}
