package ratelimit

import (
	"sync"
	"testing"
	"time"
)

func unix(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.Unix()
}

func TestPeriodWindows(t *testing.T) {
	now := unix("2024-02-29T13:45:30Z") // a leap day
	for _, c := range []struct {
		period Period
		start  string
		reset  int64
	}{
		{Second, "2024-02-29T13:45:30Z", 1},
		{Minute, "2024-02-29T13:45:00Z", 30},
		{Hour, "2024-02-29T13:00:00Z", 60*60 - 45*60 - 30},
		{Day, "2024-02-29T00:00:00Z", 86400 - (13*3600 + 45*60 + 30)},
		// Kong's month is 30 days from the calendar month's start.
		{Month, "2024-02-01T00:00:00Z", 2592000 - (28*86400 + 13*3600 + 45*60 + 30)},
		{Year, "2024-01-01T00:00:00Z", 31536000 - (59*86400 + 13*3600 + 45*60 + 30)},
	} {
		t.Run(c.period.String(), func(t *testing.T) {
			if got, want := c.period.Start(now), unix(c.start); got != want {
				t.Errorf("start = %s; want %s", time.Unix(got, 0).UTC(), c.start)
			}
			if got := c.period.Reset(now); got != c.reset {
				t.Errorf("reset = %d; want %d", got, c.reset)
			}
			if p, ok := ParsePeriod(c.period.String()); !ok || p != c.period {
				t.Errorf("ParsePeriod(%q) = %v, %v", c.period, p, ok)
			}
		})
	}
	// A 31-day month's last day is past Kong's 30 days: the reset is 1.
	if got := Month.Reset(unix("2024-01-31T12:00:00Z")); got != 1 {
		t.Errorf("reset on January 31st = %d; want 1", got)
	}
	if _, ok := ParsePeriod("week"); ok {
		t.Error("week is a period")
	}
}

func TestCounterWindows(t *testing.T) {
	now := unix("2024-05-01T10:00:10Z")
	clock := func() int64 { return now }
	l := NewLocal(clock)
	c := l.Counter("scope", Minute)
	key := []byte("10.0.0.1")
	for i := int64(1); i <= 3; i++ {
		if got := c.Add(key, now, 1); got != i {
			t.Fatalf("count %d = %d", i, got)
		}
	}
	if got := c.Get([]byte("10.0.0.2"), now); got != 0 {
		t.Fatalf("another key counts %d", got)
	}
	// The same scope and period give the same counter (a rebuilt
	// instance keeps counting).
	if l.Counter("scope", Minute) != c || l.Counter("scope", Hour) == c || l.Counter("other", Minute) == c {
		t.Fatal("counters are not found by scope and period")
	}
	// Next minute: a new window, the old counts are dropped.
	now += 60
	if got := c.Get(key, now); got != 0 {
		t.Fatalf("a new window starts at %d", got)
	}
	if got := c.Add(key, now, 1); got != 1 {
		t.Fatalf("first count of the new window = %d", got)
	}
	// A request late by a window counts in the current one.
	if got := c.Add(key, now-60, 1); got != 2 {
		t.Fatalf("late count = %d", got)
	}
	// Windows nobody counts in are swept when a counter is asked for.
	now += 120
	l.Counter("another", Second)
	if c.gen.Load() != nil {
		t.Fatal("an expired window was kept")
	}
}

func TestCounterConcurrent(t *testing.T) {
	now := unix("2024-05-01T10:00:10Z")
	c := NewLocal(func() int64 { return now }).Counter("s", Hour)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				c.Add([]byte("k"), now, 1)
			}
		})
	}
	wg.Wait()
	if got := c.Get([]byte("k"), now); got != 8000 {
		t.Fatalf("count = %d; want 8000", got)
	}
}
