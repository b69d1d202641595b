package bench

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"
)

// measure writes consumers for the run's length, then waits (bounded) for
// the deliveries still due.
func (r *eventsRun) measure(ctx context.Context) {
	r.start = time.Now()
	stopAt := r.start.Add(r.opts.Duration)
	phase := make(chan string, 1)
	progressDone := make(chan struct{})
	go r.report(phase, progressDone)

	var wg sync.WaitGroup
	for i := 0; i < r.opts.Writers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); r.writer(ctx, stopAt) }()
	}
	wg.Wait()
	r.mu.Lock()
	r.res.WriteSeconds = time.Since(r.start).Seconds()
	r.mu.Unlock()
	phase <- "draining"

	defer func() { close(phase); <-progressDone }()
	if ctx.Err() != nil {
		r.res.Interrupted = true
		return
	}
	deadline := time.Now().Add(r.opts.Drain)
	for r.pending() > 0 {
		if !time.Now().Before(deadline) {
			r.res.DrainTimedOut = true
			return
		}
		select {
		case <-ctx.Done():
			r.res.Interrupted = true
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	// Everything due has arrived; a duplicate would come soon after.
	select {
	case <-ctx.Done():
		r.res.Interrupted = true
	case <-time.After(settle):
	}
}

// writer makes writes until the run's end: at the run's rate (each write at
// its due time) or, without a rate, one after the other.
func (r *eventsRun) writer(ctx context.Context, stopAt time.Time) {
	for ctx.Err() == nil {
		seq := r.next.Add(1) - 1
		if r.opts.Writes > 0 && seq >= r.opts.Writes {
			return
		}
		if r.opts.Rate > 0 {
			due := r.start.Add(time.Duration(float64(seq) / r.opts.Rate * float64(time.Second)))
			if r.opts.Writes == 0 && !due.Before(stopAt) {
				return
			}
			if wait := time.Until(due); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		// A node slower than the rate does not stretch the run: writes
		// not started by its end are not made.
		if r.opts.Writes == 0 && !time.Now().Before(stopAt) {
			return
		}
		w := &writeState{seen: make([]uint32, r.opts.Hooks), ids: make([]uint64, r.opts.Hooks), took: make([]time.Duration, r.opts.Hooks)}
		r.mu.Lock()
		w.sent = time.Now()
		r.writes[seq] = w
		r.mu.Unlock()
		err := r.admin.createConsumer(r.username(seq))
		took := time.Since(w.sent)
		r.mu.Lock()
		if err == nil {
			w.acked = true
			r.res.Acknowledged++
			r.pairsOfAcked += int64(w.hooksSeen)
			_ = r.writeLat.RecordValue(took.Microseconds())
		} else {
			r.res.FailedWrites++
			if r.res.FirstWriteError == "" {
				r.res.FirstWriteError = err.Error()
			}
		}
		r.mu.Unlock()
	}
}

// pending is how many deliveries of acknowledged writes are still due.
func (r *eventsRun) pending() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res.Acknowledged*int64(r.opts.Hooks) - r.pairsOfAcked
}

// report calls Progress every interval until phase is closed.
func (r *eventsRun) report(phase <-chan string, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(r.opts.Interval)
	defer tick.Stop()
	current := "writing"
	var lastAcked, lastDelivered int64
	last := time.Now()
	for {
		select {
		case p, ok := <-phase:
			if !ok {
				return
			}
			current = p
		case now := <-tick.C:
			if r.opts.Progress == nil {
				continue
			}
			r.mu.Lock()
			p := EventsProgress{
				Phase:        current,
				Elapsed:      now.Sub(r.start).Round(time.Millisecond),
				Acknowledged: r.res.Acknowledged,
				Deliveries:   r.accepted,
				Pending:      r.res.Acknowledged*int64(r.opts.Hooks) - r.pairsOfAcked,
				Latency:      summarize(r.latency),
			}
			r.mu.Unlock()
			secs := now.Sub(last).Seconds()
			p.WritesPerSecond = float64(p.Acknowledged-lastAcked) / secs
			p.DeliveriesPerSecond = float64(p.Deliveries-lastDelivered) / secs
			lastAcked, lastDelivered, last = p.Acknowledged, p.Deliveries, now
			r.opts.Progress(p)
		}
	}
}

// delivered is the part of a delivery's body the run reads: Kong's crud
// data (the consumer's username), or a ping's operation.
type delivered struct {
	Source    string `json:"source"`
	Operation string `json:"operation"`
	Entity    struct {
		Username string `json:"username"`
	} `json:"entity"`
}

// observe matches each request the sink gets to the run's writes and hooks.
func (r *eventsRun) observe(d Delivery) {
	rest, ok := strings.CutPrefix(d.Path, "/hook/"+r.run+"/")
	if !ok {
		return
	}
	hook, err := strconv.Atoi(rest)
	if err != nil || hook < 0 || hook >= r.opts.Hooks {
		return
	}
	var ev delivered
	if json.Unmarshal(d.Body, &ev) != nil {
		return
	}
	accepted := d.Status >= 200 && d.Status < 300
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.Source == "kong:event_hooks" {
		if ev.Operation == "delete" {
			r.goodbyes[hook]++
		}
		return
	}
	if ev.Source != "crud" || ev.Operation != "create" {
		return
	}
	name, ok := strings.CutPrefix(ev.Entity.Username, "bench-"+r.run+"-")
	if !ok {
		return
	}
	if strings.HasPrefix(name, "probe") {
		if accepted {
			r.probes[hook]++
		}
		return
	}
	if !accepted {
		r.res.Refused++
		return
	}
	seq, err := strconv.ParseInt(name, 10, 64)
	w := r.writes[seq]
	if err != nil || w == nil {
		return
	}
	r.accepted++
	r.lastAt = d.At
	w.seen[hook]++
	if w.seen[hook] > 1 {
		if w.ids[hook] == idHash(d.ID) {
			r.redelivered++
		}
		return
	}
	w.ids[hook] = idHash(d.ID)
	w.hooksSeen++
	if w.acked {
		r.pairsOfAcked++
	}
	w.took[hook] = max(d.At.Sub(w.sent), 0)
	_ = r.latency.RecordValue(w.took[hook].Microseconds())
}

// idHash keeps a webhook-id in 8 bytes, to tell a redelivery (the same id)
// from a second event for one write.
func idHash(id string) uint64 {
	if id == "" {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64() | 1
}

// cleanUp removes the run's hooks, then its consumers, within a bound.
// Hooks go first, so that deleting the consumers sends nothing to the sink;
// the sink stays open until the deleted hooks' pings have come, so that the
// node is not left retrying them.
func (r *eventsRun) cleanUp() {
	deadline := time.Now().Add(cleanupTimeout)
	c := &r.res.Cleanup
	fail := func(err error) {
		c.Errors++
		if c.FirstError == "" {
			c.FirstError = err.Error()
		}
	}
	for _, id := range r.badHookIDs {
		if err := r.admin.deleteHook(id); err != nil {
			fail(err)
		}
	}
	for _, s := range r.badSinks {
		_ = s.Close()
	}
	for _, id := range r.hookIDs {
		if err := r.admin.deleteHook(id); err != nil {
			fail(err)
			continue
		}
		c.Hooks++
	}
	for wait := time.Now().Add(goodbyeTimeout); c.Hooks > 0 && time.Now().Before(wait) && !r.saidGoodbye(); {
		time.Sleep(10 * time.Millisecond)
	}

	names := make(chan string)
	go func() {
		defer close(names)
		for i := int64(0); i < r.probesWritten.Load(); i++ {
			names <- r.probeName(int(i))
		}
		r.mu.Lock()
		seqs := make([]int64, 0, len(r.writes))
		for seq := range r.writes {
			seqs = append(seqs, seq)
		}
		r.mu.Unlock()
		for _, seq := range seqs {
			names <- r.username(seq)
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < r.opts.Writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range names {
				var err error
				if time.Now().After(deadline) {
					err = errCleanupTimeout
				} else {
					err = r.admin.deleteConsumer(name)
				}
				mu.Lock()
				if err != nil {
					fail(err)
				} else {
					c.Consumers++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

var errCleanupTimeout = cleanupTimeoutError{}

type cleanupTimeoutError struct{}

func (cleanupTimeoutError) Error() string {
	return "cleanup took longer than " + cleanupTimeout.String() + "; consumers were left behind"
}

// saidGoodbye reports whether every hook's deletion ping has arrived.
func (r *eventsRun) saidGoodbye() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.goodbyes {
		if n == 0 {
			return false
		}
	}
	return true
}

// finish counts lost and duplicated events and computes the rates.
func (r *eventsRun) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &r.res
	res.Attempted = int64(len(r.writes))
	latency := newLatencyHistogram()
	for _, w := range r.writes {
		for hook, n := range w.seen {
			switch {
			case !w.acked:
				res.Unacknowledged += int64(n)
			case n == 0:
				res.Lost++
			default:
				res.Deliveries += int64(n)
				res.Duplicated += int64(n - 1)
				_ = latency.RecordValue(w.took[hook].Microseconds())
			}
		}
	}
	res.Redelivered = r.redelivered
	res.Expected = res.Acknowledged * int64(r.opts.Hooks)
	if res.WriteSeconds > 0 {
		res.WritesPerSecond = round2(float64(res.Acknowledged) / res.WriteSeconds)
	}
	if !r.lastAt.IsZero() {
		res.DeliverySeconds = r.lastAt.Sub(r.start).Seconds()
		if res.DeliverySeconds > 0 {
			res.DeliveriesPerSecond = round2(float64(res.Deliveries) / res.DeliverySeconds)
		}
	}
	res.WriteSeconds = round2(res.WriteSeconds)
	res.DeliverySeconds = round2(res.DeliverySeconds)
	res.Latency = summarize(latency)
	res.WriteLatency = summarize(r.writeLat)
	res.Sink = r.sink.Stats()
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
