package balancer

import (
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// upstreamState is what the Manager keeps of an upstream across
// configurations: the current Balancer, the health state of each address,
// the DNS entries of its targets and its active checker.
type upstreamState struct {
	m  *Manager
	id string

	// mu guards the fields below and serialises ring rebuilds (DNS,
	// configuration, health flips) of the current balancer.
	mu      sync.Mutex
	cfg     Upstream
	hc      *healthConfig
	states  map[addrKey]*addrState
	entries map[string]*dnsEntry // by lower-case host name
	checker *activeChecker
	// reported is the last health published per address, so that each
	// change is published once even when reports race.
	reported map[*addrState]bool

	cur atomic.Pointer[Balancer]
}

// configure installs u (under the Manager's lock). An unchanged upstream
// keeps its Balancer, so its round-robin position and rings carry over.
// startChecker is false once the Manager is closed.
func (us *upstreamState) configure(u Upstream, entries map[string]*dnsEntry, startChecker bool) *Balancer {
	us.mu.Lock()
	defer us.mu.Unlock()
	us.entries = entries
	if b := us.cur.Load(); b != nil && reflect.DeepEqual(us.cfg, u) {
		return b
	}
	old := us.hc
	hc := parseHealthchecks(u.Healthchecks)
	if !hc.enabled {
		// Kong drops the health checker, and the health it knew, with the
		// config; in-flight counts and latency averages stay.
		for _, st := range us.states {
			st.health.Store(0)
		}
		us.reported = nil
	}
	b := &Balancer{
		alg:       parseAlgorithm(u.Algorithm),
		hash:      newHashSpec(&u),
		slots:     u.Slots,
		threshold: hc.threshold,
		hc:        hc,
		us:        us,
	}
	hostHeaderChanged := us.cfg.HostHeader != u.HostHeader
	us.cfg, us.hc = u, hc
	us.rebuildLocked(b)
	us.cur.Store(b)
	if old == nil || !reflect.DeepEqual(old.active, hc.active) || old.enabled != hc.enabled || hostHeaderChanged || us.checker == nil {
		us.restartChecker(startChecker)
	}
	return b
}

// rebuildLocked resolves the targets into a new ring of b.
func (us *upstreamState) rebuildLocked(b *Balancer) {
	states := make(map[addrKey]*addrState, len(us.states))
	views := make([]*targetView, 0, len(us.cfg.Targets))
	for _, t := range us.cfg.Targets {
		views = append(views, us.resolveTarget(t, states))
	}
	us.states = states
	r := b.newRing(views, us.hc.enabled)
	if b.alg == latency {
		slowStart(r.peers, time.Now())
	}
	b.ring.Store(r)
}

// resolveTarget expands a target into its addresses: an IP target is one
// address; a name has one per A/AAAA record, each with the target's
// weight, or one per SRV record (best priority) with the record's weight
// (0 counts as 1) and port (0 means the target's), Kong's rules
// (balancers.lua addAddress). A weight 0 target's addresses weigh 0.
func (us *upstreamState) resolveTarget(t Target, states map[addrKey]*addrState) *targetView {
	host, port, typ := splitTarget(t.Target)
	v := &targetView{target: t, host: host, port: port}
	add := func(ip string, port, weight int, hostname string) {
		key := addrKey{hostname: displayHost(host, typ), ip: ip, port: port}
		for _, pe := range v.addrs {
			if pe.ip == ip && pe.port == port {
				return // a name listed twice in an answer
			}
		}
		st := states[key]
		if st == nil {
			if st = us.states[key]; st == nil {
				st = newAddrState(key)
			}
			states[key] = st
		}
		if t.Weight == 0 {
			weight = 0
		}
		v.addrs = append(v.addrs, newPeer(ip, port, hostname, weight, st))
	}
	if typ != "name" {
		v.dns = map[string]string{"ipv4": "A", "ipv6": "AAAA"}[typ]
		add(host, port, t.Weight, displayHost(host, typ))
		return v
	}
	v.entry = us.entries[strings.ToLower(host)]
	res := v.entry.result.Load()
	if res == nil {
		return v
	}
	recs := append([]Record(nil), res.records...)
	sort.Slice(recs, func(i, j int) bool {
		return recs[i].IP < recs[j].IP || recs[i].IP == recs[j].IP && recs[i].Port < recs[j].Port
	})
	for _, rec := range recs {
		if res.typ != "SRV" {
			add(rec.IP, port, t.Weight, host)
			continue
		}
		p, w, name := rec.Port, rec.Weight, host
		if p == 0 {
			p = port
		}
		if w == 0 {
			w = 1 // Kong's SRV_0_WEIGHT: hit rarely, but hit
		}
		if us.cfg.UseSRVName && rec.Target != "" {
			name = rec.Target
		}
		add(rec.IP, p, w, name)
	}
	return v
}

// displayHost is a target host as Kong names it: IPv6 in brackets.
func displayHost(host, typ string) string {
	if typ == "ipv6" {
		return "[" + host + "]"
	}
	return host
}

// dnsChanged rebuilds the current ring after one of the targets' answers
// changed.
func (us *upstreamState) dnsChanged() {
	us.mu.Lock()
	defer us.mu.Unlock()
	if b := us.cur.Load(); b != nil {
		us.rebuildLocked(b)
	}
}

// flipped is called after a report changed an address's availability:
// the current ring is rebuilt for the new health and the change published.
func (us *upstreamState) flipped(st *addrState, _ bool) {
	us.mu.Lock()
	defer us.mu.Unlock()
	if us.states[st.key] != st {
		return // the address left the upstream meanwhile
	}
	if b := us.cur.Load(); b != nil {
		b.ring.Store(b.withHealth(b.ring.Load()))
	}
	us.publishLocked(st)
}

// publishLocked publishes st's current health unless it was the last one
// published: racing reports of one address are published in the order the
// state took them, and a change undone before publication is not.
func (us *upstreamState) publishLocked(st *addrState) {
	avail := st.available()
	if us.reported == nil {
		us.reported = map[*addrState]bool{}
	}
	last, ok := us.reported[st]
	if !ok {
		last = true // addresses start healthy
	}
	if last == avail {
		return
	}
	us.reported[st] = avail
	for s := range us.reported {
		if us.states[s.key] != s {
			delete(us.reported, s)
		}
	}
	health := "unhealthy"
	if avail {
		health = "healthy"
	}
	us.m.events.push(HealthEvent{
		UpstreamID:   us.id,
		UpstreamName: us.cfg.Name,
		IP:           st.key.ip,
		Port:         st.key.port,
		Hostname:     st.key.hostname,
		Health:       health,
	})
}

// stop stops the active checker of a removed upstream or a closing
// Manager.
func (us *upstreamState) stop() {
	us.mu.Lock()
	defer us.mu.Unlock()
	if us.checker != nil {
		us.checker.halt()
		us.checker = nil
	}
}
