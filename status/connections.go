package status

import (
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
//   - requests: every request given to the handler.
//
// HTTP/1.x connections are followed through fasthttp's ConnState hook and
// the handler (Handler); HTTP/2 connections, which fasthttp does not see,
// are counted by H2Conns and their requests in flight as writing.
//
// A Connections must not be copied; it is safe for concurrent use.
type Connections struct {
	accepted  atomic.Uint64
	requests  atomic.Uint64
	h2Streams atomic.Int64 // requests in flight on connections ConnState does not follow

	// H2Conns, when set before serving, counts the open HTTP/2 connections.
	H2Conns func() int32

	mu     sync.Mutex
	states map[net.Conn]connState
	counts [stateCount]int64 // HTTP/1.x connections per state
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
	if err == nil {
		l.c.accepted.Add(1)
	}
	return conn, err
}

// ConnState is the fasthttp.Server.ConnState hook.
func (c *Connections) ConnState(conn net.Conn, s fasthttp.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch s {
	case fasthttp.StateNew:
		if c.states == nil {
			c.states = map[net.Conn]connState{}
		}
		c.states[conn] = stateWaiting
		c.counts[stateWaiting]++
	case fasthttp.StateActive:
		c.move(conn, stateReading)
	case fasthttp.StateIdle:
		c.move(conn, stateWaiting)
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		if old, ok := c.states[conn]; ok {
			c.counts[old]--
			delete(c.states, conn)
		}
	}
}

// move changes a followed connection's state; c.mu is held.
func (c *Connections) move(conn net.Conn, to connState) {
	old, ok := c.states[conn]
	if !ok || old == to {
		return
	}
	c.counts[old]--
	c.counts[to]++
	c.states[conn] = to
}

// Handler counts h's requests: the connection is writing from the moment
// its request reaches h until it is idle again or closed.
func (c *Connections) Handler(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		c.requests.Add(1)
		conn := ctx.Conn()
		c.mu.Lock()
		_, followed := c.states[conn]
		if followed {
			c.move(conn, stateWriting)
		}
		c.mu.Unlock()
		if !followed {
			c.h2Streams.Add(1)
			defer c.h2Streams.Add(-1)
		}
		h(ctx)
	}
}

// Snapshot reads the counters.
func (c *Connections) Snapshot() Counts {
	c.mu.Lock()
	reading, writing, waiting := c.counts[stateReading], c.counts[stateWriting], c.counts[stateWaiting]
	c.mu.Unlock()
	var h2 int64
	if c.H2Conns != nil {
		h2 = int64(c.H2Conns())
	}
	streams := c.h2Streams.Load()
	writing += streams
	// An HTTP/2 connection with no request in flight waits; one carrying
	// several requests counts once per request, as nginx counts streams.
	waiting += max(0, h2-streams)
	accepted := c.accepted.Load()
	return Counts{
		Accepted: accepted,
		Handled:  accepted,
		Active:   uint64(reading + writing + waiting),
		Reading:  uint64(reading),
		Writing:  uint64(writing),
		Waiting:  uint64(waiting),
		Requests: c.requests.Load(),
	}
}
