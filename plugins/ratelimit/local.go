package ratelimit

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// Local is a node's in-memory counters (policy "local"): one Counter per
// plugin scope, limit and period, each holding the identifiers counted in
// its current window only. Memory stays bounded: a window's counts are
// dropped when the next window starts, and windows nobody counts in any
// more are swept whenever a counter is asked for (every configuration
// rebuild).
type Local struct {
	mu       sync.Mutex
	counters map[localKey]*Counter
	seed     maphash.Seed
	now      func() int64
	// swept is when windows were last swept: at most once a second, so
	// that a rebuild of many plugin instances sweeps once.
	swept int64
}

type localKey struct {
	name   string
	period Period
}

// NewLocal returns empty counters; now tells the time in Unix seconds.
func NewLocal(now func() int64) *Local {
	return &Local{counters: map[localKey]*Counter{}, seed: maphash.MakeSeed(), now: now}
}

// Counter returns the counter of name (a plugin scope, e.g.
// "ratelimit:<route id>:<service id>") for period p: the same counter for
// the same name and period, so that a rebuilt plugin instance keeps
// counting where the previous one was.
func (l *Local) Counter(name string, p Period) *Counter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := l.now(); now != l.swept {
		l.swept = now
		for _, c := range l.counters {
			if g := c.gen.Load(); g != nil && g.start+c.period.Seconds() <= now {
				c.gen.CompareAndSwap(g, nil)
			}
		}
	}
	k := localKey{name, p}
	c := l.counters[k]
	if c == nil {
		c = &Counter{period: p, seed: l.seed}
		l.counters[k] = c
	}
	return c
}

// Counter counts identifiers in the current window of one period. It is
// safe for concurrent use: a window is found with an atomic load, an
// identifier's count in one of a few shards under a read lock, and counted
// atomically; only an identifier's first count in a window takes the
// shard's write lock (and allocates).
type Counter struct {
	period Period
	seed   maphash.Seed
	gen    atomic.Pointer[window]
}

const shardCount = 16

type window struct {
	start  int64
	shards [shardCount]shard
}

type shard struct {
	mu sync.RWMutex
	m  map[string]*atomic.Int64
}

// window returns the window holding now, starting a new one (and dropping
// the previous one's counts) when now is past it. A request late by a
// window counts in the current one.
func (c *Counter) window(now int64) *window {
	start := c.period.Start(now)
	for {
		g := c.gen.Load()
		if g != nil && g.start >= start {
			return g
		}
		ng := &window{start: start}
		if c.gen.CompareAndSwap(g, ng) {
			return ng
		}
	}
}

func (c *Counter) shard(w *window, key []byte) *shard {
	return &w.shards[maphash.Bytes(c.seed, key)%shardCount]
}

// Add counts delta for key in the window holding now and returns the new
// count.
func (c *Counter) Add(key []byte, now, delta int64) int64 {
	w := c.window(now)
	s := c.shard(w, key)
	s.mu.RLock()
	v := s.m[string(key)]
	s.mu.RUnlock()
	if v == nil {
		s.mu.Lock()
		if v = s.m[string(key)]; v == nil {
			if s.m == nil {
				s.m = map[string]*atomic.Int64{}
			}
			v = new(atomic.Int64)
			s.m[string(key)] = v
		}
		s.mu.Unlock()
	}
	return v.Add(delta)
}

// Get is key's count in the window holding now.
func (c *Counter) Get(key []byte, now int64) int64 {
	w := c.gen.Load()
	if w == nil || w.start < c.period.Start(now) {
		return 0
	}
	s := c.shard(w, key)
	s.mu.RLock()
	v := s.m[string(key)]
	s.mu.RUnlock()
	if v == nil {
		return 0
	}
	return v.Load()
}
