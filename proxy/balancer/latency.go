package balancer

import (
	"math"
	"time"
)

// pickLatency chooses the usable peer with the lowest decaying average
// round-trip time for its weight (Kong's latency.lua, an EWMA with a 10 s
// decay that fades towards 0 while a peer is idle, so idle peers are
// tried again). Scores are compared as logarithms (addrState.rank minus
// ln weight), so a pick computes no exponential. Ties take turns as in
// least-connections.
func (b *Balancer) pickLatency(r *ring, tried []string) *peer {
	n := len(r.peers)
	start := int(b.rotate.Add(1) % uint32(n))
	for pass := 0; pass < 2; pass++ {
		var best *peer
		bestRank := math.Inf(1)
		for i := 0; i < n; i++ {
			pe := r.peers[(start+i)%n]
			if !r.usable(pe) || (pass == 0 && wasTried(tried, pe.addr)) {
				continue
			}
			if rk := math.Float64frombits(pe.st.rank.Load()) - pe.logWeight; best == nil || rk < bestRank {
				best, bestRank = pe, rk
			}
		}
		if best != nil {
			return best
		}
		if len(tried) == 0 {
			break
		}
	}
	return nil
}

// slowStart gives addresses that have no average yet the mean of the
// available ones, so that a new peer is not flooded for looking idle
// (Kong latency.lua calculate_slow_start_ewma; like Kong, the mean counts
// the new addresses as 0).
func slowStart(peers []*peer, now time.Time) {
	var sum float64
	var count int
	var fresh []*addrState
	for _, pe := range peers {
		if !pe.st.available() {
			continue
		}
		count++
		if pe.st.touched.Load() == 0 {
			fresh = append(fresh, pe.st)
			continue
		}
		sum += math.Float64frombits(pe.st.ewma.Load())
	}
	if count == 0 || len(fresh) == count {
		return
	}
	mean := sum / float64(count)
	for _, st := range fresh {
		st.start(mean, now.UnixNano())
	}
}
