package periodic

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fail    bool
		wantLog bool
	}{
		{"a job that succeeds logs nothing", false, false},
		{"a failing job is reported and tried again", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var mu sync.Mutex
			runs, logs := 0, 0
			done := make(chan struct{})
			go func() {
				defer close(done)
				Run(ctx, time.Millisecond, func(context.Context) error {
					mu.Lock()
					defer mu.Unlock()
					runs++
					if runs == 3 {
						cancel()
					}
					if tc.fail {
						return errors.New("boom")
					}
					return nil
				}, func(string, ...any) { mu.Lock(); logs++; mu.Unlock() })
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after its context ended")
			}
			mu.Lock()
			defer mu.Unlock()
			if runs < 3 {
				t.Fatalf("%d runs", runs)
			}
			// The third run's failure came after the cancel: not reported.
			if tc.wantLog != (logs > 0) || logs >= runs {
				t.Fatalf("%d failures reported of %d runs", logs, runs)
			}
		})
	}
}
