package balancer

import (
	"sync"
	"testing"
)

func TestLeastConnectionsWeighted(t *testing.T) {
	m := newTestManager(t)
	b := m.Update([]Upstream{upstream("u", AlgorithmLeastConnections, "10.0.0.1:80@100", "10.0.0.2:80@200", "10.0.0.3:80@0")}, nil).Upstream("ws", "u")
	// Requests that stay in flight spread by weight.
	got := map[string]int{}
	var held []Peer
	for i := 0; i < 300; i++ {
		var p Peer
		if err := b.Pick(&request{}, nil, &p); err != nil {
			t.Fatal(err)
		}
		got[p.Addr]++
		held = append(held, p)
	}
	if a, c := got["10.0.0.1:80"], got["10.0.0.2:80"]; a < 99 || a > 101 || c < 199 || c > 201 || got["10.0.0.3:80"] != 0 {
		t.Errorf("in-flight spread %v, want 100/200/0", got)
	}
	for i := range held {
		b.Done(&held[i], Result{Status: 200})
		b.Done(&held[i], Result{Status: 200}) // a second Done is ignored
	}
	for _, pe := range b.ring.Load().peers {
		if n := pe.st.conns.Load(); n != 0 {
			t.Errorf("%s: %d connections after Done", pe.addr, n)
		}
	}
}

// Idle peers of equal weight take turns; the busiest is avoided.
func TestLeastConnectionsTurns(t *testing.T) {
	m := newTestManager(t)
	b := m.Update([]Upstream{upstream("u", AlgorithmLeastConnections, "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80")}, nil).Upstream("ws", "u")
	got := picks(t, b, &request{}, 300)
	for addr, n := range got {
		if n != 100 {
			t.Errorf("%s got %d of 300 sequential requests", addr, n)
		}
	}
	var busy Peer
	if err := b.Pick(&request{}, nil, &busy); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		var p Peer
		if err := b.Pick(&request{}, []string{"10.0.0.9:80"}, &p); err != nil {
			t.Fatal(err)
		}
		if p.Addr == busy.Addr {
			t.Fatalf("picked %s, which has a request in flight, over idle peers", p.Addr)
		}
		b.Done(&p, Result{Status: 200})
	}
}

func TestLeastConnectionsConcurrent(t *testing.T) {
	m := newTestManager(t)
	b := m.Update([]Upstream{upstream("u", AlgorithmLeastConnections, "10.0.0.1:80", "10.0.0.2:80")}, nil).Upstream("ws", "u")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				var p Peer
				if err := b.Pick(&request{}, nil, &p); err != nil {
					t.Error(err)
					return
				}
				b.Done(&p, Result{Status: 200})
			}
		}()
	}
	wg.Wait()
	for _, pe := range b.ring.Load().peers {
		if n := pe.st.conns.Load(); n != 0 {
			t.Errorf("%s: %d connections left", pe.addr, n)
		}
	}
}
