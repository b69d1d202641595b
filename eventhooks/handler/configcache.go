package handler

import (
	"reflect"
	"sync"
	"sync/atomic"
)

// maxCachedConfigs bounds a configCache: past it (hooks deleted, configs
// built for one test or ping) the cache starts again empty.
const maxCachedConfigs = 4096

// configCache holds each hook's config as its handler parsed it, so that
// the attempts at one version of a hook parse it once, not each time.
//
// An entry is for one config map, compared by identity: the hooks snapshot
// gives every attempt the same map until the hook changes, and a changed
// hook (a new snapshot, a new generation) comes with a new map. Identity,
// not updated_at (whole seconds: two updates in one second would share it)
// or the snapshot's generation (which starts again in a fresh DB-less
// engine). The entry keeps the map it was parsed from, so that map's
// address cannot be reused by another while the entry holds it.
type configCache[T any] struct {
	m sync.Map // hook id → *parsedConfig[T]
	n atomic.Int64
}

type parsedConfig[T any] struct {
	cfg map[string]any // parsed from; never modified (see Hook.Config)
	v   T
	err error // a config's errors are as lasting as the config
}

// get returns h's config parsed by parse, from the cache when h's config
// is the map of the entry for h.ID.
func (c *configCache[T]) get(h Hook, parse func(map[string]any) (T, error)) (T, error) {
	if h.ID == "" || h.Config == nil {
		return parse(h.Config)
	}
	if e, ok := c.m.Load(h.ID); ok {
		if p := e.(*parsedConfig[T]); sameMap(p.cfg, h.Config) {
			return p.v, p.err
		}
	}
	v, err := parse(h.Config)
	if _, replaced := c.m.Swap(h.ID, &parsedConfig[T]{cfg: h.Config, v: v, err: err}); !replaced {
		if c.n.Add(1) > maxCachedConfigs {
			c.m.Clear()
			c.n.Store(0)
		}
	}
	return v, err
}

// sameMap reports whether a and b are the same map (not equal ones).
func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
