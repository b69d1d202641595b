package badger

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	bdg "github.com/dgraph-io/badger/v4"

	"github.com/portico-gw/portico/store"
	"github.com/portico-gw/portico/store/storetest"
)

// testOptions keeps on-disk test stores small: the suite opens dozens.
func testOptions() Options {
	return Options{
		MemTableSize:     2 << 20,
		ValueLogFileSize: 4 << 20,
		BlockCacheSize:   1 << 20,
		GCInterval:       50 * time.Millisecond,
		Logger:           func(level, msg string) {},
	}
}

func openIn(t *testing.T, dir string, tables []store.Table, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, tables, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func openMemory(t *testing.T, tables []store.Table) store.Store {
	return openIn(t, "", tables, Options{InMemory: true})
}

func openDisk(t *testing.T, tables []store.Table) store.Store {
	return openIn(t, t.TempDir(), tables, testOptions())
}

func TestConformance(t *testing.T) {
	t.Run("memory", func(t *testing.T) { storetest.Run(t, openMemory) })
	t.Run("disk", func(t *testing.T) { storetest.Run(t, openDisk) })
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	storetest.RunReopen(t, func(t *testing.T, tables []store.Table) store.Store {
		return openIn(t, dir, tables, testOptions())
	})
}

func TestOpenRejectsBadTables(t *testing.T) {
	cases := []struct {
		name   string
		tables []store.Table
	}{
		{"empty name", []store.Table{{Name: ""}}},
		{"duplicate", []store.Table{{Name: "a"}, {Name: "a"}}},
		{"empty unique set", []store.Table{{Name: "a", Unique: [][]string{{}}}}},
		{"comma in unique field", []store.Table{{Name: "a", Unique: [][]string{{"x,y"}}}}},
		{"undeclared reference", []store.Table{{Name: "a", Foreign: []store.ForeignKey{{Field: "b", Table: "b"}}}}},
		{"duplicate foreign key", []store.Table{{Name: "b"}, {Name: "a", Foreign: []store.ForeignKey{
			{Field: "b", Table: "b"}, {Field: "b", Table: "b"}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := Open("", tc.tables, Options{InMemory: true}); err == nil {
				_ = s.Close()
				t.Error("Open succeeded")
			}
		})
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, storetest.Tables(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(txn *bdg.Txn) error { return txn.Set(metaSchema, []byte("99")) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir, storetest.Tables(), testOptions()); err == nil {
		_ = s.Close()
		t.Fatal("Open of a newer layout succeeded")
	}
}

func TestKeyEncoding(t *testing.T) {
	parts := [][]string{
		{""}, {"a"}, {"a", ""}, {"", "a"}, {"a/b", "c"}, {"a", "b/c"},
		{"\x00"}, {"a\x00b", "\x00\x01", "\xff\x00"}, {"\x00\xff\x01", ""},
	}
	for _, p := range parts {
		got, err := splitKey(makeKey(p...))
		if err != nil || !slices.Equal(got, p) {
			t.Errorf("splitKey(makeKey(%q)) = %q, %v", p, got, err)
		}
	}
	// Order preservation over random tuples of awkward bytes.
	alphabet := []byte{0x00, 0x01, 0xff, 'a', '/'}
	rnd := rand.New(rand.NewPCG(1, 2))
	randStr := func() string {
		b := make([]byte, rnd.IntN(4))
		for i := range b {
			b[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		return string(b)
	}
	type tuple = [2]string
	tuples := make([]tuple, 500)
	for i := range tuples {
		tuples[i] = tuple{randStr(), randStr()}
	}
	byTuple := slices.Clone(tuples)
	sort.Slice(byTuple, func(i, j int) bool {
		if byTuple[i][0] != byTuple[j][0] {
			return byTuple[i][0] < byTuple[j][0]
		}
		return byTuple[i][1] < byTuple[j][1]
	})
	byKey := slices.Clone(tuples)
	sort.Slice(byKey, func(i, j int) bool {
		return bytes.Compare(makeKey(byKey[i][0], byKey[i][1]), makeKey(byKey[j][0], byKey[j][1])) < 0
	})
	if !slices.Equal(byTuple, byKey) {
		t.Error("key order differs from tuple order")
	}
	for _, bad := range []string{"a", "a\x00", "a\x00\x02", "\x00\xff", "a\x00\x01b"} {
		if _, err := splitKey([]byte(bad)); err == nil {
			t.Errorf("splitKey(%q) succeeded", bad)
		}
	}
}

// TestAwkwardIDs checks ids the conformance suite avoids because an SQL
// engine may not store or order them bytewise: NUL bytes, "/" and prefixes.
func TestAwkwardIDs(t *testing.T) {
	s := openMemory(t, storetest.Tables())
	ids := []string{"a", "a/b", "a\x00", "a\x00b", "a/", "b", "\x00", "\u00ff", "a\x01"}
	parent := "p\x00/x"
	ctx := context.Background()
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Insert("services", store.Row{"id": parent, "name": "p\x00"}); err != nil {
			return err
		}
		for _, id := range ids {
			if err := tx.Insert("routes", store.Row{"id": id, "name": id, "service": parent, "tags": []any{"t/\x00"}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(ids)
	sort.Strings(want)
	for _, q := range []store.PageQuery{
		{Size: 2},
		{Size: 3, Foreign: &store.ForeignFilter{Field: "service", ID: parent}},
		{Size: 4, Tags: []string{"t/\x00"}},
	} {
		var got []string
		for {
			var p store.Page
			if err := s.View(ctx, func(tx store.Tx) error {
				var err error
				p, err = tx.Page("routes", q)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Rows {
				got = append(got, r["id"].(string))
			}
			if p.Offset == "" {
				break
			}
			q.Offset = p.Offset
		}
		if !slices.Equal(got, want) {
			t.Errorf("query %+v: got %q, want %q", q, got, want)
		}
	}
	// JSON cannot hold invalid UTF-8: such ids and tags are refused.
	for _, row := range []store.Row{{"id": "\xff"}, {"id": "x", "tags": []any{"\xff"}}} {
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.Insert("services", row) }); err == nil {
			t.Errorf("Insert(%q) succeeded", row)
		}
	}
	// A prefix of the parent id has no children.
	err = s.View(ctx, func(tx store.Tx) error {
		p, err := tx.Page("routes", store.PageQuery{Size: 10, Foreign: &store.ForeignFilter{Field: "service", ID: "p"}})
		if err != nil || len(p.Rows) != 0 {
			t.Errorf("children of a prefix id: %v, %v", p.Rows, err)
		}
		for _, id := range ids {
			if r, err := tx.GetUnique("routes", []string{"name"}, []any{id}); err != nil || r["id"] != id {
				t.Errorf("GetUnique(%q) = %v, %v", id, r, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBadPageSize(t *testing.T) {
	s := openMemory(t, storetest.Tables())
	err := s.View(context.Background(), func(tx store.Tx) error {
		for _, size := range []int{0, -1} {
			if _, err := tx.Page("services", store.PageQuery{Size: size}); err == nil {
				t.Errorf("Page size %d succeeded", size)
			}
			if _, err := tx.Tags(store.TagPageQuery{Size: size}); err == nil {
				t.Errorf("Tags size %d succeeded", size)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOffsetEncodings checks that a token re-encoded with padding or the
// standard alphabet still resumes the page.
func TestOffsetEncodings(t *testing.T) {
	s := openMemory(t, storetest.Tables())
	ctx := context.Background()
	for _, id := range []string{"a", "b>?", "c"} {
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.Insert("notes", store.Row{"id": id}) }); err != nil {
			t.Fatal(err)
		}
	}
	err := s.View(ctx, func(tx store.Tx) error {
		p, err := tx.Page("notes", store.PageQuery{Size: 1})
		if err != nil {
			return err
		}
		raw, err := offsetKey(p.Offset, rowPrefix("notes"), 1)
		if err != nil {
			return err
		}
		for _, tok := range []string{
			p.Offset,
			strings.TrimRight(base64.StdEncoding.EncodeToString(raw), "="),
			base64.StdEncoding.EncodeToString(raw),
		} {
			p2, err := tx.Page("notes", store.PageQuery{Size: 1, Offset: tok})
			if err != nil || len(p2.Rows) != 1 || p2.Rows[0]["id"] != "b>?" {
				t.Errorf("offset %q: %v, %v", tok, p2.Rows, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLoggerAndGC(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	opts := testOptions()
	opts.GCInterval = 5 * time.Millisecond
	opts.Logger = func(level, msg string) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, level+": "+msg)
	}
	s := openIn(t, t.TempDir(), storetest.Tables(), opts)
	ctx := context.Background()
	big := strings.Repeat("x", 100<<10) // above the value threshold: goes to the value log
	for i := range 40 {
		id := string(rune('a' + i%4))
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.Delete("notes", id); err != nil {
				return err
			}
			return tx.Insert("notes", store.Row{"id": id, "blob": big})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond) // let a few GC rounds run
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, l := range logged {
		if !strings.HasPrefix(l, "warning: ") && !strings.HasPrefix(l, "error: ") {
			t.Errorf("unexpected log level: %s", l)
		}
	}
}

// TestCloseWaitsForTransactions closes the store while transactions run:
// they must finish or fail cleanly, never panic.
func TestCloseWaitsForTransactions(t *testing.T) {
	s := openIn(t, t.TempDir(), storetest.Tables(), testOptions())
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				err := s.Update(ctx, func(tx store.Tx) error {
					return tx.Insert("notes", store.Row{"id": time.Now().String() + string(rune(rand.IntN(1000)))})
				})
				if errors.Is(err, ErrClosed) {
					return
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

// TestKillDurability kills a writer process with SIGKILL and checks that
// every insert whose Update had returned survives. (The page cache survives
// a process kill, so this checks that Update waits for the write; the
// group sync covers the machine crashing: TestGroupSync.)
func TestKillDurability(t *testing.T) {
	if dir := os.Getenv("PORTICO_BADGER_KILL_DIR"); dir != "" {
		killHelper(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDurability$")
	cmd.Env = append(os.Environ(), "PORTICO_BADGER_KILL_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		acked = append(acked, sc.Text())
		if len(acked) == 50 {
			_ = cmd.Process.Kill()
		}
	}
	_ = cmd.Wait()
	if len(acked) < 50 {
		t.Fatalf("helper acknowledged only %d inserts", len(acked))
	}
	s := openIn(t, dir, storetest.Tables(), testOptions())
	err = s.View(context.Background(), func(tx store.Tx) error {
		for _, id := range acked {
			if _, err := tx.Get("notes", id); err != nil {
				t.Errorf("acknowledged row %s: %v", id, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// killHelper inserts rows forever, printing each id once Update returned.
func killHelper(dir string) {
	s, err := Open(dir, storetest.Tables(), testOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		id := fmt.Sprintf("row-%06d", i)
		err := s.Update(context.Background(), func(tx store.Tx) error {
			return tx.Insert("notes", store.Row{"id": id, "n": i})
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(id)
	}
}

// A transaction larger than the memtable allows fails whole, with an error
// callers recognise as store.ErrTooBig, and writes nothing.
func TestTooBigTransaction(t *testing.T) {
	s := openIn(t, "", storetest.Tables(), Options{InMemory: true, MemTableSize: 1 << 20})
	err := s.Update(context.Background(), func(tx store.Tx) error {
		for i := range 20000 {
			if err := tx.Insert("services", store.Row{"id": fmt.Sprintf("svc-%05d", i), "name": fmt.Sprint("service-", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, store.ErrTooBig) {
		t.Fatalf("err = %v, want store.ErrTooBig", err)
	}
	_ = s.View(context.Background(), func(tx store.Tx) error {
		if p, err := tx.Page("services", store.PageQuery{Size: 1}); err != nil || len(p.Rows) != 0 {
			t.Errorf("rows of the failed transaction were written: %v, %v", p.Rows, err)
		}
		return nil
	})
}

// A transaction that conflicts every time it runs is given up after
// maxTries with an error callers recognise as store.ErrBusy.
func TestConflictsExhausted(t *testing.T) {
	s := openMemory(t, storetest.Tables())
	ctx := context.Background()
	id := "svc-contended"
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.Insert("services", store.Row{"id": id, "name": "n0"}) }); err != nil {
		t.Fatal(err)
	}
	runs := 0
	err := s.Update(ctx, func(tx store.Tx) error {
		runs++
		row, err := tx.Get("services", id)
		if err != nil {
			return err
		}
		// Another writer changes the row before this transaction commits.
		if err := s.Update(ctx, func(other store.Tx) error {
			return other.Update("services", store.Row{"id": id, "name": fmt.Sprint("other-", runs)})
		}); err != nil {
			return err
		}
		row["name"] = fmt.Sprint("mine-", runs)
		return tx.Update("services", row)
	})
	if !errors.Is(err, store.ErrBusy) || runs != maxTries {
		t.Fatalf("err = %v after %d runs, want store.ErrBusy after %d", err, runs, maxTries)
	}
}
