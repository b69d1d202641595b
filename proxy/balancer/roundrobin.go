package balancer

// maxWheel bounds the round-robin wheel, and maxWheelWork the cost of
// laying it out (slots × peers). Larger weight sums (after dividing by
// their greatest common divisor) are scaled down to fit, which changes a
// peer's share by less than one slot.
const (
	maxWheel     = 1 << 16
	maxWheelWork = 1 << 23
)

// buildWheel lays out the available peers for round-robin with nginx's
// smooth weighted round-robin: each turn every peer gains its weight, the
// richest is chosen and pays the total. A heavy peer's turns are spread
// out (weights 5, 1, 1 give a a b a c a a) instead of coming in runs.
// Kong shuffles its wheel randomly (round_robin.lua); this order is
// deterministic.
func buildWheel(r *ring) []int32 {
	idx := make([]int32, 0, len(r.peers))
	weights := make([]int, 0, len(r.peers))
	for i, pe := range r.peers {
		if r.usable(pe) {
			idx = append(idx, int32(i))
			weights = append(weights, pe.weight)
		}
	}
	slots := wheelSlots(weights, min(maxWheel, maxWheelWork/max(len(weights), 1)))
	total := 0
	for _, s := range slots {
		total += s
	}
	wheel := make([]int32, total)
	current := make([]int, len(slots))
	for turn := range wheel {
		best := 0
		for i, s := range slots {
			current[i] += s
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		wheel[turn] = idx[best]
	}
	return wheel
}

// wheelSlots turns weights into slot counts: divided by their gcd, and
// scaled down (each keeping at least one slot) to about limit slots.
func wheelSlots(weights []int, limit int) []int {
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
		if total <= limit || scaled {
			return slots
		}
		for i, w := range slots {
			slots[i] = max(1, int(int64(w)*int64(limit)/int64(total)))
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
