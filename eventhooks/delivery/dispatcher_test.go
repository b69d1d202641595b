package delivery

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/portico-gw/portico/internal/testclock"
)

// ehkWork is where a test dispatcher's started deliveries go.
var ehkWork = map[*dispatcher]chan item{}

// ehkNewDispatcher returns a dispatcher whose started deliveries go to a
// channel the test reads (ehkTake).
func ehkNewDispatcher(now func() time.Time, slots, maxInFlight, capacity int) *dispatcher {
	d := newDispatcher(now, slots, maxInFlight, capacity)
	ch := make(chan item, 1024)
	d.start = func(it item) { ch <- it }
	ehkWork[d] = ch
	return d
}

// ehkDispatcher runs a dispatcher until the test ends.
func ehkDispatcher(t *testing.T, now func() time.Time, workers, maxInFlight int) *dispatcher {
	t.Helper()
	d := ehkNewDispatcher(now, workers, maxInFlight, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return d
}

// ehkTake receives one item from the work channel or fails.
func ehkTake(t *testing.T, d *dispatcher) item {
	t.Helper()
	select {
	case it := <-ehkWork[d]:
		return it
	case <-time.After(5 * time.Second):
		t.Fatalf("no delivery handed out within 5s")
		return item{}
	}
}

// ehkNone checks that nothing is handed out for a while.
func ehkNone(t *testing.T, d *dispatcher, wait time.Duration) {
	t.Helper()
	select {
	case it := <-ehkWork[d]:
		t.Fatalf("unexpected delivery handed out: %s (hook %s)", it.id, it.hook)
	case <-time.After(wait):
	}
}

func TestDispatcherDueOrder(t *testing.T) {
	t.Run("due items in due order", func(t *testing.T) {
		t0 := time.Unix(1_700_000_000, 0)
		clock := testclock.New(t0)
		d := ehkNewDispatcher(clock.Now, 16, 100, 0)
		// Pushed before run starts, so one pass sees them all.
		var items []item
		for i, off := range []int{5, 1, 4, 2, 3, 0} {
			items = append(items, item{id: fmt.Sprint("d", off), hook: fmt.Sprint("h", i),
				due: t0.Add(-time.Duration(10-off) * time.Second), born: t0})
		}
		d.push(items...)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); d.run(ctx) }()
		defer func() { cancel(); <-done }()
		var got []string
		for range items {
			got = append(got, ehkTake(t, d).id)
		}
		if want := "[d0 d1 d2 d3 d4 d5]"; fmt.Sprint(got) != want {
			t.Errorf("handed out %v, want %v", got, want)
		}
	})
	t.Run("future items wait for their time", func(t *testing.T) {
		d := ehkDispatcher(t, time.Now, 4, 100)
		now := time.Now()
		d.push(item{id: "later", hook: "h", due: now.Add(150 * time.Millisecond), born: now},
			item{id: "now", hook: "h2", due: now, born: now})
		if it := ehkTake(t, d); it.id != "now" {
			t.Fatalf("first handed out %s, want now", it.id)
		}
		it := ehkTake(t, d)
		if it.id != "later" {
			t.Fatalf("second handed out %s, want later", it.id)
		}
		if el := time.Since(now); el < 150*time.Millisecond {
			t.Errorf("later handed out after %v, before its due time", el)
		}
	})
	t.Run("fake clock: an item is held until the clock reaches it", func(t *testing.T) {
		t0 := time.Unix(1_700_000_000, 0)
		clock := testclock.New(t0)
		d := ehkDispatcher(t, clock.Now, 4, 100)
		d.push(item{id: "x", hook: "h", due: t0.Add(time.Hour), born: t0})
		ehkNone(t, d, 50*time.Millisecond)
		clock.Advance(time.Hour)
		d.poke()
		if it := ehkTake(t, d); it.id != "x" {
			t.Errorf("handed out %s, want x", it.id)
		}
	})
}

func TestDispatcherDedupe(t *testing.T) {
	d := ehkDispatcher(t, time.Now, 4, 100)
	now := time.Now()
	x := item{id: "x", hook: "h", due: now, born: now}
	d.push(x, x)
	d.push(x)
	it := ehkTake(t, d)
	d.push(x) // in flight: still known
	ehkNone(t, d, 50*time.Millisecond)
	if n := d.depth(); n != 1 {
		t.Errorf("depth %d, want 1", n)
	}
	ehkDone(d, it)
	if n := d.depth(); n != 0 {
		t.Errorf("depth after finish %d, want 0", n)
	}
	// Done for good: a redrive may queue it again.
	d.push(x)
	if it := ehkTake(t, d); it.id != "x" {
		t.Errorf("handed out %s, want x", it.id)
	}
}

func TestDispatcherPerHookCap(t *testing.T) {
	d := ehkDispatcher(t, time.Now, 8, 1)
	now := time.Now()
	d.push(
		item{id: "a1", hook: "A", due: now, born: now},
		item{id: "a2", hook: "A", due: now.Add(time.Millisecond), born: now},
		item{id: "b1", hook: "B", due: now.Add(2 * time.Millisecond), born: now},
		item{id: "b2", hook: "B", due: now.Add(3 * time.Millisecond), born: now},
		item{id: "b3", hook: "B", due: now.Add(4 * time.Millisecond), born: now},
	)
	first := []item{ehkTake(t, d), ehkTake(t, d)}
	ids := []string{first[0].id, first[1].id}
	sort.Strings(ids)
	if fmt.Sprint(ids) != "[a1 b1]" {
		t.Fatalf("first handed out %v, want a1 and b1 (one per hook)", ids)
	}
	ehkNone(t, d, 50*time.Millisecond)
	a1, b1 := first[0], first[1]
	if a1.id != "a1" {
		a1, b1 = b1, a1
	}
	// A's a1 stays in flight (a blocked receiver); B goes on.
	ehkDone(d, b1)
	b2 := ehkTake(t, d)
	if b2.id != "b2" {
		t.Fatalf("handed out %s after b1 finished, want b2", b2.id)
	}
	ehkRetry(d, b2, time.Now()) // b2 failed: retried at once, but behind B's slot
	next := ehkTake(t, d)
	if next.hook != "B" {
		t.Fatalf("handed out %s of hook %s while a1 is in flight, want one of hook B", next.id, next.hook)
	}
	ehkDone(d, next)
	last := ehkTake(t, d)
	if last.hook != "B" {
		t.Fatalf("handed out %s of hook %s while a1 is in flight, want one of hook B", last.id, last.hook)
	}
	if got := fmt.Sprint(ehkSortedIDs(next, last)); got != "[b2 b3]" {
		t.Errorf("B's remaining deliveries were %s, want b2 and b3", got)
	}
	ehkDone(d, last)
	ehkNone(t, d, 50*time.Millisecond) // a2 still waits for a1
	ehkDone(d, a1)
	if it := ehkTake(t, d); it.id != "a2" {
		t.Errorf("handed out %s after a1 finished, want a2", it.id)
	}
	if n := d.depth(); n != 1 {
		t.Errorf("depth %d, want 1 (a2 in flight)", n)
	}
}

func ehkSortedIDs(items ...item) []string {
	var ids []string
	for _, it := range items {
		ids = append(ids, it.id)
	}
	sort.Strings(ids)
	return ids
}

func TestDispatcherAgain(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	clock := testclock.New(t0)
	d := ehkDispatcher(t, clock.Now, 4, 1)
	d.push(item{id: "x", hook: "h", due: t0, born: t0})
	it := ehkTake(t, d)
	retryAt := t0.Add(30 * time.Second)
	ehkRetry(d, it, retryAt)
	ehkNone(t, d, 50*time.Millisecond)
	if n := d.depth(); n != 1 {
		t.Errorf("depth while waiting to retry %d, want 1", n)
	}
	// The hook's slot was released: another delivery of it goes now.
	d.push(item{id: "y", hook: "h", due: t0, born: t0})
	if it := ehkTake(t, d); it.id != "y" {
		t.Fatalf("handed out %s, want y", it.id)
	}
	clock.Advance(31 * time.Second)
	d.poke()
	ehkNone(t, d, 50*time.Millisecond) // x is due but y holds h's only slot
	ehkDone(d, item{id: "y", hook: "h"})
	again := ehkTake(t, d)
	if again.id != "x" || !again.due.Equal(retryAt) || !again.born.Equal(t0) {
		t.Errorf("retried item %+v, want x due %v born %v", again, retryAt, t0)
	}
}

func TestDispatcherGauges(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	clock := testclock.New(t0)
	d := newDispatcher(clock.Now, 4, 4, 0)
	if d.depth() != 0 || d.oldestAge() != 0 {
		t.Fatalf("empty dispatcher: depth %d, oldest %v", d.depth(), d.oldestAge())
	}
	d.push(
		item{id: "a", hook: "h", due: t0, born: t0.Add(-10 * time.Second)},
		item{id: "b", hook: "h", due: t0.Add(time.Minute), born: t0.Add(-5 * time.Second)},
		item{id: "c", hook: "k", due: t0, born: t0.Add(-time.Second)},
	)
	if n := d.depth(); n != 3 {
		t.Errorf("depth %d, want 3", n)
	}
	if age := d.oldestAge(); age != 10*time.Second {
		t.Errorf("oldest %v, want 10s", age)
	}
	clock.Advance(5 * time.Second)
	if age := d.oldestAge(); age != 15*time.Second {
		t.Errorf("oldest after 5s %v, want 15s", age)
	}
	ehkHold(d, "h") // as if a had been handed out
	d.finish(item{id: "a", hook: "h"})
	if n, age := d.depth(), d.oldestAge(); n != 2 || age != 10*time.Second {
		t.Errorf("after a finished: depth %d, oldest %v; want 2, 10s", n, age)
	}
	ehkHold(d, "h")
	d.again(item{id: "b", hook: "h", born: t0.Add(-5 * time.Second)}, t0.Add(time.Hour))
	if n := d.depth(); n != 2 {
		t.Errorf("a retry is still pending: depth %d, want 2", n)
	}
	ehkHold(d, "h")
	ehkHold(d, "k")
	d.finish(item{id: "b", hook: "h"})
	d.finish(item{id: "c", hook: "k"})
	if n, age := d.depth(), d.oldestAge(); n != 0 || age != 0 {
		t.Errorf("all finished: depth %d, oldest %v; want 0, 0", n, age)
	}
}

// TestDispatcherCapacity: beyond its capacity the dispatcher keeps nothing
// in memory and says it overflowed; the deliveries stay in the store.
func TestDispatcherCapacity(t *testing.T) {
	d := newDispatcher(time.Now, 1, 1, 3)
	for i := 0; i < 5; i++ {
		d.push(item{id: string(rune('a' + i)), hook: "h", due: time.Now()})
	}
	if got := d.depth(); got != 3 {
		t.Fatalf("holds %d deliveries, want 3", got)
	}
	if !d.overflowed.Load() || d.overflows.Load() != 2 {
		t.Fatalf("overflowed %v, overflows %d; want true, 2", d.overflowed.Load(), d.overflows.Load())
	}
	if d.roomFor() {
		t.Fatal("a full dispatcher reports room")
	}
}

// ehkHold counts an attempt of hook as under way.
func ehkHold(d *dispatcher, hook string) {
	d.mu.Lock()
	d.queue(hook).inflight++
	d.busy++
	d.mu.Unlock()
}

// TestDispatcherIsolation: hooks whose receivers hang hold their own share
// only. A failing hook gets one attempt at a time; when the shared slots
// are all taken, a hook with nothing under way still starts one; hooks
// with deliveries due take turns.
func TestDispatcherIsolation(t *testing.T) {
	now := time.Now()
	due := func(id, hook string) item { return item{id: id, hook: hook, due: now, born: now} }

	t.Run("a hook with nothing under way starts when the shared slots are taken", func(t *testing.T) {
		d := ehkDispatcher(t, time.Now, 2, 4)
		d.push(due("s1", "slow"), due("s2", "slow"), due("s3", "slow"))
		ehkTake(t, d)
		ehkTake(t, d)
		ehkNone(t, d, 30*time.Millisecond) // both shared slots are slow's
		d.push(due("f1", "fast"))
		if it := ehkTake(t, d); it.id != "f1" {
			t.Fatalf("handed out %s, want f1: the fast hook's own share", it.id)
		}
	})
	t.Run("a failing hook gets one attempt at a time", func(t *testing.T) {
		d := ehkDispatcher(t, time.Now, 16, 4)
		d.push(due("b1", "bad"))
		it := ehkTake(t, d)
		ehkRetry(d, it, time.Now()) // it failed
		d.push(due("b2", "bad"), due("b3", "bad"))
		ehkTake(t, d)
		ehkNone(t, d, 30*time.Millisecond)
	})
	t.Run("due hooks take turns", func(t *testing.T) {
		d := ehkNewDispatcher(time.Now, 16, 4, 0)
		var items []item
		for i := 0; i < 3; i++ {
			items = append(items, due(fmt.Sprint("a", i), "A"))
		}
		items = append(items, due("b0", "B"), due("c0", "C"))
		d.push(items...)
		d.mu.Lock()
		got := d.next(time.Now(), nil)
		d.mu.Unlock()
		if len(got) != 5 {
			t.Fatalf("started %d, want all 5", len(got))
		}
		hooks := map[string]bool{}
		for _, it := range got[:3] {
			hooks[it.hook] = true
		}
		if len(hooks) != 3 {
			t.Errorf("first three started %v, want one of each hook", got[:3])
		}
	})
}

// ehkDone ends an attempt that delivered and records it.
func ehkDone(d *dispatcher, it item) {
	d.ended(it.hook, false)
	d.finish(it)
}

// ehkRetry ends an attempt that failed and queues the next one.
func ehkRetry(d *dispatcher, it item, due time.Time) {
	d.ended(it.hook, true)
	d.again(it, due)
}
