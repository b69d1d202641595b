package balancer

import "sort"

// maxWheel bounds the round-robin wheel. Larger weight sums (after
// dividing by their greatest common divisor) are scaled down to fit, which
// changes a peer's share by less than one slot in maxWheel.
const maxWheel = 1 << 16

// buildWheel lays out the available peers for round-robin: each peer gets
// weight/gcd slots, interleaved by stride scheduling (slot k of a peer with
// w slots sits at (k+½)/w), which spreads a heavy peer's turns evenly
// instead of sending it runs of requests. Kong shuffles its wheel
// randomly (round_robin.lua); this order is deterministic and smooth.
func buildWheel(r *ring) []int32 {
	idx := make([]int, 0, len(r.peers))
	weights := make([]int, 0, len(r.peers))
	for i, pe := range r.peers {
		if r.usable(pe) {
			idx = append(idx, i)
			weights = append(weights, pe.weight)
		}
	}
	slots := wheelSlots(weights)
	type slot struct {
		at   float64
		peer int32
	}
	var all []slot
	for i, n := range slots {
		for k := 0; k < n; k++ {
			all = append(all, slot{(float64(k) + 0.5) / float64(n), int32(idx[i])})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].at < all[j].at })
	wheel := make([]int32, len(all))
	for i, s := range all {
		wheel[i] = s.peer
	}
	return wheel
}

// wheelSlots turns weights into slot counts: divided by their gcd, and
// scaled down (each keeping at least one slot) to fit maxWheel.
func wheelSlots(weights []int) []int {
	slots := append([]int(nil), weights...)
	for scaled := false; ; scaled = true {
		g, total := 0, 0
		for _, w := range slots {
			g, total = gcd(g, w), total+w
		}
		if g == 0 {
			return slots
		}
		for i := range slots {
			slots[i] /= g
		}
		total /= g
		if total <= maxWheel || scaled {
			return slots
		}
		for i, w := range slots {
			slots[i] = max(1, int(int64(w)*maxWheel/int64(total)))
		}
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// pickRoundRobin takes the next slot of the wheel. An unavailable or
// already tried peer is passed over, and the position moves past the
// chosen slot so the skipped turn is not given twice to the same peer.
func (b *Balancer) pickRoundRobin(r *ring, tried []string) *peer {
	n := uint64(len(r.wheel))
	if n == 0 {
		return nil
	}
	start := b.next.Add(1) - 1
	for pass := 0; pass < 2; pass++ {
		for i := uint64(0); i < n; i++ {
			pe := r.peers[r.wheel[(start+i)%n]]
			if !r.usable(pe) || (pass == 0 && wasTried(tried, pe.addr)) {
				continue
			}
			if i > 0 {
				b.next.CompareAndSwap(start+1, start+i+1)
			}
			return pe
		}
		if len(tried) == 0 {
			break
		}
	}
	return nil
}
