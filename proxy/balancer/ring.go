package balancer

import (
	"math"
	"net"
	"sort"
	"strconv"
)

// peer is one resolved address of a target, as the algorithms see it.
type peer struct {
	addr     string // "ip:port" to dial
	ip       string
	port     int
	hostname string // Host header and SNI
	weight   int
	st       *addrState
	// logWeight is ln(weight), for the latency algorithm's comparisons.
	logWeight float64
}

// targetView is a target as the balancer resolved it: the unit of the
// health reports.
type targetView struct {
	target Target
	host   string // without brackets
	port   int
	// dns is Kong's "dns" field: the record type ("A", "AAAA", "SRV"),
	// the resolution error, or "unknown" before the first answer.
	dns   string
	entry *dnsEntry // names only: the DNS entry the addresses came from
	addrs []*peer   // every address, weight 0 included
}

// dnsField is the target's "dns" field now: the type of the answer in use
// (kept when refreshes fail), the error when there is none, or "unknown"
// before the first answer.
func (t *targetView) dnsField() string {
	if t.entry == nil {
		return t.dns
	}
	res := t.entry.result.Load()
	switch {
	case res == nil:
		return "unknown"
	case len(res.records) > 0:
		return res.typ
	case res.err != nil:
		return res.err.Error()
	}
	return "unknown"
}

// ring is a Balancer's immutable view of its peers. It is replaced, never
// changed: on DNS answers, configuration changes and health flips.
type ring struct {
	peers   []*peer // addresses with weight > 0, in Kong's sort order
	targets []*targetView
	total   int64 // weight of peers
	avail   int64 // weight of peers available when the ring was built
	checked bool  // health states apply (health checks enabled)

	wheel     []int32 // round-robin: peer indexes in smooth weighted order
	continuum []int32 // consistent-hashing: peer index per point, -1 = none
}

// usable reports whether pe may take traffic now.
func (r *ring) usable(pe *peer) bool { return !r.checked || pe.st.available() }

// newRing builds the ring of a balancer over resolved targets.
func (b *Balancer) newRing(targets []*targetView, checked bool) *ring {
	r := &ring{targets: targets, checked: checked}
	for _, t := range targets {
		for _, pe := range t.addrs {
			if pe.weight > 0 {
				r.peers = append(r.peers, pe)
				r.total += int64(pe.weight)
			}
		}
	}
	// Kong sorts targets by name and port, then addresses by "ip:port", so
	// that the tables do not depend on DNS answer order
	// (consistent_hashing.lua sort_hosts_and_addresses).
	pos := make(map[*peer]string, len(r.peers))
	for _, t := range targets {
		for _, pe := range t.addrs {
			pos[pe] = t.host + "\x00" + strconv.Itoa(t.port+100000) + "\x00" + pe.ip + ":" + strconv.Itoa(pe.port)
		}
	}
	sort.SliceStable(r.peers, func(i, j int) bool { return pos[r.peers[i]] < pos[r.peers[j]] })
	if b.alg == consistentHashing {
		r.continuum = buildContinuum(r.peers, r.total, len(targets), continuumSize(b.slots))
	}
	b.refreshHealth(r)
	return r
}

// withHealth returns a copy of r that accounts for the peers' current
// health: the available weight and the round-robin wheel. The hashing
// continuum is kept, so that healthy peers keep their keys.
func (b *Balancer) withHealth(r *ring) *ring {
	nr := *r
	b.refreshHealth(&nr)
	return &nr
}

func (b *Balancer) refreshHealth(r *ring) {
	r.avail = 0
	for _, pe := range r.peers {
		if r.usable(pe) {
			r.avail += int64(pe.weight)
		}
	}
	if b.alg == roundRobin {
		r.wheel = buildWheel(r)
	}
}

// newPeer makes the peer of one address of a target.
func newPeer(ip string, port int, hostname string, weight int, st *addrState) *peer {
	return &peer{
		addr:      net.JoinHostPort(ip, strconv.Itoa(port)),
		ip:        ip,
		port:      port,
		hostname:  hostname,
		weight:    weight,
		st:        st,
		logWeight: math.Log(float64(max(weight, 1))),
	}
}
