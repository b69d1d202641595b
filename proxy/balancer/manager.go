package balancer

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Manager.
type Options struct {
	// OnHealth receives every change of an address's health (active,
	// passive or manual), once per change, in order, from one goroutine.
	// The node publishes it as the event hooks source "balancer", event
	// "health". May be nil.
	OnHealth func(HealthEvent)
	// Logf logs at Kong's levels ("debug", "info", "notice", "warn",
	// "error", "crit"). May be nil.
	Logf func(level, format string, args ...any)
	// Resolver resolves target and service host names. Nil is the system's
	// DNS: /etc/hosts, then the resolv.conf name servers, TTLs honoured.
	Resolver Resolver
}

// HealthEvent is one health transition of an address.
type HealthEvent struct {
	UpstreamID, UpstreamName string
	IP                       string
	Port                     int
	// Hostname is the target's host name.
	Hostname string
	// Health is "healthy" or "unhealthy".
	Health string
}

// tuning holds the Manager's timings; tests shorten them.
type tuning struct {
	minTTL        time.Duration // shortest wait between resolutions of a name (Kong re-resolves ttl=0 per request)
	notFoundRetry time.Duration // next try after "name error"/"empty record" (Kong's 30 s requery)
	errorRetryMin time.Duration // first retry after another failure, doubling...
	errorRetryMax time.Duration // ...up to this
	staleTTL      time.Duration // how long failed refreshes keep the last addresses (Kong dns_stale_ttl)
	firstResolve  time.Duration // how long Update waits for a new name
	resolve       time.Duration // timeout of a background resolution
	parallel      int           // background resolutions at once
}

var defaultTuning = tuning{
	minTTL:        time.Second,
	notFoundRetry: 30 * time.Second,
	errorRetryMin: time.Second,
	errorRetryMax: 30 * time.Second,
	staleTTL:      time.Hour,
	firstResolve:  5 * time.Second,
	resolve:       10 * time.Second,
	parallel:      8,
}

// Manager owns the balancers of a node and what outlives configurations:
// health states, DNS answers, active checkers. It is safe for concurrent
// use. Close it to stop its goroutines.
type Manager struct {
	opts   Options
	res    Resolver
	tune   tuning
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	events eventQueue
	kick   chan struct{} // wakes the DNS refresher
	// clock is the time (UnixNano) to within clockTick, so that Done need
	// not read the clock (as Kong's latency balancer uses ngx.now()).
	clock atomic.Int64

	update sync.Mutex // serialises Update

	mu     sync.Mutex // guards the maps, dnsEntry.next/failures/users and closed
	ups    map[string]*upstreamState
	hosts  map[string]*hostState
	names  map[string]*dnsEntry
	closed bool
}

// NewManager starts a Manager: its DNS refresher and event dispatcher.
func NewManager(opts Options) *Manager {
	return newManager(opts, defaultTuning)
}

func newManager(opts Options, t tuning) *Manager {
	m := &Manager{
		opts:  opts,
		res:   opts.Resolver,
		tune:  t,
		kick:  make(chan struct{}, 1),
		ups:   map[string]*upstreamState{},
		hosts: map[string]*hostState{},
		names: map[string]*dnsEntry{},
	}
	if m.res == nil {
		m.res = newSystemResolver("/etc/resolv.conf", "/etc/hosts")
	}
	m.events.init()
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.clock.Store(time.Now().UnixNano())
	m.wg.Add(3)
	go m.refresher()
	go m.dispatch()
	go m.tick()
	return m
}

// clockTick is the resolution of Manager.clock: small against the latency
// average's 10 s decay.
const clockTick = 10 * time.Millisecond

func (m *Manager) tick() {
	defer m.wg.Done()
	t := time.NewTicker(clockTick)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case now := <-t.C:
			m.clock.Store(now.UnixNano())
		}
	}
}

// Set is the immutable result of one Update: the balancers of upstreams
// by workspace and name, and of service host names.
type Set struct {
	upstreams map[string]*Balancer
	hosts     map[string]*Balancer
}

// Upstream returns the balancer of the named upstream of a workspace, nil
// if there is none.
func (s *Set) Upstream(workspaceID, name string) *Balancer {
	if s == nil {
		return nil
	}
	return s.upstreams[workspaceID+"\x00"+name]
}

// Host returns the balancer over the addresses of a service host
// ("host:port") given to Update; nil for IP literals, which are dialled
// directly, and for hosts Update was not given.
func (s *Set) Host(hostport string) *Balancer {
	if s == nil {
		return nil
	}
	return s.hosts[hostport]
}

// Update installs a configuration: a balancer per upstream, and an
// implicit balancer for each service host that is a name rather than an
// upstream or an IP (hosts, each "host:port"). Health states, counters,
// in-flight counts, latency averages and DNS answers of upstreams and
// targets that remain carry over; active checkers start and stop as
// configured. New host names are resolved before Update returns (each
// waits at most a few seconds). Call it off the request path.
func (m *Manager) Update(ups []Upstream, serviceHosts []string) *Set {
	m.update.Lock()
	defer m.update.Unlock()

	want := map[string]bool{}
	for i := range ups {
		for _, t := range ups[i].Targets {
			if host, _, typ := splitTarget(t.Target); typ == "name" {
				want[strings.ToLower(host)] = true
			}
		}
	}
	type hostPort struct {
		key, host string
		port      int
	}
	var hps []hostPort
	for _, hp := range serviceHosts {
		host, portStr, err := net.SplitHostPort(hp)
		if err != nil {
			host, portStr = hp, "80"
		}
		port, _ := strconv.Atoi(portStr)
		if hostType(host) != "name" {
			continue
		}
		hps = append(hps, hostPort{hp, host, port})
		want[strings.ToLower(host)] = true
	}

	m.mu.Lock()
	var fresh []*dnsEntry
	for name := range want {
		if m.names[name] == nil {
			e := &dnsEntry{name: name}
			m.names[name] = e
			fresh = append(fresh, e)
		}
	}
	m.mu.Unlock()
	m.resolveFirst(fresh)

	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.names {
		clear(e.users)
	}
	set := &Set{upstreams: make(map[string]*Balancer, len(ups)), hosts: make(map[string]*Balancer, len(hps))}
	seen := make(map[string]bool, len(ups))
	for i := range ups {
		u := ups[i]
		seen[u.ID] = true
		us := m.ups[u.ID]
		if us == nil {
			us = &upstreamState{m: m, id: u.ID, states: map[addrKey]*addrState{}}
			m.ups[u.ID] = us
		}
		entries := map[string]*dnsEntry{}
		for _, t := range u.Targets {
			if host, _, typ := splitTarget(t.Target); typ == "name" {
				e := m.names[strings.ToLower(host)]
				entries[e.name] = e
				e.addUser(us)
			}
		}
		set.upstreams[u.WorkspaceID+"\x00"+u.Name] = us.configure(u, entries, !m.closed)
	}
	for id, us := range m.ups {
		if !seen[id] {
			us.stop()
			delete(m.ups, id)
		}
	}
	hostSeen := make(map[string]bool, len(hps))
	for _, hp := range hps {
		hostSeen[hp.key] = true
		hs := m.hosts[hp.key]
		if hs == nil {
			hs = newHostState(hp.host, hp.port, m.names[strings.ToLower(hp.host)])
			m.hosts[hp.key] = hs
		}
		hs.entry.addUser(hs)
		set.hosts[hp.key] = hs.bal
	}
	for key := range m.hosts {
		if !hostSeen[key] {
			delete(m.hosts, key)
		}
	}
	for name, e := range m.names {
		if len(e.users) == 0 {
			delete(m.names, name)
		}
	}
	select {
	case m.kick <- struct{}{}:
	default:
	}
	return set
}

// Close stops the active checkers, the DNS refresher and the event
// dispatcher (after it delivered the pending events), and waits for them.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	for _, us := range m.ups {
		us.stop()
	}
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
}

// logf logs through Options.Logf.
func (m *Manager) logf(level, format string, args ...any) {
	if m.opts.Logf != nil {
		m.opts.Logf(level, format, args...)
	}
}
