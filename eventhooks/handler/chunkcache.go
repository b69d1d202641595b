package handler

import (
	"container/list"
	"sync"

	"github.com/portico-gw/portico/luavm"
)

// chunkCache is a bounded LRU of compiled sources (and of compile errors,
// which are permanent too).
type chunkCache struct {
	mu         sync.Mutex
	maxEntries int
	maxBytes   int
	bytes      int
	ll         *list.List // of *chunkEntry, most recently used first
	items      map[string]*list.Element
}

type chunkEntry struct {
	src   string
	chunk *luavm.Chunk
	err   error
}

func newChunkCache(maxEntries, maxBytes int) *chunkCache {
	return &chunkCache{maxEntries: maxEntries, maxBytes: maxBytes,
		ll: list.New(), items: map[string]*list.Element{}}
}

// get returns the cached outcome of compiling src; nil, nil when absent.
func (c *chunkCache) get(src string) (*luavm.Chunk, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[src]
	if !ok {
		return nil, nil
	}
	c.ll.MoveToFront(el)
	e := el.Value.(*chunkEntry)
	return e.chunk, e.err
}

func (c *chunkCache) put(src string, chunk *luavm.Chunk, err error) {
	if len(src) > c.maxBytes {
		return // never cached: compiled on every use
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[src]; ok { // compiled concurrently
		c.ll.MoveToFront(el)
		return
	}
	c.items[src] = c.ll.PushFront(&chunkEntry{src: src, chunk: chunk, err: err})
	c.bytes += len(src)
	for c.ll.Len() > c.maxEntries || c.bytes > c.maxBytes {
		old := c.ll.Back()
		e := old.Value.(*chunkEntry)
		c.ll.Remove(old)
		delete(c.items, e.src)
		c.bytes -= len(e.src)
	}
}

func (c *chunkCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// getOrCompile returns src compiled, from the cache or by compile (whose
// outcome, success or error, is then cached).
func (c *chunkCache) getOrCompile(src string, compile func(string) (*luavm.Chunk, error)) (*luavm.Chunk, error) {
	if chunk, err := c.get(src); chunk != nil || err != nil {
		return chunk, err
	}
	chunk, err := compile(src)
	c.put(src, chunk, err)
	return chunk, err
}
