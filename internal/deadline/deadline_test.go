package deadline

import (
	"testing"
	"time"
)

func TestMove(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name    string
		current Coarse
		to      time.Time
		applied bool
	}{
		{"first deadline", Coarse{}, now.Add(time.Minute), true},
		{"a little later", Coarse{now.Add(time.Minute), time.Minute}, now.Add(time.Minute + 500*time.Millisecond), false},
		{"a 64th of the span later", Coarse{now.Add(time.Minute), time.Minute}, now.Add(time.Minute + time.Minute/64), false},
		{"more than a 64th later", Coarse{now.Add(time.Minute), time.Minute}, now.Add(time.Minute + time.Minute/64 + time.Millisecond), true},
		{"earlier", Coarse{now.Add(time.Minute), time.Minute}, now.Add(time.Second), true},
		{"the same", Coarse{now.Add(time.Minute), time.Minute}, now.Add(time.Minute), true},
		{"cleared", Coarse{now.Add(time.Minute), time.Minute}, time.Time{}, true},
		{"short span, later by more than its 64th", Coarse{now.Add(100 * time.Millisecond), 100 * time.Millisecond}, now.Add(110 * time.Millisecond), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := c.current
			var got *time.Time
			if err := d.Move(c.to, func(at time.Time) error { got = &at; return nil }); err != nil {
				t.Fatal(err)
			}
			if (got != nil) != c.applied {
				t.Fatalf("applied %v, want %v", got != nil, c.applied)
			}
			if c.applied && !d.at.Equal(c.to) {
				t.Fatalf("deadline in force %v, want %v", d.at, c.to)
			}
			if !c.applied && !d.at.Equal(c.current.at) {
				t.Fatalf("deadline changed to %v without being applied", d.at)
			}
		})
	}
}
