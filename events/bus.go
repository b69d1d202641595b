// Package events is an in-process publish/subscribe bus. It is a leaf: it
// imports nothing of Portico's, so every other package can publish to it
// (the db layer on each committed write, the proxy on target health) and
// subscribe from it (router rebuilds, caches) without import cycles.
//
// Durable delivery (event hooks) does not go through the bus: it is written
// to the store in the write's own transaction. The bus is for in-memory
// reactions that can be rebuilt from the store after a restart.
package events

import (
	"sync"
	"sync/atomic"
)

// Event is one thing that happened. Source and Name follow Kong's event
// names ("crud", "services:create"); Data is read-only for subscribers.
type Event struct {
	Source string
	Name   string
	Data   any
}

// Handler receives events synchronously on the publisher's goroutine; it
// must be quick and must not block (hand work to its own goroutine).
type Handler func(Event)

// Bus delivers published events to subscribers. The zero value is ready to
// use; it is safe for concurrent use.
type Bus struct {
	mu   sync.Mutex
	subs atomic.Pointer[[]subscription] // copy-on-write: Publish takes no lock
	next int
}

type subscription struct {
	id      int
	source  string
	handler Handler
}

// Subscribe registers h for events of source ("" = every source) and returns
// a function that removes the subscription.
func (b *Bus) Subscribe(source string, h Handler) (unsubscribe func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	id := b.next
	var cur []subscription
	if p := b.subs.Load(); p != nil {
		cur = *p
	}
	next := append(append([]subscription{}, cur...), subscription{id: id, source: source, handler: h})
	b.subs.Store(&next)
	return func() { b.remove(id) }
}

func (b *Bus) remove(id int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.subs.Load()
	if p == nil {
		return
	}
	next := make([]subscription, 0, len(*p))
	for _, s := range *p {
		if s.id != id {
			next = append(next, s)
		}
	}
	b.subs.Store(&next)
}

// Publish delivers ev to every matching subscriber, in subscription order.
func (b *Bus) Publish(ev Event) {
	p := b.subs.Load()
	if p == nil {
		return
	}
	for _, s := range *p {
		if s.source == "" || s.source == ev.Source {
			s.handler(ev)
		}
	}
}
