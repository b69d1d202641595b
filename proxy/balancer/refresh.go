package balancer

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// dnsEntry is a host name the Manager keeps resolved for the upstreams
// and service hosts that use it.
type dnsEntry struct {
	name   string
	result atomic.Pointer[dnsResult]

	// Guarded by Manager.mu.
	next     time.Time // when to resolve again; zero while a resolution runs
	failures int       // consecutive failures, for the retry back-off
	users    map[dnsUser]struct{}
}

// dnsUser is told when an entry's addresses change.
type dnsUser interface{ dnsChanged() }

func (e *dnsEntry) addUser(u dnsUser) {
	if e.users == nil {
		e.users = map[dnsUser]struct{}{}
	}
	e.users[u] = struct{}{}
}

// dnsResult is an entry's state after a resolution: the addresses in use
// and the last error. Immutable.
type dnsResult struct {
	typ     string
	records []Record // sorted by IP, then port
	err     error
	// goodUntil is when the records stop being used if refreshes keep
	// failing: their TTL plus Kong's stale TTL.
	goodUntil time.Time
}

// resolveFirst resolves new names before Update builds on them, in
// parallel, each waiting at most tuning.firstResolve.
func (m *Manager) resolveFirst(entries []*dnsEntry) {
	var wg sync.WaitGroup
	for _, e := range entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.resolve(e, m.tune.firstResolve)
		}()
	}
	wg.Wait()
}

// resolve resolves an entry, stores the outcome and rebuilds the rings of
// its users when the addresses changed.
func (m *Manager) resolve(e *dnsEntry, timeout time.Duration) {
	ans, err := m.lookup(e.name, timeout)
	if err != nil {
		m.logf("warn", "querying dns for %s failed: %v", e.name, err)
	}
	m.mu.Lock()
	changed := m.apply(e, ans, err, time.Now())
	users := make([]dnsUser, 0, len(e.users))
	for u := range e.users {
		users = append(users, u)
	}
	m.mu.Unlock()
	if changed {
		for _, u := range users {
			u.dnsChanged()
		}
	}
}

// lookup calls the Resolver, turning a panic into an error so that a
// faulty Resolver cannot take the node down from a background goroutine.
func (m *Manager) lookup(name string, timeout time.Duration) (ans Answer, err error) {
	ctx, cancel := context.WithTimeout(m.ctx, timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			m.logf("error", "resolving %s: resolver panicked: %v\n%s", name, r, debug.Stack())
			ans, err = Answer{}, fmt.Errorf("resolver panicked: %v", r)
		}
	}()
	return m.res.Resolve(ctx, name)
}

// apply records a resolution's outcome and schedules the next one. A
// failure keeps the last good addresses until their stale time is over,
// as Kong's DNS client serves stale records. It reports whether the
// addresses changed.
func (m *Manager) apply(e *dnsEntry, ans Answer, err error, now time.Time) bool {
	prev := e.result.Load()
	if err == nil && len(ans.Records) == 0 {
		err = ErrEmptyRecord
	}
	if err == nil {
		ttl := max(ans.TTL, m.tune.minTTL)
		recs := slices.Clone(ans.Records)
		slices.SortFunc(recs, func(a, b Record) int {
			if a.IP != b.IP {
				if a.IP < b.IP {
					return -1
				}
				return 1
			}
			return a.Port - b.Port
		})
		e.result.Store(&dnsResult{typ: ans.Type, records: recs, goodUntil: now.Add(ttl + m.tune.staleTTL)})
		e.next, e.failures = now.Add(ttl), 0
		return prev == nil || prev.typ != ans.Type || !slices.Equal(prev.records, recs)
	}
	e.failures++
	retry := m.tune.notFoundRetry
	if !errors.Is(err, ErrNameNotFound) && !errors.Is(err, ErrEmptyRecord) {
		retry = min(m.tune.errorRetryMin<<min(e.failures-1, 16), m.tune.errorRetryMax)
	}
	e.next = now.Add(retry)
	if prev != nil && len(prev.records) > 0 && now.Before(prev.goodUntil) {
		stale := *prev
		stale.err = err
		e.result.Store(&stale)
		return false
	}
	e.result.Store(&dnsResult{err: err})
	return prev != nil && len(prev.records) > 0
}

// refresher resolves names again when their answers expire, off the
// request path: one goroutine for every name, as Kong's single renewal
// timer.
func (m *Manager) refresher() {
	defer m.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		due, wait := m.due(time.Now())
		if len(due) > 0 {
			m.refresh(due)
			continue
		}
		timer.Reset(wait)
		select {
		case <-m.ctx.Done():
			return
		case <-m.kick:
		case <-timer.C:
		}
	}
}

// due returns the entries to resolve now (marking them in progress) and
// how long until the next one is due.
func (m *Manager) due(now time.Time) ([]*dnsEntry, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []*dnsEntry
	wait := time.Hour
	for _, e := range m.names {
		switch {
		case e.next.IsZero():
		case !e.next.After(now):
			e.next = time.Time{}
			due = append(due, e)
		default:
			wait = min(wait, e.next.Sub(now))
		}
	}
	return due, wait
}

// refresh resolves due entries, tuning.parallel at a time.
func (m *Manager) refresh(due []*dnsEntry) {
	sem := make(chan struct{}, max(m.tune.parallel, 1))
	var wg sync.WaitGroup
	for _, e := range due {
		if m.ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			m.resolve(e, m.tune.resolve)
		}()
	}
	wg.Wait()
}

// hostState is the implicit balancer of a service host name: round-robin
// over the name's addresses (Kong's toip), without health checks.
type hostState struct {
	mu    sync.Mutex
	host  string
	port  int
	entry *dnsEntry
	bal   *Balancer
}

func newHostState(host string, port int, e *dnsEntry) *hostState {
	hs := &hostState{host: host, port: port, entry: e, bal: &Balancer{alg: roundRobin, host: host}}
	hs.dnsChanged()
	return hs
}

// dnsChanged rebuilds the ring from the entry's addresses: A and AAAA
// records on the service's port, SRV records on theirs, with their
// weights.
func (hs *hostState) dnsChanged() {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	v := &targetView{host: hs.host, port: hs.port, entry: hs.entry}
	if res := hs.entry.result.Load(); res != nil {
		for _, rec := range res.records {
			port, weight := hs.port, 1
			if res.typ == "SRV" {
				weight = max(rec.Weight, 1)
				if rec.Port != 0 {
					port = rec.Port
				}
			}
			st := newAddrState(addrKey{hostname: hs.host, ip: rec.IP, port: port})
			v.addrs = append(v.addrs, newPeer(rec.IP, port, hs.host, weight, st))
		}
	}
	hs.bal.ring.Store(hs.bal.newRing([]*targetView{v}, false))
}
