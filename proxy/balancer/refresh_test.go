package balancer

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

// A name target has an address per A record, each with the target's
// weight; answers are refreshed when their TTL expires and the ring
// follows, keeping the health of addresses that stay.
func TestTargetResolution(t *testing.T) {
	m := newTestManager(t)
	m.res.set("api.test", aRecords(30*time.Millisecond, "10.0.0.1", "10.0.0.2"), nil)
	u := upstream("u", AlgorithmRoundRobin, "api.test:8080@7", "10.0.0.9:80@14")
	u.Healthchecks = passiveChecks(1, 0, 0, 0)
	b := m.Update([]Upstream{u}, nil).Upstream("ws", "u")
	got := picks(t, b, &request{}, 28)
	want := map[string]int{"10.0.0.1:8080": 7, "10.0.0.2:8080": 7, "10.0.0.9:80": 14}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	var p Peer
	for p.Hostname != "api.test" {
		if err := b.Pick(&request{}, nil, &p); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.SetHealth("u", "api.test:8080", "10.0.0.2:8080", false); err != nil {
		t.Fatal(err)
	}
	m.res.set("api.test", aRecords(time.Hour, "10.0.0.2", "10.0.0.3"), nil)
	eventually(t, func() bool { return picks(t, b, &request{}, 21)["10.0.0.3:8080"] == 7 }, "the new address")
	got = picks(t, b, &request{}, 21)
	want = map[string]int{"10.0.0.3:8080": 7, "10.0.0.9:80": 14}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after refresh got %v, want %v (10.0.0.2 stays unhealthy, 10.0.0.1 is gone)", got, want)
	}
	calls := m.res.count("api.test")
	time.Sleep(60 * time.Millisecond)
	if n := m.res.count("api.test") - calls; n > 0 {
		t.Errorf("resolved %d more times within the TTL", n)
	}
}

// A failing refresh keeps the last addresses (Kong's stale TTL); past it,
// the target has none.
func TestStaleAnswers(t *testing.T) {
	tune := fastTuning
	tune.staleTTL = 150 * time.Millisecond
	m := newTestManagerTuned(t, tune)
	m.res.set("api.test", aRecords(10*time.Millisecond, "10.0.0.1"), nil)
	b := m.Update([]Upstream{upstream("u", AlgorithmRoundRobin, "api.test:80")}, nil).Upstream("ws", "u")
	m.res.set("api.test", Answer{}, errors.New("dns server error: 2 server failure"))
	eventually(t, func() bool { return m.res.count("api.test") >= 3 }, "refreshes")
	var p Peer
	if err := b.Pick(&request{}, nil, &p); err != nil || p.Addr != "10.0.0.1:80" {
		t.Fatalf("stale answer not used: %v %s", err, p.Addr)
	}
	if hs, _ := m.Health("u"); hs[0].Data.DNS != "A" || hs[0].Health != HealthHealthchecksOff {
		t.Errorf("stale target reports %s / %s", hs[0].Health, hs[0].Data.DNS)
	}
	eventually(t, func() bool { return b.Pick(&request{}, nil, &p) != nil }, "the stale answer to expire")
	if err := b.Pick(&request{}, nil, &p); !errors.Is(err, ErrNoPeer) {
		t.Errorf("Pick = %v, want ErrNoPeer", err)
	}
	hs, _ := m.Health("u")
	if hs[0].Health != HealthDNSError || hs[0].Data.DNS != "dns server error: 2 server failure" {
		t.Errorf("expired target reports %s / %s", hs[0].Health, hs[0].Data.DNS)
	}
	// The name comes back.
	m.res.set("api.test", aRecords(time.Hour, "10.0.0.4"), nil)
	eventually(t, func() bool { return b.Pick(&request{}, nil, &p) == nil && p.Addr == "10.0.0.4:80" }, "the name to resolve again")
}

// A name that does not resolve yet is retried and picked up.
func TestNameAppears(t *testing.T) {
	m := newTestManager(t)
	b := m.Update([]Upstream{upstream("u", AlgorithmRoundRobin, "late.test:80")}, nil).Upstream("ws", "u")
	var p Peer
	if err := b.Pick(&request{}, nil, &p); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("Pick = %v, want ErrNoPeer", err)
	}
	if hs, _ := m.Health("u"); hs[0].Health != HealthDNSError || hs[0].Data.DNS != ErrNameNotFound.Error() {
		t.Errorf("report %s / %s", hs[0].Health, hs[0].Data.DNS)
	}
	m.res.set("late.test", aRecords(time.Hour, "10.0.0.5"), nil)
	eventually(t, func() bool { return b.Pick(&request{}, nil, &p) == nil }, "the name to resolve")
}

func TestServiceHosts(t *testing.T) {
	m := newTestManager(t)
	m.res.set("svc.test", aRecords(time.Hour, "10.0.0.1", "10.0.0.2"), nil)
	m.res.set("srv.test", Answer{Type: "SRV", TTL: time.Hour, Records: []Record{
		{IP: "10.1.0.1", Port: 9000, Weight: 3}, {IP: "10.1.0.2", Port: 0, Weight: 0}}}, nil)
	set := m.Update(nil, []string{"svc.test:8080", "srv.test:80", "nx.test:80", "10.0.0.7:80", "[::1]:80"})
	if set.Host("10.0.0.7:80") != nil || set.Host("[::1]:80") != nil || set.Host("other.test:80") != nil {
		t.Error("a balancer for an IP literal or an unknown host")
	}
	got := picks(t, set.Host("svc.test:8080"), &request{}, 4)
	if !reflect.DeepEqual(got, map[string]int{"10.0.0.1:8080": 2, "10.0.0.2:8080": 2}) {
		t.Errorf("A records: %v", got)
	}
	var p Peer
	if err := set.Host("svc.test:8080").Pick(&request{}, nil, &p); err != nil || p.Hostname != "svc.test" || p.Port != 8080 {
		t.Errorf("peer %+v, %v", p, err)
	}
	got = picks(t, set.Host("srv.test:80"), &request{}, 4)
	if !reflect.DeepEqual(got, map[string]int{"10.1.0.1:9000": 3, "10.1.0.2:80": 1}) {
		t.Errorf("SRV records: %v", got)
	}
	if err := set.Host("nx.test:80").Pick(&request{}, nil, &p); !errors.Is(err, ErrNameResolution) {
		t.Errorf("unresolved host: Pick = %v, want ErrNameResolution", err)
	}
	// Balancers of unchanged hosts are kept across updates.
	if set2 := m.Update(nil, []string{"svc.test:8080"}); set2.Host("svc.test:8080") != set.Host("svc.test:8080") {
		t.Error("host balancer replaced by an update that did not change it")
	}
}

func TestSRVTargets(t *testing.T) {
	m := newTestManager(t)
	m.res.set("srv.test", Answer{Type: "SRV", TTL: time.Hour, Records: []Record{
		{IP: "10.1.0.1", Port: 9000, Weight: 30, Target: "one.srv.test"},
		{IP: "10.1.0.2", Port: 0, Weight: 10, Target: "two.srv.test"}}}, nil)
	u := upstream("u", AlgorithmRoundRobin, "srv.test:7000@100")
	b := m.Update([]Upstream{u}, nil).Upstream("ws", "u")
	got := picks(t, b, &request{}, 8)
	if !reflect.DeepEqual(got, map[string]int{"10.1.0.1:9000": 6, "10.1.0.2:7000": 2}) {
		t.Errorf("SRV weights and ports: %v", got)
	}
	var p Peer
	_ = b.Pick(&request{}, nil, &p)
	if p.Hostname != "srv.test" {
		t.Errorf("hostname %q, want the target's name", p.Hostname)
	}
	u.UseSRVName = true
	b = m.Update([]Upstream{u}, nil).Upstream("ws", "u")
	names := map[string]bool{}
	for i := 0; i < 4; i++ {
		_ = b.Pick(&request{}, nil, &p)
		names[p.Hostname] = true
	}
	if !names["one.srv.test"] || !names["two.srv.test"] {
		t.Errorf("use_srv_name hostnames %v", names)
	}
}

type panickyResolver struct{}

func (panickyResolver) Resolve(context.Context, string) (Answer, error) { panic("resolver bug") }

// A panicking Resolver is a failed resolution, not a crash.
func TestResolverPanic(t *testing.T) {
	m := newManager(Options{Resolver: panickyResolver{}}, fastTuning)
	defer m.Close()
	b := m.Update([]Upstream{upstream("u", AlgorithmRoundRobin, "api.test:80")}, nil).Upstream("ws", "u")
	var p Peer
	if err := b.Pick(&request{}, nil, &p); !errors.Is(err, ErrNoPeer) {
		t.Errorf("Pick = %v", err)
	}
	if hs, _ := m.Health("u"); hs[0].Health != HealthDNSError || hs[0].Data.DNS != "resolver panicked: resolver bug" {
		t.Errorf("report %s / %s", hs[0].Health, hs[0].Data.DNS)
	}
}
