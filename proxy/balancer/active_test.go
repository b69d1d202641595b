package balancer

import (
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// activeChecks is a healthchecks record probing every 20 ms.
func activeChecks(typ string, extra func(active map[string]any)) map[string]any {
	active := map[string]any{
		"type":      typ,
		"timeout":   0.5,
		"http_path": "/status",
		"headers":   map[string]any{"X-Probe": []any{"yes"}},
		"healthy":   map[string]any{"interval": 0.02, "successes": 2.0},
		"unhealthy": map[string]any{"interval": 0.02, "http_failures": 2.0, "tcp_failures": 1.0, "timeouts": 1.0},
	}
	if extra != nil {
		extra(active)
	}
	return map[string]any{"active": active}
}

// backend is an httptest server whose status the test sets, recording the
// probes it gets.
type backend struct {
	*httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	probes []*http.Request
}

func newBackend(t *testing.T, tls bool) *backend {
	t.Helper()
	b := &backend{}
	b.status.Store(200)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.probes = append(b.probes, r)
		b.mu.Unlock()
		w.WriteHeader(int(b.status.Load()))
	})
	if tls {
		b.Server = httptest.NewTLSServer(h)
	} else {
		b.Server = httptest.NewServer(h)
	}
	t.Cleanup(b.Close)
	return b
}

func (b *backend) addr() string { return b.Listener.Addr().String() }

func (b *backend) probeCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.probes)
}

// healthOf is an address's reported health.
func healthOf(t *testing.T, m *testManager, upstreamID, addr string) string {
	t.Helper()
	hs, _ := m.Health(upstreamID)
	for _, th := range hs {
		for _, a := range th.Data.Addresses {
			if net.JoinHostPort(a.IP, strconv.Itoa(a.Port)) == addr {
				return a.Health
			}
		}
	}
	return "missing"
}

func waitHealth(t *testing.T, m *testManager, upstreamID, addr, want string) {
	t.Helper()
	eventually(t, func() bool { return healthOf(t, m, upstreamID, addr) == want }, "%s to be %s", addr, want)
}

// A backend answering failure statuses goes unhealthy, takes no traffic,
// and comes back after healthy.successes good probes.
func TestActiveHTTPStatuses(t *testing.T) {
	m := newTestManager(t)
	good, bad := newBackend(t, false), newBackend(t, false)
	u := upstream("u", AlgorithmRoundRobin, good.addr(), bad.addr())
	u.Healthchecks = activeChecks("http", nil)
	b := m.Update([]Upstream{u}, nil).Upstream("ws", "u")

	bad.status.Store(500)
	waitHealth(t, m, "u", bad.addr(), HealthUnhealthy)
	if got := picks(t, b, &request{}, 6); got[bad.addr()] != 0 {
		t.Errorf("unhealthy backend picked: %v", got)
	}
	bad.status.Store(200)
	waitHealth(t, m, "u", bad.addr(), HealthHealthy)
	if got := picks(t, b, &request{}, 6); got[bad.addr()] != 3 {
		t.Errorf("recovered backend not picked: %v", got)
	}
	evs := m.healthEvents(t, 2)
	if evs[0].Health != "unhealthy" || evs[1].Health != "healthy" || evs[0].Port != bad.Listener.Addr().(*net.TCPAddr).Port {
		t.Errorf("events %+v", evs)
	}
	if healthOf(t, m, "u", good.addr()) != HealthHealthy {
		t.Error("the good backend is not healthy")
	}

	// The probe: GET http_path, Host without port, the headers, one-shot.
	good.mu.Lock()
	r := good.probes[0]
	good.mu.Unlock()
	if r.Method != "GET" || r.URL.Path != "/status" || r.Host != "127.0.0.1" || r.Header.Get("X-Probe") != "yes" || !r.Close {
		t.Errorf("probe %s %s Host %q X-Probe %q close %v", r.Method, r.URL, r.Host, r.Header.Get("X-Probe"), r.Close)
	}
}

// A backend that stops listening fails by TCP and is healthy again once it
// is back.
func TestActiveTCPDownAndBack(t *testing.T) {
	m := newTestManager(t)
	be := newBackend(t, false)
	addr := be.addr()
	u := upstream("u", AlgorithmRoundRobin, addr)
	u.HostHeader = "api.example"
	u.Healthchecks = activeChecks("http", nil)
	m.Update([]Upstream{u}, nil)
	eventually(t, func() bool { return be.probeCount() > 0 }, "a probe")
	be.mu.Lock()
	host := be.probes[0].Host
	be.mu.Unlock()
	if host != "api.example" {
		t.Errorf("probe Host %q, want the upstream's host_header", host)
	}
	be.Close()
	waitHealth(t, m, "u", addr, HealthUnhealthy)

	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	back := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}}
	back.Start()
	defer back.Close()
	waitHealth(t, m, "u", addr, HealthHealthy)
}

func TestActiveTimeout(t *testing.T) {
	m := newTestManager(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns sync.WaitGroup
	go func() { // accepts and never answers
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				buf := make([]byte, 512)
				for {
					if _, err := c.Read(buf); err != nil {
						c.Close()
						return
					}
				}
			}()
		}
	}()
	u := upstream("u", AlgorithmRoundRobin, l.Addr().String())
	u.Healthchecks = activeChecks("http", func(a map[string]any) { a["timeout"] = 0.05 })
	m.Update([]Upstream{u}, nil)
	waitHealth(t, m, "u", l.Addr().String(), HealthUnhealthy)
}

func TestActiveHTTPS(t *testing.T) {
	tests := []struct {
		name   string
		verify bool
		want   string
	}{
		{"certificate not verified", false, HealthHealthy},
		{"self-signed certificate rejected", true, HealthUnhealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestManager(t)
			be := newBackend(t, true)
			u := upstream("u", AlgorithmRoundRobin, be.addr())
			u.Healthchecks = activeChecks("https", func(a map[string]any) {
				a["https_verify_certificate"] = tt.verify
				a["https_sni"] = "example.com"
			})
			m.Update([]Upstream{u}, nil)
			if tt.want == HealthHealthy {
				eventually(t, func() bool { return be.probeCount() >= 3 }, "probes")
				if got := healthOf(t, m, "u", be.addr()); got != tt.want {
					t.Errorf("health %s", got)
				}
				be.mu.Lock()
				sni := be.probes[0].TLS.ServerName
				be.mu.Unlock()
				if sni != "example.com" {
					t.Errorf("SNI %q, want https_sni", sni)
				}
				return
			}
			waitHealth(t, m, "u", be.addr(), tt.want)
		})
	}
}

func TestActiveTCP(t *testing.T) {
	m := newTestManager(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	u := upstream("u", AlgorithmRoundRobin, addr)
	u.Healthchecks = activeChecks("tcp", nil)
	m.Update([]Upstream{u}, nil)
	eventually(t, func() bool { return accepted.Load() >= 2 }, "tcp probes")
	l.Close()
	waitHealth(t, m, "u", addr, HealthUnhealthy)
}

// Turning active checks off stops the probes; removing the upstream too.
func TestActiveStops(t *testing.T) {
	m := newTestManager(t)
	be := newBackend(t, false)
	u := upstream("u", AlgorithmRoundRobin, be.addr())
	u.Healthchecks = activeChecks("http", nil)
	m.Update([]Upstream{u}, nil)
	eventually(t, func() bool { return be.probeCount() >= 2 }, "probes")
	u.Healthchecks = passiveChecks(1, 0, 0, 0)
	m.Update([]Upstream{u}, nil)
	time.Sleep(50 * time.Millisecond)
	n := be.probeCount()
	time.Sleep(100 * time.Millisecond)
	if got := be.probeCount(); got != n {
		t.Errorf("%d probes after active checks were turned off", got-n)
	}
	u.Healthchecks = activeChecks("http", nil)
	m.Update([]Upstream{u}, nil)
	eventually(t, func() bool { return be.probeCount() >= n+2 }, "probes again")
	m.Update(nil, nil)
	eventually(t, func() bool {
		buf := make([]byte, 1<<20)
		return !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "(*activeChecker).loop")
	}, "the checker of a removed upstream to stop")
}
