package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Syncer keeps a Redis database's counters on the node between syncs
// (Kong's sync_rate): a counter is read from Redis the first time a request
// needs it (counting that request there), then counted locally; what was
// counted locally is pushed at most a sync interval later, and the node
// reads the counters afresh after each push. Requests between syncs see
// the other nodes' counts as of the last read. It is safe for concurrent
// use.
type Syncer struct {
	client  *redis.Client
	seed    maphash.Seed
	shards  [shardCount]syncShard
	pending atomic.Bool
	// logf reports a failed push (the counts it held are dropped, as
	// Kong does).
	logf atomic.Pointer[func(level, format string, args ...any)]
}

type syncShard struct {
	mu sync.Mutex
	m  map[string]*syncEntry
}

// syncEntry is one counter: its value as last read from Redis (once
// known), what this node counted since (delta), and when its window ends.
type syncEntry struct {
	known           bool
	value, delta    int64
	expireAt, ttlOf int64
}

// Syncer returns the syncer of c's database, made on first use.
func (cs *Clients) Syncer(c RedisConfig) *Syncer {
	cl := cs.Client(c)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.syncers == nil {
		cs.syncers = map[RedisConfig]*Syncer{}
	}
	s := cs.syncers[c]
	if s == nil {
		s = &Syncer{client: cl, seed: maphash.MakeSeed()}
		cs.syncers[c] = s
	}
	return s
}

// SetLog gives the syncer the node's error log, once.
func (s *Syncer) SetLog(logf func(level, format string, args ...any)) {
	if logf != nil && s.logf.Load() == nil {
		s.logf.CompareAndSwap(nil, &logf)
	}
}

func (s *Syncer) shard(key string) *syncShard {
	return &s.shards[maphash.String(s.seed, key)%shardCount]
}

// Usage fills out with each key's count before this request. Keys whose
// count is not known locally are incremented in Redis in one pipelined
// round trip (this request counts there; Add(-1) is recorded so that a
// request that is not let through is taken back at the next push).
// expireAt are the keys' windows' ends (Unix seconds).
func (s *Syncer) Usage(keys []string, expireAt []int64, now int64, every time.Duration, out []int64) error {
	var missing []int
	for i, k := range keys {
		sh := s.shard(k)
		sh.mu.Lock()
		e := sh.m[k]
		if e != nil && e.expireAt <= now {
			*e = syncEntry{known: true, expireAt: expireAt[i]}
		}
		if e != nil && e.known {
			out[i] = e.value + e.delta
		} else {
			missing = append(missing, i)
		}
		sh.mu.Unlock()
	}
	if len(missing) == 0 {
		return nil
	}
	mk, ttls := make([]string, len(missing)), make([]int64, len(missing))
	for j, i := range missing {
		mk[j], ttls[j] = keys[i], max(1, expireAt[i]-now)
	}
	vals, err := IncrBy(context.Background(), s.client, mk, ttls, 1)
	if err != nil {
		return err
	}
	for j, i := range missing {
		sh := s.shard(mk[j])
		sh.mu.Lock()
		if sh.m == nil {
			sh.m = map[string]*syncEntry{}
		}
		e := sh.m[mk[j]]
		if e == nil {
			e = &syncEntry{}
			sh.m[mk[j]] = e
		}
		e.known, e.value, e.expireAt = true, vals[j], expireAt[i]
		e.delta--
		out[i] = e.value + e.delta
		sh.mu.Unlock()
	}
	s.schedule(every)
	return nil
}

// Increment counts one request for each key locally.
func (s *Syncer) Increment(keys []string, expireAt []int64, every time.Duration) {
	for i, k := range keys {
		sh := s.shard(k)
		sh.mu.Lock()
		if sh.m == nil {
			sh.m = map[string]*syncEntry{}
		}
		e := sh.m[k]
		if e == nil {
			e = &syncEntry{expireAt: expireAt[i]}
			sh.m[k] = e
		}
		e.delta++
		sh.mu.Unlock()
	}
	s.schedule(every)
}

// schedule pushes the local counts after every, unless a push is already
// waiting (it will carry them).
func (s *Syncer) schedule(every time.Duration) {
	if s.pending.CompareAndSwap(false, true) {
		time.AfterFunc(every, s.push)
	}
}

// push sends what was counted locally to Redis in one pipelined round
// trip, and forgets every counter, so that the next request reads them
// afresh.
func (s *Syncer) push() {
	s.pending.Store(false)
	var keys []string
	var deltas, ttls []int64
	now := time.Now().Unix()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		m := sh.m
		sh.m = nil
		sh.mu.Unlock()
		for k, e := range m {
			if e.delta != 0 && e.expireAt > now {
				keys, deltas, ttls = append(keys, k), append(deltas, e.delta), append(ttls, e.expireAt-now)
			}
		}
	}
	if len(keys) == 0 {
		return
	}
	pipe := s.client.Pipeline()
	ctx := context.Background()
	for i, k := range keys {
		pipe.SetNX(ctx, k, 0, time.Duration(ttls[i])*time.Second)
		pipe.IncrBy(ctx, k, deltas[i])
	}
	if _, err := pipe.Exec(ctx); err != nil {
		if logf := s.logf.Load(); logf != nil {
			(*logf)("error", "[rate-limiting] failed to sync counters to redis: %v", err)
		}
	}
}
