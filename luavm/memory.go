package luavm

import (
	"context"
	"errors"
	"runtime/metrics"
	"sync"
	"time"
)

// DefaultMaxMemory is how much the Go heap may grow, beyond what it was
// when the watchdog last saw no call running, before running calls are
// stopped.
const DefaultMaxMemory = 512 << 20

// watchInterval is how often the memory watchdog samples the heap while
// calls run.
const watchInterval = 10 * time.Millisecond

// ErrMemory is the cause of a call stopped by the memory watchdog.
var ErrMemory = errors.New("lua memory limit exceeded")

// watchdog bounds what Lua can allocate where no function can check it
// (strings built by "..", table growth): while calls run it samples the
// process heap and, past the budget, cancels every running call (each
// fails with ErrMemory and its state is thrown away, freeing what it
// built). It samples the whole heap, so it is a coarse guard against
// runaway code, not an accounting of each call.
type watchdog struct {
	budget uint64

	mu       sync.Mutex
	running  map[*context.CancelCauseFunc]struct{}
	baseline uint64
	ticking  bool
}

func newWatchdog(budget uint64) *watchdog {
	return &watchdog{budget: budget, running: map[*context.CancelCauseFunc]struct{}{}}
}

// enter registers a running call; the returned function unregisters it.
func (w *watchdog) enter(cancel context.CancelCauseFunc) (leave func()) {
	key := &cancel
	w.mu.Lock()
	if len(w.running) == 0 && !w.ticking {
		w.baseline = heapBytes()
		w.ticking = true
		go w.watch()
	}
	w.running[key] = struct{}{}
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		delete(w.running, key)
		w.mu.Unlock()
	}
}

// watch samples the heap until no call runs.
func (w *watchdog) watch() {
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	for range tick.C {
		w.mu.Lock()
		if len(w.running) == 0 {
			w.ticking = false
			w.mu.Unlock()
			return
		}
		if heap := heapBytes(); heap > w.baseline+w.budget {
			for c := range w.running {
				(*c)(ErrMemory)
			}
		}
		w.mu.Unlock()
	}
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

var heapMu sync.Mutex

// heapBytes reads the live heap cheaply (no stop-the-world).
func heapBytes() uint64 {
	heapMu.Lock()
	defer heapMu.Unlock()
	metrics.Read(heapSample)
	if heapSample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return heapSample[0].Value.Uint64()
}
