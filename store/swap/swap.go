// Package swap is a store.Store whose engine can be replaced whole while
// it serves: DB-less mode builds each new configuration in a fresh engine
// and swaps it in, so that readers see the old configuration or the new
// one, never a half-loaded mix.
package swap

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/portico-gw/portico/store"
)

// Store delegates every call to its current engine. It is safe for
// concurrent use.
type Store struct {
	cur atomic.Pointer[engine]
}

// engine is one store with the count of calls running on it, so that a
// replaced engine is closed only once nothing uses it.
type engine struct {
	st    store.Store
	users atomic.Int64
}

// New returns a Store serving st.
func New(st store.Store) *Store {
	s := &Store{}
	s.cur.Store(&engine{st: st})
	return s
}

// acquire returns the current engine, counted as used until release. An
// engine counted after it was swapped out is given up and the new one
// taken: once Swap has seen no user, nobody starts on the old engine.
func (s *Store) acquire() *engine {
	for {
		e := s.cur.Load()
		e.users.Add(1)
		if s.cur.Load() == e {
			return e
		}
		e.users.Add(-1)
	}
}

func (e *engine) release() { e.users.Add(-1) }

// drainPoll is how often a swapped-out engine is checked for users.
const drainPoll = time.Millisecond

// Swap makes next the engine of every later call and returns a function
// that waits until no call runs on the previous engine and closes it.
// Calls already running finish on the engine they started on.
func (s *Store) Swap(next store.Store) (closeOld func() error) {
	old := s.cur.Swap(&engine{st: next})
	return func() error {
		for old.users.Load() > 0 {
			time.Sleep(drainPoll)
		}
		return old.st.Close()
	}
}

// Current returns the engine later calls run on.
func (s *Store) Current() store.Store { return s.cur.Load().st }

// Update runs fn in a read-write transaction of the current engine.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	e := s.acquire()
	defer e.release()
	return e.st.Update(ctx, fn)
}

// View runs fn in a read-only snapshot of the current engine.
func (s *Store) View(ctx context.Context, fn func(tx store.Tx) error) error {
	e := s.acquire()
	defer e.release()
	return e.st.View(ctx, fn)
}

// Bootstrapped reports whether the current engine is bootstrapped.
func (s *Store) Bootstrapped(ctx context.Context) (bool, error) {
	e := s.acquire()
	defer e.release()
	return e.st.Bootstrapped(ctx)
}

// Bootstrap bootstraps the current engine.
func (s *Store) Bootstrap(ctx context.Context) error {
	e := s.acquire()
	defer e.release()
	return e.st.Bootstrap(ctx)
}

// Close closes the current engine once no call runs on it.
func (s *Store) Close() error {
	e := s.cur.Load()
	for e.users.Load() > 0 {
		time.Sleep(drainPoll)
	}
	return e.st.Close()
}

var _ store.Store = (*Store)(nil)
