package delivery

import (
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
	// meta is what the attempt needs of the record; nil when the attempt
	// must read the record (a delivery hurried by a manual retry).
	meta *meta
	// data is the event's data, kept for a first attempt within the byte
	// budget; nil when the attempt reads it.
	data map[string]any
	// size is what data holds in memory, counted against the byte budget.
	size int
}

// hookQueue is one hook's deliveries that are due, oldest first, and the
// attempts it has under way.
type hookQueue struct {
	id    string
	ready []item // due deliveries from head on; the array is reused
	head  int
	// inflight counts the hook's attempts under way.
	inflight int
	// failing is set when the hook's last attempt did not deliver: it then
	// gets one attempt at a time, until one succeeds, so a receiver that
	// hangs or fails holds one slot, not maxInFlight.
	failing bool
	queued  bool // in the dispatcher's runnable ring
}

// dispatcher starts due deliveries, fairly across hooks: each hook has its
// own queue, and the hooks with a delivery due and a free slot take turns
// (round robin), one attempt each. A hook has at most maxInFlight attempts
// under way (one while it is failing). Attempts share slots, but a hook
// with nothing under way may always start one: a hook's share is never
// taken by the others, however slow they are. The dispatcher never waits
// for an attempt: start must return at once (it runs the attempt in a
// goroutine of its own).
//
// Every pending delivery it knows is in exactly one of timers (waiting for
// its time), a hook's ready queue (due, waiting for its turn) or in flight.
type dispatcher struct {
	now         func() time.Time
	maxInFlight int
	slots       int
	start       func(item)
	// capacity bounds the deliveries held in memory; beyond it they stay
	// pending in the store only, and overflowed is set so that the engine
	// reads them back once the dispatcher has room (see Engine.refill).
	capacity   int
	overflowed atomic.Bool
	overflows  atomic.Int64

	mu       sync.Mutex
	timers   itemHeap
	hooks    map[string]*hookQueue
	runnable []*hookQueue         // hooks with a due delivery, in turn order
	busy     int                  // attempts under way, all hooks
	known    map[string]time.Time // id → born, for dedupe and the gauges
	// rearm holds deliveries hurried while in flight (id → due): when their
	// attempt ends they are queued again, even if it finished them.
	rearm map[string]time.Time
	wake  chan struct{}
}

func newDispatcher(now func() time.Time, slots, maxInFlight, capacity int) *dispatcher {
	return &dispatcher{
		capacity:    capacity,
		now:         now,
		maxInFlight: maxInFlight,
		slots:       slots,
		hooks:       map[string]*hookQueue{},
		known:       map[string]time.Time{},
		rearm:       map[string]time.Time{},
		wake:        make(chan struct{}, 1),
	}
}

// queue returns hook's queue, made on first use. d.mu must be held.
func (d *dispatcher) queue(hook string) *hookQueue {
	q := d.hooks[hook]
	if q == nil {
		q = &hookQueue{id: hook}
		d.hooks[hook] = q
	}
	return q
}

// limit is how many attempts q may have under way.
func (d *dispatcher) limit(q *hookQueue) int {
	if q.failing {
		return 1
	}
	return d.maxInFlight
}

// keptQueueCap is the largest array a drained hook queue keeps for reuse.
const keptQueueCap = 256

// due counts q's due deliveries.
func (q *hookQueue) due() int { return len(q.ready) - q.head }

// take removes q's oldest due delivery.
func (q *hookQueue) take() item {
	it := q.ready[q.head]
	q.ready[q.head] = item{}
	q.head++
	if q.head == len(q.ready) {
		if cap(q.ready) > keptQueueCap {
			q.ready = nil // a burst's array is not kept for good
		}
		q.ready, q.head = q.ready[:0], 0
	}
	return it
}

// schedule puts q in the runnable ring when it has a due delivery and a
// free slot of its own. d.mu must be held.
func (d *dispatcher) schedule(q *hookQueue) {
	if !q.queued && q.due() > 0 && q.inflight < d.limit(q) {
		q.queued = true
		d.runnable = append(d.runnable, q)
	}
}

// push adds deliveries; one already known is ignored (a page read from the
// store and a commit may both report it).
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
		d.timers.push(it)
	}
	d.mu.Unlock()
	d.poke()
}

// holds reports whether the dispatcher holds the delivery id.
func (d *dispatcher) holds(id string) bool {
	d.mu.Lock()
	_, ok := d.known[id]
	d.mu.Unlock()
	return ok
}

// room is how many more deliveries the dispatcher can hold (a large
// number when it has no capacity).
func (d *dispatcher) room() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.capacity == 0 {
		return 1 << 30
	}
	return max(0, d.capacity-len(d.known))
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
		for i := range d.timers {
			if d.timers[i].id == it.id {
				d.timers[i].due = it.due
				d.timers[i].meta = nil // the attempt reads the new run
				d.timers.fix(i)
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

// waiting reports whether it is in its hook's ready queue. d.mu must be held.
func (d *dispatcher) waiting(it item) bool {
	if q := d.hooks[it.hook]; q != nil {
		for _, w := range q.ready[q.head:] {
			if w.id == it.id {
				return true
			}
		}
	}
	return false
}

// ended frees the slot of an attempt that has ended (failed or not), before
// its outcome is recorded: recording is batched and durable, and a hook's
// slots bound the attempts under way, not the outcomes being written.
func (d *dispatcher) ended(hook string, failed bool) {
	d.mu.Lock()
	d.release(hook, failed)
	d.mu.Unlock()
	d.poke()
}

// finish forgets a delivery that is done for good (its outcome recorded).
func (d *dispatcher) finish(it item) {
	d.mu.Lock()
	if due, ok := d.rearm[it.id]; ok {
		d.mu.Unlock()
		d.again(it, due)
		return
	}
	delete(d.known, it.id)
	d.mu.Unlock()
}

// later forgets a pending delivery whose next attempt is far off, unless
// it was hurried meanwhile (then it is queued at once); it reports whether
// it forgot it.
func (d *dispatcher) later(it item) bool {
	d.mu.Lock()
	if due, ok := d.rearm[it.id]; ok {
		d.mu.Unlock()
		d.again(it, due)
		return false
	}
	delete(d.known, it.id)
	d.mu.Unlock()
	return true
}

// again queues the delivery for its next attempt.
func (d *dispatcher) again(it item, due time.Time) {
	d.mu.Lock()
	if r, ok := d.rearm[it.id]; ok {
		delete(d.rearm, it.id)
		if r.Before(due) {
			due = r
		}
	}
	it.due, it.data, it.size = due, nil, 0
	d.timers.push(it)
	d.mu.Unlock()
	d.poke()
}

// release frees one slot of hook, whose attempt failed or not. d.mu must
// be held.
func (d *dispatcher) release(hook string, failed bool) {
	d.busy--
	q := d.hooks[hook]
	if q == nil {
		return
	}
	q.inflight--
	q.failing = failed
	d.schedule(q)
}

func (d *dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// next moves the due deliveries to their hooks' queues and takes the
// deliveries to start now, one per hook per turn. d.mu must be held.
func (d *dispatcher) next(now time.Time, out []item) []item {
	for len(d.timers) > 0 && !d.timers[0].due.After(now) {
		it := d.timers.pop()
		q := d.queue(it.hook)
		q.ready = append(q.ready, it)
		d.schedule(q)
	}
	for started := true; started && len(d.runnable) > 0; {
		started = false
		n := len(d.runnable)
		for i := 0; i < n; i++ {
			q := d.runnable[0]
			d.runnable = d.runnable[1:]
			switch {
			case q.due() == 0 || q.inflight >= d.limit(q):
				q.queued = false // back when a slot frees or a delivery is due
				continue
			case d.busy >= d.slots && q.inflight > 0:
				d.runnable = append(d.runnable, q) // waits for a shared slot
				continue
			}
			it := q.take()
			q.inflight++
			d.busy++
			out = append(out, it)
			started = true
			if q.due() > 0 && q.inflight < d.limit(q) {
				d.runnable = append(d.runnable, q) // its next turn, after the others
			} else {
				q.queued = false
			}
		}
	}
	return out
}

// run starts due deliveries until ctx is done.
func (d *dispatcher) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var ready []item
	for {
		d.mu.Lock()
		now := d.now()
		ready = d.next(now, ready[:0])
		wait := time.Duration(-1)
		if len(d.timers) > 0 {
			wait = d.timers[0].due.Sub(now)
		}
		d.mu.Unlock()
		for i, it := range ready {
			d.start(it)
			ready[i] = item{}
		}
		if ctx.Err() != nil {
			return
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

// itemHeap is a binary min-heap of items by due time (typed, so that no
// item is boxed on its way in or out).
type itemHeap []item

func (h *itemHeap) push(it item) {
	*h = append(*h, it)
	h.up(len(*h) - 1)
}

func (h *itemHeap) pop() item {
	old := *h
	n := len(old) - 1
	it := old[0]
	old[0] = old[n]
	old[n] = item{}
	*h = old[:n]
	if n > 0 {
		h.down(0)
	}
	return it
}

// fix restores the order after the due time of item i changed.
func (h itemHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h itemHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].due.Before(h[p].due) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

// down moves item i down; it reports whether it moved.
func (h itemHeap) down(i int) bool {
	start := i
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		c := l
		if r := l + 1; r < len(h) && h[r].due.Before(h[l].due) {
			c = r
		}
		if !h[c].due.Before(h[i].due) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	return i > start
}
