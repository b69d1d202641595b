package balancer

import (
	"fmt"
	"reflect"
	"regexp"
	"testing"
	"time"
)

// continuumCounts counts the continuum points of each peer.
func continuumCounts(b *Balancer) map[string]int {
	r := b.ring.Load()
	got := map[string]int{}
	for _, e := range r.continuum {
		if e >= 0 {
			got[r.peers[e].addr]++
		}
	}
	return got
}

// Point counts of Kong's spec/01-unit/09-balancer/03-consistent_hashing_spec.lua.
func TestContinuumPoints(t *testing.T) {
	tests := []struct {
		name    string
		slots   int
		targets []string
		want    map[string]int
	}{
		{"equal weights and fitting indices", 1000, []string{"mashape.com:80"},
			map[string]int{"1.2.3.4:80": 80, "1.2.3.5:80": 80}},
		{"adding a host", 2000, []string{"mashape.com:80@5", "getkong.org:8080@10"},
			map[string]int{"1.2.3.4:80": 80, "1.2.3.5:80": 80, "[::1]:8080": 160}},
		{"same weights", 1000, []string{"mashape.com:80@10", "getkong.org:80@10"},
			map[string]int{"1.2.3.4:80": 106, "1.2.3.5:80": 106, "[::1]:80": 106}},
		{"weight change", 1000, []string{"mashape.com:80@25", "getkong.org:80@10"},
			map[string]int{"1.2.3.4:80": 133, "1.2.3.5:80": 133, "[::1]:80": 53}},
		{"slots below 1000 use 1000", 10, []string{"mashape.com:80"},
			map[string]int{"1.2.3.4:80": 80, "1.2.3.5:80": 80}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestManager(t)
			m.res.set("mashape.com", aRecords(time.Hour, "1.2.3.5", "1.2.3.4"), nil)
			m.res.set("getkong.org", Answer{Type: "AAAA", TTL: time.Hour, Records: []Record{{IP: "::1"}}}, nil)
			u := upstream("u", AlgorithmConsistentHashing, tt.targets...)
			u.Slots = tt.slots
			b := m.Update([]Upstream{u}, nil).Upstream("ws", "u")
			if got := continuumCounts(b); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if n := len(b.ring.Load().continuum); n != max(tt.slots, 1000) {
				t.Errorf("continuum of %d points", n)
			}
		})
	}
}

// Adding a target moves the keys that now land on it, and (Kong's
// collision handling lets a new point push an older one further) very few
// others.
func TestHashStableWhenTargetAdded(t *testing.T) {
	m := newTestManager(t)
	var targets []string
	for i := 1; i <= 10; i++ {
		targets = append(targets, fmt.Sprintf("10.0.0.%d:80", i))
	}
	u := upstream("u", AlgorithmConsistentHashing, targets...)
	u.HashOn = "ip"
	before := m.Update([]Upstream{u}, nil).Upstream("ws", "u")
	u2 := upstream("u", AlgorithmConsistentHashing, append(targets, "10.0.0.11:80")...)
	u2.HashOn = "ip"
	keys := make([]string, 5000)
	was := make([]string, len(keys))
	for i := range keys {
		keys[i] = fmt.Sprintf("192.168.%d.%d", i/250, i%250)
		var p Peer
		if err := before.Pick(&request{ip: keys[i]}, nil, &p); err != nil {
			t.Fatal(err)
		}
		was[i] = p.Addr
	}
	after := m.Update([]Upstream{u2}, nil).Upstream("ws", "u")
	moved, elsewhere := 0, 0
	for i, k := range keys {
		var p Peer
		if err := after.Pick(&request{ip: k}, nil, &p); err != nil {
			t.Fatal(err)
		}
		if p.Addr != was[i] {
			moved++
			if p.Addr != "10.0.0.11:80" {
				elsewhere++
			}
		}
	}
	if share := float64(moved) / float64(len(keys)); share < 0.04 || share > 0.16 {
		t.Errorf("%.1f%% of the keys moved, want about 1/11", share*100)
	}
	if share := float64(elsewhere) / float64(len(keys)); share > 0.01 {
		t.Errorf("%.1f%% of the keys moved between old targets", share*100)
	}
}

func TestHashSources(t *testing.T) {
	full := &request{consumer: "c1", ip: "10.1.1.1", headers: map[string]string{"x-h": "hv", "x-f": "fv"},
		cookies: map[string]string{"sess": "cv"}, path: "/p", args: map[string]string{"q": "qv", "f": "qf"},
		uc: map[string]string{"g": "gv", "f": "gf"}}
	tests := []struct {
		name string
		u    func(*Upstream)
		in   *request
		want string // the hashed value
	}{
		{"consumer", func(u *Upstream) { u.HashOn = "consumer" }, full, "c1"},
		{"ip", func(u *Upstream) { u.HashOn = "ip" }, full, "10.1.1.1"},
		{"header", func(u *Upstream) { u.HashOn, u.HashOnHeader = "header", "X-H" }, full, "hv"},
		{"cookie", func(u *Upstream) { u.HashOn, u.HashOnCookie = "cookie", "sess" }, full, "cv"},
		{"path", func(u *Upstream) { u.HashOn = "path" }, full, "/p"},
		{"query_arg", func(u *Upstream) { u.HashOn, u.HashOnQueryArg = "query_arg", "q" }, full, "qv"},
		{"uri_capture", func(u *Upstream) { u.HashOn, u.HashOnURICapture = "uri_capture", "g" }, full, "gv"},
		{"none", func(u *Upstream) {}, full, ""},
		{"absent consumer falls back to ip", func(u *Upstream) { u.HashOn, u.HashFallback = "consumer", "ip" },
			&request{ip: "10.2.2.2"}, "10.2.2.2"},
		{"absent header falls back to header", func(u *Upstream) {
			u.HashOn, u.HashOnHeader, u.HashFallback, u.HashFallbackHeader = "header", "x-none", "header", "x-f"
		}, full, "fv"},
		{"absent query arg falls back to query arg", func(u *Upstream) {
			u.HashOn, u.HashOnQueryArg, u.HashFallback, u.HashFallbackQueryArg = "query_arg", "none", "query_arg", "f"
		}, full, "qf"},
		{"absent capture falls back to capture", func(u *Upstream) {
			u.HashOn, u.HashOnURICapture, u.HashFallback, u.HashFallbackURICapture = "uri_capture", "none", "uri_capture", "f"
		}, full, "gf"},
		{"absent primary and fallback hash nothing", func(u *Upstream) { u.HashOn, u.HashFallback = "consumer", "path" },
			&request{}, ""},
		{"fallback without primary is ignored", func(u *Upstream) { u.HashFallback = "ip" }, full, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestManager(t)
			var targets []string
			for i := 1; i <= 8; i++ {
				targets = append(targets, fmt.Sprintf("10.0.0.%d:80", i))
			}
			u := upstream("u", AlgorithmConsistentHashing, targets...)
			tt.u(&u)
			b := m.Update([]Upstream{u}, nil).Upstream("ws", "u")
			want := b.pickHash(b.ring.Load(), xxh32(tt.want), nil).addr
			for i := 0; i < 3; i++ {
				var p Peer
				if err := b.Pick(tt.in, nil, &p); err != nil {
					t.Fatal(err)
				}
				if p.Addr != want || p.SetCookie != "" {
					t.Fatalf("picked %s (cookie %q), want %s", p.Addr, p.SetCookie, want)
				}
			}
		})
	}
}

// A client without the hash cookie gets one (Kong: a uuid, the cookie
// path, Same-Site=Lax, HttpOnly); retries hash the same value.
func TestHashCookieSet(t *testing.T) {
	m := newTestManager(t)
	u := upstream("u", AlgorithmConsistentHashing, "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80")
	u.HashOn, u.HashOnCookie, u.HashOnCookiePath = "cookie", "lb", "/api"
	b := m.Update([]Upstream{u}, nil).Upstream("ws", "u")
	var p Peer
	if err := b.Pick(&request{}, nil, &p); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^lb=([0-9a-f-]{36}); Path=/api; Same-Site=Lax; HttpOnly$`)
	sm := re.FindStringSubmatch(p.SetCookie)
	if sm == nil {
		t.Fatalf("Set-Cookie %q", p.SetCookie)
	}
	if want := b.pickHash(b.ring.Load(), xxh32(sm[1]), nil).addr; p.Addr != want {
		t.Errorf("picked %s, want %s (the cookie's peer)", p.Addr, want)
	}
	first, cookie := p.Addr, p.SetCookie
	b.Done(&p, Result{Failure: FailureTCP})
	if err := b.Pick(&request{}, []string{first}, &p); err != nil {
		t.Fatal(err)
	}
	if p.SetCookie != cookie || p.Addr == first {
		t.Errorf("retry: cookie %q addr %s; want the same cookie and another peer", p.SetCookie, p.Addr)
	}
	// With the cookie, no new one.
	var q Peer
	if err := b.Pick(&request{cookies: map[string]string{"lb": sm[1]}}, nil, &q); err != nil {
		t.Fatal(err)
	}
	if q.SetCookie != "" || q.Addr != first {
		t.Errorf("with cookie: %s %q, want %s and no Set-Cookie", q.Addr, q.SetCookie, first)
	}
}

// An unhealthy peer's keys go to the next point; other keys stay.
func TestHashSkipsUnhealthy(t *testing.T) {
	m := newTestManager(t)
	u := upstream("u", AlgorithmConsistentHashing, "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80")
	u.HashOn = "ip"
	u.Healthchecks = passiveChecks(1, 0, 0, 0)
	b := m.Update([]Upstream{u}, nil).Upstream("ws", "u")
	peerOf := func(ip string) string {
		var p Peer
		if err := b.Pick(&request{ip: ip}, nil, &p); err != nil {
			t.Fatal(err)
		}
		b.Done(&p, Result{Status: 200})
		return p.Addr
	}
	before := map[string]string{}
	for i := 0; i < 300; i++ {
		ip := fmt.Sprintf("172.16.0.%d", i)
		before[ip] = peerOf(ip)
	}
	if err := m.SetHealth("u", "10.0.0.2:80", "", false); err != nil {
		t.Fatal(err)
	}
	for ip, was := range before {
		got := peerOf(ip)
		if was != "10.0.0.2:80" && got != was {
			t.Errorf("%s moved from healthy %s to %s", ip, was, got)
		}
		if got == "10.0.0.2:80" {
			t.Errorf("%s still goes to the unhealthy peer", ip)
		}
	}
}
