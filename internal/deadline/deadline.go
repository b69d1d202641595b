// Package deadline moves connection deadlines coarsely: a deadline pushed
// later by a small fraction of its span stays where it is, because each
// move is a timer update and busy connections move theirs on every
// request. A deadline then fires at most 1/64 of its span early; earlier
// deadlines and clearing one always apply.
package deadline

import "time"

// Coarse is the deadline last applied to a connection, with its span then.
type Coarse struct {
	at   time.Time
	span time.Duration
}

// Move applies t through set unless it is a little later than the deadline
// in force.
func (d *Coarse) Move(t time.Time, set func(time.Time) error) error {
	if !t.IsZero() && !d.at.IsZero() && t.After(d.at) && t.Sub(d.at) <= d.span/64 {
		return nil
	}
	if err := set(t); err != nil {
		return err
	}
	d.at = t
	if !t.IsZero() {
		d.span = time.Until(t)
	}
	return nil
}
