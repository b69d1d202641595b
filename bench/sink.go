// Package bench holds Portico's load-testing tools: a webhook sink that
// receives event-hook deliveries as fast as a receiver can, for measuring
// the delivery pipeline (and, later, a load generator for the proxy). It
// talks HTTP only and knows nothing of Portico's internals.
package bench

import (
	"net"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// SinkOptions configure a webhook sink.
type SinkOptions struct {
	// Status is what the sink answers (default 200).
	Status int
	// FailFirst answers 503 to the first N requests, for retry tests.
	FailFirst int64
	// Delay holds every answer this long (a slow receiver).
	Delay time.Duration
}

// Sink is a fasthttp webhook receiver that counts what it gets.
type Sink struct {
	opts     SinkOptions
	srv      *fasthttp.Server
	ln       net.Listener
	received atomic.Int64
	bytes    atomic.Int64
	accepted atomic.Int64
	onBody   func(headers *fasthttp.RequestHeader, body []byte)
}

// NewSink listens on addr ("127.0.0.1:0" for a free port).
func NewSink(addr string, opts SinkOptions) (*Sink, error) {
	if opts.Status == 0 {
		opts.Status = fasthttp.StatusOK
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Sink{opts: opts, ln: ln}
	s.srv = &fasthttp.Server{Handler: s.handle, NoDefaultServerHeader: true, Concurrency: 64 * 1024}
	return s, nil
}

// OnBody registers a callback for every request (tests); set it before Serve.
func (s *Sink) OnBody(fn func(headers *fasthttp.RequestHeader, body []byte)) { s.onBody = fn }

// Addr is the sink's address, e.g. "127.0.0.1:9999".
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// URL is the sink's URL for a webhook's config.url.
func (s *Sink) URL() string { return "http://" + s.Addr() + "/hook" }

// Serve receives until Close.
func (s *Sink) Serve() error { return s.srv.Serve(s.ln) }

// Close stops the sink.
func (s *Sink) Close() error { return s.srv.Shutdown() }

// Received counts the requests received, Accepted those answered 2xx.
func (s *Sink) Received() int64 { return s.received.Load() }

// Accepted counts the requests answered with a 2xx.
func (s *Sink) Accepted() int64 { return s.accepted.Load() }

// Bytes counts the request body bytes received.
func (s *Sink) Bytes() int64 { return s.bytes.Load() }

func (s *Sink) handle(ctx *fasthttp.RequestCtx) {
	n := s.received.Add(1)
	body := ctx.PostBody()
	s.bytes.Add(int64(len(body)))
	if s.onBody != nil {
		s.onBody(&ctx.Request.Header, body)
	}
	if s.opts.Delay > 0 {
		time.Sleep(s.opts.Delay)
	}
	status := s.opts.Status
	if n <= s.opts.FailFirst {
		status = fasthttp.StatusServiceUnavailable
	}
	if status >= 200 && status < 300 {
		s.accepted.Add(1)
	}
	ctx.SetStatusCode(status)
}
