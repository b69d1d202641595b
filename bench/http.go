package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// HTTPOptions describe one load run against one URL.
type HTTPOptions struct {
	URL     string
	Method  string      // default GET
	Headers [][2]string // sent with every request; Host overrides the URL's
	Body    []byte
	// Concurrency is the number of connections (and workers) in use.
	Concurrency int
	// Duration bounds the run; Requests, when set, ends it after that many
	// requests (whichever comes first; one of the two is required).
	Duration time.Duration
	Requests int64
	// Warmup runs the same load this long before measuring.
	Warmup time.Duration
	// Rate, when positive, sends requests at this fixed arrival rate (per
	// second, open loop); zero sends as fast as answers come (closed loop).
	Rate float64
	// NoKeepAlive opens a connection per request.
	NoKeepAlive bool
	// Insecure skips the verification of an https target's certificate.
	Insecure bool
	// Timeout bounds each request (default 10 s).
	Timeout time.Duration

	rateSet bool
}

// Errors by kind, as counted in a Result.
const (
	ErrConnect = "connect"
	ErrTimeout = "timeout"
	ErrReset   = "reset"
	ErrOther   = "other"
)

// Result is what a run measured.
type Result struct {
	URL      string
	Rate     float64
	Duration time.Duration
	// Requests counts answered requests; Errors those that failed, by kind.
	Requests int64
	Errors   map[string]int64
	Statuses map[int]int64
	// Throughput is answered requests per second.
	Throughput float64
	BytesRead  int64
	BytesSent  int64
	// Latency of answered requests; in open loop, from each request's
	// intended send time, so a stall delays every request scheduled behind
	// it (no coordinated omission).
	Latency Latency
	// Interrupted is set when the run was stopped before its end.
	Interrupted bool

	hist *hdrhistogram.Histogram
}

// Latency holds a run's latency percentiles.
type Latency struct {
	Mean, P50, P90, P99, P999, Max time.Duration
}

// Percentile reads any percentile of the run's latency.
func (r *Result) Percentile(p float64) time.Duration {
	return time.Duration(r.hist.ValueAtQuantile(p)) * time.Microsecond
}

// Histogram is the run's latency histogram in microseconds (for plots and
// merging).
func (r *Result) Histogram() *hdrhistogram.Histogram { return r.hist }

// Progress is what a running load has done so far, for a live view.
type Progress struct {
	Elapsed  time.Duration
	Warmup   bool
	Requests int64
	Errors   int64
}

// newLatencyHistogram records 1 µs to 1 hour at 3 significant digits.
func newLatencyHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
}

// Validate checks the options and fills defaults.
func (o *HTTPOptions) Validate() error {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid URL %q: want http://host[:port]/path or https://...", o.URL)
	}
	if o.Method == "" {
		o.Method = fasthttp.MethodGet
	}
	if o.Concurrency <= 0 {
		return fmt.Errorf("concurrency must be at least 1, got %d", o.Concurrency)
	}
	if o.Rate < 0 || (o.Rate == 0 && o.rateSet) {
		return fmt.Errorf("rate must be a positive number of requests per second, got %g", o.Rate)
	}
	if o.Duration <= 0 && o.Requests <= 0 {
		return errors.New("give a duration or a number of requests")
	}
	if o.Duration < 0 || o.Requests < 0 || o.Warmup < 0 {
		return errors.New("duration, requests and warm-up cannot be negative")
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	return nil
}

// SetRate sets an open-loop rate; zero or less is refused by Validate
// (closed loop is the absence of a rate, not a rate of zero).
func (o *HTTPOptions) SetRate(r float64) { o.Rate, o.rateSet = r, true }

// counters are shared by a run's workers, for the live view.
type counters struct {
	requests, errors atomic.Int64
}

// target is where and how workers connect.
type target struct {
	addr    string
	tls     *tls.Config // nil for http
	timeout time.Duration
	request []byte // the request, serialised once
	head    bool   // HEAD: answers have no body
	close   bool   // a connection per request
}

// worker is one connection's loop and its own tallies, merged at the end
// so that recording takes no lock. Like wrk, each worker owns its
// connection: no pool, no lock, the request written from bytes prepared
// once, the answer read with fasthttp's parser.
type worker struct {
	hist            *hdrhistogram.Histogram
	statuses        map[int]int64
	errors          map[string]int64
	bytesRead, sent int64

	conn net.Conn
	br   *bufio.Reader
	// connMu guards changes of conn against the end-of-run interruption
	// (the worker itself reads conn without it).
	connMu sync.Mutex
}

// RunHTTP runs a load. It returns when the run ends or ctx is cancelled
// (then with the partial result and Interrupted set). progress, when not
// nil, is called about every interval from its own goroutine.
func RunHTTP(ctx context.Context, o HTTPOptions, interval time.Duration, progress func(Progress)) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(o.URL)
	t := target{addr: u.Host, timeout: o.Timeout, close: o.NoKeepAlive}
	if u.Port() == "" {
		t.addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	if u.Scheme == "https" {
		t.tls = &tls.Config{InsecureSkipVerify: o.Insecure, ServerName: u.Hostname()}
	}
	// Fail fast on a target nobody listens at, rather than counting a
	// whole run of connect errors.
	if c, err := net.DialTimeout("tcp", t.addr, o.Timeout); err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %w", t.addr, err)
	} else {
		c.Close()
	}
	t.request, t.head = serialise(o)

	if o.Warmup > 0 {
		wctx, cancel := context.WithTimeout(ctx, o.Warmup)
		runWorkers(wctx, &t, o, 0, interval, func(p Progress) {
			if progress != nil {
				p.Warmup = true
				progress(p)
			}
		})
		cancel()
		if ctx.Err() != nil {
			return nil, errors.New("interrupted during the warm-up")
		}
	}
	runCtx := ctx
	if o.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	start := time.Now()
	workers := runWorkers(runCtx, &t, o, o.Requests, interval, progress)
	elapsed := time.Since(start)

	r := &Result{URL: o.URL, Rate: o.Rate, Duration: elapsed, Errors: map[string]int64{}, Statuses: map[int]int64{},
		hist: newLatencyHistogram(), Interrupted: ctx.Err() != nil}
	for _, w := range workers {
		r.hist.Merge(w.hist)
		for s, n := range w.statuses {
			r.Statuses[s] += n
			r.Requests += n
		}
		for k, n := range w.errors {
			r.Errors[k] += n
		}
		r.BytesRead += w.bytesRead
		r.BytesSent += w.sent
	}
	r.Throughput = float64(r.Requests) / elapsed.Seconds()
	r.Latency = Latency{Mean: time.Duration(r.hist.Mean() * float64(time.Microsecond)), P50: r.Percentile(50),
		P90: r.Percentile(90), P99: r.Percentile(99), P999: r.Percentile(99.9), Max: r.Percentile(100)}
	return r, nil
}

// serialise writes the request once, as fasthttp's client would send it.
func serialise(o HTTPOptions) ([]byte, bool) {
	u, _ := url.Parse(o.URL) // validated
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.DisableNormalizing()
	req.Header.SetMethod(o.Method)
	req.Header.SetRequestURI(u.RequestURI()) // origin form
	req.Header.SetHost(u.Host)
	for _, h := range o.Headers {
		if strings.EqualFold(h[0], "host") {
			req.Header.SetHost(h[1])
			continue
		}
		req.Header.Add(h[0], h[1])
	}
	if len(o.Body) > 0 {
		req.SetBody(o.Body)
	}
	if o.NoKeepAlive {
		req.SetConnectionClose()
	}
	var b bytes.Buffer
	bw := bufio.NewWriter(&b)
	req.Write(bw) // into memory: cannot fail
	bw.Flush()
	return b.Bytes(), req.Header.IsHead()
}

// runWorkers runs the load until ctx ends or limit requests (when
// positive) were sent, and returns each worker's tallies.
func runWorkers(ctx context.Context, t *target, o HTTPOptions, limit int64, interval time.Duration, progress func(Progress)) []*worker {
	start := time.Now()
	var cnt counters
	var next atomic.Int64 // the next request's sequence number
	step := 0.0
	if o.Rate > 0 {
		// Open loop: request i is due at start + i/rate, whoever sends it.
		step = float64(time.Second) / o.Rate
	}
	ticket := func() (intended time.Time, ok bool) {
		i := next.Add(1) - 1
		if step > 0 {
			intended = start.Add(time.Duration(float64(i) * step))
		}
		return intended, limit <= 0 || i < limit
	}

	done := make(chan struct{})
	if progress != nil && interval > 0 {
		go func() {
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					progress(Progress{Elapsed: time.Since(start), Requests: cnt.requests.Load(), Errors: cnt.errors.Load()})
				}
			}
		}()
	}
	workers := make([]*worker, o.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{hist: newLatencyHistogram(), statuses: map[int]int64{}, errors: map[string]int64{}}
		workers[i] = w
		wg.Go(func() { w.run(ctx, t, ticket, &cnt) })
	}
	wg.Wait()
	close(done)
	return workers
}

func (w *worker) run(ctx context.Context, t *target, ticket func() (time.Time, bool), cnt *counters) {
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	resp.SkipBody = t.head
	defer w.disconnect()
	// Closing the connection when the run ends unblocks a request under way.
	stop := context.AfterFunc(ctx, func() {
		w.connMu.Lock()
		defer w.connMu.Unlock()
		if w.conn != nil {
			w.conn.SetDeadline(time.Unix(1, 0))
		}
	})
	defer stop()
	for ctx.Err() == nil {
		intended, ok := ticket()
		if !ok {
			return
		}
		if !intended.IsZero() {
			if wait := time.Until(intended); wait > 0 {
				timer := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					timer.Stop()
					return
				case <-timer.C:
				}
			}
		}
		sent := time.Now()
		if intended.IsZero() {
			intended = sent
		}
		err := w.exchange(t, resp, sent)
		latency := time.Since(intended)
		if err != nil {
			w.disconnect()
			if ctx.Err() != nil {
				return // the run ended under this request: not a failure of the target
			}
			w.errors[errorKind(err)]++
			cnt.errors.Add(1)
			continue
		}
		w.hist.RecordValue(max(int64(latency/time.Microsecond), 1))
		w.statuses[resp.StatusCode()]++
		cnt.requests.Add(1)
		if t.close || resp.ConnectionClose() {
			w.disconnect()
		}
	}
}

// exchange sends the request and reads the answer, connecting first when
// the worker has no connection.
func (w *worker) exchange(t *target, resp *fasthttp.Response, now time.Time) error {
	if w.conn == nil {
		if err := w.connect(t); err != nil {
			return err
		}
	}
	w.conn.SetDeadline(now.Add(t.timeout))
	n, err := w.conn.Write(t.request)
	w.sent += int64(n)
	if err != nil {
		return err
	}
	return resp.Read(w.br)
}

func (w *worker) connect(t *target) error {
	c, err := net.DialTimeout("tcp", t.addr, t.timeout)
	if err != nil {
		return err
	}
	if t.tls != nil {
		tc := tls.Client(c, t.tls)
		tc.SetDeadline(time.Now().Add(t.timeout))
		if err := tc.Handshake(); err != nil {
			c.Close()
			return &net.OpError{Op: "dial", Net: "tcp", Addr: c.RemoteAddr(), Err: err}
		}
		c = tc
	}
	w.connMu.Lock()
	w.conn = c
	w.connMu.Unlock()
	if w.br == nil {
		w.br = bufio.NewReaderSize(countingReader{w}, 16<<10)
	} else {
		w.br.Reset(countingReader{w})
	}
	return nil
}

func (w *worker) disconnect() {
	if w.conn != nil {
		w.conn.Close()
		w.connMu.Lock()
		w.conn = nil
		w.connMu.Unlock()
	}
}

// countingReader reads the worker's connection, counting bytes.
type countingReader struct{ w *worker }

func (r countingReader) Read(p []byte) (int, error) {
	n, err := r.w.conn.Read(p)
	r.w.bytesRead += int64(n)
	return n, err
}

// errorKind sorts a failed request's error into connect, timeout, reset or
// other.
func errorKind(err error) string {
	var op *net.OpError
	switch {
	case errors.Is(err, fasthttp.ErrDialTimeout), errors.As(err, &op) && op.Op == "dial":
		return ErrConnect
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, fasthttp.ErrNoFreeConns):
		return ErrTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, fasthttp.ErrConnectionClosed):
		return ErrReset
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ErrTimeout
	}
	return ErrOther
}
