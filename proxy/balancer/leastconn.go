package balancer

// pickLeast chooses the usable peer with the fewest requests in flight
// for its weight, (conns+1)/weight as Kong's least_connections.lua: the
// +1 makes an idle balancer prefer its heaviest peer. Ties go to the
// first peer scanned, and the scan's start rotates so tied peers take
// turns. The count is taken here and released by Done.
func (b *Balancer) pickLeast(r *ring, tried []string) *peer {
	n := len(r.peers)
	start := int(b.rotate.Add(1) % uint32(n))
	for pass := 0; pass < 2; pass++ {
		var best *peer
		var bestConns, bestWeight int64
		for i := 0; i < n; i++ {
			pe := r.peers[(start+i)%n]
			if !r.usable(pe) || (pass == 0 && wasTried(tried, pe.addr)) {
				continue
			}
			c, w := pe.st.conns.Load()+1, int64(pe.weight)
			// c/w < bestConns/bestWeight without dividing
			if best == nil || c*bestWeight < bestConns*w {
				best, bestConns, bestWeight = pe, c, w
			}
		}
		if best != nil {
			best.st.conns.Add(1)
			return best
		}
		if len(tried) == 0 {
			break
		}
	}
	return nil
}
