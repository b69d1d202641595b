package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/plugins"
)

// Kong's answer when a plugin fails (kong/init.lua, handle_error).
const msgUnexpected = "An unexpected error occurred"

type phase int

const (
	phaseRewrite phase = iota
	phaseAccess
	phaseHeaderFilter
	phaseResponse
	phaseBodyFilter
)

func (ph phase) String() string {
	return [...]string{"rewrite", "access", "header_filter", "response", "body_filter"}[ph]
}

// run calls one phase of an instance. A panic is the plugin's failure, not
// the node's: it becomes the error.
func (in *instance) run(ph phase, pc *plugins.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	switch ph {
	case phaseRewrite:
		return in.rewrite.Rewrite(pc)
	case phaseAccess:
		return in.access.Access(pc)
	case phaseResponse:
		return in.response.Response(pc)
	case phaseBodyFilter:
		return in.body.BodyFilter(pc)
	default:
		return in.header.HeaderFilter(pc)
	}
}

// has reports whether the instance has the phase.
func (in *instance) has(ph phase) bool {
	switch ph {
	case phaseRewrite:
		return in.rewrite != nil
	case phaseAccess:
		return in.access != nil
	case phaseResponse:
		return in.response != nil
	case phaseBodyFilter:
		return in.body != nil
	}
	return in.header != nil
}

// startPlugins fills the request's plugin context.
func (ex *exchange) startPlugins(ctx *fasthttp.RequestCtx, start time.Time, client netip.Addr) *plugins.Context {
	pc := &ex.plugin
	pc.Ctx, pc.Request, pc.Response = ctx, &ctx.Request, &ctx.Response
	pc.ClientIP, pc.Started, pc.RequestID = client, start, ex.id
	return pc
}

// consumerID is the authenticated consumer's id, "" before one is.
func consumerID(pc *plugins.Context) string {
	id, _ := pc.Consumer["id"].(string)
	return id
}

// runList runs a phase over a list of instances (rewrite: the globals);
// false when the request ends (a plugin exited or failed).
func (p *Proxy) runList(ctx *fasthttp.RequestCtx, ex *exchange, start time.Time, list []*instance, ph phase, proto protoSet) bool {
	for _, in := range list {
		if in.protocols&proto == 0 {
			continue
		}
		if !p.runOne(ctx, ex, start, in, ph) {
			return false
		}
	}
	return true
}

// runChain runs a phase of a route's chain, each link's instance chosen
// for the consumer authenticated at that point (so plugins after an
// authentication plugin get the consumer's configuration, as in Kong).
// It returns false when the request ends.
func (p *Proxy) runChain(ctx *fasthttp.RequestCtx, ex *exchange, start time.Time, ch *chain, ph phase, proto protoSet) bool {
	order := ch.access
	if ph != phaseAccess {
		order = nil // dynamic ordering changes the access phase only, as in Kong
	}
	for n := range ch.links {
		i := n
		if order != nil {
			i = order[n]
		}
		in := ch.links[i].pick(consumerID(&ex.plugin))
		if in == nil || !in.has(ph) || in.protocols&proto == 0 {
			continue
		}
		if !p.runOne(ctx, ex, start, in, ph) {
			return false
		}
	}
	return true
}

// runOne runs one instance's phase; false when the request ends there: the
// plugin exited (its answer stands) or failed (Kong's 500 replaces
// whatever was being answered).
func (p *Proxy) runOne(ctx *fasthttp.RequestCtx, ex *exchange, start time.Time, in *instance, ph phase) bool {
	if err := in.run(ph, &ex.plugin); err != nil {
		p.logf("error", "plugin %s (%s) failed in the %s phase: %v", in.name, in.id, ph, err)
		ctx.Response.Reset()
		p.answer(ctx, ex, start, fasthttp.StatusInternalServerError, msgUnexpected)
		return false
	}
	return ph == phaseHeaderFilter || ph == phaseBodyFilter || !ex.plugin.Exited()
}

// logQueue hands requests to the log plugins off the request's path: a
// bounded queue of captures drained by a few workers, each of which turns
// a capture into Kong's log entry and calls the plugins with it.
type logQueue struct {
	ch      chan *logCapture
	dropped atomic.Int64
	logf    func(level, format string, args ...any)
}

const logWorkers = 2

func (q *logQueue) init(size int, logf func(level, format string, args ...any)) {
	if size <= 0 {
		size = 10000
	}
	q.ch, q.logf = make(chan *logCapture, size), logf
}

func (q *logQueue) start(wg *sync.WaitGroup, ctx context.Context) {
	for range logWorkers {
		wg.Go(func() {
			// One entry per worker, reused: plugins keep nothing of it
			// past Log.
			var entry plugins.LogEntry
			for {
				select {
				case <-ctx.Done():
					return
				case c := <-q.ch:
					c.fill(&entry)
					for _, l := range c.to {
						callLogger(l, &entry, q.logf)
					}
					c.release()
				}
			}
		})
	}
}

func callLogger(l plugins.Logger, e *plugins.LogEntry, logf func(level, format string, args ...any)) {
	defer func() {
		if r := recover(); r != nil {
			logf("error", "log plugin failed: %v", r)
		}
	}()
	l.Log(e)
}

// push queues a capture, or drops it (counted) when the queue is full.
func (q *logQueue) push(c *logCapture) {
	select {
	case q.ch <- c:
	default:
		c.release()
		if q.dropped.Add(1)%1000 == 1 {
			q.logf("warn", "log plugins are behind: %d entries dropped so far", q.dropped.Load())
		}
	}
}

// defaultBodyBufferLimit bounds an answer's body buffered for plugins
// (Options.BodyBufferLimit).
const defaultBodyBufferLimit = 8 << 20

// respond runs the response phase on an answer from the upstream, once its
// body is read whole (Kong's buffered proxying). An answer over the buffer
// limit goes to the client as it is, and the phase does not run.
func (p *Proxy) respond(ctx *fasthttp.RequestCtx, ex *exchange, start time.Time, ch *chain, proto protoSet) {
	if !p.bufferBody(ctx, ex, "response") {
		return
	}
	if !p.runChain(ctx, ex, start, ch, phaseResponse, proto) && ex.plugin.Exited() {
		p.ownHeaders(ctx, ex, start)
	}
}

// filterBody runs the body_filter phase when the answer's body fits the
// buffer limit.
func (p *Proxy) filterBody(ctx *fasthttp.RequestCtx, ex *exchange, start time.Time, ch *chain, proto protoSet) {
	if p.bufferBody(ctx, ex, "body_filter") {
		p.runChain(ctx, ex, start, ch, phaseBodyFilter, proto)
	}
}

// bufferBody reads a streamed answer's body into memory, up to the buffer
// limit; it reports whether the whole body is now the response's body. A
// larger body is left to stream to the client, unmodified (what was read
// goes first), with a log line.
func (p *Proxy) bufferBody(ctx *fasthttp.RequestCtx, ex *exchange, phase string) bool {
	resp := &ctx.Response
	if !resp.IsBodyStream() {
		return true
	}
	limit := p.bodyLimit()
	if n := resp.Header.ContentLength(); n > limit {
		p.logf("notice", "%s: the answer's body (%d bytes) is larger than the plugins' buffer (%d bytes): sent unmodified",
			phase, n, limit)
		return false
	}
	stream, ok := resp.BodyStream().(*bodyStream)
	if !ok {
		return false
	}
	buf := ex.body[:0]
	if cap(buf) == 0 {
		buf = make([]byte, 0, 32<<10)
	}
	var err error
	for len(buf) <= limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		var n int
		n, err = stream.Read(buf[len(buf):min(cap(buf), limit+1)])
		buf = buf[:len(buf)+n]
		if err != nil {
			break
		}
	}
	ex.body = buf
	if ex.body != nil && cap(ex.body) > maxKeptBody {
		ex.body = nil // an exchange keeps no large buffer
	}
	switch {
	case err == io.EOF && len(buf) <= limit:
		resp.SetBody(buf) // closes the stream, which pools its connection
		return true
	case err == io.EOF: // the last read passed the limit
		resp.SetBody(buf)
		p.logf("notice", "%s: the answer's body is larger than the plugins' buffer (%d bytes): sent unmodified", phase, limit)
		return false
	case err != nil:
		// The upstream failed mid-body: the client gets what came, then
		// the connection ends, as when streaming.
		p.logf("error", "%s: reading the upstream's answer: %v", phase, err)
		resp.SetBodyStream(&prefixedBody{head: bytes.Clone(buf), rest: detach(stream)}, -1)
		return false
	}
	p.logf("notice", "%s: the answer's body is larger than the plugins' buffer (%d bytes): sent unmodified", phase, limit)
	resp.SetBodyStream(&prefixedBody{head: bytes.Clone(buf), rest: detach(stream)}, -1)
	return false
}

// maxKeptBody is the largest body buffer an exchange keeps for the next
// request.
const maxKeptBody = 256 << 10

func (p *Proxy) bodyLimit() int {
	if p.opts.BodyBufferLimit > 0 {
		return p.opts.BodyBufferLimit
	}
	return defaultBodyBufferLimit
}

// detach takes a body stream away from the response holding it: the
// response's close of the original is then a no-op, and the copy returned
// owns the connection.
func detach(b *bodyStream) *bodyStream {
	own := *b
	b.closed = true
	return &own
}

// prefixedBody is a body partly read already: head, then the rest of the
// stream.
type prefixedBody struct {
	head []byte
	rest *bodyStream
}

func (b *prefixedBody) Read(p []byte) (int, error) {
	if len(b.head) > 0 {
		n := copy(p, b.head)
		b.head = b.head[n:]
		return n, nil
	}
	return b.rest.Read(p)
}

func (b *prefixedBody) Close() error { return b.rest.Close() }
