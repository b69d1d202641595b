package bench

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// testServer serves h on a free port and returns its URL and a counter of
// the connections it accepted.
func testServer(t *testing.T, h fasthttp.RequestHandler) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	srv := &fasthttp.Server{Handler: h, ConnState: func(_ net.Conn, s fasthttp.ConnState) {
		if s == fasthttp.StateNew {
			conns.Add(1)
		}
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String() + "/path?q=1", &conns
}

func TestRunHTTP(t *testing.T) {
	var seen atomic.Value
	echo, echoConns := testServer(t, func(ctx *fasthttp.RequestCtx) {
		seen.Store(string(ctx.Method()) + " " + string(ctx.RequestURI()) + " " + string(ctx.Request.Header.Peek("X-Test")) +
			" " + string(ctx.Request.Host()) + " " + string(ctx.PostBody()))
		if string(ctx.Request.Header.Peek("X-Status")) == "404" {
			ctx.SetStatusCode(404)
		}
		ctx.SetBodyString("hello")
	})
	var n atomic.Int64
	flaky, _ := testServer(t, func(ctx *fasthttp.RequestCtx) {
		if n.Add(1)%2 == 0 {
			ctx.Hijack(func(c net.Conn) { c.Close() }) // no answer: the connection just closes
			return
		}
		ctx.SetStatusCode(503)
	})
	hang, _ := testServer(t, func(ctx *fasthttp.RequestCtx) { time.Sleep(2 * time.Second) })

	for _, c := range []struct {
		name  string
		opts  HTTPOptions
		check func(t *testing.T, r *Result)
	}{
		{"a request count is exact", HTTPOptions{URL: echo, Concurrency: 4, Requests: 100},
			func(t *testing.T, r *Result) {
				if r.Requests != 100 || r.Statuses[200] != 100 {
					t.Fatalf("%d answered, statuses %v", r.Requests, r.Statuses)
				}
				if r.BytesRead == 0 || r.BytesSent == 0 {
					t.Fatalf("bytes read %d, sent %d", r.BytesRead, r.BytesSent)
				}
			}},
		{"method, headers, Host and body are sent", HTTPOptions{URL: echo, Method: "POST", Concurrency: 1, Requests: 3,
			Headers: [][2]string{{"X-Test", "yes"}, {"Host", "example.com"}, {"X-Status", "404"}}, Body: []byte("payload")},
			func(t *testing.T, r *Result) {
				if got := seen.Load(); got != "POST /path?q=1 yes example.com payload" {
					t.Fatalf("server saw %q", got)
				}
				if r.Statuses[404] != 3 {
					t.Fatalf("statuses %v", r.Statuses)
				}
			}},
		{"without keep-alive every request has its own connection", HTTPOptions{URL: echo, Concurrency: 2, Requests: 20, NoKeepAlive: true},
			func(t *testing.T, r *Result) {
				// The count includes the reachability check's connection
				// and the earlier cases' connections.
				if r.Requests != 20 {
					t.Fatalf("%d answered", r.Requests)
				}
			}},
		{"closed connections are resets, other statuses are counted", HTTPOptions{URL: flaky, Concurrency: 2, Requests: 40},
			func(t *testing.T, r *Result) {
				if r.Statuses[503] == 0 || r.Errors[ErrReset] == 0 || r.Requests+r.Errors[ErrReset] != 40 {
					t.Fatalf("statuses %v, errors %v", r.Statuses, r.Errors)
				}
			}},
		{"a server that does not answer times out", HTTPOptions{URL: hang, Concurrency: 2, Requests: 2, Timeout: 200 * time.Millisecond},
			func(t *testing.T, r *Result) {
				if r.Errors[ErrTimeout] != 2 || r.Requests != 0 {
					t.Fatalf("answered %d, errors %v", r.Requests, r.Errors)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := echoConns.Load()
			r, err := RunHTTP(context.Background(), c.opts, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, r)
			if c.opts.NoKeepAlive && echoConns.Load()-before < 20 {
				t.Fatalf("%d connections for 20 requests without keep-alive", echoConns.Load()-before)
			}
		})
	}
}

// In open loop a stall delays every request scheduled during it, and the
// latency says so; closed loop only sees the one slow request.
func TestOpenLoopCountsStalls(t *testing.T) {
	var n atomic.Int64
	url, _ := testServer(t, func(ctx *fasthttp.RequestCtx) {
		if n.Add(1) == 20 {
			time.Sleep(300 * time.Millisecond)
		}
	})
	open := HTTPOptions{URL: url, Concurrency: 1, Requests: 200}
	open.SetRate(400)
	ro, err := RunHTTP(context.Background(), open, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.Store(0)
	rc, err := RunHTTP(context.Background(), HTTPOptions{URL: url, Concurrency: 1, Requests: 200}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	// At 400 req/s, 300 ms holds up about 120 requests: over half of 200.
	if ro.Latency.P50 < 50*time.Millisecond {
		t.Fatalf("open loop p50 %v: the stall was hidden", ro.Latency.P50)
	}
	if rc.Latency.P90 > 50*time.Millisecond || rc.Latency.Max < 300*time.Millisecond {
		t.Fatalf("closed loop p90 %v, max %v", rc.Latency.P90, rc.Latency.Max)
	}
}

func TestRunHTTPRefusesBadInput(t *testing.T) {
	url, _ := testServer(t, func(*fasthttp.RequestCtx) {})
	zeroRate := HTTPOptions{URL: url, Concurrency: 1, Requests: 1}
	zeroRate.SetRate(0)
	for _, c := range []struct {
		name string
		opts HTTPOptions
		want string
	}{
		{"not a URL", HTTPOptions{URL: "::", Concurrency: 1, Requests: 1}, "invalid URL"},
		{"another scheme", HTTPOptions{URL: "ftp://example.com/", Concurrency: 1, Requests: 1}, "invalid URL"},
		{"no connections", HTTPOptions{URL: url, Requests: 1}, "concurrency"},
		{"a rate of zero", zeroRate, "rate must be a positive"},
		{"a negative rate", HTTPOptions{URL: url, Concurrency: 1, Requests: 1, Rate: -5}, "rate must be a positive"},
		{"no end", HTTPOptions{URL: url, Concurrency: 1}, "duration or a number"},
		{"nobody listening", HTTPOptions{URL: "http://127.0.0.1:1/", Concurrency: 1, Requests: 1}, "cannot connect"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := RunHTTP(context.Background(), c.opts, 0, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// Cancelling a run returns what was measured so far.
func TestRunHTTPInterrupted(t *testing.T) {
	url, _ := testServer(t, func(*fasthttp.RequestCtx) {})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var progress atomic.Int64
	r, err := RunHTTP(ctx, HTTPOptions{URL: url, Concurrency: 2, Duration: time.Hour}, 50*time.Millisecond,
		func(Progress) { progress.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	if !r.Interrupted || r.Requests == 0 || progress.Load() == 0 {
		t.Fatalf("interrupted %v, %d requests, %d progress calls", r.Interrupted, r.Requests, progress.Load())
	}
}

// An https target: with --insecure a self-signed certificate is accepted;
// without it every request fails at connect (the handshake).
func TestRunHTTPTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	r, err := RunHTTP(context.Background(), HTTPOptions{URL: srv.URL + "/", Concurrency: 2, Requests: 20, Insecure: true}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Statuses[204] != 20 {
		t.Fatalf("statuses %v, errors %v", r.Statuses, r.Errors)
	}
	r, err = RunHTTP(context.Background(), HTTPOptions{URL: srv.URL + "/", Concurrency: 1, Requests: 3}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 0 || r.Errors[ErrConnect] != 3 {
		t.Fatalf("verified against an unknown CA: %d answered, errors %v", r.Requests, r.Errors)
	}
}
