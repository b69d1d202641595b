package events

import (
	"sync"
	"testing"
)

func TestBusDeliversBySource(t *testing.T) {
	tests := []struct {
		name   string
		source string
		events []Event
		want   []string
	}{
		{"all sources", "", []Event{{Source: "crud", Name: "a"}, {Source: "balancer", Name: "b"}}, []string{"a", "b"}},
		{"one source", "crud", []Event{{Source: "crud", Name: "a"}, {Source: "balancer", Name: "b"}}, []string{"a"}},
		{"no match", "x", []Event{{Source: "crud", Name: "a"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Bus
			var got []string
			b.Subscribe(tt.source, func(ev Event) { got = append(got, ev.Name) })
			for _, ev := range tt.events {
				b.Publish(ev)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestBusUnsubscribe(t *testing.T) {
	var b Bus
	n := 0
	stop := b.Subscribe("", func(Event) { n++ })
	b.Publish(Event{})
	stop()
	b.Publish(Event{})
	if n != 1 {
		t.Fatalf("got %d deliveries, want 1", n)
	}
}

func TestBusConcurrent(t *testing.T) {
	var b Bus
	var mu sync.Mutex
	n := 0
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			stop := b.Subscribe("", func(Event) { mu.Lock(); n++; mu.Unlock() })
			defer stop()
		}()
		go func() { defer wg.Done(); b.Publish(Event{Source: "crud"}) }()
	}
	wg.Wait()
}

func BenchmarkPublish(b *testing.B) {
	var bus Bus
	for i := 0; i < 4; i++ {
		bus.Subscribe("crud", func(Event) {})
	}
	ev := Event{Source: "crud", Name: "services:create"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		bus.Publish(ev)
	}
}
