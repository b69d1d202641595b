package balancer

import (
	"runtime/debug"
	"sync"
)

// eventQueue carries health events from whoever changed a health state
// (request path, checkers, Admin API) to the dispatcher, so that OnHealth
// never runs on the request path and sees the events in order.
type eventQueue struct {
	mu     sync.Mutex
	items  []HealthEvent
	signal chan struct{}
}

func (q *eventQueue) init() { q.signal = make(chan struct{}, 1) }

func (q *eventQueue) push(ev HealthEvent) {
	q.mu.Lock()
	q.items = append(q.items, ev)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *eventQueue) take() []HealthEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// dispatch delivers queued events until the Manager closes, then the
// ones still queued.
func (m *Manager) dispatch() {
	defer m.wg.Done()
	for {
		select {
		case <-m.events.signal:
			m.deliver(m.events.take())
		case <-m.ctx.Done():
			m.deliver(m.events.take())
			return
		}
	}
}

func (m *Manager) deliver(evs []HealthEvent) {
	for _, ev := range evs {
		// Kong logs each change at warn ([healthchecks] ...).
		m.logf("warn", "[healthchecks] (%s) %s %s:%d is %s", ev.UpstreamName, ev.Hostname, ev.IP, ev.Port, ev.Health)
		if m.opts.OnHealth != nil {
			m.callOnHealth(ev)
		}
	}
}

// callOnHealth isolates the dispatcher from a panicking subscriber.
func (m *Manager) callOnHealth(ev HealthEvent) {
	defer func() {
		if r := recover(); r != nil {
			m.logf("error", "[healthchecks] health event subscriber panicked: %v\n%s", r, debug.Stack())
		}
	}()
	m.opts.OnHealth(ev)
}
