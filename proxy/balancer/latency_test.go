package balancer

import (
	"math"
	"testing"
	"time"
)

func TestLatencyPrefersFastPeer(t *testing.T) {
	m := newTestManager(t)
	b := m.Update([]Upstream{upstream("u", AlgorithmLatency, "10.0.0.1:80", "10.0.0.2:80")}, nil).Upstream("ws", "u")
	rtt := map[string]time.Duration{"10.0.0.1:80": 80 * time.Millisecond, "10.0.0.2:80": 5 * time.Millisecond}
	// Warm up: both peers get measured.
	for i := 0; i < 4; i++ {
		var p Peer
		if err := b.Pick(&request{}, nil, &p); err != nil {
			t.Fatal(err)
		}
		b.Done(&p, Result{Status: 200, Latency: rtt[p.Addr]})
	}
	got := map[string]int{}
	for i := 0; i < 100; i++ {
		var p Peer
		if err := b.Pick(&request{}, nil, &p); err != nil {
			t.Fatal(err)
		}
		got[p.Addr]++
		b.Done(&p, Result{Status: 200, Latency: rtt[p.Addr]})
	}
	if got["10.0.0.2:80"] < 95 {
		t.Errorf("fast peer got %d of 100", got["10.0.0.2:80"])
	}
	// A refused connection is not a latency sample.
	var p Peer
	_ = b.Pick(&request{}, nil, &p)
	before := p.picked.st.ewma.Load()
	b.Done(&p, Result{Failure: FailureTCP, Latency: time.Microsecond})
	if p2 := b.ring.Load(); p2 == nil || before != p2.peers[1].st.ewma.Load() && before != p2.peers[0].st.ewma.Load() {
		t.Error("a TCP failure changed the latency average")
	}
}

func TestLatencyDecay(t *testing.T) {
	s := newAddrState(addrKey{})
	now := time.Now().UnixNano()
	s.observe(0.1, now) // first sample: the average is the sample
	if got := s.score(now); math.Abs(got-0.1) > 1e-9 {
		t.Fatalf("score %v, want 0.1", got)
	}
	// After one decay time the average weighs e^-1.
	if got, want := s.score(now+int64(10*time.Second)), 0.1*math.Exp(-1); math.Abs(got-want) > 1e-9 {
		t.Errorf("decayed score %v, want %v", got, want)
	}
	s.observe(0.3, now+int64(10*time.Second))
	if got, want := s.score(now+int64(10*time.Second)), 0.1*math.Exp(-1)+0.3*(1-math.Exp(-1)); math.Abs(got-want) > 1e-9 {
		t.Errorf("score %v, want %v", got, want)
	}
}

// A new peer starts at the mean of the available peers (new ones counted
// as 0), not at 0, which would flood it (Kong's slow start).
func TestLatencySlowStart(t *testing.T) {
	m := newTestManager(t)
	u := upstream("u", AlgorithmLatency, "10.0.0.1:80", "10.0.0.2:80")
	b := m.Update([]Upstream{u}, nil).Upstream("ws", "u")
	for _, pe := range b.ring.Load().peers {
		pe.st.observe(0.2, time.Now().UnixNano())
	}
	u2 := upstream("u", AlgorithmLatency, "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80")
	b = m.Update([]Upstream{u2}, nil).Upstream("ws", "u")
	for _, pe := range b.ring.Load().peers {
		if pe.addr == "10.0.0.3:80" {
			if got := math.Float64frombits(pe.st.ewma.Load()); math.Abs(got-0.4/3) > 1e-9 {
				t.Errorf("new peer starts at %v, want %v", got, 0.4/3)
			}
		}
	}
}
