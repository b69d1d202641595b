// Package badger is Portico's embedded storage engine: store.Store on top of
// github.com/dgraph-io/badger/v4, an embedded, transactional key-value store.
//
// Rows are kept as JSON under their primary key, next to hand-maintained
// unique, foreign-key and tag indexes (see keys.go). Badger gives serialisable
// snapshot isolation with optimistic conflict detection, so read-write
// transactions are retried on conflict and every constraint check reads the
// index key it depends on, turning races into conflicts.
package badger

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/portico-gw/portico/store"
)

var _ store.Store = (*Store)(nil)

// ErrClosed is returned by every method of a Store after Close.
var ErrClosed = errors.New("badger store is closed")

// schemaVersion is the version of the key layout in keys.go. Open refuses a
// directory written by a newer layout rather than misreading it.
const schemaVersion = 1

// Update retry policy: conflicts are normally resolved by the second try (the
// retry sees the winner's writes); the bound stops a livelock from hanging a
// request forever.
const (
	maxTries    = 10
	baseBackoff = time.Millisecond
	maxBackoff  = 50 * time.Millisecond
)

// Options tunes Open. The zero value is a sensible on-disk store.
type Options struct {
	// InMemory keeps everything in memory and ignores dir (for tests). It also
	// picks small buffers, as tests open many stores.
	InMemory bool
	// Logger receives badger's warnings and errors as level ("warning" or
	// "error") and message. Nil discards them; badger's info and debug output
	// is always discarded because it is chatty and not actionable.
	Logger func(level, msg string)

	// MemTableSize is the size of one memtable. It also bounds a transaction:
	// badger refuses a transaction writing more than 15% of it
	// (badger.ErrTxnTooBig). Zero: 16 MiB on disk, 8 MiB in memory. At least
	// 1 MiB.
	MemTableSize int64
	// ValueLogFileSize is the size of one value-log file. Zero: 128 MiB.
	ValueLogFileSize int64
	// BlockCacheSize is the read cache for on-disk tables. Zero: 32 MiB on
	// disk, 1 MiB in memory.
	BlockCacheSize int64
	// GCInterval is how often the value log is garbage collected. Zero: 5
	// minutes. Unused in memory.
	GCInterval time.Duration
}

// Store is a store.Store kept in a badger database.
type Store struct {
	db     *badger.DB
	tables map[string]*tableInfo
	logf   func(level, msg string)

	// mu guards closed; inflight counts running Update/View calls so that
	// Close waits for them instead of pulling the database from under them.
	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup

	// sync makes commits durable in groups (sync.go); nil in memory.
	sync *syncer

	stopGC chan struct{}
	gcDone chan struct{}
}

// tableInfo is a declared table with what the hot paths need precomputed.
type tableInfo struct {
	store.Table
	uniques []uniqueSet
	fks     map[string]store.ForeignKey // by field
	// sortedPrefixes are the key prefixes of the Sorted indexes, in order.
	sortedPrefixes [][]byte
	// children lists the foreign keys of any table that point at this one,
	// which Delete must check.
	children []childRef
}

type uniqueSet struct {
	fields []string
	joined string // fields joined by ",", the set's name in index keys
	// withNulls makes null values part of the key (Table.CacheKey) instead
	// of exempting the row from the constraint.
	withNulls bool
}

type childRef struct {
	table string
	field string
}

// Open opens (creating if needed) the store in dir with these tables.
func Open(dir string, tables []store.Table, opts Options) (*Store, error) {
	infos, err := buildTables(tables)
	if err != nil {
		return nil, err
	}
	logf := opts.Logger
	if logf == nil {
		logf = func(string, string) {}
	}
	db, err := badger.Open(badgerOptions(dir, opts, logf))
	if err != nil {
		return nil, fmt.Errorf("opening badger store in %q: %w", dir, err)
	}
	s := &Store{
		db:     db,
		tables: infos,
		logf:   logf,
		stopGC: make(chan struct{}),
		gcDone: make(chan struct{}),
	}
	if !opts.InMemory {
		if s.sync, err = newSyncer(dir); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	if err := s.checkSchema(); err != nil {
		s.closeSyncer()
		_ = db.Close()
		return nil, err
	}
	if opts.InMemory {
		close(s.gcDone)
	} else {
		interval := opts.GCInterval
		if interval <= 0 {
			interval = 5 * time.Minute
		}
		go s.gcLoop(interval)
	}
	return s, nil
}

func badgerOptions(dir string, opts Options, logf func(level, msg string)) badger.Options {
	memTable, blockCache := int64(16<<20), int64(32<<20)
	if opts.InMemory {
		memTable, blockCache = 8<<20, 1<<20
		dir = ""
	}
	if opts.MemTableSize > 0 {
		memTable = max(opts.MemTableSize, 1<<20)
	}
	if opts.BlockCacheSize > 0 {
		blockCache = opts.BlockCacheSize
	}
	vlogSize := int64(128 << 20)
	if opts.ValueLogFileSize > 0 {
		vlogSize = min(max(opts.ValueLogFileSize, 1<<20), 1<<30)
	}
	return badger.DefaultOptions(dir).
		WithInMemory(opts.InMemory).
		// Update must be durable when it returns, even across kill -9 and
		// power loss: the store syncs after commits, in groups (sync.go),
		// because badger's own SyncWrites syncs once per transaction.
		WithSyncWrites(false).
		WithNumVersionsToKeep(1).
		WithMemTableSize(memTable).
		WithNumMemtables(3).
		// Values up to 64 KiB (every realistic row) live in the LSM tree, so
		// the value log acts as a write-ahead log; it must stay below 15% of
		// the memtable, which the 1 MiB memtable floor guarantees.
		WithValueThreshold(64 << 10).
		WithValueLogFileSize(vlogSize).
		// Compression requires a block cache; badger panics otherwise.
		WithBlockCacheSize(max(blockCache, 1<<20)).
		WithIndexCacheSize(0).
		WithNumCompactors(2).
		WithCompression(options.Snappy).
		WithMetricsEnabled(false).
		WithLogger(badgerLogger{logf}).
		WithLoggingLevel(badger.WARNING)
}

// buildTables validates the declared tables and precomputes tableInfo.
func buildTables(tables []store.Table) (map[string]*tableInfo, error) {
	infos := make(map[string]*tableInfo, len(tables))
	for _, t := range tables {
		if t.Name == "" {
			return nil, errors.New("declaring tables: empty table name")
		}
		if _, dup := infos[t.Name]; dup {
			return nil, fmt.Errorf("declaring tables: table %q declared twice", t.Name)
		}
		ti := &tableInfo{Table: t, fks: make(map[string]store.ForeignKey, len(t.Foreign))}
		sets := slices.Clone(t.Unique)
		if len(t.CacheKey) > 0 {
			sets = append(sets, t.CacheKey)
		}
		for i, set := range sets {
			if len(set) == 0 {
				return nil, fmt.Errorf("declaring table %q: empty unique field set", t.Name)
			}
			for _, f := range set {
				if f == "" || strings.Contains(f, ",") {
					return nil, fmt.Errorf("declaring table %q: bad unique field name %q", t.Name, f)
				}
			}
			u := uniqueSet{fields: set, joined: strings.Join(set, ",")}
			if i >= len(t.Unique) {
				// The cache key gets an index name of its own, so that it
				// cannot share entries with a plain unique set of the same fields.
				u.withNulls, u.joined = true, "cache_key:"+u.joined
			}
			ti.uniques = append(ti.uniques, u)
		}
		names := map[string]bool{}
		for _, si := range t.Sorted {
			if si.Name == "" || len(si.Fields) == 0 || names[si.Name] {
				return nil, fmt.Errorf("declaring table %q: sorted index %q without a name, fields, or declared twice", t.Name, si.Name)
			}
			names[si.Name] = true
			ti.sortedPrefixes = append(ti.sortedPrefixes, sortedPrefix(t.Name, si.Name))
		}
		for _, fk := range t.Foreign {
			if fk.Field == "" {
				return nil, fmt.Errorf("declaring table %q: foreign key without field", t.Name)
			}
			if _, dup := ti.fks[fk.Field]; dup {
				return nil, fmt.Errorf("declaring table %q: foreign key %q declared twice", t.Name, fk.Field)
			}
			ti.fks[fk.Field] = fk
		}
		infos[t.Name] = ti
	}
	for _, t := range tables {
		for _, fk := range t.Foreign {
			parent, ok := infos[fk.Table]
			if !ok {
				return nil, fmt.Errorf("declaring table %q: foreign key %q references undeclared table %q",
					t.Name, fk.Field, fk.Table)
			}
			if !fk.Loose {
				parent.children = append(parent.children, childRef{table: t.Name, field: fk.Field})
			}
		}
	}
	return infos, nil
}

// checkSchema records the key-layout version in a new store and refuses one
// written by a newer layout.
func (s *Store) checkSchema() error {
	err := s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(metaSchema)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set(metaSchema, []byte(strconv.Itoa(schemaVersion)))
		}
		if err != nil {
			return fmt.Errorf("reading schema version: %w", err)
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("reading schema version: %w", err)
		}
		n, err := strconv.Atoi(string(v))
		if err != nil {
			return fmt.Errorf("reading schema version: bad value %q", v)
		}
		if n > schemaVersion {
			return fmt.Errorf("store has key layout version %d, this build knows up to %d", n, schemaVersion)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.durable(false)
}

// enter registers a running call, or fails after Close.
func (s *Store) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.inflight.Add(1)
	return nil
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.inflight.Done()
	for try := 0; ; try++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err, conflict := s.tryUpdate(fn)
		if !conflict {
			return err
		}
		if try+1 >= maxTries {
			return fmt.Errorf("committing transaction: %w: gave up after %d tries: %w", store.ErrBusy, maxTries, err)
		}
		backoff := min(baseBackoff<<try, maxBackoff)
		backoff = backoff/2 + rand.N(backoff/2+1) // jitter spreads out retrying contenders
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// tryUpdate runs fn once in a fresh read-write transaction; conflict reports
// that the commit lost a race and fn should run again.
func (s *Store) tryUpdate(fn func(tx store.Tx) error) (err error, conflict bool) {
	txn := s.db.NewTransaction(true)
	defer txn.Discard() // rolls back when fn fails or panics; no-op after Commit
	t := &tx{s: s, txn: txn, write: true}
	err = fn(t)
	t.done = true
	if errors.Is(err, badger.ErrTxnTooBig) {
		return fmt.Errorf("%w: %w", store.ErrTooBig, err), false
	}
	if err != nil {
		return err, false
	}
	if err := txn.Commit(); err != nil {
		if errors.Is(err, badger.ErrConflict) {
			return err, true
		}
		return fmt.Errorf("committing transaction: %w", err), false
	}
	return s.durable(t.bigValue), false
}

// durable returns once the commits completed so far are on disk; bigValue
// says one of them wrote a value that may be in the value log.
func (s *Store) durable(bigValue bool) error {
	if s.sync == nil {
		return nil
	}
	if bigValue {
		s.sync.vlogDirty.Store(true)
	}
	return s.sync.wait()
}

func (s *Store) closeSyncer() {
	if s.sync != nil {
		s.sync.close()
	}
}

// View implements store.Store.
func (s *Store) View(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.inflight.Done()
	if err := ctx.Err(); err != nil {
		return err
	}
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	t := &tx{s: s, txn: txn}
	defer func() { t.done = true }()
	return fn(t)
}

// Bootstrapped implements store.Store.
func (s *Store) Bootstrapped(ctx context.Context) (bool, error) {
	var ok bool
	err := s.View(ctx, func(st store.Tx) error {
		_, err := st.(*tx).txn.Get(metaBootstrapped)
		switch {
		case err == nil:
			ok = true
		case errors.Is(err, badger.ErrKeyNotFound):
		default:
			return fmt.Errorf("reading bootstrap flag: %w", err)
		}
		return nil
	})
	return ok, err
}

// Bootstrap implements store.Store. Badger needs no schema, so bootstrapping
// only records that it happened.
func (s *Store) Bootstrap(ctx context.Context) error {
	return s.Update(ctx, func(st store.Tx) error {
		if err := st.(*tx).txn.Set(metaBootstrapped, []byte("1")); err != nil {
			return fmt.Errorf("writing bootstrap flag: %w", err)
		}
		return nil
	})
}

// Close implements store.Store. It waits for running transactions, stops the
// value-log GC and closes badger, which flushes the memtables.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	s.inflight.Wait()
	close(s.stopGC)
	<-s.gcDone
	err := s.db.Close()
	s.closeSyncer()
	if err != nil {
		return fmt.Errorf("closing badger store: %w", err)
	}
	return nil
}

// gcLoop runs value-log GC every interval until Close. Rows are small enough
// to live in the LSM tree, but the value log still holds the write-ahead
// copies and any large rows, and only GC reclaims them.
func (s *Store) gcLoop(interval time.Duration) {
	defer close(s.gcDone)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stopGC:
			return
		case <-ticker.C:
			s.runGC()
		}
	}
}

// runGC rewrites value-log files while badger finds ones worth rewriting. A
// panic in badger's GC must not take the gateway down, so it is logged and
// dropped; the next tick tries again.
func (s *Store) runGC() {
	defer func() {
		if r := recover(); r != nil {
			s.logf("error", fmt.Sprintf("badger value log GC panicked: %v", r))
		}
	}()
	for range 16 {
		select {
		case <-s.stopGC:
			return
		default:
		}
		err := s.db.RunValueLogGC(0.5)
		if err == nil {
			continue
		}
		if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
			s.logf("error", fmt.Sprintf("badger value log GC: %v", err))
		}
		return
	}
}

// badgerLogger forwards badger's warnings and errors to Options.Logger.
type badgerLogger struct{ logf func(level, msg string) }

func (l badgerLogger) Errorf(format string, args ...any) {
	l.logf("error", strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (l badgerLogger) Warningf(format string, args ...any) {
	l.logf("warning", strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
