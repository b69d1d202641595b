package status

import (
	"bufio"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// server runs a fasthttp server counted by c; GET /block waits for release.
func server(t *testing.T, c *Connections, release chan struct{}) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{
		Handler: c.Handler(func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Path()) == "/block" {
				<-release
			}
			ctx.SetBodyString("ok")
		}),
		ConnState:    c.ConnState,
		ErrorHandler: c.ErrorHandler(nil),
		IdleTimeout:  time.Minute,
	}
	go srv.Serve(c.Listener(ln)) //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

// keepAlive is one client connection reading answers as they come.
type keepAlive struct {
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, addr string) *keepAlive {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &keepAlive{conn: conn, r: bufio.NewReader(conn)}
}

func (k *keepAlive) send(t *testing.T, raw string) {
	t.Helper()
	if _, err := k.conn.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
}

// answer reads one whole answer ("ok" body).
func (k *keepAlive) answer(t *testing.T) {
	t.Helper()
	var resp fasthttp.Response
	if err := resp.Read(k.r); err != nil {
		t.Fatal(err)
	}
	if string(resp.Body()) != "ok" {
		t.Fatalf("body %q", resp.Body())
	}
}

// eventually waits until the snapshot matches want (state changes are
// reported after the answer is flushed).
func eventually(t *testing.T, c *Connections, want Counts) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var got Counts
	for time.Now().Before(deadline) {
		if got = c.Snapshot(); got == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("counts = %+v, want %+v", got, want)
}

const get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"

// TestConnectionsMove follows three kept-alive connections through each
// state; reading + writing + waiting always add up to active.
func TestConnectionsMove(t *testing.T) {
	c := &Connections{}
	release := make(chan struct{})
	addr := server(t, c, release)
	conns := []*keepAlive{dial(t, addr), dial(t, addr), dial(t, addr)}

	steps := []struct {
		name string
		do   func(t *testing.T)
		want Counts
	}{
		{"three new connections wait", func(*testing.T) {},
			Counts{Accepted: 3, Handled: 3, Active: 3, Waiting: 3}},
		{"one request each, kept alive", func(t *testing.T) {
			for _, k := range conns {
				k.send(t, get)
				k.answer(t)
			}
		}, Counts{Accepted: 3, Handled: 3, Active: 3, Waiting: 3, Requests: 3}},
		{"a request in the handler writes", func(t *testing.T) {
			conns[0].send(t, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
		}, Counts{Accepted: 3, Handled: 3, Active: 3, Writing: 1, Waiting: 2, Requests: 4}},
		{"half a request head reads", func(t *testing.T) {
			conns[1].send(t, "GET / HTTP/1.1\r\nHost:")
		}, Counts{Accepted: 3, Handled: 3, Active: 3, Reading: 1, Writing: 1, Waiting: 1, Requests: 4}},
		{"the handler ends, the head completes", func(t *testing.T) {
			close(release)
			conns[0].answer(t)
			conns[1].send(t, " x\r\n\r\n")
			conns[1].answer(t)
		}, Counts{Accepted: 3, Handled: 3, Active: 3, Waiting: 3, Requests: 5}},
		{"a closed connection leaves", func(*testing.T) {
			conns[2].conn.Close()
		}, Counts{Accepted: 3, Handled: 3, Active: 2, Waiting: 2, Requests: 5}},
		{"a new one is accepted", func(t *testing.T) {
			k := dial(t, addr)
			k.send(t, get)
			k.answer(t)
		}, Counts{Accepted: 4, Handled: 4, Active: 3, Waiting: 3, Requests: 6}},
	}
	steps = append(steps, struct {
		name string
		do   func(t *testing.T)
		want Counts
	}{"a request that cannot be read is counted", func(t *testing.T) {
		k := dial(t, addr)
		k.send(t, "NOT HTTP\r\n\r\n")
		var resp fasthttp.Response
		if err := resp.Read(k.r); err != nil || resp.StatusCode() != 400 {
			t.Fatalf("answer %d, %v", resp.StatusCode(), err)
		}
	}, Counts{Accepted: 5, Handled: 5, Active: 2, Waiting: 2, Requests: 7}}) // the connection of the step before closed with its subtest
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.do(t)
			eventually(t, c, s.want)
		})
	}
}

// TestConnectionsHTTP2 counts connections fasthttp does not see: idle ones
// wait, their requests in flight write.
func TestConnectionsHTTP2(t *testing.T) {
	c := &Connections{H2Conns: func() int32 { return 2 }}
	entered, release := make(chan struct{}), make(chan struct{})
	h := c.Handler(func(*fasthttp.RequestCtx) {
		close(entered)
		<-release
	})
	if got := c.Snapshot(); got.Active != 2 || got.Waiting != 2 {
		t.Fatalf("idle HTTP/2 connections: %+v", got)
	}
	done := make(chan struct{})
	go func() {
		var ctx fasthttp.RequestCtx // no connection: an HTTP/2 stream
		h(&ctx)
		close(done)
	}()
	<-entered
	if got := c.Snapshot(); got.Active != 2 || got.Writing != 1 || got.Waiting != 1 || got.Requests != 1 {
		t.Errorf("one stream in flight: %+v", got)
	}
	close(release)
	<-done
	if got := c.Snapshot(); got.Writing != 0 || got.Waiting != 2 {
		t.Errorf("after the stream: %+v", got)
	}
}

func TestCountsAdd(t *testing.T) {
	a := Counts{Accepted: 1, Handled: 1, Active: 1, Reading: 1, Writing: 0, Waiting: 0, Requests: 5}
	b := Counts{Accepted: 2, Handled: 2, Active: 2, Reading: 0, Writing: 1, Waiting: 1, Requests: 7}
	want := Counts{Accepted: 3, Handled: 3, Active: 3, Reading: 1, Writing: 1, Waiting: 1, Requests: 12}
	if got := a.Add(b); got != want {
		t.Errorf("Add = %+v, want %+v", got, want)
	}
}

// A request finds its connection's entry through the wrappers that expose
// what they wrap (tls.Conn, and any NetConn wrapper); other connections
// have none and are looked up in the map.
func TestEntryOf(t *testing.T) {
	_, server := net.Pipe()
	counted := &countedConn{Conn: server, f: new(followed)}
	for _, tc := range []struct {
		name string
		conn net.Conn
		want *followed
	}{
		{"accepted", counted, counted.f},
		{"under TLS", tls.Server(counted, &tls.Config{}), counted.f},
		{"under a NetConn wrapper", wrapped{counted}, counted.f},
		{"not accepted by a counting listener", server, nil},
		{"a wrapper hiding it", struct{ net.Conn }{counted}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := entryOf(tc.conn); got != tc.want {
				t.Fatalf("entry %p, want %p", got, tc.want)
			}
		})
	}
}

type wrapped struct{ net.Conn }

func (w wrapped) NetConn() net.Conn { return w.Conn }
