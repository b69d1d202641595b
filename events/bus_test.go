package events

import (
	"sync"
	"sync/atomic"
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

// TestBusConcurrent subscribes, publishes and unsubscribes from many
// goroutines at once (run it with -race) and checks what each subscriber
// received: every event published after all subscriptions were made reaches
// every subscriber exactly once, events published while others unsubscribe
// reach a subscriber at most once each, and nothing arrives after the last
// unsubscribe.
func TestBusConcurrent(t *testing.T) {
	tests := []struct {
		name        string
		subscribers int
		publishers  int
	}{
		{"one subscriber, many publishers", 1, 16},
		{"many subscribers, one publisher", 16, 1},
		{"many of both", 8, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Bus
			counts := make([]atomic.Int64, tt.subscribers)
			stops := make([]func(), tt.subscribers)
			var wg sync.WaitGroup
			for i := range tt.subscribers {
				wg.Go(func() {
					stops[i] = b.Subscribe("crud", func(ev Event) {
						if ev.Source != "crud" {
							t.Errorf("subscriber %d got an event of source %q", i, ev.Source)
						}
						counts[i].Add(1)
					})
				})
			}
			wg.Wait()

			for range tt.publishers {
				wg.Go(func() {
					b.Publish(Event{Source: "crud"})
					b.Publish(Event{Source: "balancer"}) // not subscribed
				})
			}
			wg.Wait()
			for i := range counts {
				if got := counts[i].Load(); got != int64(tt.publishers) {
					t.Fatalf("subscriber %d got %d events, want %d", i, got, tt.publishers)
				}
			}

			// Unsubscribe while publishing: each subscriber gets at most
			// one more event per publisher, and none after its removal.
			for i := range tt.subscribers {
				wg.Go(stops[i])
			}
			for range tt.publishers {
				wg.Go(func() { b.Publish(Event{Source: "crud"}) })
			}
			wg.Wait()
			settled := make([]int64, len(counts))
			for i := range counts {
				settled[i] = counts[i].Load()
				if settled[i] < int64(tt.publishers) || settled[i] > int64(2*tt.publishers) {
					t.Fatalf("subscriber %d got %d events in all, want between %d and %d",
						i, settled[i], tt.publishers, 2*tt.publishers)
				}
			}
			b.Publish(Event{Source: "crud"})
			for i := range counts {
				if got := counts[i].Load(); got != settled[i] {
					t.Fatalf("subscriber %d got an event after unsubscribing", i)
				}
			}
			if p := b.subs.Load(); p == nil || len(*p) != 0 {
				t.Fatalf("subscriptions left after every unsubscribe: %v", p)
			}
		})
	}
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
