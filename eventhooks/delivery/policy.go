package delivery

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/portico-gw/portico/eventhooks/handler"
)

// Policy decides what happens after a failed attempt.
type Policy struct {
	// Schedule is the delay before attempt i+1 (Standard Webhooks: 0s, 5s,
	// 5m, 30m, 2h, 5h, 10h, 10h). Attempts beyond it reuse its last step.
	Schedule []time.Duration
	// MaxAttempts caps the attempts of one delivery.
	MaxAttempts int
	// MaxAge gives a delivery up once it has been failing this long.
	MaxAge time.Duration
	// MaxRetryAfter caps how long a receiver's Retry-After may delay us.
	MaxRetryAfter time.Duration
}

// DefaultPolicy is Standard Webhooks' schedule with eight attempts.
func DefaultPolicy() Policy {
	return Policy{
		Schedule: []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
			2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour},
		MaxAttempts:   8,
		MaxAge:        72 * time.Hour,
		MaxRetryAfter: 24 * time.Hour,
	}
}

// verdict is the outcome of one attempt.
type verdict struct {
	status string        // StatusDelivered, StatusFailed or StatusPending (retry)
	delay  time.Duration // before the next attempt, when retrying
	reason string        // why it failed for good
}

// decide applies the policy: made is the number of attempts made so far in
// this run (including the one just made), since when the run started.
func (p Policy) decide(err error, res handler.Result, made int, since, now time.Time, rnd func(int64) int64) verdict {
	if err == nil {
		return verdict{status: StatusDelivered}
	}
	var pe *handler.PermanentError
	if errors.As(err, &pe) {
		return verdict{status: StatusFailed, reason: "not retried"}
	}
	var se *handler.StatusError
	if errors.As(err, &se) && se.Status == http.StatusGone {
		// 410: the receiver is gone for good; this delivery stops here.
		return verdict{status: StatusFailed, reason: "receiver answered 410 Gone: not retried"}
	}
	if made >= p.MaxAttempts {
		return verdict{status: StatusFailed, reason: "gave up after " + strconv.Itoa(made) + " attempts"}
	}
	delay := p.backoff(made, rnd)
	// A receiver's Retry-After can lengthen the wait (up to MaxRetryAfter),
	// never shorten the schedule's.
	if ra := min(res.RetryAfter, p.MaxRetryAfter); ra > delay {
		delay = ra
	}
	if p.MaxAge > 0 && now.Add(delay).Sub(since) > p.MaxAge {
		return verdict{status: StatusFailed, reason: "gave up: older than the maximum age"}
	}
	return verdict{status: StatusPending, delay: delay}
}

// backoff is the delay before attempt made+1: full jitter within the
// schedule's step, i.e. uniformly between the previous step and this one,
// so retries of many deliveries that failed together spread out while the
// schedule's growth is kept.
func (p Policy) backoff(made int, rnd func(int64) int64) time.Duration {
	if len(p.Schedule) == 0 {
		return 0
	}
	i := min(made, len(p.Schedule)-1)
	hi := p.Schedule[i]
	lo := time.Duration(0)
	if i > 0 {
		lo = p.Schedule[i-1]
	}
	if hi <= lo {
		return hi
	}
	return lo + time.Duration(rnd(int64(hi-lo)+1))
}

func defaultRand(n int64) int64 { return rand.Int64N(n) }
