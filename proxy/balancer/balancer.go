package balancer

import (
	"sync/atomic"
	"time"
)

// algorithm is a Balancer's way of choosing among its peers.
type algorithm uint8

const (
	roundRobin algorithm = iota
	consistentHashing
	leastConnections
	latency
)

func parseAlgorithm(s string) algorithm {
	switch s {
	case AlgorithmConsistentHashing:
		return consistentHashing
	case AlgorithmLeastConnections:
		return leastConnections
	case AlgorithmLatency:
		return latency
	}
	return roundRobin
}

// Balancer chooses peers for one upstream, or for the addresses of one
// service host name. It is safe for concurrent use; Pick and Done take no
// lock and do not allocate (except the cookie of hash_on=cookie when the
// request has none).
type Balancer struct {
	alg       algorithm
	hash      hashSpec
	slots     int
	threshold float64
	hc        *healthConfig // nil: no health checks (host balancers too)
	us        *upstreamState
	// host is the service host name of an implicit DNS balancer ("" for
	// upstreams); with no addresses it answers ErrNameResolution.
	host string

	ring   atomic.Pointer[ring]
	next   atomic.Uint64 // round-robin position
	rotate atomic.Uint32 // where least-connections and latency start scanning, so ties take turns
}

// Peer is the address chosen for one attempt. The proxy keeps one Peer per
// request and passes it to every Pick and Done of that request.
type Peer struct {
	// Addr is "ip:port" to dial.
	Addr string
	// Hostname is the target's host name (an IP target's IP), for the Host
	// header and SNI.
	Hostname string
	// Port is the port dialled.
	Port int
	// SetCookie is non-empty when hash_on (or hash_fallback) is "cookie"
	// and the request had none: the proxy adds this Set-Cookie header to
	// the response, so that the client keeps its peer (Kong's behaviour).
	SetCookie string

	picked *peer  // for Done
	cookie string // the generated cookie value, reused by retries
}

// Failure is how an attempt failed before a response came back.
type Failure uint8

const (
	// FailureNone: a response was received (Result.Status).
	FailureNone Failure = iota
	// FailureTCP: connecting, sending or receiving failed.
	FailureTCP
	// FailureTimeout: the attempt timed out.
	FailureTimeout
)

// Result is the outcome of one attempt, reported to Done.
type Result struct {
	// Status is the response's HTTP status (Failure == FailureNone).
	Status  int
	Failure Failure
	// Latency is the attempt's round trip, for the latency algorithm.
	Latency time.Duration
}

// HashInput is what consistent hashing may read from the request. Absent
// values are nil or empty; Pick does not keep what they return.
type HashInput interface {
	ConsumerID() string
	ClientIP() string
	Header(name string) []byte
	Cookie(name string) []byte
	Path() []byte
	QueryArg(name string) []byte
	URICapture(name string) []byte
}

// Pick chooses a peer for one attempt and fills p. Peers whose Addr is in
// tried (earlier attempts of this request) are skipped while others are
// available; when every available peer was tried, they are used again, as
// Kong's balancers do on retries. in is read only by consistent hashing
// (nil hashes the empty key). Errors: ErrNoPeer, ErrNameResolution.
func (b *Balancer) Pick(in HashInput, tried []string, p *Peer) error {
	r := b.ring.Load()
	if r == nil || len(r.peers) == 0 {
		if b.host != "" {
			return ErrNameResolution
		}
		return ErrNoPeer
	}
	// Kong balancers.lua updateStatus: the balancer is healthy while the
	// available share of the weight is above the threshold.
	if r.avail == 0 || float64(r.avail)*100/float64(r.total) <= b.threshold {
		return ErrNoPeer
	}
	var pe *peer
	switch b.alg {
	case consistentHashing:
		h := xxh32("")
		if in != nil {
			h = b.hashValue(in, p, len(tried) > 0)
		}
		pe = b.pickHash(r, h, tried)
	case leastConnections:
		pe = b.pickLeast(r, tried)
	case latency:
		pe = b.pickLatency(r, tried)
	default:
		pe = b.pickRoundRobin(r, tried)
	}
	if pe == nil {
		return ErrNoPeer
	}
	p.Addr, p.Hostname, p.Port, p.picked = pe.addr, pe.hostname, pe.port, pe
	return nil
}

// Done reports the outcome of the attempt p was picked for: it releases
// the least-connections count, feeds the latency average, and counts
// towards passive health checks (tcp_failures, timeouts, http_statuses).
// Call it once per successful Pick; later calls for the same pick are
// ignored.
func (b *Balancer) Done(p *Peer, r Result) {
	pe := p.picked
	if pe == nil {
		return
	}
	p.picked = nil
	st := pe.st
	switch b.alg {
	case leastConnections:
		st.conns.Add(-1)
	case latency:
		// A refused connection says nothing about the peer's speed (it
		// would look fast); a timeout does.
		if r.Failure != FailureTCP && r.Latency > 0 {
			st.observe(r.Latency.Seconds(), b.us.m.clock.Load())
		}
	}
	if b.hc == nil || !b.hc.enabled {
		return
	}
	if flipped, avail := passiveReport(st, &b.hc.passive, r); flipped {
		b.us.flipped(st, avail)
	}
}

// passiveReport applies one proxied attempt to the address's counters
// (Kong init.lua balancer retries and handler.lua log phase).
func passiveReport(st *addrState, t *thresholds, r Result) (bool, bool) {
	switch r.Failure {
	case FailureTCP:
		return st.report(false, ctrTCP, t.tcpFailures)
	case FailureTimeout:
		return st.report(false, ctrTimeout, t.timeouts)
	}
	return reportStatus(st, t, r.Status)
}

// reportStatus counts an HTTP status: listed healthy statuses are
// successes, listed unhealthy ones (and 0, an unreadable response) are
// failures, others are ignored.
func reportStatus(st *addrState, t *thresholds, status int) (bool, bool) {
	switch {
	case t.healthy.has(status):
		return st.report(true, ctrSuccess, t.successes)
	case status == 0 || t.unhealthy.has(status):
		return st.report(false, ctrHTTP, t.httpFailures)
	}
	return false, st.available()
}

// wasTried reports whether addr was used by an earlier attempt.
func wasTried(tried []string, addr string) bool {
	for _, t := range tried {
		if t == addr {
			return true
		}
	}
	return false
}
