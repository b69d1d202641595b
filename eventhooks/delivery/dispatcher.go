package delivery

import (
	"container/heap"
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// item is one pending delivery in the dispatcher.
type item struct {
	id   string
	hook string
	due  time.Time
	born time.Time // when the event happened, for the oldest-pending gauge
	// rec is the record as written, for a first attempt; nil when the
	// attempt must read it (after a restart or a previous attempt).
	rec record
}

// dispatcher hands due deliveries to workers, at most maxInFlight per hook
// at once: a slow or dead receiver holds its own hook's slots only. Every
// pending delivery is in exactly one of queue (waiting for its time),
// backlog (due, waiting for a slot) or in flight.
type dispatcher struct {
	now         func() time.Time
	maxInFlight int
	work        chan item
	// capacity bounds the deliveries held in memory; beyond it they stay
	// pending in the store only, and overflowed is set so the service reads
	// them back once the dispatcher has room (see Service.refill).
	capacity   int
	overflowed atomic.Bool
	overflows  atomic.Int64

	mu       sync.Mutex
	queue    itemHeap
	backlog  map[string][]item
	inflight map[string]int
	known    map[string]time.Time // id → born, for dedupe and the gauges
	// rearm holds deliveries hurried while in flight (id → due): when their
	// attempt ends they are queued again, even if it finished them.
	rearm map[string]time.Time
	wake  chan struct{}
}

func newDispatcher(now func() time.Time, workers, maxInFlight, capacity int) *dispatcher {
	return &dispatcher{
		capacity:    capacity,
		now:         now,
		maxInFlight: maxInFlight,
		work:        make(chan item, workers),
		backlog:     map[string][]item{},
		inflight:    map[string]int{},
		known:       map[string]time.Time{},
		rearm:       map[string]time.Time{},
		wake:        make(chan struct{}, 1),
	}
}

// push adds deliveries; one already known is ignored (the startup scan and
// a commit may both report it).
func (d *dispatcher) push(items ...item) {
	d.mu.Lock()
	for _, it := range items {
		if _, ok := d.known[it.id]; ok {
			continue
		}
		if d.capacity > 0 && len(d.known) >= d.capacity {
			// Full: the delivery waits in the store (it is durable there).
			d.overflowed.Store(true)
			d.overflows.Add(1)
			continue
		}
		d.known[it.id] = it.born
		heap.Push(&d.queue, it)
	}
	d.mu.Unlock()
	d.poke()
}

// roomFor reports whether the dispatcher holds at most a quarter of its
// capacity, so that reading overflowed deliveries back is worth it.
func (d *dispatcher) roomFor() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.capacity == 0 || len(d.known) <= d.capacity/4
}

// hurry makes known deliveries due at once (a manual retry of a delivery
// waiting for a later attempt); unknown ones are pushed.
func (d *dispatcher) hurry(items ...item) {
	d.mu.Lock()
	var fresh []item
	for _, it := range items {
		if _, ok := d.known[it.id]; !ok {
			fresh = append(fresh, it)
			continue
		}
		queued := false
		for i := range d.queue {
			if d.queue[i].id == it.id {
				d.queue[i].due = it.due
				heap.Fix(&d.queue, i)
				queued = true
				break
			}
		}
		if !queued && !d.waiting(it) {
			d.rearm[it.id] = it.due // in flight: queue again when the attempt ends
		}
	}
	d.mu.Unlock()
	d.push(fresh...)
}

// waiting reports whether it is in its hook's backlog. d.mu must be held.
func (d *dispatcher) waiting(it item) bool {
	for _, w := range d.backlog[it.hook] {
		if w.id == it.id {
			return true
		}
	}
	return false
}

// finish releases the hook slot of a delivery that is done for good.
func (d *dispatcher) finish(it item) {
	d.mu.Lock()
	if due, ok := d.rearm[it.id]; ok {
		d.mu.Unlock()
		d.again(it, due)
		return
	}
	delete(d.known, it.id)
	d.release(it.hook)
	d.mu.Unlock()
	d.poke()
}

// again releases the slot and queues the delivery for its next attempt.
func (d *dispatcher) again(it item, due time.Time) {
	d.mu.Lock()
	if r, ok := d.rearm[it.id]; ok {
		delete(d.rearm, it.id)
		if r.Before(due) {
			due = r
		}
	}
	d.release(it.hook)
	it.due, it.rec = due, nil
	heap.Push(&d.queue, it)
	d.mu.Unlock()
	d.poke()
}

// release frees one slot of hook and moves its oldest waiting delivery back
// into the queue. d.mu must be held.
func (d *dispatcher) release(hook string) {
	if d.inflight[hook] <= 1 {
		delete(d.inflight, hook)
	} else {
		d.inflight[hook]--
	}
	if waiting := d.backlog[hook]; len(waiting) > 0 {
		heap.Push(&d.queue, waiting[0])
		if len(waiting) == 1 {
			delete(d.backlog, hook)
		} else {
			d.backlog[hook] = waiting[1:]
		}
	}
}

func (d *dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run moves due deliveries to the workers until ctx is done.
func (d *dispatcher) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		d.mu.Lock()
		now := d.now()
		var ready []item
		for d.queue.Len() > 0 && !d.queue[0].due.After(now) {
			it := heap.Pop(&d.queue).(item)
			if d.inflight[it.hook] >= d.maxInFlight {
				d.backlog[it.hook] = append(d.backlog[it.hook], it)
				continue
			}
			d.inflight[it.hook]++
			ready = append(ready, it)
		}
		wait := time.Duration(-1)
		if d.queue.Len() > 0 {
			wait = d.queue[0].due.Sub(now)
		}
		d.mu.Unlock()
		for _, it := range ready {
			select {
			case d.work <- it:
			case <-ctx.Done():
				return
			}
		}
		if len(ready) > 0 {
			continue // look again before sleeping: more may be due
		}
		var timeout <-chan time.Time
		if wait >= 0 {
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(wait)
			timeout = timer.C
		}
		select {
		case <-d.wake:
		case <-timeout:
		case <-ctx.Done():
			return
		}
	}
}

// depth counts the pending deliveries the dispatcher holds.
func (d *dispatcher) depth() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.known)
}

// oldestAge is the age of the oldest pending delivery (0 when none).
func (d *dispatcher) oldestAge() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	var oldest time.Time
	for _, born := range d.known {
		if oldest.IsZero() || born.Before(oldest) {
			oldest = born
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return d.now().Sub(oldest)
}

// itemHeap orders items by due time.
type itemHeap []item

func (h itemHeap) Len() int           { return len(h) }
func (h itemHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h itemHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *itemHeap) Push(x any)        { *h = append(*h, x.(item)) }
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
