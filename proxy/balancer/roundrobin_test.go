package balancer

import (
	"errors"
	"reflect"
	"testing"
)

func TestRoundRobinDistribution(t *testing.T) {
	tests := []struct {
		name    string
		targets []string
		n       int
		want    map[string]int
	}{
		{"equal weights", []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"}, 300,
			map[string]int{"10.0.0.1:80": 100, "10.0.0.2:80": 100, "10.0.0.3:80": 100}},
		{"weighted", []string{"10.0.0.1:80@10", "10.0.0.2:80@20", "10.0.0.3:80@30"}, 600,
			map[string]int{"10.0.0.1:80": 100, "10.0.0.2:80": 200, "10.0.0.3:80": 300}},
		{"weight 0 gets nothing", []string{"10.0.0.1:80@0", "10.0.0.2:80@5"}, 10,
			map[string]int{"10.0.0.2:80": 10}},
		{"co-prime weights", []string{"10.0.0.1:80@100", "10.0.0.2:80@99"}, 199 * 3,
			map[string]int{"10.0.0.1:80": 300, "10.0.0.2:80": 297}},
		{"ipv6 literal", []string{"[::1]:8080@1", "10.0.0.2:80@1"}, 4,
			map[string]int{"[::1]:8080": 2, "10.0.0.2:80": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestManager(t)
			set := m.Update([]Upstream{upstream("u", AlgorithmRoundRobin, tt.targets...)}, nil)
			got := picks(t, set.Upstream("ws", "u"), &request{}, tt.n)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// The wheel interleaves a heavy peer's turns as nginx's smooth weighted
// round-robin does.
func TestRoundRobinSmooth(t *testing.T) {
	m := newTestManager(t)
	set := m.Update([]Upstream{upstream("u", AlgorithmRoundRobin, "10.0.0.1:80@5", "10.0.0.2:80@1", "10.0.0.3:80@1")}, nil)
	b := set.Upstream("ws", "u")
	var got []string
	for i := 0; i < 14; i++ {
		var p Peer
		if err := b.Pick(&request{}, nil, &p); err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Addr[len(p.Addr)-4:len(p.Addr)-3])
	}
	want := []string{"1", "1", "2", "1", "3", "1", "1", "1", "1", "2", "1", "3", "1", "1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestWheelSlots(t *testing.T) {
	tests := []struct {
		weights, want []int
	}{
		{[]int{10, 20, 30}, []int{1, 2, 3}},
		{[]int{7}, []int{1}},
		{[]int{65535, 65534, 1}, nil}, // scaled: checked below
	}
	for _, tt := range tests {
		got := wheelSlots(tt.weights, maxWheel)
		if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("wheelSlots(%v) = %v, want %v", tt.weights, got, tt.want)
		}
		total := 0
		for i, s := range got {
			total += s
			if s < 1 {
				t.Errorf("wheelSlots(%v)[%d] = %d: every weighted peer needs a slot", tt.weights, i, s)
			}
		}
		if total > maxWheel+len(got) {
			t.Errorf("wheelSlots(%v) totals %d slots", tt.weights, total)
		}
	}
}

func TestRoundRobinSkipsTried(t *testing.T) {
	m := newTestManager(t)
	set := m.Update([]Upstream{upstream("u", AlgorithmRoundRobin, "10.0.0.1:80", "10.0.0.2:80")}, nil)
	b := set.Upstream("ws", "u")
	for i := 0; i < 4; i++ {
		var p Peer
		if err := b.Pick(&request{}, []string{"10.0.0.1:80"}, &p); err != nil {
			t.Fatal(err)
		}
		if p.Addr != "10.0.0.2:80" {
			t.Fatalf("picked %s, a tried peer", p.Addr)
		}
	}
	// Every peer tried: they are used again (Kong keeps retrying).
	var p Peer
	if err := b.Pick(&request{}, []string{"10.0.0.1:80", "10.0.0.2:80"}, &p); err != nil {
		t.Fatalf("all tried: %v", err)
	}
}

func TestNoTargets(t *testing.T) {
	m := newTestManager(t)
	set := m.Update([]Upstream{upstream("u", AlgorithmRoundRobin), upstream("z", AlgorithmRoundRobin, "10.0.0.1:80@0")}, nil)
	for _, name := range []string{"u", "z"} {
		var p Peer
		if err := set.Upstream("ws", name).Pick(&request{}, nil, &p); !errors.Is(err, ErrNoPeer) {
			t.Errorf("%s: Pick = %v, want ErrNoPeer", name, err)
		}
	}
	if set.Upstream("ws", "nope") != nil || set.Upstream("other", "u") != nil {
		t.Error("Upstream found an upstream that was not configured")
	}
}
