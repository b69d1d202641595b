package eventhooks

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/portico-gw/portico/catalog"
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/internal/testclock"
	"github.com/portico-gw/portico/store"
	"github.com/portico-gw/portico/store/badger"
)

func ehkMD5(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestDigest(t *testing.T) {
	cases := []struct {
		name   string
		data   map[string]any
		unique []string
		want   string // md5 hex
	}{
		// Vectors from the reference (EE-TEST, §4.4).
		{name: "kong vector two keys", data: map[string]any{"some": "data", "with_more": "data"},
			want: "80dfae20a5ce00b394c00a4c42658c67"},
		{name: "kong vector one key", data: map[string]any{"some": "data"},
			want: "bc31a334fcc4ed689f4ea9ab824f23b3"},
		{name: "keys are sorted", data: map[string]any{"with_more": "data", "some": "data"},
			want: "80dfae20a5ce00b394c00a4c42658c67"},
		{name: "unique restricts the data", data: map[string]any{"some": "data", "with_more": "data"},
			unique: []string{"some"}, want: "bc31a334fcc4ed689f4ea9ab824f23b3"},
		{name: "unique ignores fields outside it whatever their value",
			data:   map[string]any{"some": "data", "rate": 12.0, "window": "minute"},
			unique: []string{"some"}, want: "bc31a334fcc4ed689f4ea9ab824f23b3"},
		{name: "unique field absent from the data", data: map[string]any{"other": "x"},
			unique: []string{"some"}, want: ehkMD5("")},
		{name: "integral number", data: map[string]any{"n": 1.0}, want: ehkMD5("n:1")},
		{name: "fractional number", data: map[string]any{"n": 1.5}, want: ehkMD5("n:1.5")},
		{name: "negative number", data: map[string]any{"n": -3.0}, want: ehkMD5("n:-3")},
		{name: "booleans", data: map[string]any{"a": true, "b": false}, want: ehkMD5("a:true:b:false")},
		{name: "numbers and strings mixed", data: map[string]any{"limit": 3.0, "ip": "10.0.0.1", "rate": 4.0},
			want: ehkMD5("ip:10.0.0.1:limit:3:rate:4")},
		{name: "nested tables are recursed with sorted keys",
			data: map[string]any{"b": map[string]any{"y": "2", "x": "1"}, "a": "0"},
			want: ehkMD5("a:0:b:x:1:y:2")},
		{name: "two levels of nesting",
			data: map[string]any{"consumer": map[string]any{"id": "c1", "meta": map[string]any{"tier": "gold"}}},
			want: ehkMD5("consumer:id:c1:meta:tier:gold")},
		{name: "arrays use their 1-based indices as keys",
			data: map[string]any{"tags": []any{"x", "y"}}, want: ehkMD5("tags:1:x:2:y")},
		{name: "nulls are skipped", data: map[string]any{"a": nil, "b": "x"}, want: ehkMD5("b:x")},
		{name: "unique restriction with nested values",
			data:   map[string]any{"service": map[string]any{"id": "s1"}, "rate": 9.0},
			unique: []string{"service"}, want: ehkMD5("service:id:s1")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Digest(tc.data, tc.unique)
			if !ok {
				t.Fatalf("Digest(%v, %v) not ok", tc.data, tc.unique)
			}
			if got != tc.want {
				t.Errorf("Digest(%v, %v) = %s, want %s", tc.data, tc.unique, got, tc.want)
			}
		})
	}

	t.Run("data that cannot be normalised", func(t *testing.T) {
		for _, data := range []map[string]any{
			{"ch": make(chan int)},
			{"nested": map[string]any{"f": func() {}}},
		} {
			if d, ok := Digest(data, nil); ok {
				t.Errorf("Digest(%v) = %s, ok; want not ok", data, d)
			}
		}
	})
	t.Run("different values differ", func(t *testing.T) {
		a, _ := Digest(map[string]any{"n": 1.0}, nil)
		b, _ := Digest(map[string]any{"n": 2.0}, nil)
		c, _ := Digest(map[string]any{"n": "1"}, nil)
		if a == b {
			t.Errorf("digests of n=1 and n=2 are equal")
		}
		// Kong normalises with tostring: the number 1 and the string "1" are
		// the same text.
		if a != c {
			t.Errorf("digest of n=1 (%s) differs from n=\"1\" (%s)", a, c)
		}
	})
}

// ehkFilterStep is one event offered to the filters at an offset from t0.
type ehkFilterStep struct {
	at   time.Duration
	data map[string]any
	want bool // delivered
}

func ehkRunFilterSteps(t *testing.T, h *hookEntry, steps []ehkFilterStep) {
	t.Helper()
	t0 := time.Unix(1_700_000_000, 0)
	clock := testclock.New(t0)
	f := ehkNewFilters(t, clock.Now)
	for i, s := range steps {
		clock.Set(t0.Add(s.at))
		pass, commit := f.check(h, handler.Event{Source: "crud", Name: "consumers", Data: s.data}, nil)
		if pass != s.want {
			t.Errorf("step %d (t+%v, %v): pass = %v, want %v", i, s.at, s.data, pass, s.want)
		}
		if !pass && commit != nil {
			t.Errorf("step %d: a dropped event returned a commit", i)
		}
		if pass && commit != nil {
			commit()
		}
	}
}

func TestFilterSnooze(t *testing.T) {
	a := map[string]any{"some": "data"}
	h := &hookEntry{Hook: handler.Hook{ID: "h1"}, snooze: 60}
	t.Run("timeline from the reference", func(t *testing.T) {
		ehkRunFilterSteps(t, h, []ehkFilterStep{
			{at: 0, data: a, want: true},
			{at: 50 * time.Second, data: a, want: false},
			{at: 70 * time.Second, data: a, want: true},
			{at: 100 * time.Second, data: a, want: false},
			{at: 131 * time.Second, data: a, want: true},
		})
	})
	t.Run("the window does not slide and ignores the payload", func(t *testing.T) {
		b := map[string]any{"other": "payload"}
		ehkRunFilterSteps(t, h, []ehkFilterStep{
			{at: 0, data: a, want: true},
			{at: 10 * time.Second, data: b, want: false},
			{at: 59 * time.Second, data: b, want: false},
			{at: 60 * time.Second, data: b, want: true}, // the window is [t0, t0+60s)
		})
	})
	t.Run("windows are per hook, source and event", func(t *testing.T) {
		clock := testclock.New(time.Unix(1_700_000_000, 0))
		f := ehkNewFilters(t, clock.Now)
		h2 := &hookEntry{Hook: handler.Hook{ID: "h2"}, snooze: 60}
		ev := handler.Event{Source: "crud", Name: "consumers", Data: a}
		mustPass := func(h *hookEntry, ev handler.Event, want bool) {
			t.Helper()
			pass, commit := f.check(h, ev, nil)
			if pass != want {
				t.Fatalf("check(%s, %s/%s) = %v, want %v", h.ID, ev.Source, ev.Name, pass, want)
			}
			if commit != nil {
				commit()
			}
		}
		mustPass(h, ev, true)
		mustPass(h, ev, false)
		mustPass(h2, ev, true)
		mustPass(h, handler.Event{Source: "crud", Name: "services", Data: a}, true)
		mustPass(h, handler.Event{Source: "dao:crud", Name: "consumers", Data: a}, true)
	})
	t.Run("expired windows are forgotten", func(t *testing.T) {
		clock := testclock.New(time.Unix(1_700_000_000, 0))
		f := ehkNewFilters(t, clock.Now)
		for i := 0; i < 100; i++ {
			hi := &hookEntry{Hook: handler.Hook{ID: "h" + string(rune('a'+i%26)) + string(rune('a'+i/26))}, snooze: 1}
			_, commit := f.check(hi, handler.Event{Source: "crud", Name: "consumers", Data: a}, nil)
			commit()
		}
		clock.Advance(2 * time.Second)
		_, commit := f.check(h, handler.Event{Source: "crud", Name: "consumers", Data: a}, nil)
		commit()
		// One row per hook, source and event, whatever the number of
		// windows it has opened.
		if n := f.rows(); n != 101 {
			t.Errorf("%d window rows, want 101 (one per hook)", n)
		}
	})
}

func TestFilterOnChange(t *testing.T) {
	a := map[string]any{"some": "data"}
	b := map[string]any{"some": "other data"}
	h := &hookEntry{Hook: handler.Hook{ID: "h1"}, onChange: true}
	t.Run("A A B B A", func(t *testing.T) {
		ehkRunFilterSteps(t, h, []ehkFilterStep{
			{at: 0, data: a, want: true},
			{at: time.Second, data: a, want: false},
			{at: 2 * time.Second, data: b, want: true},
			{at: 3 * time.Second, data: b, want: false},
			{at: 4 * time.Second, data: a, want: true},
		})
	})
	t.Run("no time limit", func(t *testing.T) {
		ehkRunFilterSteps(t, h, []ehkFilterStep{
			{at: 0, data: a, want: true},
			{at: 1000 * time.Hour, data: a, want: false},
		})
	})
	t.Run("unique fields decide what a change is", func(t *testing.T) {
		clock := testclock.New(time.Unix(1_700_000_000, 0))
		f := ehkNewFilters(t, clock.Now)
		unique := []string{"consumer", "ip", "service"}
		ev := func(rate float64, ip string) handler.Event {
			return handler.Event{Source: "rate-limiting-advanced", Name: "rate-limit-exceeded",
				Data: map[string]any{"consumer": map[string]any{}, "ip": ip, "service": map[string]any{}, "rate": rate}}
		}
		for i, s := range []struct {
			ev   handler.Event
			want bool
		}{
			{ev(4, "10.0.0.1"), true},
			{ev(5, "10.0.0.1"), false}, // rate is not unique: same digest
			{ev(6, "10.0.0.2"), true},
		} {
			pass, commit := f.check(h, s.ev, unique)
			if pass != s.want {
				t.Errorf("event %d: pass = %v, want %v", i, pass, s.want)
			}
			if commit != nil {
				commit()
			}
		}
	})
	t.Run("data that cannot be digested skips the filter", func(t *testing.T) {
		f := ehkNewFilters(t, time.Now)
		ev := handler.Event{Source: "crud", Name: "consumers", Data: map[string]any{"x": make(chan int)}}
		for i := 0; i < 2; i++ {
			pass, commit := f.check(h, ev, nil)
			if !pass || commit != nil {
				t.Fatalf("check %d = %v, commit %v; want pass without commit", i, pass, commit != nil)
			}
		}
	})
}

func TestFilterSnoozeAndOnChange(t *testing.T) {
	a := map[string]any{"some": "data"}
	b := map[string]any{"some": "other data"}
	h := &hookEntry{Hook: handler.Hook{ID: "h1"}, snooze: 60, onChange: true}
	ehkRunFilterSteps(t, h, []ehkFilterStep{
		{at: 0, data: a, want: true},
		{at: 1 * time.Second, data: a, want: false},
		{at: 2 * time.Second, data: b, want: true}, // a different payload passes at once
		{at: 3 * time.Second, data: b, want: false},
		{at: 4 * time.Second, data: a, want: false}, // a's window is still open
		{at: 61 * time.Second, data: a, want: true},
		{at: 62 * time.Second, data: b, want: true},
		{at: 63 * time.Second, data: a, want: false},
		{at: 100 * time.Second, data: b, want: false},
	})
}

func TestFilterCheckWithoutCommit(t *testing.T) {
	a := map[string]any{"some": "data"}
	b := map[string]any{"some": "other data"}
	for _, tc := range []struct {
		name string
		h    *hookEntry
	}{
		{"snooze", &hookEntry{Hook: handler.Hook{ID: "h1"}, snooze: 60}},
		{"on_change", &hookEntry{Hook: handler.Hook{ID: "h1"}, onChange: true}},
		{"snooze+on_change", &hookEntry{Hook: handler.Hook{ID: "h1"}, snooze: 60, onChange: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := testclock.New(time.Unix(1_700_000_000, 0))
			f := ehkNewFilters(t, clock.Now)
			ev := handler.Event{Source: "crud", Name: "consumers", Data: a}
			// A write that was rolled back: checked, never committed.
			for i := 0; i < 3; i++ {
				pass, commit := f.check(tc.h, ev, nil)
				if !pass || commit == nil {
					t.Fatalf("uncommitted check %d: pass = %v, commit = %v; want pass with a commit", i, pass, commit != nil)
				}
				clock.Advance(time.Second)
			}
			if n := f.rows(); n != 0 {
				t.Fatalf("after checks without commit: %d window rows; want none", n)
			}
			// Now the write commits: the next identical event is dropped.
			_, commit := f.check(tc.h, ev, nil)
			commit()
			if pass, _ := f.check(tc.h, ev, nil); pass {
				t.Errorf("identical event after a commit passed")
			}
			// A different payload checked but rolled back leaves on_change's
			// last digest at a.
			if tc.h.onChange && tc.h.snooze == 0 {
				if pass, _ := f.check(tc.h, handler.Event{Source: "crud", Name: "consumers", Data: b}, nil); !pass {
					t.Fatalf("b did not pass")
				}
				if pass, _ := f.check(tc.h, ev, nil); pass {
					t.Errorf("a passed again although b was never committed")
				}
			}
		})
	}
	t.Run("no filters", func(t *testing.T) {
		f := ehkNewFilters(t, time.Now)
		pass, commit := f.check(&hookEntry{Hook: handler.Hook{ID: "h"}}, handler.Event{Source: "crud", Name: "consumers", Data: a}, nil)
		if !pass || commit != nil {
			t.Errorf("hook without filters: pass = %v, commit = %v; want pass without commit", pass, commit != nil)
		}
	})
}

// ehkFilters runs the filters over a store of their own.
type ehkFilters struct {
	t  testing.TB
	f  *filters
	st store.Store
}

func ehkNewFilters(t testing.TB, now func() time.Time) *ehkFilters {
	t.Helper()
	reg, _, err := catalog.Build([]string{"bundled"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := badger.Open("", db.Tables(reg), badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &ehkFilters{t: t, f: newFilters(now), st: st}
}

var errEhkRollback = errors.New("rolled back")

// check judges ev in a transaction that is rolled back, and returns the
// verdict and, for an event that passes, a commit that judges it again in
// a transaction that commits, as the write that owes it would.
func (e *ehkFilters) check(h *hookEntry, ev handler.Event, unique []string) (bool, func()) {
	e.t.Helper()
	var pass bool
	err := e.st.Update(context.Background(), func(tx store.Tx) error {
		var err error
		if pass, err = e.f.check(tx, h, ev, unique); err != nil {
			return err
		}
		return errEhkRollback
	})
	if !errors.Is(err, errEhkRollback) {
		e.t.Fatalf("check: %v", err)
	}
	if !pass || (h.snooze == 0 && !h.onChange) {
		return pass, nil
	}
	if _, ok := Digest(ev.Data, unique); h.onChange && !ok {
		return pass, nil // the filters do not apply: nothing to commit
	}
	return pass, func() {
		e.t.Helper()
		if err := e.st.Update(context.Background(), func(tx store.Tx) error {
			_, err := e.f.check(tx, h, ev, unique)
			return err
		}); err != nil {
			e.t.Fatalf("commit: %v", err)
		}
	}
}

// rows counts the window rows.
func (e *ehkFilters) rows() int {
	n := 0
	if err := e.st.View(context.Background(), func(tx store.Tx) error {
		page, err := tx.Page(WindowsTable, store.PageQuery{Size: 1000})
		n = len(page.Rows)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return n
}
