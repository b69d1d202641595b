package swap

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico/store"
)

// fake is an engine that fails any call made after it was closed.
type fake struct {
	name   string
	closed atomic.Bool
	calls  atomic.Int64
	// hold, when set, blocks View until closed.
	hold chan struct{}
}

var errClosed = errors.New("used after close")

func (f *fake) use() error {
	f.calls.Add(1)
	if f.closed.Load() {
		return errClosed
	}
	return nil
}

func (f *fake) Update(_ context.Context, fn func(store.Tx) error) error {
	if err := f.use(); err != nil {
		return err
	}
	return fn(nil)
}

func (f *fake) View(_ context.Context, fn func(store.Tx) error) error {
	if err := f.use(); err != nil {
		return err
	}
	if f.hold != nil {
		<-f.hold
	}
	if f.closed.Load() {
		return errClosed // closed while the call ran
	}
	return fn(nil)
}

func (f *fake) Bootstrapped(context.Context) (bool, error) { return true, f.use() }
func (f *fake) Bootstrap(context.Context) error            { return f.use() }
func (f *fake) Close() error                               { f.closed.Store(true); return nil }

func TestSwap(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"calls go to the engine swapped in", func(t *testing.T) {
			a, b := &fake{name: "a"}, &fake{name: "b"}
			s := New(a)
			if err := s.View(ctx, func(store.Tx) error { return nil }); err != nil {
				t.Fatal(err)
			}
			closeOld := s.Swap(b)
			if err := closeOld(); err != nil {
				t.Fatal(err)
			}
			if !a.closed.Load() {
				t.Error("the old engine is not closed")
			}
			if err := s.Update(ctx, func(store.Tx) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if a.calls.Load() != 1 || b.calls.Load() != 1 || s.Current() != b {
				t.Errorf("calls: a %d, b %d; want 1 and 1", a.calls.Load(), b.calls.Load())
			}
		}},
		{"the old engine closes after the calls running on it", func(t *testing.T) {
			a := &fake{name: "a", hold: make(chan struct{})}
			s := New(a)
			done := make(chan error)
			go func() { done <- s.View(ctx, func(store.Tx) error { return nil }) }()
			for a.calls.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			closeOld := s.Swap(&fake{name: "b"})
			closed := make(chan struct{})
			go func() { closeOld(); close(closed) }()
			select {
			case <-closed:
				t.Fatal("closed while a call ran on it")
			case <-time.After(20 * time.Millisecond):
			}
			close(a.hold)
			if err := <-done; err != nil {
				t.Fatalf("the running call failed: %v", err)
			}
			<-closed
		}},
		{"no call runs on a closed engine under concurrent swaps", func(t *testing.T) {
			s := New(&fake{})
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var failures atomic.Int64
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						if err := s.View(ctx, func(store.Tx) error { return nil }); err != nil {
							failures.Add(1)
						}
					}
				}()
			}
			for range 200 {
				if err := s.Swap(&fake{})(); err != nil {
					t.Fatal(err)
				}
			}
			close(stop)
			wg.Wait()
			if n := failures.Load(); n > 0 {
				t.Errorf("%d calls ran on a closed engine", n)
			}
		}},
	} {
		t.Run(tc.name, tc.run)
	}
}
