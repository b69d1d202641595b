package balancer

import (
	"math"
	"sync/atomic"
)

// Internal health states of lua-resty-healthcheck. The "mostly" states
// record that the other direction's counter has started: a mostly healthy
// address still takes traffic, a mostly unhealthy one does not.
const (
	stateHealthy uint64 = iota
	stateMostlyHealthy
	stateMostlyUnhealthy
	stateUnhealthy
)

// Counter shifts in the packed health word, as lua-resty-healthcheck's
// multi-counter: one byte per counter.
const (
	ctrSuccess = 0
	ctrHTTP    = 8
	ctrTCP     = 16
	ctrTimeout = 24

	maskSuccess = uint64(0xff)
	maskFailure = uint64(0xffffff00)
	stateShift  = 32
)

// addrKey identifies an address within an upstream, as the health checker
// does (ip, port, target host name).
type addrKey struct {
	hostname string
	ip       string
	port     int
}

// addrState is what outlives a ring: health, in-flight count and latency
// average of one address. Every field is updated atomically.
type addrState struct {
	key addrKey
	// health packs the four counters (low 32 bits) and the internal state
	// (bits 32-33), so one compare-and-swap applies a report.
	health atomic.Uint64
	// conns is the number of requests in flight (least-connections).
	conns atomic.Int64
	// ewma is the decaying average round-trip time in seconds (float64
	// bits) and touched the time of its last update (UnixNano; 0 = never).
	ewma    atomic.Uint64
	touched atomic.Int64
	// rank orders addresses by current average without computing the
	// decay at pick time: the decayed average ewma·e^(-(now-touched)/D)
	// compares like ln(ewma) + touched/D, the now term being common
	// (float64 bits; -Inf for an average of 0).
	rank atomic.Uint64
}

func newAddrState(k addrKey) *addrState { return &addrState{key: k} }

func available(state uint64) bool { return state <= stateMostlyHealthy }

// available reports whether the address may take traffic.
func (s *addrState) available() bool { return available(s.health.Load() >> stateShift) }

// report counts one observation towards a threshold, as
// lua-resty-healthcheck's incr_counter: a zero limit ignores it; a
// success clears the failure counters and a failure the success counter
// (so limits count consecutive outcomes); reaching the limit sets the
// state; a first opposite outcome moves to the "mostly" state. It returns
// whether the address's availability changed and what it is now.
func (s *addrState) report(healthy bool, ctr uint, limit int) (flipped, avail bool) {
	if limit <= 0 {
		return false, s.available()
	}
	for {
		old := s.health.Load()
		state := old >> stateShift
		if (healthy && state == stateHealthy) || (!healthy && state == stateUnhealthy) {
			return false, available(state)
		}
		ctrs := old & 0xffffffff
		n := (ctrs >> ctr) & 0xff
		if n < 0xff {
			n++
		}
		ctrs = ctrs&^(0xff<<ctr) | n<<ctr
		if healthy {
			ctrs &= maskSuccess
		} else {
			ctrs &= maskFailure
		}
		next := state
		switch {
		case int(n) >= limit && healthy:
			next = stateHealthy
		case int(n) >= limit:
			next = stateUnhealthy
		case state == stateHealthy && ctrs&maskFailure != 0:
			next = stateMostlyHealthy
		case state == stateUnhealthy && ctrs&maskSuccess != 0:
			next = stateMostlyUnhealthy
		}
		if s.health.CompareAndSwap(old, next<<stateShift|ctrs) {
			return available(state) != available(next), available(next)
		}
	}
}

// set forces the state and clears the counters (manual PUT .../healthy or
// .../unhealthy; lua-resty-healthcheck set_target_status).
func (s *addrState) set(healthy bool) (flipped bool) {
	next := stateUnhealthy
	if healthy {
		next = stateHealthy
	}
	old := s.health.Swap(next << stateShift)
	return available(old>>stateShift) != healthy
}

// decayTime is the latency average's decay constant (Kong latency.lua
// DECAY_TIME, 10 seconds).
const decayTime = 10.0

// decay ages an average to now and folds rtt in: an idle address's
// average fades towards rtt (0 when scoring).
func decay(ewma float64, touched, now int64, rtt float64) float64 {
	td := float64(now-touched) / 1e9
	if td < 0 {
		td = 0
	}
	w := math.Exp(-td / decayTime)
	return ewma*w + rtt*(1-w)
}

// score is the address's current latency average.
func (s *addrState) score(now int64) float64 {
	return decay(math.Float64frombits(s.ewma.Load()), s.touched.Load(), now, 0)
}

// observe folds one round-trip time (seconds) into the average.
func (s *addrState) observe(rtt float64, now int64) {
	last := s.touched.Swap(now)
	for {
		old := s.ewma.Load()
		e := decay(math.Float64frombits(old), last, now, rtt)
		if s.ewma.CompareAndSwap(old, math.Float64bits(e)) {
			s.rank.Store(math.Float64bits(rankOf(e, now)))
			return
		}
	}
}

// start sets the average of an address that has none (slow start).
func (s *addrState) start(ewma float64, now int64) {
	if s.touched.CompareAndSwap(0, now) {
		s.ewma.Store(math.Float64bits(ewma))
		s.rank.Store(math.Float64bits(rankOf(ewma, now)))
	}
}

func rankOf(ewma float64, touched int64) float64 {
	if ewma <= 0 {
		return math.Inf(-1)
	}
	return math.Log(ewma) + float64(touched)/1e9/decayTime
}
