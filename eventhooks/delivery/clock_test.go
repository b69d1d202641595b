package delivery

import (
	"sync"
	"time"
)

// ehkClock is a settable clock for tests, safe for concurrent use.
type ehkClock struct {
	mu sync.Mutex
	t  time.Time
}

func ehkNewClock(t time.Time) *ehkClock { return &ehkClock{t: t} }

func (c *ehkClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *ehkClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
