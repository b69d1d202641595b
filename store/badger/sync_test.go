package badger

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/portico-gw/portico/store"
	"github.com/portico-gw/portico/store/storetest"
)

// lastLog is the highest-numbered log file with this extension in dir.
func lastLog(t *testing.T, dir, ext string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	last := -1
	for _, e := range entries {
		if num, ok := strings.CutSuffix(e.Name(), ext); ok {
			if id, err := strconv.Atoi(num); err == nil && id > last {
				last = id
			}
		}
	}
	return last
}

// The group sync follows badger's log files as memtables fill and values
// go to the value log: after each Update, the file it synced last is the
// newest, so no commit can sit in a log it did not sync.
func TestGroupSyncFollowsRotation(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.MemTableSize = 1 << 20
	opts.ValueLogFileSize = 1 << 20
	s := openIn(t, dir, storetest.Tables(), opts)
	ctx := context.Background()
	firstWAL := s.sync.wal.id
	big := strings.Repeat("x", 100<<10) // goes to the value log
	for i := range 300 {
		row := store.Row{"id": fmt.Sprintf("n-%04d", i), "n": i, "text": strings.Repeat("y", 8<<10)}
		if i%20 == 0 {
			row["text"] = big
		}
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.Insert("notes", row) }); err != nil {
			t.Fatal(err)
		}
		if got, want := s.sync.wal.id, lastLog(t, dir, ".mem"); got != want {
			t.Fatalf("after insert %d: synced write-ahead log %d, the newest is %d", i, got, want)
		}
		if i%20 == 0 {
			if got, want := s.sync.vlog.id, lastLog(t, dir, ".vlog"); got != want {
				t.Fatalf("after insert %d: synced value log %d, the newest is %d", i, got, want)
			}
		}
	}
	if s.sync.wal.id == firstWAL {
		t.Fatalf("the memtable never rotated (log %d): the test proves nothing", firstWAL)
	}
	if s.sync.vlog.id == 0 {
		t.Fatal("the value log never rotated: the test proves nothing")
	}
	if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("%05d.mem", s.sync.wal.id))); err != nil {
		t.Fatal(err)
	}
}

// A sync reaches the newest log even when the file after the one synced
// last is already gone (badger rotated twice and flushed the middle one).
func TestGroupSyncSkipsFlushedLogs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		present []int
		from    int
		want    int
	}{
		{"no rotation", []int{1}, 1, 1},
		{"one rotation", []int{1, 2}, 1, 2},
		{"the next one flushed", []int{1, 3}, 1, 3},
		{"the synced one flushed too", []int{4, 6}, 1, 6},
		{"nothing yet", nil, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := logFiles{dir: dir, ext: ".mem", digits: 5, id: tc.from}
			for _, id := range tc.present {
				if err := os.WriteFile(l.name(id), []byte("wal"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			defer l.close()
			if err := l.sync(); err != nil {
				t.Fatal(err)
			}
			if l.id != tc.want {
				t.Fatalf("synced up to %d, want %d", l.id, tc.want)
			}
		})
	}
}

// Concurrent commits share syncs, and every Update still returns after a
// sync that followed its commit.
func TestGroupSyncShared(t *testing.T) {
	s := openIn(t, t.TempDir(), storetest.Tables(), testOptions())
	ctx := context.Background()
	before := s.sync.syncs.Load()
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				row := store.Row{"id": fmt.Sprintf("w%d-%03d", w, i), "n": i}
				if err := s.Update(ctx, func(tx store.Tx) error { return tx.Insert("notes", row) }); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	syncs := s.sync.syncs.Load() - before
	t.Logf("%d commits, %d syncs", writers*each, syncs)
	if syncs == 0 || syncs >= writers*each {
		t.Fatalf("%d syncs for %d concurrent commits: not grouped", syncs, writers*each)
	}
}
