package db

import (
	"container/list"
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/portico-gw/portico/schema"
)

// rowCache is Kong's mem_cache_size for the DAO: rows read by Select, kept
// as JSON up to a byte budget (the least recently used go first), and
// dropped whole when any write commits, so no read returns what a committed
// write changed. A read that started before a write cannot store its
// older row after it: entries carry the generation they were read in.
type rowCache struct {
	budget int64

	mu    sync.Mutex
	gen   uint64
	items map[string]*list.Element
	order list.List // front: most recently used
	bytes int64

	hits, misses, evictions atomic.Uint64
}

type cacheEntry struct {
	key string
	row []byte
}

// CacheStats are the entity cache's figures (mem_cache_size).
type CacheStats struct {
	Budget, Bytes           int64
	Hits, Misses, Evictions uint64
}

func newRowCache(budget int64) *rowCache {
	if budget <= 0 {
		return nil
	}
	return &rowCache{budget: budget, items: map[string]*list.Element{}}
}

// get returns a fresh copy of a cached row, or, on a miss, the
// generation to store the row read from the store in.
func (c *rowCache) get(key string) (map[string]any, uint64, bool) {
	c.mu.Lock()
	el, ok := c.items[key]
	var raw []byte
	if ok {
		c.order.MoveToFront(el)
		raw = el.Value.(*cacheEntry).row
	}
	gen := c.gen
	c.mu.Unlock()
	if ok {
		var row map[string]any
		if json.Unmarshal(raw, &row) == nil {
			c.hits.Add(1)
			return row, gen, true
		}
	}
	c.misses.Add(1)
	return nil, gen, false
}

// put stores a row read in generation gen, unless a write has committed
// since or the row alone exceeds the budget.
func (c *rowCache) put(key string, row map[string]any, gen uint64) {
	raw, err := json.Marshal(row)
	if err != nil || int64(len(raw)+len(key)) > c.budget {
		return
	}
	size := int64(len(raw) + len(key))
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if el, ok := c.items[key]; ok {
		c.bytes -= entrySize(el)
		c.order.Remove(el)
	}
	c.items[key] = c.order.PushFront(&cacheEntry{key: key, row: raw})
	c.bytes += size
	for c.bytes > c.budget {
		last := c.order.Back()
		c.bytes -= entrySize(last)
		delete(c.items, last.Value.(*cacheEntry).key)
		c.order.Remove(last)
		c.evictions.Add(1)
	}
}

func entrySize(el *list.Element) int64 {
	e := el.Value.(*cacheEntry)
	return int64(len(e.row) + len(e.key))
}

// committed drops cached rows after a write transaction committed.
func (d *DB) committed() {
	if d.cache != nil {
		d.cache.invalidate()
	}
}

// invalidate drops every row: a write committed.
func (c *rowCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.items)
	c.order.Init()
	c.bytes = 0
}

func (c *rowCache) stats() CacheStats {
	c.mu.Lock()
	bytes := c.bytes
	c.mu.Unlock()
	return CacheStats{Budget: c.budget, Bytes: bytes, Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load()}
}

// CacheStats reports the entity cache's figures; zero when it is off.
func (d *DB) CacheStats() CacheStats {
	if d.cache == nil {
		return CacheStats{}
	}
	return d.cache.stats()
}

// selectKey names a Select in the cache: the entity, the workspace the
// context asks for, the key and the parent scope.
func selectKey(ctx context.Context, e *schema.Entity, key string, scope *Scope) string {
	ws, _ := ctx.Value(WorkspaceKey{}).(string)
	k := e.Name + "\x00" + ws + "\x00" + key
	if scope != nil {
		k += "\x00" + scope.Field + "\x00" + scope.ID
	}
	return k
}
