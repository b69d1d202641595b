// Package periodic runs a background job at a fixed interval, as the
// node's sweepers do.
package periodic

import (
	"context"
	"time"
)

// Run calls job every interval until ctx ends. A failure is reported to
// logf and the next tick tries again; nothing is reported once ctx has
// ended (the failure is then the shutdown's).
func Run(ctx context.Context, interval time.Duration, job func(context.Context) error, logf func(format string, args ...any)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := job(ctx); err != nil && ctx.Err() == nil {
				logf("%v", err)
			}
		}
	}
}
