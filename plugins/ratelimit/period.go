// Package ratelimit holds the counters of Kong's rate limiting plugins
// (rate-limiting, response-ratelimiting): the periods and their windows,
// the node's local counters (Kong's kong_rate_limiting_counters shared
// dict) and the shared Redis clients.
//
// Counters outlive configuration snapshots: the plugins' factories run on
// every rebuild, and find their counters again by Kong's keys, so a change
// to any entity keeps the counts. A Local and a Clients value belong to a
// node's plugin registry (bundled.Register makes them); they are safe for
// concurrent use.
package ratelimit

import "time"

// Period is one of Kong's rate limiting windows.
type Period uint8

// The periods, shortest first (Kong's constants.RATELIMIT.PERIODS).
const (
	Second Period = iota
	Minute
	Hour
	Day
	Month
	Year
	// NumPeriods is the number of periods.
	NumPeriods
)

var periodNames = [NumPeriods]string{"second", "minute", "hour", "day", "month", "year"}

// periodSeconds are the windows' lengths (Kong's
// kong/plugins/rate-limiting/expiration.lua): a month is 30 days and a year
// 365, whatever the calendar says.
var periodSeconds = [NumPeriods]int64{1, 60, 3600, 86400, 2592000, 31536000}

// String is the period's name as configured ("minute").
func (p Period) String() string { return periodNames[p] }

// Seconds is the window's length, Kong's expiration of its counters.
func (p Period) Seconds() int64 { return periodSeconds[p] }

// ParsePeriod reads a period's name.
func ParsePeriod(name string) (Period, bool) {
	for i, n := range periodNames {
		if n == name {
			return Period(i), true
		}
	}
	return 0, false
}

// Start is the start, in Unix seconds, of the window of p holding now (Unix
// seconds), as Kong's kong.tools.timestamp.get_timestamps computes it: in
// UTC, seconds to days by truncation, months and years by the calendar.
func (p Period) Start(now int64) int64 {
	switch p {
	case Second:
		return now
	case Minute, Hour, Day:
		return now - mod(now, periodSeconds[p])
	}
	t := time.Unix(now, 0).UTC()
	month := t.Month()
	if p == Year {
		month = time.January
	}
	return time.Date(t.Year(), month, 1, 0, 0, 0, 0, time.UTC).Unix()
}

// Reset is how many seconds are left until the window of p holding now
// ends, at least 1, as Kong's RateLimit-Reset header says it: the window's
// length from its start (so a 31-day month's last day answers 1).
func (p Period) Reset(now int64) int64 {
	return max(1, periodSeconds[p]-(now-p.Start(now)))
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
