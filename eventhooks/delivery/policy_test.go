package delivery

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/eventhooks/handler"
)

// ehkRandMin and ehkRandMax are deterministic jitter sources drawing the
// bottom and the top of [0, n).
func ehkRandMin(n int64) int64 { return 0 }
func ehkRandMax(n int64) int64 { return n - 1 }

var ehkErrTransport = errors.New("dial tcp: connection refused")

func TestPolicyBackoffSchedule(t *testing.T) {
	p := Policy{
		Schedule:      []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute},
		MaxAttempts:   100,
		MaxRetryAfter: 24 * time.Hour,
	}
	now := time.Unix(1_700_000_000, 0)
	cases := []struct {
		made   int
		lo, hi time.Duration
	}{
		{1, 0, 5 * time.Second},
		{2, 5 * time.Second, 5 * time.Minute},
		{3, 5 * time.Minute, 30 * time.Minute},
		// Beyond the schedule: its last step again.
		{4, 5 * time.Minute, 30 * time.Minute},
		{5, 5 * time.Minute, 30 * time.Minute},
		{50, 5 * time.Minute, 30 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("after attempt %d", tc.made), func(t *testing.T) {
			for _, r := range []struct {
				name string
				rnd  func(int64) int64
				want time.Duration
			}{{"min", ehkRandMin, tc.lo}, {"max", ehkRandMax, tc.hi}} {
				var asked int64 = -1
				rnd := func(n int64) int64 {
					asked = n
					return r.rnd(n)
				}
				v := p.decide(ehkErrTransport, handler.Result{}, tc.made, now, now, rnd)
				if v.status != StatusPending {
					t.Fatalf("%s: status %q (%s), want pending", r.name, v.status, v.reason)
				}
				if v.delay != r.want {
					t.Errorf("%s: delay %v, want %v", r.name, v.delay, r.want)
				}
				if want := int64(tc.hi-tc.lo) + 1; asked != want {
					t.Errorf("%s: rand asked for [0, %d), want [0, %d)", r.name, asked, want)
				}
			}
		})
	}
	t.Run("a flat last step is exact", func(t *testing.T) {
		d := DefaultPolicy()
		d.MaxAttempts = 100
		for _, made := range []int{7, 8, 20} {
			v := d.decide(ehkErrTransport, handler.Result{}, made, now, now, func(int64) int64 {
				t.Fatalf("rand drawn for a flat step")
				return 0
			})
			if v.status != StatusPending || v.delay != 10*time.Hour {
				t.Errorf("default policy after %d attempts: %+v, want pending 10h", made, v)
			}
		}
	})
	t.Run("empty schedule retries at once", func(t *testing.T) {
		v := Policy{MaxAttempts: 3}.decide(ehkErrTransport, handler.Result{}, 1, now, now, ehkRandMax)
		if v.status != StatusPending || v.delay != 0 {
			t.Errorf("got %+v, want pending with no delay", v)
		}
	})
	t.Run("default policy is Standard Webhooks'", func(t *testing.T) {
		d := DefaultPolicy()
		want := []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
			2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
		if fmt.Sprint(d.Schedule) != fmt.Sprint(want) || d.MaxAttempts != 8 {
			t.Errorf("DefaultPolicy() = %+v", d)
		}
	})
}

func TestPolicyDecide(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	p := Policy{
		Schedule:      []time.Duration{0, 5 * time.Second, 5 * time.Minute},
		MaxAttempts:   4,
		MaxAge:        time.Hour,
		MaxRetryAfter: 10 * time.Minute,
	}
	cases := []struct {
		name       string
		p          Policy
		err        error
		res        handler.Result
		made       int
		since      time.Time
		rnd        func(int64) int64
		wantStatus string
		wantDelay  time.Duration
		wantReason string // substring
	}{
		{name: "success", err: nil, made: 1, wantStatus: StatusDelivered},
		{name: "success on the last attempt", err: nil, made: 4, wantStatus: StatusDelivered},
		{name: "success long after since", err: nil, made: 2, since: now.Add(-100 * time.Hour), wantStatus: StatusDelivered},
		{name: "transport error retried", err: ehkErrTransport, made: 1, wantStatus: StatusPending, wantDelay: 5 * time.Second},
		{name: "5xx retried", err: &handler.StatusError{Status: 503}, res: handler.Result{Status: 503}, made: 2,
			wantStatus: StatusPending, wantDelay: 5 * time.Minute},
		{name: "4xx retried", err: &handler.StatusError{Status: 404}, res: handler.Result{Status: 404}, made: 1,
			wantStatus: StatusPending, wantDelay: 5 * time.Second},
		{name: "max attempts", err: ehkErrTransport, made: 4, wantStatus: StatusFailed, wantReason: "4 attempts"},
		{name: "beyond max attempts", err: ehkErrTransport, made: 9, wantStatus: StatusFailed, wantReason: "9 attempts"},
		{name: "one before max attempts", err: ehkErrTransport, made: 3, wantStatus: StatusPending, wantDelay: 5 * time.Minute},
		{name: "410 gone is not retried", err: &handler.StatusError{Status: 410}, res: handler.Result{Status: 410}, made: 1,
			wantStatus: StatusFailed, wantReason: "410"},
		{name: "410 wrapped", err: fmt.Errorf("posting: %w", &handler.StatusError{Status: 410}), made: 1,
			wantStatus: StatusFailed, wantReason: "410"},
		{name: "410 with a Retry-After", err: &handler.StatusError{Status: 410}, res: handler.Result{Status: 410, RetryAfter: time.Minute},
			made: 1, wantStatus: StatusFailed, wantReason: "410"},
		{name: "permanent error is not retried", err: &handler.PermanentError{Err: errors.New("bad url")}, made: 1,
			wantStatus: StatusFailed, wantReason: "not retried"},
		{name: "permanent error wrapped", err: fmt.Errorf("webhook: %w", &handler.PermanentError{Err: errors.New("bad url")}),
			made: 1, wantStatus: StatusFailed, wantReason: "not retried"},
		{name: "Retry-After longer than the step wins", err: &handler.StatusError{Status: 429},
			res: handler.Result{Status: 429, RetryAfter: 2 * time.Minute}, made: 1, wantStatus: StatusPending, wantDelay: 2 * time.Minute},
		{name: "Retry-After capped", err: &handler.StatusError{Status: 503},
			res: handler.Result{Status: 503, RetryAfter: 48 * time.Hour}, made: 1, wantStatus: StatusPending, wantDelay: 10 * time.Minute},
		{name: "Retry-After shorter than the step loses", err: &handler.StatusError{Status: 503},
			res: handler.Result{Status: 503, RetryAfter: time.Second}, made: 2, wantStatus: StatusPending, wantDelay: 5 * time.Minute},
		{name: "Retry-After on a transport error", err: ehkErrTransport,
			res: handler.Result{RetryAfter: 3 * time.Minute}, made: 1, wantStatus: StatusPending, wantDelay: 3 * time.Minute},
		{name: "max age exceeded", err: ehkErrTransport, made: 2, since: now.Add(-59 * time.Minute),
			wantStatus: StatusFailed, wantReason: "maximum age"},
		{name: "max age not yet exceeded", err: ehkErrTransport, made: 2, since: now.Add(-50 * time.Minute),
			wantStatus: StatusPending, wantDelay: 5 * time.Minute},
		{name: "Retry-After past max age", err: &handler.StatusError{Status: 503},
			res: handler.Result{Status: 503, RetryAfter: 10 * time.Minute}, made: 1, since: now.Add(-55 * time.Minute),
			wantStatus: StatusFailed, wantReason: "maximum age"},
		{name: "no max age", p: Policy{Schedule: p.Schedule, MaxAttempts: 4, MaxRetryAfter: time.Hour},
			err: ehkErrTransport, made: 2, since: now.Add(-1000 * time.Hour), wantStatus: StatusPending, wantDelay: 5 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pol := p
			if tc.p.MaxAttempts != 0 {
				pol = tc.p
			}
			since := tc.since
			if since.IsZero() {
				since = now
			}
			rnd := tc.rnd
			if rnd == nil {
				rnd = ehkRandMax
			}
			v := pol.decide(tc.err, tc.res, tc.made, since, now, rnd)
			if v.status != tc.wantStatus {
				t.Fatalf("status %q (reason %q), want %q", v.status, v.reason, tc.wantStatus)
			}
			if v.status == StatusPending && v.delay != tc.wantDelay {
				t.Errorf("delay %v, want %v", v.delay, tc.wantDelay)
			}
			if tc.wantReason != "" && !strings.Contains(v.reason, tc.wantReason) {
				t.Errorf("reason %q, want it to mention %q", v.reason, tc.wantReason)
			}
			if v.status == StatusFailed && v.reason == "" {
				t.Errorf("failed without a reason")
			}
		})
	}
}

// A receiver's Retry-After may delay the next attempt (up to MaxRetryAfter)
// but must never bring it forward: the schedule's step is a floor.
func TestPolicyRetryAfterNeverShortensTheStep(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	sched := []time.Duration{0, 5 * time.Second, 5 * time.Minute}
	res := handler.Result{Status: 429, RetryAfter: time.Hour}
	err := &handler.StatusError{Status: 429}
	for _, tc := range []struct {
		name     string
		maxRA    time.Duration
		made     int
		minDelay time.Duration
	}{
		// Policy{} literals that leave MaxRetryAfter zero: Retry-After
		// dropped the delay to 0 (an immediate retry of a receiver that
		// asked us to wait an hour).
		{name: "zero MaxRetryAfter", maxRA: 0, made: 2, minDelay: 5 * time.Minute},
		// A cap below the step: the delay fell to the cap.
		{name: "cap below the step", maxRA: time.Minute, made: 2, minDelay: 5 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Policy{Schedule: sched, MaxAttempts: 8, MaxRetryAfter: tc.maxRA}
			v := p.decide(err, res, tc.made, now, now, ehkRandMax)
			if v.status != StatusPending {
				t.Fatalf("status %q, want pending", v.status)
			}
			if v.delay < tc.minDelay {
				t.Errorf("Retry-After %v with MaxRetryAfter %v gave delay %v, shorter than the schedule's step %v",
					res.RetryAfter, tc.maxRA, v.delay, tc.minDelay)
			}
		})
	}
}
