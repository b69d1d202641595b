package db

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// Lookups is what plugins read of the stored configuration while serving
// requests (plugins.Data: Kong's kong.db behind kong.cache). Rows are read
// through the store's indexes (unique values, foreign keys) and cached as
// the store decoded them: shared and read only, so a hit decodes nothing
// and allocates nothing. Misses are cached too, so an unknown key costs a
// store read only after a write.
//
// Every entity has a generation, moved on when a write to it, or to an
// entity it references, commits (a TxHook's after-commit step); an entry
// read in an older generation is read again. A read that began before a
// write therefore never serves what the write changed: a revoked key stops
// working as soon as its delete is committed. Entries are bounded in number
// (an arbitrary entry of the full shard goes first) and kept in shards. A
// hit takes no lock and writes no shared memory, so a popular key read on
// every core does not make the cores contend; only misses are counted.
//
// Lookups is safe for concurrent use.
type Lookups struct {
	d      *DB
	seed   maphash.Seed
	shards [lookupShards]lookupShard
	// gens is the generation of each entity; the map is built once.
	gens     map[string]*atomic.Uint64
	perShard int
	misses   atomic.Uint64
}

const lookupShards = 64

// DefaultLookupEntries bounds the lookup cache when no size is given.
const DefaultLookupEntries = 100000

type lookupKey struct{ entity, field, value, ws string }

type lookupEntry struct {
	gen     uint64
	row     map[string]any
	rows    []map[string]any
	expires float64 // Unix seconds; 0: none
}

type lookupShard struct {
	m sync.Map // lookupKey → *lookupEntry
	// putMu orders puts, so that the count and evictions stay exact.
	putMu sync.Mutex
	n     int
}

// NewLookups returns the lookups of d, holding at most maxEntries rows
// (DefaultLookupEntries when 0), and registers the hook that ages them.
// Call it before d serves writes.
func NewLookups(d *DB, maxEntries int) *Lookups {
	if maxEntries <= 0 {
		maxEntries = DefaultLookupEntries
	}
	l := &Lookups{d: d, seed: maphash.MakeSeed(), gens: map[string]*atomic.Uint64{},
		perShard: max(1, maxEntries/lookupShards)}
	for _, e := range d.reg.Entities() {
		l.gens[e.Name] = new(atomic.Uint64)
	}
	d.AddTxHook(func(_ store.Tx, ch Change) (func(), error) {
		return func() { l.invalidate(ch.Entity.Name) }, nil
	})
	return l
}

// invalidate ages the entries of an entity written and of the entities
// that reference it (a consumer's credentials).
func (l *Lookups) invalidate(entity string) {
	if g := l.gens[entity]; g != nil {
		g.Add(1)
	}
	for _, ref := range l.d.children[entity] {
		if g := l.gens[ref.child.Name]; g != nil {
			g.Add(1)
		}
	}
}

// InvalidateAll ages every entry: the store's engine was replaced whole
// (DB-less mode's POST /config). A read that began on the old engine
// stores its row under the old generation, so it is read again.
func (l *Lookups) InvalidateAll() {
	for _, g := range l.gens {
		g.Add(1)
	}
}

// errUnknownEntity is a lookup of an entity the node does not serve.
var errUnknownEntity = errors.New("no such entity")

// Lookup returns the row of entity whose field ("id" or a unique field)
// equals value in workspace ws ("" for the default workspace), or nil. An
// expired row (Entity.TTL) is none. value is not kept beyond the call, so
// a caller may pass a view of its request's bytes.
func (l *Lookups) Lookup(entity, field, value, ws string) (map[string]any, error) {
	g := l.gens[entity]
	if g == nil {
		return nil, fmt.Errorf("looking up %s: %w", entity, errUnknownEntity)
	}
	k := lookupKey{entity: entity, field: field, value: value, ws: ws}
	sh, gen := l.shard(value), g.Load()
	if ent, ok := sh.get(k, gen); ok {
		if ent.expires != 0 && float64(l.now().Unix()) >= ent.expires {
			return nil, nil
		}
		return ent.row, nil
	}
	l.misses.Add(1)
	row, err := l.read(l.d.reg.Entity(entity), field, value, ws)
	if err != nil {
		return nil, err
	}
	ent := lookupEntry{gen: gen, row: row}
	if exp, ok := schema.ExpiresAt(row); ok {
		ent.expires = exp
		if float64(l.now().Unix()) >= exp {
			row = nil
		}
	}
	l.put(sh, k, ent)
	return row, nil
}

// Find returns the rows of entity whose field (a foreign key or an Indexed
// field) equals value, in every workspace; expired rows are left out. The
// slice and its rows are shared: read only. value is not kept beyond the
// call.
func (l *Lookups) Find(entity, field, value string) ([]map[string]any, error) {
	g := l.gens[entity]
	if g == nil {
		return nil, fmt.Errorf("finding %s: %w", entity, errUnknownEntity)
	}
	k := lookupKey{entity: entity, field: field, value: value}
	sh, gen := l.shard(value), g.Load()
	if ent, ok := sh.get(k, gen); ok {
		return ent.rows, nil
	}
	l.misses.Add(1)
	e := l.d.reg.Entity(entity)
	var rows []map[string]any
	err := l.d.store.View(context.Background(), func(tx store.Tx) error {
		var err error
		rows, err = findIndexed(tx, e, field, value)
		return err
	})
	if err != nil {
		return nil, err
	}
	rows = l.d.withoutExpired(e, rows)
	// A row that expires later leaves the result then: such results are
	// not cached.
	for _, r := range rows {
		if _, ok := schema.ExpiresAt(r); ok {
			return rows, nil
		}
	}
	l.put(sh, k, lookupEntry{gen: gen, rows: rows})
	return rows, nil
}

// read reads one row through the store: by id, or through the unique index
// of field within the workspace.
func (l *Lookups) read(e *schema.Entity, field, value, ws string) (map[string]any, error) {
	var row map[string]any
	err := l.d.store.View(context.Background(), func(tx store.Tx) error {
		if l.d.workspaced(e) && ws == "" {
			id, err := l.d.defaultWorkspaceID(tx)
			if err != nil {
				return err
			}
			ws = id
		}
		var err error
		switch f := e.Field(field); {
		case field == schema.FieldID:
			if !schema.IsUUID(value) {
				return nil
			}
			row, err = tx.Get(e.Name, value)
			if row != nil && l.d.workspaced(e) && row[FieldWorkspace] != ws {
				row = nil
			}
		case f != nil && f.Unique:
			if !l.d.workspaced(e) {
				ws = ""
			}
			row, err = getUnique(tx, e.Name, ws, field, value)
		default:
			return fmt.Errorf("looking up %s by %s: the field is not unique", e.Name, field)
		}
		if errors.Is(err, store.ErrNotFound) {
			row, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("looking up %s: %w", e.Name, err)
	}
	return row, nil
}

func (l *Lookups) shard(value string) *lookupShard {
	return &l.shards[maphash.String(l.seed, value)%lookupShards]
}

func (sh *lookupShard) get(k lookupKey, gen uint64) (*lookupEntry, bool) {
	v, ok := sh.m.Load(k)
	if !ok {
		return nil, false
	}
	ent := v.(*lookupEntry)
	return ent, ent.gen == gen
}

// put stores an entry under its own copy of the key's value, making room
// in a full shard.
func (l *Lookups) put(sh *lookupShard, k lookupKey, ent lookupEntry) {
	k.value = strings.Clone(k.value)
	sh.putMu.Lock()
	defer sh.putMu.Unlock()
	cur, ok := sh.m.Load(k)
	if ok && cur.(*lookupEntry).gen > ent.gen {
		return // a newer read got there first
	}
	if !ok {
		if sh.n >= l.perShard {
			sh.m.Range(func(old, _ any) bool {
				sh.m.Delete(old)
				sh.n--
				return false
			})
		}
		sh.n++
	}
	sh.m.Store(k, &ent)
}

// LookupStats are the lookup cache's figures.
type LookupStats struct {
	Entries int
	// Misses counts the lookups that read the store.
	Misses uint64
}

// Stats reports the lookup cache's figures.
func (l *Lookups) Stats() LookupStats {
	s := LookupStats{Misses: l.misses.Load()}
	for i := range l.shards {
		sh := &l.shards[i]
		sh.putMu.Lock()
		s.Entries += sh.n
		sh.putMu.Unlock()
	}
	return s
}

// now is the DB's clock (tests move it).
func (l *Lookups) now() time.Time { return l.d.auto.Now() }
