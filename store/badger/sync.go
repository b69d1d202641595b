package badger

// Group commit
//
// Badger's own SyncWrites defeats its batching: its writer goroutine takes
// every commit waiting and writes them together, but syncs the memtable's
// write-ahead log once per transaction (writeToLSM), and the value log
// (unused by rows below the value threshold) once more per batch. So
// concurrent writers paid one sync each, and syncs were the ceiling of the
// write rate.
//
// The store therefore opens badger without SyncWrites and makes commits
// durable itself: Update returns only after a sync that began after its
// commit completed, and one sync serves every commit that completed before
// it began (the leader syncs; the others wait for it). A sync is an
// fdatasync of the write-ahead log files the commits may have gone to:
// badger numbers them in sequence (NNNNN.mem) and rotates to the next when
// a memtable fills, so each sync covers the file current at the previous
// sync and every later one. A file that is gone was flushed to a level-0
// table, which badger syncs before deleting the log. The value log is
// synced the same way, only when a commit wrote a value big enough to go
// there.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// valueLogMin is the size from which a value may go to badger's value log
// (its threshold is 64 KiB: see badgerOptions); below it a value lives in
// the write-ahead log only.
const valueLogMin = 32 << 10

// syncer makes commits durable, in groups.
type syncer struct {
	wal  logFiles // NNNNN.mem: memtables' write-ahead logs
	vlog logFiles // NNNNNN.vlog: the value log
	// vlogDirty says a commit since the last sync wrote a value that may be
	// in the value log.
	vlogDirty atomic.Bool

	mu      sync.Mutex
	cond    sync.Cond
	running bool
	started uint64 // syncs begun
	done    uint64 // the last sync finished
	err     error  // its outcome
	syncs   atomic.Uint64
}

func newSyncer(dir string) (*syncer, error) {
	g := &syncer{wal: logFiles{dir: dir, ext: ".mem", digits: 5}, vlog: logFiles{dir: dir, ext: ".vlog", digits: 6}}
	g.cond.L = &g.mu
	for _, l := range []*logFiles{&g.wal, &g.vlog} {
		if err := l.findLast(); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// wait returns once a sync that began after the call has finished: every
// commit completed before the call is then on disk.
func (g *syncer) wait() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	target := g.started + 1
	for g.done < target {
		if g.running {
			g.cond.Wait()
			continue
		}
		g.running = true
		g.started++
		n := g.started
		g.mu.Unlock()
		err := g.sync()
		g.mu.Lock()
		g.running, g.done, g.err = false, n, err
		g.cond.Broadcast()
	}
	if g.err != nil {
		return fmt.Errorf("syncing the store: %w", g.err)
	}
	return nil
}

// sync runs one sync: the write-ahead logs, and the value log if needed.
func (g *syncer) sync() error {
	g.syncs.Add(1)
	vlog := g.vlogDirty.Swap(false)
	if err := g.wal.sync(); err != nil {
		if vlog {
			g.vlogDirty.Store(true)
		}
		return err
	}
	if vlog {
		if err := g.vlog.sync(); err != nil {
			g.vlogDirty.Store(true)
			return err
		}
	}
	return nil
}

func (g *syncer) close() {
	g.wal.close()
	g.vlog.close()
}

// logFiles is one sequence of badger's log files, numbered from 0 up.
type logFiles struct {
	dir    string
	ext    string
	digits int
	id     int      // the file current at the last sync (-1: none yet)
	f      *os.File // id's file, open
}

func (l *logFiles) name(id int) string {
	s := strconv.Itoa(id)
	if pad := l.digits - len(s); pad > 0 {
		s = strings.Repeat("0", pad) + s
	}
	return filepath.Join(l.dir, s+l.ext)
}

// findLast starts the sequence at the highest-numbered file present.
func (l *logFiles) findLast() error {
	l.id = -1
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("listing the store's log files: %w", err)
	}
	for _, e := range entries {
		num, ok := strings.CutSuffix(e.Name(), l.ext)
		if !ok {
			continue
		}
		if id, err := strconv.Atoi(num); err == nil && id > l.id {
			l.id = id
		}
	}
	if l.id < 0 {
		l.id = 0
	}
	return nil
}

// sync syncs the file current at the last sync and every file created
// since, ending on the current one (kept open for the next sync).
func (l *logFiles) sync() error {
	for {
		if l.f == nil {
			f, err := os.OpenFile(l.name(l.id), os.O_RDWR, 0)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				// Not created yet, or flushed to a synced table and deleted.
			case err != nil:
				return fmt.Errorf("opening %s: %w", l.name(l.id), err)
			default:
				l.f = f
			}
		}
		if l.f != nil {
			if err := fdatasync(l.f); err != nil {
				return fmt.Errorf("syncing %s: %w", l.f.Name(), err)
			}
		}
		next, err := l.next()
		if err != nil || next < 0 {
			return err
		}
		// Badger rotated to a later file: it may hold later commits. Files
		// in between that are gone were flushed to synced tables.
		l.close()
		l.id = next
	}
}

// next is the lowest-numbered file after the current one, or -1. The
// directory is listed rather than the next number looked up because
// between two syncs badger may have rotated twice and already flushed and
// deleted the file in between.
func (l *logFiles) next() (int, error) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return -1, fmt.Errorf("listing the store's log files: %w", err)
	}
	next := -1
	for _, e := range entries {
		num, ok := strings.CutSuffix(e.Name(), l.ext)
		if !ok {
			continue
		}
		if id, err := strconv.Atoi(num); err == nil && id > l.id && (next < 0 || id < next) {
			next = id
		}
	}
	return next, nil
}

func (l *logFiles) close() {
	if l.f != nil {
		_ = l.f.Close()
		l.f = nil
	}
}
