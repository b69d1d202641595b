package status

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// Connections counts one server's connections and requests the way nginx's
// stub_status does, so that GET /status reports real figures:
//
//   - accepted: every connection taken from the listening socket (HTTP/1.x,
//     HTTP/2 and those refused later by TLS alike), counted by Listener;
//   - active: connections open now;
//   - reading: connections whose request head is being read;
//   - writing: connections whose request is in the handler or whose answer
//     is being written (nginx counts request processing as writing);
//   - waiting: idle connections, new or kept alive, waiting for a request;
//   - requests: every request given to the handler, and every one answered
//     by the server because it could not be read (ErrorHandler).
//
// HTTP/1.x connections are followed through fasthttp's ConnState hook and
// the handler (Handler); HTTP/2 connections, which fasthttp does not see,
// are counted by H2Conns and their requests in flight as writing.
//
// A Connections must not be copied; it is safe for concurrent use.
type Connections struct {
	accepted  atomic.Uint64
	requests  atomic.Uint64 // requests of connections ConnState does not follow
	h2Streams atomic.Int64  // their requests in flight

	// H2Conns, when set before serving, counts the open HTTP/2 connections.
	H2Conns func() int32

	// states maps each followed connection to its *followed entry. A
	// connection's transitions all happen on its own goroutine (fasthttp
	// serves a connection on one), so a request touches only its own
	// entry: no counter shared between cores is written per request.
	// Snapshot adds the entries up.
	states sync.Map
	// closeMu orders closing connections with snapshots, so a closed
	// connection's requests move to closedRequests without being counted
	// twice or missed.
	closeMu        sync.Mutex
	closedRequests uint64
}

// followed is one HTTP/1.x connection's state and request count.
type followed struct {
	state    atomic.Uint32
	requests atomic.Uint64
}

type connState uint8

const (
	stateWaiting connState = iota
	stateReading
	stateWriting
	stateCount
)

// Counts is a snapshot of a server's counters, or the sum of several.
type Counts struct {
	Accepted, Handled, Active, Reading, Writing, Waiting, Requests uint64
}

// Add returns the sum of two snapshots.
func (c Counts) Add(o Counts) Counts {
	return Counts{
		Accepted: c.Accepted + o.Accepted, Handled: c.Handled + o.Handled, Active: c.Active + o.Active,
		Reading: c.Reading + o.Reading, Writing: c.Writing + o.Writing, Waiting: c.Waiting + o.Waiting,
		Requests: c.Requests + o.Requests,
	}
}

// Listener counts the connections ln accepts.
func (c *Connections) Listener(ln net.Listener) net.Listener { return &countingListener{ln, c} }

type countingListener struct {
	net.Listener
	c *Connections
}

func (l *countingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.c.accepted.Add(1)
	return &countedConn{Conn: conn, f: new(followed)}, nil
}

// countedConn carries its connection's entry, so that a request finds it
// without a look-up in the shared map (which only registers connections
// for Snapshot).
type countedConn struct {
	net.Conn
	f *followed
}

// NetConn is the accepted connection.
func (c *countedConn) NetConn() net.Conn { return c.Conn }

// entryOf finds the entry a counting listener attached to conn, through
// the wrappers that expose what they wrap (NetConn, as tls.Conn does), or
// nil.
func entryOf(conn net.Conn) *followed {
	for conn != nil {
		switch c := conn.(type) {
		case *countedConn:
			return c.f
		case interface{ NetConn() net.Conn }:
			conn = c.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// ConnState is the fasthttp.Server.ConnState hook.
func (c *Connections) ConnState(conn net.Conn, s fasthttp.ConnState) {
	switch s {
	case fasthttp.StateNew:
		f := entryOf(conn)
		if f == nil {
			f = new(followed)
		}
		c.states.Store(conn, f) // waiting
	case fasthttp.StateActive:
		c.move(conn, stateReading)
	case fasthttp.StateIdle:
		c.move(conn, stateWaiting)
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		c.closeMu.Lock()
		if v, ok := c.states.LoadAndDelete(conn); ok {
			c.closedRequests += v.(*followed).requests.Load()
		}
		c.closeMu.Unlock()
	}
}

// move changes a followed connection's state; nil when the connection is
// not followed.
func (c *Connections) move(conn net.Conn, to connState) *followed {
	f := entryOf(conn)
	if f == nil {
		v, ok := c.states.Load(conn)
		if !ok {
			return nil
		}
		f = v.(*followed)
	}
	f.state.Store(uint32(to))
	return f
}

// Handler counts h's requests: the connection is writing from the moment
// its request reaches h until it is idle again or closed.
func (c *Connections) Handler(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if f := c.move(ctx.Conn(), stateWriting); f != nil {
			f.requests.Add(1)
		} else {
			c.requests.Add(1)
			c.h2Streams.Add(1)
			defer c.h2Streams.Add(-1)
		}
		h(ctx)
	}
}

// ErrorHandler counts the requests fasthttp answers itself because they
// could not be read (400, 408, 431), as nginx counts them, and answers them
// with next, or with fasthttp's own answers when next is nil.
func (c *Connections) ErrorHandler(next func(*fasthttp.RequestCtx, error)) func(*fasthttp.RequestCtx, error) {
	if next == nil {
		next = readError
	}
	return func(ctx *fasthttp.RequestCtx, err error) {
		c.requests.Add(1)
		next(ctx, err)
	}
}

// readError answers as fasthttp does when a server has no ErrorHandler.
func readError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.As(err, &small):
		ctx.Error("Too big request header", fasthttp.StatusRequestHeaderFieldsTooLarge)
	case errors.As(err, &netErr) && netErr.Timeout():
		ctx.Error("Request timeout", fasthttp.StatusRequestTimeout)
	default:
		ctx.Error("Error when parsing request", fasthttp.StatusBadRequest)
	}
}

// Snapshot reads the counters. It walks the open connections, which
// costs microseconds per thousand: it serves status requests, not traffic.
func (c *Connections) Snapshot() Counts {
	var states [stateCount]uint64
	c.closeMu.Lock()
	requests := c.closedRequests
	c.states.Range(func(_, v any) bool {
		f := v.(*followed)
		states[f.state.Load()]++
		requests += f.requests.Load()
		return true
	})
	c.closeMu.Unlock()
	requests += c.requests.Load()
	reading, writing, waiting := states[stateReading], states[stateWriting], states[stateWaiting]
	var h2 int64
	if c.H2Conns != nil {
		h2 = int64(c.H2Conns())
	}
	streams := max(0, c.h2Streams.Load())
	writing += uint64(streams)
	// An HTTP/2 connection with no request in flight waits; one carrying
	// several requests counts once per request, as nginx counts streams.
	waiting += uint64(max(0, h2-streams))
	accepted := c.accepted.Load()
	return Counts{
		Accepted: accepted,
		Handled:  accepted,
		Active:   reading + writing + waiting,
		Reading:  reading,
		Writing:  writing,
		Waiting:  waiting,
		Requests: requests,
	}
}
