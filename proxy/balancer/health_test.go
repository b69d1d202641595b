package balancer

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestPassiveHealthChecks(t *testing.T) {
	tests := []struct {
		name       string
		checks     map[string]any
		results    []Result
		wantHealth bool
	}{
		{"tcp failures", passiveChecks(2, 0, 0, 0),
			[]Result{{Failure: FailureTCP}, {Failure: FailureTCP}}, false},
		{"timeouts", passiveChecks(0, 3, 0, 0),
			[]Result{{Failure: FailureTimeout}, {Failure: FailureTimeout}, {Failure: FailureTimeout}}, false},
		{"timeouts below the limit", passiveChecks(0, 3, 0, 0),
			[]Result{{Failure: FailureTimeout}, {Failure: FailureTimeout}}, true},
		{"default unhealthy statuses 429 500 503", passiveChecks(0, 0, 3, 0),
			[]Result{{Status: 500}, {Status: 503}, {Status: 429}}, false},
		{"other statuses are ignored", passiveChecks(0, 0, 1, 0),
			[]Result{{Status: 502}, {Status: 404}, {Status: 418}}, true},
		{"successes clear failures", passiveChecks(0, 0, 2, 1),
			[]Result{{Status: 500}, {Status: 200}, {Status: 500}}, true},
		{"configured statuses", map[string]any{"passive": map[string]any{
			"unhealthy": map[string]any{"http_failures": 1.0, "http_statuses": []any{418.0}}}},
			[]Result{{Status: 500}, {Status: 418}}, false},
		{"tcp failures off", passiveChecks(0, 0, 1, 0),
			[]Result{{Failure: FailureTCP}, {Failure: FailureTCP}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestManager(t)
			u := upstream("u", AlgorithmRoundRobin, "10.0.0.1:80")
			u.Healthchecks = tt.checks
			b := m.Update([]Upstream{u}, nil).Upstream("ws", "u")
			for _, r := range tt.results {
				var p Peer
				if err := b.Pick(&request{}, nil, &p); err != nil {
					t.Fatal(err)
				}
				b.Done(&p, r)
			}
			var p Peer
			err := b.Pick(&request{}, nil, &p)
			if healthy := err == nil; healthy != tt.wantHealth {
				t.Errorf("Pick: %v, want healthy %v", err, tt.wantHealth)
			}
			if !tt.wantHealth && !errors.Is(err, ErrNoPeer) {
				t.Errorf("Pick: %v, want ErrNoPeer", err)
			}
		})
	}
}

// An unhealthy peer takes no traffic; each change is published once.
func TestHealthTransitionsPublishedOnce(t *testing.T) {
	m := newTestManager(t)
	u := upstream("u", AlgorithmRoundRobin, "10.0.0.1:80", "10.0.0.2:80")
	u.Name = "backend"
	u.Healthchecks = passiveChecks(1, 0, 0, 1)
	b := m.Update([]Upstream{u}, nil).Upstream("ws", "backend")
	fail := func(addr string) {
		for {
			var p Peer
			if err := b.Pick(&request{}, nil, &p); err != nil {
				t.Fatal(err)
			}
			if p.Addr == addr {
				b.Done(&p, Result{Failure: FailureTCP})
				return
			}
			b.Done(&p, Result{Status: 200})
		}
	}
	fail("10.0.0.1:80")
	got := picks(t, b, &request{}, 10)
	if !reflect.DeepEqual(got, map[string]int{"10.0.0.2:80": 10}) {
		t.Errorf("after failure: %v", got)
	}
	fail("10.0.0.2:80")
	var p Peer
	if err := b.Pick(&request{}, nil, &p); !errors.Is(err, ErrNoPeer) {
		t.Errorf("all unhealthy: Pick = %v", err)
	}
	if err := m.SetHealth("u", "10.0.0.1:80", "", true); err != nil {
		t.Fatal(err)
	}
	if err := m.SetHealth("u", "10.0.0.1:80", "", true); err != nil { // no change, no event
		t.Fatal(err)
	}
	want := []HealthEvent{
		{UpstreamID: "u", UpstreamName: "backend", IP: "10.0.0.1", Port: 80, Hostname: "10.0.0.1", Health: "unhealthy"},
		{UpstreamID: "u", UpstreamName: "backend", IP: "10.0.0.2", Port: 80, Hostname: "10.0.0.2", Health: "unhealthy"},
		{UpstreamID: "u", UpstreamName: "backend", IP: "10.0.0.1", Port: 80, Hostname: "10.0.0.1", Health: "healthy"},
	}
	if got := m.healthEvents(t, 3); !reflect.DeepEqual(got, want) {
		t.Errorf("events\n got %+v\nwant %+v", got, want)
	}
	if got := picks(t, b, &request{}, 4); !reflect.DeepEqual(got, map[string]int{"10.0.0.1:80": 4}) {
		t.Errorf("after manual healthy: %v", got)
	}
}

// healthchecks.threshold: below that share of healthy weight the whole
// upstream refuses (Kong's balancer health).
func TestHealthThreshold(t *testing.T) {
	m := newTestManager(t)
	u := upstream("u", AlgorithmRoundRobin, "10.0.0.1:80@60", "10.0.0.2:80@40")
	u.Healthchecks = passiveChecks(1, 0, 0, 0)
	u.Healthchecks["threshold"] = 50.0
	b := m.Update([]Upstream{u}, nil).Upstream("ws", "u")
	if err := m.SetHealth("u", "10.0.0.2:80", "", false); err != nil {
		t.Fatal(err)
	}
	var p Peer
	if err := b.Pick(&request{}, nil, &p); err != nil {
		t.Fatalf("60%% healthy > 50%%: %v", err)
	}
	if err := m.SetHealth("u", "10.0.0.2:80", "", true); err != nil {
		t.Fatal(err)
	}
	if err := m.SetHealth("u", "10.0.0.1:80", "", false); err != nil {
		t.Fatal(err)
	}
	if err := b.Pick(&request{}, nil, &p); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("40%% healthy <= 50%%: Pick = %v, want ErrNoPeer", err)
	}
	bh, _ := m.BalancerHealth("u")
	if bh.Health != HealthUnhealthy || bh.BalancerHealth != HealthUnhealthy || bh.Details.Healthy {
		t.Errorf("balancer health %+v", bh)
	}
}

func TestSetHealthErrors(t *testing.T) {
	m := newTestManager(t)
	off := upstream("off", AlgorithmRoundRobin, "10.0.0.1:80")
	on := upstream("on", AlgorithmRoundRobin, "10.0.0.1:80", "10.0.0.2:80@0")
	on.Healthchecks = passiveChecks(1, 0, 0, 0)
	m.Update([]Upstream{off, on}, nil)
	var he *HealthError
	tests := []struct {
		name                   string
		upstream, target, addr string
		healthy                bool
		wantErr                error
		wantMessage            string
		wantAvail1, wantAvail2 bool
	}{
		{"unknown upstream", "nope", "10.0.0.1:80", "", false, he, "Upstream nope has no balancer", true, true},
		{"health checks off", "off", "10.0.0.1:80", "", false, he, "no healthchecker found for off", true, true},
		{"unknown target", "on", "10.9.9.9:80", "", false, ErrUnknownTarget, "", true, true},
		{"bad address", "on", "10.0.0.1:80", "10.0.0.1:x", false, he, `Invalid address "10.0.0.1:x"`, true, true},
		{"unknown address is ignored", "on", "10.0.0.1:80", "10.0.0.7:80", false, nil, "", true, true},
		{"address without port is port 8000", "on", "10.0.0.1:80", "10.0.0.1", false, nil, "", true, true},
		{"address", "on", "10.0.0.1:80", "10.0.0.1:80", false, nil, "", false, true},
		{"by target id", "on", "t0", "", true, nil, "", true, true},
		{"weight 0 is not checked", "on", "10.0.0.2:80", "", false, nil, "", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.SetHealth(tt.upstream, tt.target, tt.addr, tt.healthy)
			switch want := tt.wantErr.(type) {
			case *HealthError:
				if !errors.As(err, &he) || he.Message != tt.wantMessage {
					t.Fatalf("err %v, want HealthError %q", err, tt.wantMessage)
				}
			default:
				if !errors.Is(err, want) {
					t.Fatalf("err %v, want %v", err, want)
				}
			}
			hs, _ := m.Health("on")
			if got := hs[0].Data.Addresses[0].Health == HealthHealthy; got != tt.wantAvail1 {
				t.Errorf("10.0.0.1 healthy %v, want %v", got, tt.wantAvail1)
			}
			if got := hs[1].Data.Addresses[0].Health; got != HealthHealthchecksOff {
				t.Errorf("weight 0 target reports %s", got)
			}
		})
	}
}

func TestHealthReport(t *testing.T) {
	m := newTestManager(t)
	m.res.set("api.test", aRecords(time.Hour, "10.1.0.2", "10.1.0.1"), nil)
	m.res.set("srv.test", Answer{Type: "SRV", TTL: time.Hour, Records: []Record{
		{IP: "10.2.0.1", Port: 9001, Weight: 0, Target: "a.srv.test"},
		{IP: "10.2.0.2", Port: 0, Weight: 20, Target: "b.srv.test"}}}, nil)
	u := upstream("u", AlgorithmRoundRobin, "10.0.0.1:80", "api.test:8080@50", "bad.test:80", "srv.test:7000", "[::1]:81@0")
	u.Healthchecks = passiveChecks(1, 0, 0, 0)
	m.Update([]Upstream{u}, nil)
	if err := m.SetHealth("u", "api.test:8080", "10.1.0.2:8080", false); err != nil {
		t.Fatal(err)
	}
	if err := m.SetHealth("u", "10.0.0.1:80", "", false); err != nil {
		t.Fatal(err)
	}
	hs, ok := m.Health("u")
	if !ok {
		t.Fatal("no health")
	}
	got, _ := json.Marshal(hs)
	want := `[` +
		`{"id":"t0","target":"10.0.0.1:80","weight":100,"created_at":0,"health":"UNHEALTHY","data":{"host":"10.0.0.1","port":80,"dns":"A","nodeWeight":100,"weight":{"total":100,"unavailable":100,"available":0},"addresses":[{"ip":"10.0.0.1","port":80,"weight":100,"health":"UNHEALTHY"}]}},` +
		`{"id":"t1","target":"api.test:8080","weight":50,"created_at":1,"health":"HEALTHY","data":{"host":"api.test","port":8080,"dns":"A","nodeWeight":50,"weight":{"total":100,"unavailable":50,"available":50},"addresses":[{"ip":"10.1.0.1","port":8080,"weight":50,"health":"HEALTHY"},{"ip":"10.1.0.2","port":8080,"weight":50,"health":"UNHEALTHY"}]}},` +
		`{"id":"t2","target":"bad.test:80","weight":100,"created_at":2,"health":"DNS_ERROR","data":{"host":"bad.test","port":80,"dns":"dns server error: 3 name error","nodeWeight":100,"weight":{"total":0,"unavailable":0,"available":0},"addresses":{}}},` +
		`{"id":"t3","target":"srv.test:7000","weight":100,"created_at":3,"health":"HEALTHY","data":{"host":"srv.test","port":7000,"dns":"SRV","nodeWeight":100,"weight":{"total":21,"unavailable":0,"available":21},"addresses":[{"ip":"10.2.0.1","port":9001,"weight":1,"health":"HEALTHY"},{"ip":"10.2.0.2","port":7000,"weight":20,"health":"HEALTHY"}]}},` +
		`{"id":"t4","target":"[::1]:81","weight":0,"created_at":4,"health":"HEALTHCHECKS_OFF","data":{"host":"[::1]","port":81,"dns":"AAAA","nodeWeight":0,"weight":{"total":0,"unavailable":0,"available":0},"addresses":[{"ip":"::1","port":81,"weight":0,"health":"HEALTHCHECKS_OFF"}]}}` +
		`]`
	if string(got) != want {
		t.Errorf("health report\n got %s\nwant %s", got, want)
	}

	bh, _ := m.BalancerHealth("u")
	got, _ = json.Marshal(bh)
	wantBH := `{"health":"HEALTHY","balancer_health":"HEALTHY","id":"u","details":{"healthy":true,"weight":{"total":221,"unavailable":150,"available":71},"hosts":[` +
		`{"host":"10.0.0.1","port":80,"dns":"A","nodeWeight":100,"weight":{"total":100,"unavailable":100,"available":0},"addresses":[{"ip":"10.0.0.1","port":80,"weight":100,"healthy":false}]},` +
		`{"host":"api.test","port":8080,"dns":"A","nodeWeight":50,"weight":{"total":100,"unavailable":50,"available":50},"addresses":[{"ip":"10.1.0.1","port":8080,"weight":50,"healthy":true},{"ip":"10.1.0.2","port":8080,"weight":50,"healthy":false}]},` +
		`{"host":"bad.test","port":80,"dns":"dns server error: 3 name error","nodeWeight":100,"weight":{"total":0,"unavailable":0,"available":0},"addresses":{}},` +
		`{"host":"srv.test","port":7000,"dns":"SRV","nodeWeight":100,"weight":{"total":21,"unavailable":0,"available":21},"addresses":[{"ip":"10.2.0.1","port":9001,"weight":1,"healthy":true},{"ip":"10.2.0.2","port":7000,"weight":20,"healthy":true}]},` +
		`{"host":"[::1]","port":81,"dns":"AAAA","nodeWeight":0,"weight":{"total":0,"unavailable":0,"available":0},"addresses":[{"ip":"::1","port":81,"weight":0,"healthy":true}]}` +
		`]}}`
	if string(got) != wantBH {
		t.Errorf("balancer health\n got %s\nwant %s", got, wantBH)
	}

	// Without health checks every address is HEALTHCHECKS_OFF.
	u.Healthchecks = nil
	m.Update([]Upstream{u}, nil)
	hs, _ = m.Health("u")
	for _, th := range hs[:2] {
		if th.Health != HealthHealthchecksOff {
			t.Errorf("%s: %s with health checks off", th.Target, th.Health)
		}
	}
	if bh, _ := m.BalancerHealth("u"); bh.Health != HealthHealthchecksOff || bh.BalancerHealth != HealthHealthy {
		t.Errorf("balancer health with checks off: %s/%s", bh.Health, bh.BalancerHealth)
	}
	if _, ok := m.Health("nope"); ok {
		t.Error("Health of an unknown upstream")
	}
}
