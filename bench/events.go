package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// EventsOptions configure `bench events`: hooks on consumer writes that
// point at a built-in sink, writes through the Admin API, and a count of
// what arrives. Zero values take the defaults where one is given.
type EventsOptions struct {
	// Admin is the node's Admin API, e.g. "http://127.0.0.1:8001" (a path,
	// such as a workspace's "/team-a", is kept).
	Admin string
	// Token is sent as Kong-Admin-Token when not empty (RBAC).
	Token string
	// Hooks is how many webhook hooks to create (default 1); every write
	// must reach each of them exactly once.
	Hooks int
	// Rate is the writes per second; 0 writes flat out.
	Rate float64
	// Writers is how many writes may be under way at once (default 8).
	Writers int
	// Duration is how long to write (default 10s) unless Writes is set.
	Duration time.Duration
	// Writes, when positive, is how many writes to make (instead of
	// Duration).
	Writes int64
	// Drain is how long to wait, after the last write, for the deliveries
	// still due (default 30s).
	Drain time.Duration
	// Listen is the sink's address (default "127.0.0.1:0", a free port).
	Listen string
	// SinkURL is how the node reaches the sink (default http:// and the
	// sink's address); set it when the node runs elsewhere.
	SinkURL string
	// Secret signs the hooks; the sink then verifies both signatures.
	Secret string
	// Sink makes the sink misbehave (FailRate, ResetRate, Delay...), to
	// measure retries end to end; its secrets are set from Secret.
	Sink SinkOptions
	// HangingHooks and FailingHooks add hooks whose receivers never answer
	// and answer 500, respectively: they get every event too, but are not
	// counted, so the run measures how well the healthy hooks are isolated
	// from them.
	HangingHooks int
	FailingHooks int
	// Compare runs, after the node's run, the same scenario through an
	// in-memory fire-and-forget pipeline (see MemoryResult).
	Compare bool
	// Timeout bounds each Admin API request (default 10s).
	Timeout time.Duration
	// Interval is the time between progress reports (default 1s).
	Interval time.Duration
	// Progress, when set, is called every Interval during the run, and
	// with notices (Notice set) when something needs saying.
	Progress func(EventsProgress)

	// readyTimeout bounds the wait for the first event to go through every
	// hook (default 15s; shorter in tests).
	readyTimeout time.Duration
}

// Defaults of EventsOptions.
const (
	DefaultEventsHooks    = 1
	DefaultEventsWriters  = 8
	DefaultEventsDuration = 10 * time.Second
	DefaultEventsDrain    = 30 * time.Second
	DefaultEventsTimeout  = 10 * time.Second

	// defaultReadyTimeout bounds the wait for the first event to go
	// through every hook before the run starts.
	defaultReadyTimeout = 15 * time.Second
	// settle is how long a finished run keeps listening for duplicates.
	settle = 500 * time.Millisecond
	// cleanupTimeout bounds the removal of the run's hooks and consumers.
	cleanupTimeout = 2 * time.Minute
	// goodbyeTimeout bounds the wait for the pings of deleted hooks, so
	// that the node does not keep retrying them at a closed sink.
	goodbyeTimeout = 5 * time.Second
)

// withDefaults checks the options and fills the defaults, naming the
// command-line flag at fault.
func (o EventsOptions) withDefaults() (EventsOptions, error) {
	if o.Admin == "" {
		return o, errors.New("--admin: required (e.g. http://127.0.0.1:8001)")
	}
	base, err := parseAdminURL(o.Admin)
	if err != nil {
		return o, err
	}
	o.Admin = base
	if o.Hooks == 0 {
		o.Hooks = DefaultEventsHooks
	}
	if o.Writers == 0 {
		o.Writers = DefaultEventsWriters
	}
	if o.Duration == 0 && o.Writes == 0 {
		o.Duration = DefaultEventsDuration
	}
	if o.Drain == 0 {
		o.Drain = DefaultEventsDrain
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultEventsTimeout
	}
	if o.Interval == 0 {
		o.Interval = time.Second
	}
	if o.readyTimeout == 0 {
		o.readyTimeout = defaultReadyTimeout
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	switch {
	case o.Hooks < 0 || o.Hooks > 1000:
		return o, fmt.Errorf("--hooks: must be between 1 and 1000, got %d", o.Hooks)
	case o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0):
		return o, fmt.Errorf("--rate: must be a positive number of writes per second, got %v", o.Rate)
	case o.HangingHooks < 0 || o.FailingHooks < 0 || o.HangingHooks+o.FailingHooks > 100:
		return o, fmt.Errorf("--hanging-hooks, --failing-hooks: between 0 and 100 in all")
	case o.Writers < 0:
		return o, fmt.Errorf("--writers: must be positive, got %d", o.Writers)
	case o.Writes < 0:
		return o, fmt.Errorf("-n: must be positive, got %d", o.Writes)
	case o.Duration < 0:
		return o, fmt.Errorf("--duration: must be positive, got %v", o.Duration)
	case o.Drain < 0:
		return o, fmt.Errorf("--drain: must not be negative, got %v", o.Drain)
	case o.Timeout < 0:
		return o, fmt.Errorf("--timeout: must be positive, got %v", o.Timeout)
	case o.Interval < 0:
		return o, fmt.Errorf("--interval: must be positive, got %v", o.Interval)
	}
	if o.SinkURL != "" {
		if _, err := parseAdminURL(o.SinkURL); err != nil {
			return o, fmt.Errorf("--sink-url: %q is not an http:// or https:// URL with a host", o.SinkURL)
		}
		o.SinkURL = strings.TrimSuffix(o.SinkURL, "/")
	}
	o.Sink.Secret, o.Sink.WebhookSecret = o.Secret, o.Secret
	if err := o.Sink.Validate(); err != nil {
		if strings.HasPrefix(err.Error(), "--secret") || strings.HasPrefix(err.Error(), "--webhook-secret") {
			return o, errors.New("--secret: the part after \"whsec_\" is not valid base64")
		}
		return o, err
	}
	return o, nil
}

// EventsProgress is a progress report, or a notice when Notice is set.
type EventsProgress struct {
	Notice  string
	Phase   string // "writing", "draining"
	Elapsed time.Duration
	// Acknowledged writes and accepted Deliveries so far, and their rates
	// over the last interval.
	Acknowledged        int64
	Deliveries          int64
	WritesPerSecond     float64
	DeliveriesPerSecond float64
	// Pending is how many deliveries of acknowledged writes are still due.
	Pending int64
	Latency LatencySummary
}

// EventsResult is what a run measured.
type EventsResult struct {
	// Run names the run: its consumers are "bench-<run>-<n>".
	Run   string `json:"run"`
	Hooks int    `json:"hooks"`
	// Interrupted: the run was stopped (Ctrl-C) before it finished, so
	// Lost counts deliveries that were still due.
	Interrupted   bool `json:"interrupted"`
	DrainTimedOut bool `json:"drain_timed_out"`

	// TargetRate is the rate asked for (0: flat out); WritesPerSecond
	// below it means the node could not keep up.
	TargetRate      float64        `json:"target_rate"`
	WriteSeconds    float64        `json:"write_seconds"`
	Attempted       int64          `json:"writes_attempted"`
	Acknowledged    int64          `json:"writes_acknowledged"`
	FailedWrites    int64          `json:"writes_failed"`
	FirstWriteError string         `json:"first_write_error,omitempty"`
	WritesPerSecond float64        `json:"writes_per_second"`
	WriteLatency    LatencySummary `json:"write_latency"`

	// Expected is acknowledged writes × hooks; Deliveries counts every
	// accepted delivery of those writes, duplicates included.
	Expected            int64   `json:"expected"`
	Deliveries          int64   `json:"deliveries"`
	DeliverySeconds     float64 `json:"delivery_seconds"`
	DeliveriesPerSecond float64 `json:"deliveries_per_second"`
	// Latency is from sending a write to the first accepted delivery of
	// its event, per hook (the write's own time included: see
	// WriteLatency).
	Latency LatencySummary `json:"latency"`
	// Lost are (write, hook) pairs never delivered; Duplicated are
	// accepted deliveries beyond the first of a pair.
	Lost       int64 `json:"lost"`
	Duplicated int64 `json:"duplicated"`
	// Redelivered are the duplicates that carried a webhook-id already
	// accepted: the node retried an attempt the sink had taken (delivery
	// is at least once; a receiver drops these by webhook-id).
	Redelivered int64 `json:"redelivered"`
	// Unacknowledged counts deliveries of writes that failed (the node
	// may have committed a write whose answer was lost).
	Unacknowledged int64 `json:"unacknowledged_deliveries"`
	// Refused counts attempts the sink did not accept (its misbehaviour),
	// which the node should retry.
	Refused int64 `json:"refused_attempts"`

	Sink    SinkStats     `json:"sink"`
	Cleanup EventsCleanup `json:"cleanup"`
	// Memory is the in-memory pipeline's run (--compare).
	Memory *MemoryResult `json:"memory,omitempty"`
}

// EventsCleanup says what the run removed from the node afterwards.
type EventsCleanup struct {
	Hooks      int    `json:"hooks_deleted"`
	Consumers  int64  `json:"consumers_deleted"`
	Errors     int64  `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
}

// Failed reports whether the run found lost or duplicated events.
func (r *EventsResult) Failed() bool { return r.Lost > 0 || r.Duplicated > 0 }

// eventsRun is one run's state.
type eventsRun struct {
	opts    EventsOptions
	admin   *adminClient
	sink    *Sink
	sinkURL string
	run     string // random, names the run's consumers and sink paths
	start   time.Time

	hookIDs       []string
	badHookIDs    []string
	badSinks      []*Sink
	probesWritten atomic.Int64
	next          atomic.Int64 // the next write's sequence number

	mu       sync.Mutex
	writes   map[int64]*writeState
	latency  *hdrhistogram.Histogram
	writeLat *hdrhistogram.Histogram
	probes   []int // accepted probe deliveries per hook
	goodbyes []int // pings of deleted hooks, per hook
	lastAt   time.Time
	// pairsOfAcked counts the (write, hook) pairs of acknowledged writes
	// delivered at least once; accepted counts every accepted delivery of
	// the run's writes, redelivered the extra ones with a webhook-id
	// already accepted.
	pairsOfAcked int64
	accepted     int64
	redelivered  int64
	res          EventsResult
}

// writeState is one write and what the sink saw of its event.
type writeState struct {
	sent  time.Time
	acked bool
	// seen counts the accepted deliveries per hook; ids holds the first
	// one's webhook-id (hashed) and took its latency; hooksSeen is how
	// many hooks have one.
	seen      []uint32
	ids       []uint64
	took      []time.Duration
	hooksSeen int
}

// RunEvents runs `bench events` against a node. Cancelling ctx (Ctrl-C)
// stops the writes and skips the drain; the run's hooks and consumers are
// removed in every case, within a bound, and the result so far returned.
// An error means the run could not start or measure (the node unreachable,
// no event arriving); the result is then nil.
func RunEvents(ctx context.Context, opts EventsOptions) (*EventsResult, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &eventsRun{
		opts:     opts,
		admin:    newAdminClient(opts.Admin, opts.Token, opts.Timeout, opts.Writers+4),
		run:      randomRun(),
		writes:   map[int64]*writeState{},
		latency:  newLatencyHistogram(),
		writeLat: newLatencyHistogram(),
		probes:   make([]int, opts.Hooks),
		goodbyes: make([]int, opts.Hooks),
	}
	r.res.Run, r.res.Hooks, r.res.TargetRate = r.run, opts.Hooks, opts.Rate
	if err := r.admin.probe(); err != nil {
		return nil, err
	}
	if r.sink, err = NewSink(opts.Listen, opts.Sink); err != nil {
		return nil, fmt.Errorf("starting the sink: %w", err)
	}
	r.sinkURL = opts.SinkURL
	if r.sinkURL == "" {
		r.sinkURL = "http://" + reachableAddr(r.sink.Addr())
	}
	r.sink.Observe(r.observe)
	go r.sink.Serve()
	defer r.sink.Close()

	err = r.setUp(ctx)
	if err == nil {
		r.notice("run %s: %d hooks delivering to %s; consumers named bench-%s-<n>", r.run, opts.Hooks, r.sinkURL, r.run)
		r.measure(ctx)
	}
	r.cleanUp()
	if err != nil {
		return nil, err
	}
	r.finish()
	if opts.Compare && !r.res.Interrupted && r.res.Acknowledged > 0 {
		r.notice("run %s: the same %d events through an in-memory pipeline", r.run, r.res.Acknowledged)
		mem, err := r.runMemory(r.res.Acknowledged)
		if err != nil {
			return nil, err
		}
		if mem.DeliveriesPerSecond > 0 {
			mem.Ratio = r.res.DeliveriesPerSecond / mem.DeliveriesPerSecond
		}
		r.res.Memory = mem
	}
	return &r.res, nil
}

// randomRun names a run, so that its consumers and deliveries are told
// apart from anything else on the node.
func randomRun() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// reachableAddr replaces an unspecified listen address (0.0.0.0, ::) with
// loopback.
func reachableAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func (r *eventsRun) username(seq int64) string {
	return "bench-" + r.run + "-" + strconv.FormatInt(seq, 10)
}

func (r *eventsRun) probeName(i int) string { return "bench-" + r.run + "-probe" + strconv.Itoa(i) }

func (r *eventsRun) hookPath(i int) string { return "/hook/" + r.run + "/" + strconv.Itoa(i) }

func (r *eventsRun) notice(format string, args ...any) {
	if r.opts.Progress != nil {
		r.opts.Progress(EventsProgress{Notice: fmt.Sprintf(format, args...)})
	}
}

// setUp creates the hooks and waits until a write goes through every one
// of them: then the node has them in effect and can reach the sink.
func (r *eventsRun) setUp(ctx context.Context) error {
	for _, bad := range []struct {
		n    int
		opts SinkOptions
	}{{r.opts.HangingHooks, SinkOptions{Hang: true}}, {r.opts.FailingHooks, SinkOptions{Status: 500}}} {
		if bad.n == 0 {
			continue
		}
		sink, err := NewSink(r.opts.Listen, bad.opts)
		if err != nil {
			return fmt.Errorf("starting a misbehaving sink: %w", err)
		}
		go sink.Serve()
		r.badSinks = append(r.badSinks, sink)
		for i := 0; i < bad.n; i++ {
			id, err := r.admin.createHook("http://"+reachableAddr(sink.Addr())+"/bad/"+r.run+"/"+strconv.Itoa(i), "")
			if err != nil {
				return err
			}
			r.badHookIDs = append(r.badHookIDs, id)
		}
	}
	for i := 0; i < r.opts.Hooks; i++ {
		id, err := r.admin.createHook(r.sinkURL+r.hookPath(i), r.opts.Secret)
		if err != nil {
			return err
		}
		r.hookIDs = append(r.hookIDs, id)
	}
	deadline := time.Now().Add(r.opts.readyTimeout)
	for probe := 0; time.Now().Before(deadline); probe++ {
		r.probesWritten.Store(int64(probe + 1))
		if err := r.admin.createConsumer(r.probeName(probe)); err != nil {
			return fmt.Errorf("writing a first consumer: %w", err)
		}
		for wait := time.Now().Add(time.Second); time.Now().Before(wait); {
			if r.ready() {
				return nil
			}
			select {
			case <-ctx.Done():
				return errors.New("interrupted before the run started")
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return fmt.Errorf("no event reached the sink at %s within %v of a write: is event_hooks_enabled on, "+
		"and can the node reach that address (set --sink-url)?", r.sinkURL, r.opts.readyTimeout)
}

// ready reports whether every hook has delivered a probe.
func (r *eventsRun) ready() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.probes {
		if n == 0 {
			return false
		}
	}
	return true
}
