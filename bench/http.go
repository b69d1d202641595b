package bench

import (
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

// counters are shared by a run's workers.
type counters struct {
	requests, errors   atomic.Int64
	bytesRead, written atomic.Int64
}

// countingConn counts the bytes a connection carries.
type countingConn struct {
	net.Conn
	c *counters
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.c.bytesRead.Add(int64(n))
	return n, err
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.c.written.Add(int64(n))
	return n, err
}

// worker is one connection's loop and its own tallies, merged at the end
// so that recording takes no lock.
type worker struct {
	hist     *hdrhistogram.Histogram
	statuses map[int]int64
	errors   map[string]int64
}

// RunHTTP runs a load. It returns when the run ends or ctx is cancelled
// (then with the partial result and Interrupted set). progress, when not
// nil, is called about every interval from its own goroutine.
func RunHTTP(ctx context.Context, o HTTPOptions, interval time.Duration, progress func(Progress)) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(o.URL)
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	// Fail fast on a target nobody listens at, rather than counting a
	// whole run of connect errors.
	if c, err := net.DialTimeout("tcp", addr, o.Timeout); err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %w", addr, err)
	} else {
		c.Close()
	}

	var cnt counters
	dialer := &net.Dialer{Timeout: o.Timeout}
	client := &fasthttp.HostClient{
		Addr:                          addr,
		IsTLS:                         u.Scheme == "https",
		MaxConns:                      o.Concurrency,
		ReadTimeout:                   o.Timeout,
		WriteTimeout:                  o.Timeout,
		MaxConnWaitTimeout:            o.Timeout,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		MaxIdemponentCallAttempts:     1,
		Dial: func(a string) (net.Conn, error) {
			c, err := dialer.Dial("tcp", a)
			if err != nil {
				return nil, err
			}
			return countingConn{c, &cnt}, nil
		},
	}
	if client.IsTLS {
		client.TLSConfig = &tls.Config{InsecureSkipVerify: o.Insecure, ServerName: u.Hostname()}
	}
	defer client.CloseIdleConnections()

	template := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(template)
	template.SetRequestURI(o.URL)
	template.Header.SetMethod(o.Method)
	template.Header.DisableNormalizing()
	for _, h := range o.Headers {
		if http1Host(h[0]) {
			template.Header.SetHost(h[1])
			template.UseHostHeader = true
			continue
		}
		template.Header.Add(h[0], h[1])
	}
	if len(o.Body) > 0 {
		template.SetBody(o.Body)
	}
	if o.NoKeepAlive {
		template.SetConnectionClose()
	}

	if o.Warmup > 0 {
		wctx, cancel := context.WithTimeout(ctx, o.Warmup)
		runWorkers(wctx, client, template, o, 0, &counters{}, interval, func(p Progress) {
			if progress != nil {
				p.Warmup = true
				progress(p)
			}
		})
		cancel()
		if ctx.Err() != nil {
			return nil, errors.New("interrupted during the warm-up")
		}
		cnt.bytesRead.Store(0)
		cnt.written.Store(0)
	}
	runCtx := ctx
	if o.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	start := time.Now()
	workers := runWorkers(runCtx, client, template, o, o.Requests, &cnt, interval, progress)
	elapsed := time.Since(start)

	r := &Result{URL: o.URL, Rate: o.Rate, Duration: elapsed, Errors: map[string]int64{}, Statuses: map[int]int64{},
		hist: newLatencyHistogram(), BytesRead: cnt.bytesRead.Load(), BytesSent: cnt.written.Load(),
		Interrupted: ctx.Err() != nil}
	for _, w := range workers {
		r.hist.Merge(w.hist)
		for s, n := range w.statuses {
			r.Statuses[s] += n
			r.Requests += n
		}
		for k, n := range w.errors {
			r.Errors[k] += n
		}
	}
	r.Throughput = float64(r.Requests) / elapsed.Seconds()
	r.Latency = Latency{Mean: time.Duration(r.hist.Mean() * float64(time.Microsecond)), P50: r.Percentile(50),
		P90: r.Percentile(90), P99: r.Percentile(99), P999: r.Percentile(99.9), Max: r.Percentile(100)}
	return r, nil
}

func http1Host(name string) bool { return strings.EqualFold(name, "host") }

// runWorkers runs the load until ctx ends or limit requests (when
// positive) were sent, and returns each worker's tallies.
func runWorkers(ctx context.Context, client *fasthttp.HostClient, template *fasthttp.Request, o HTTPOptions,
	limit int64, cnt *counters, interval time.Duration, progress func(Progress)) []*worker {
	start := time.Now()
	var next atomic.Int64 // the next request's sequence number
	var ticket func() (seq int64, intended time.Time, ok bool)
	if o.Rate > 0 {
		// Open loop: request i is due at start + i/rate, whoever sends it.
		step := float64(time.Second) / o.Rate
		ticket = func() (int64, time.Time, bool) {
			i := next.Add(1) - 1
			return i, start.Add(time.Duration(float64(i) * step)), limit <= 0 || i < limit
		}
	} else {
		ticket = func() (int64, time.Time, bool) {
			i := next.Add(1) - 1
			return i, time.Time{}, limit <= 0 || i < limit
		}
	}

	done := make(chan struct{})
	if progress != nil && interval > 0 {
		go func() {
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
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
		wg.Go(func() { w.run(ctx, client, template, ticket, cnt) })
	}
	wg.Wait()
	close(done)
	return workers
}

func (w *worker) run(ctx context.Context, client *fasthttp.HostClient, template *fasthttp.Request,
	ticket func() (int64, time.Time, bool), cnt *counters) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	resp.SkipBody = false
	for ctx.Err() == nil {
		_, intended, ok := ticket()
		if !ok {
			return
		}
		if !intended.IsZero() {
			if wait := time.Until(intended); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		}
		template.CopyTo(req)
		sent := time.Now()
		if intended.IsZero() {
			intended = sent
		}
		err := client.Do(req, resp)
		latency := time.Since(intended)
		if err != nil {
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
	}
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
