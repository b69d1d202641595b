// Package bench holds Portico's load-testing tools: a webhook sink that
// receives event-hook deliveries (verifying their signatures, timing them,
// and misbehaving on purpose when asked), and `bench events`, which drives
// entity writes through a node's Admin API and checks that every event
// reaches the sink exactly once. It talks HTTP only and knows nothing of
// Portico's internals, so it measures any Kong-compatible node.
package bench

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Kong's X-Kong-Signature is HMAC-SHA1; the sink verifies exactly that.
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
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
	"github.com/valyala/fasthttp"
)

// SinkOptions configure a webhook sink. A request meets the misbehaviours
// in this order: Hang, ResetRate, FailFirst, FailRate, Gone, Throttle; one
// that meets none gets Status.
type SinkOptions struct {
	// Status is what the sink answers (default 200).
	Status int
	// FailFirst answers 503 to the first N requests, for retry tests.
	FailFirst int64
	// FailRate answers 503 to this fraction of the requests (0 to 1),
	// spread evenly over them, so a run is repeatable.
	FailRate float64
	// Delay holds every answer this long (a slow receiver).
	Delay time.Duration
	// Hang never answers: the connection is held, unanswered, until the
	// client gives up and closes it (or the sink closes).
	Hang bool
	// ResetRate resets the connection (TCP RST, no answer) for this
	// fraction of the requests (0 to 1), spread evenly.
	ResetRate float64
	// Gone answers 410 Gone, which tells Portico to stop the delivery.
	Gone bool
	// Throttle answers 429 with Retry-After set to this many whole seconds
	// (at least 1s).
	Throttle time.Duration
	// Secret verifies X-Kong-Signature (HMAC-SHA1 of the body).
	Secret string
	// WebhookSecret verifies the Standard Webhooks signature
	// (webhook-signature over webhook-id, webhook-timestamp and the body).
	// Both secrets follow Portico's rule: "whsec_<base64>" is decoded,
	// anything else is used as bytes.
	WebhookSecret string
	// MaxPaths bounds the per-path counts (default 1000); requests to
	// further paths are counted under "(other)".
	MaxPaths int
}

// Standard Webhooks' tolerance for webhook-timestamp: a signature on an
// older (or future) timestamp is a replay and counts as invalid.
const webhookTolerance = 5 * time.Minute

// otherPaths is where requests past MaxPaths distinct paths are counted.
const otherPaths = "(other)"

// Validate checks the options, naming the command-line flag at fault.
func (o SinkOptions) Validate() error {
	switch {
	case o.Status != 0 && (o.Status < 100 || o.Status > 599):
		return fmt.Errorf("--status: %d is not an HTTP status (100-599)", o.Status)
	case o.FailFirst < 0:
		return fmt.Errorf("--fail-first: must not be negative, got %d", o.FailFirst)
	case !validRate(o.FailRate):
		return fmt.Errorf("--fail-rate: must be between 0 and 1, got %v", o.FailRate)
	case !validRate(o.ResetRate):
		return fmt.Errorf("--reset-rate: must be between 0 and 1, got %v", o.ResetRate)
	case o.Delay < 0:
		return fmt.Errorf("--delay: must not be negative, got %v", o.Delay)
	case o.Throttle < 0:
		return fmt.Errorf("--throttle: must not be negative, got %v", o.Throttle)
	case o.Throttle > 0 && o.Throttle < time.Second:
		return fmt.Errorf("--throttle: Retry-After is in whole seconds, got %v", o.Throttle)
	case o.Gone && o.Throttle > 0:
		return errors.New("--gone and --throttle: choose one")
	}
	if _, err := signingKey(o.Secret); err != nil {
		return fmt.Errorf("--secret: %w", err)
	}
	if _, err := signingKey(o.WebhookSecret); err != nil {
		return fmt.Errorf("--webhook-secret: %w", err)
	}
	return nil
}

func validRate(r float64) bool { return r >= 0 && r <= 1 && !math.IsNaN(r) }

// signingKey is Portico's key rule (eventhooks.SigningKey), restated here
// so that the sink verifies independently of the code that signs: the
// secret's bytes, or for "whsec_<base64>" the decoded bytes. The error
// never contains the secret.
func signingKey(secret string) ([]byte, error) {
	if secret == "" {
		return nil, nil
	}
	enc, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		if key, err = base64.RawStdEncoding.DecodeString(enc); err != nil {
			return nil, errors.New(`the part after "whsec_" is not valid base64`)
		}
	}
	if len(key) == 0 {
		return nil, errors.New(`nothing after "whsec_"`)
	}
	return key, nil
}

// Delivery is what the sink saw of one request, for an observer.
type Delivery struct {
	Path string
	// ID is the webhook-id header ("" when absent).
	ID string
	// Body is the request's body; it is only valid during the call.
	Body []byte
	// At is when the request was read.
	At time.Time
	// Status is the answer's status, 0 when the sink reset or held the
	// connection instead of answering.
	Status int
}

// Sink is a fasthttp webhook receiver that counts, verifies and times what
// it gets. It is safe for concurrent use.
type Sink struct {
	opts        SinkOptions
	kongKey     []byte
	standardKey []byte
	srv         *fasthttp.Server
	ln          net.Listener
	now         func() time.Time
	observe     func(Delivery)

	received atomic.Int64
	bytes    atomic.Int64
	accepted atomic.Int64
	resets   atomic.Int64
	hangs    atomic.Int64

	mu       sync.Mutex
	statuses map[int]int64
	paths    map[string]int64
	kong     SignatureCounts
	standard SignatureCounts
	latency  *hdrhistogram.Histogram // µs, write → delivery
	untimed  int64

	heldMu sync.Mutex
	held   map[net.Conn]struct{}
	closed bool
}

// SignatureCounts count the requests of one signature scheme.
type SignatureCounts struct {
	Valid    int64 `json:"valid"`
	Invalid  int64 `json:"invalid"`
	Unsigned int64 `json:"unsigned"`
}

// NewSink listens on addr ("127.0.0.1:0" for a free port).
func NewSink(addr string, opts SinkOptions) (*Sink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Status == 0 {
		opts.Status = fasthttp.StatusOK
	}
	if opts.MaxPaths <= 0 {
		opts.MaxPaths = 1000
	}
	kongKey, _ := signingKey(opts.Secret)
	standardKey, _ := signingKey(opts.WebhookSecret)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	s := &Sink{
		opts:        opts,
		kongKey:     kongKey,
		standardKey: standardKey,
		ln:          ln,
		now:         time.Now,
		statuses:    map[int]int64{},
		paths:       map[string]int64{},
		latency:     newLatencyHistogram(),
		held:        map[net.Conn]struct{}{},
	}
	s.srv = &fasthttp.Server{Handler: s.handle, NoDefaultServerHeader: true, Concurrency: 64 * 1024}
	return s, nil
}

// Observe registers fn, called for every request once its outcome is
// decided (before the answer is written); set it before Serve. fn runs on
// the request's goroutine and must not keep Body.
func (s *Sink) Observe(fn func(Delivery)) { s.observe = fn }

// Addr is the sink's address, e.g. "127.0.0.1:9999".
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// URL is the sink's URL for a webhook's config.url.
func (s *Sink) URL() string { return "http://" + s.Addr() + "/hook" }

// Serve receives until Close.
func (s *Sink) Serve() error { return s.srv.Serve(s.ln) }

// Close stops the sink, closing the connections it holds (--hang) first.
func (s *Sink) Close() error {
	s.heldMu.Lock()
	s.closed = true
	for c := range s.held {
		c.Close()
	}
	s.heldMu.Unlock()
	return s.srv.Shutdown()
}

// Received counts the requests received, Accepted those answered 2xx.
func (s *Sink) Received() int64 { return s.received.Load() }

// Accepted counts the requests answered with a 2xx.
func (s *Sink) Accepted() int64 { return s.accepted.Load() }

// Bytes counts the request body bytes received.
func (s *Sink) Bytes() int64 { return s.bytes.Load() }

// outcomes of a request other than an answer.
const (
	outcomeAnswer = iota
	outcomeHang
	outcomeReset
)

func (s *Sink) handle(ctx *fasthttp.RequestCtx) {
	at := s.now()
	n := s.received.Add(1)
	body := ctx.PostBody()
	s.bytes.Add(int64(len(body)))

	outcome, status := s.decide(n)
	ts, timed := s.writeTime(&ctx.Request.Header, body)
	kong := s.verifyKong(&ctx.Request.Header, body)
	standard := s.verifyStandard(&ctx.Request.Header, body, at)

	s.mu.Lock()
	s.countPath(string(ctx.Path()))
	switch outcome {
	case outcomeAnswer:
		s.statuses[status]++
	case outcomeHang:
		s.hangs.Add(1)
	case outcomeReset:
		s.resets.Add(1)
	}
	if s.kongKey != nil {
		kong.add(&s.kong)
	}
	if s.standardKey != nil {
		standard.add(&s.standard)
	}
	if timed {
		_ = s.latency.RecordValue(max(at.Sub(ts).Microseconds(), 0))
	} else {
		s.untimed++
	}
	s.mu.Unlock()

	if s.observe != nil {
		d := Delivery{Path: string(ctx.Path()), ID: string(ctx.Request.Header.Peek("Webhook-Id")), Body: body, At: at}
		if outcome == outcomeAnswer {
			d.Status = status
		}
		s.observe(d)
	}

	switch outcome {
	case outcomeHang:
		raw := ctx.Conn()
		ctx.HijackSetNoResponse(true)
		ctx.Hijack(func(c net.Conn) { s.hold(c, raw) })
		return
	case outcomeReset:
		raw := ctx.Conn()
		ctx.HijackSetNoResponse(true)
		ctx.Hijack(func(net.Conn) {
			// Closing with SO_LINGER 0 sends RST instead of FIN; fasthttp
			// closes the connection when this returns.
			if tc, ok := raw.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
		})
		return
	}
	if s.opts.Delay > 0 {
		time.Sleep(s.opts.Delay)
	}
	if status >= 200 && status < 300 {
		s.accepted.Add(1)
	}
	if status == fasthttp.StatusTooManyRequests {
		ctx.Response.Header.Set("Retry-After", strconv.FormatInt(int64(s.opts.Throttle/time.Second), 10))
	}
	ctx.SetStatusCode(status)
}

// decide picks request n's fate (n counts from 1).
func (s *Sink) decide(n int64) (outcome, status int) {
	o := s.opts
	switch {
	case o.Hang:
		return outcomeHang, 0
	case spread(n, o.ResetRate, resetPhase):
		return outcomeReset, 0
	case n <= o.FailFirst:
		return outcomeAnswer, fasthttp.StatusServiceUnavailable
	case spread(n, o.FailRate, failPhase):
		return outcomeAnswer, fasthttp.StatusServiceUnavailable
	case o.Gone:
		return outcomeAnswer, fasthttp.StatusGone
	case o.Throttle > 0:
		return outcomeAnswer, fasthttp.StatusTooManyRequests
	}
	return outcomeAnswer, o.Status
}

// The phases of the two spread rates differ so that, at equal rates, they
// pick different requests.
const (
	failPhase  = 0.0
	resetPhase = 0.5
)

// spread reports whether request n (from 1) is among a fraction rate of
// the requests, spread evenly and exactly: it is when n·rate + phase
// reaches a new integer, so any run of k requests holds k·rate of them,
// give or take one (with 0.1, every tenth request).
func spread(n int64, rate, phase float64) bool {
	if rate <= 0 {
		return false
	}
	if rate >= 1 {
		return true
	}
	return math.Floor(float64(n)*rate+phase) > math.Floor(float64(n-1)*rate+phase)
}

// hold keeps a hijacked connection c unanswered until the client closes it
// or the sink closes raw, the connection under it (fasthttp's hijacked
// connection does not close on Close).
func (s *Sink) hold(c, raw net.Conn) {
	s.heldMu.Lock()
	if s.closed {
		s.heldMu.Unlock()
		return
	}
	s.held[raw] = struct{}{}
	s.heldMu.Unlock()
	var buf [512]byte
	for {
		if _, err := c.Read(buf[:]); err != nil {
			break
		}
	}
	s.heldMu.Lock()
	delete(s.held, raw)
	s.heldMu.Unlock()
}

func (s *Sink) countPath(p string) {
	if _, ok := s.paths[p]; !ok && len(s.paths) >= s.opts.MaxPaths {
		p = otherPaths
	}
	s.paths[p]++
}

// verdict is one request's check under one scheme.
type verdict int

const (
	unsigned verdict = iota
	valid
	invalid
)

func (v verdict) add(c *SignatureCounts) {
	switch v {
	case valid:
		c.Valid++
	case invalid:
		c.Invalid++
	default:
		c.Unsigned++
	}
}

// verifyKong checks X-Kong-Signature: "sha1=" and the hex HMAC-SHA1 of the
// body (Kong: kong/enterprise_edition/event_hooks.lua).
func (s *Sink) verifyKong(h *fasthttp.RequestHeader, body []byte) verdict {
	if s.kongKey == nil {
		return unsigned
	}
	got := h.Peek("X-Kong-Signature")
	if len(got) == 0 {
		return unsigned
	}
	m := hmac.New(sha1.New, s.kongKey)
	m.Write(body)
	want := make([]byte, 0, len("sha1=")+2*sha1.Size)
	want = append(want, "sha1="...)
	want = hex.AppendEncode(want, m.Sum(nil))
	if hmac.Equal(got, want) {
		return valid
	}
	return invalid
}

// verifyStandard checks the Standard Webhooks headers: webhook-signature
// holds space-separated "v1,<base64 HMAC-SHA256 of id.timestamp.body>"
// entries, one of which must match, on a timestamp within the tolerance.
func (s *Sink) verifyStandard(h *fasthttp.RequestHeader, body []byte, now time.Time) verdict {
	if s.standardKey == nil {
		return unsigned
	}
	sigs := h.Peek("Webhook-Signature")
	if len(sigs) == 0 {
		return unsigned
	}
	id, rawTS := h.Peek("Webhook-Id"), h.Peek("Webhook-Timestamp")
	ts, err := strconv.ParseInt(string(rawTS), 10, 64)
	if len(id) == 0 || err != nil {
		return invalid
	}
	if d := now.Sub(time.Unix(ts, 0)); d > webhookTolerance || d < -webhookTolerance {
		return invalid
	}
	m := hmac.New(sha256.New, s.standardKey)
	m.Write(id)
	m.Write([]byte{'.'})
	m.Write(rawTS)
	m.Write([]byte{'.'})
	m.Write(body)
	want := base64.StdEncoding.AppendEncode([]byte("v1,"), m.Sum(nil))
	for _, sig := range bytes.Fields(sigs) {
		if hmac.Equal(sig, want) {
			return valid
		}
	}
	return invalid
}

// eventTimes are the fields of a crud event that say when its write was
// made: Kong's entity timestamps, in Unix seconds.
type eventTimes struct {
	Operation string `json:"operation"`
	Entity    struct {
		CreatedAt float64 `json:"created_at"`
		UpdatedAt float64 `json:"updated_at"`
	} `json:"entity"`
}

// writeTime says when the delivered event's write happened: the entity's
// created_at (a create) or updated_at (an update), else the request's
// webhook-timestamp (the attempt's time, so transit only). Both are whole
// seconds: latencies from them are late by up to a second.
func (s *Sink) writeTime(h *fasthttp.RequestHeader, body []byte) (time.Time, bool) {
	var ev eventTimes
	if len(body) > 0 && body[0] == '{' && json.Unmarshal(body, &ev) == nil {
		switch {
		case ev.Operation == "create" && ev.Entity.CreatedAt > 0:
			return unixSeconds(ev.Entity.CreatedAt), true
		case ev.Operation == "update" && ev.Entity.UpdatedAt > 0:
			return unixSeconds(ev.Entity.UpdatedAt), true
		}
	}
	if ts, err := strconv.ParseInt(string(h.Peek("Webhook-Timestamp")), 10, 64); err == nil && ts > 0 {
		return time.Unix(ts, 0), true
	}
	return time.Time{}, false
}

func unixSeconds(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// SinkStats are a sink's counts at one moment.
type SinkStats struct {
	Received int64 `json:"received"`
	Accepted int64 `json:"accepted"`
	Bytes    int64 `json:"body_bytes"`
	// Statuses counts the answers by status ("200", "503", ...).
	Statuses map[string]int64 `json:"statuses"`
	// Resets and Hangs count the requests given no answer.
	Resets int64            `json:"resets"`
	Hangs  int64            `json:"hangs"`
	Paths  map[string]int64 `json:"paths"`
	// KongSignature and StandardSignature are set when their secret is.
	KongSignature     *SignatureCounts `json:"kong_signature,omitempty"`
	StandardSignature *SignatureCounts `json:"standard_signature,omitempty"`
	// Latency is write → delivery from the payload's timestamps (whole
	// seconds); Untimed counts the requests that carried none.
	Latency LatencySummary `json:"latency"`
	Untimed int64          `json:"untimed"`
}

// Stats returns the sink's counts so far.
func (s *Sink) Stats() SinkStats {
	st := SinkStats{
		Received: s.received.Load(),
		Accepted: s.accepted.Load(),
		Bytes:    s.bytes.Load(),
		Resets:   s.resets.Load(),
		Hangs:    s.hangs.Load(),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Statuses = make(map[string]int64, len(s.statuses))
	for code, n := range s.statuses {
		st.Statuses[strconv.Itoa(code)] = n
	}
	st.Paths = make(map[string]int64, len(s.paths))
	for p, n := range s.paths {
		st.Paths[p] = n
	}
	if s.kongKey != nil {
		k := s.kong
		st.KongSignature = &k
	}
	if s.standardKey != nil {
		sc := s.standard
		st.StandardSignature = &sc
	}
	st.Latency = summarize(s.latency)
	st.Untimed = s.untimed
	return st
}

// LatencySummary is a latency distribution's percentiles, in milliseconds.
type LatencySummary struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// String is "p50 1.2ms, p90 3.4ms, p99 5.6ms, max 7.8ms".
func (l LatencySummary) String() string {
	if l.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s, p90 %s, p99 %s, max %s", ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max))
}

func ms(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "ms" }

// summarize reads a microsecond histogram's percentiles, rounded to 0.01 ms.
func summarize(h *hdrhistogram.Histogram) LatencySummary {
	if h.TotalCount() == 0 {
		return LatencySummary{}
	}
	toMS := func(us int64) float64 { return math.Round(float64(us)/10) / 100 }
	return LatencySummary{
		Count: h.TotalCount(),
		P50:   toMS(h.ValueAtQuantile(50)),
		P90:   toMS(h.ValueAtQuantile(90)),
		P99:   toMS(h.ValueAtQuantile(99)),
		Max:   toMS(h.Max()),
	}
}
