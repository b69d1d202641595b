package proxy

import (
	"bytes"
	"context"
	"fmt"
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
)

func (ph phase) String() string {
	return [...]string{"rewrite", "access", "header_filter"}[ph]
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
	return ph == phaseHeaderFilter || !ex.plugin.Exited()
}

// logQueue hands log entries to the log plugins off the request's path: a
// bounded queue drained by a few workers.
type logQueue struct {
	ch      chan logJob
	dropped atomic.Int64
	logf    func(level, format string, args ...any)
}

type logJob struct {
	entry *plugins.LogEntry
	to    []plugins.Logger
}

const logWorkers = 2

func (q *logQueue) init(size int, logf func(level, format string, args ...any)) {
	if size <= 0 {
		size = 10000
	}
	q.ch, q.logf = make(chan logJob, size), logf
}

func (q *logQueue) start(wg *sync.WaitGroup, ctx context.Context) {
	for range logWorkers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case job := <-q.ch:
					for _, l := range job.to {
						callLogger(l, job.entry, q.logf)
					}
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

// push queues an entry, or drops it (counted) when the queue is full.
func (q *logQueue) push(job logJob) {
	select {
	case q.ch <- job:
	default:
		if q.dropped.Add(1)%1000 == 1 {
			q.logf("warn", "log plugins are behind: %d entries dropped so far", q.dropped.Load())
		}
	}
}

// logEntry is what Kong's basic serializer reports about the request.
func (p *Proxy) logEntry(ctx *fasthttp.RequestCtx, ex *exchange, rt *route, start time.Time) *plugins.LogEntry {
	e := &plugins.LogEntry{}
	req, resp := &ctx.Request, &ctx.Response
	e.Request.Method = string(req.Header.Method())
	e.Request.URI = string(req.Header.RequestURI())
	scheme := "http"
	if ctx.IsTLS() {
		scheme = "https"
	}
	e.Request.URL = scheme + "://" + string(req.Header.Host()) + e.Request.URI
	e.Request.Headers = map[string]string{}
	for k, v := range req.Header.All() {
		e.Request.Headers[string(bytes.ToLower(k))] = string(v)
	}
	e.Request.Querystring = map[string]string{}
	for k, v := range req.URI().QueryArgs().All() {
		e.Request.Querystring[string(k)] = string(v)
	}
	e.Request.Size = len(req.Header.RawHeaders()) + req.Header.ContentLength()
	e.Response.Status = resp.StatusCode()
	e.Response.Headers = map[string]string{}
	for k, v := range resp.Header.All() {
		e.Response.Headers[string(bytes.ToLower(k))] = string(v)
	}
	e.Response.Size = resp.Header.ContentLength()
	e.Latencies.Request = time.Since(start).Milliseconds()
	e.ClientIP = ex.client.String()
	e.StartedAt = start.UnixMilli()
	if f := bytes.Fields(ex.upReq.line); len(f) == 3 {
		e.UpstreamURI = string(f[1])
	}
	e.Route = plugins.Ref{ID: rt.id, Name: rt.name}
	if rt.service != nil {
		e.Service = plugins.Ref{ID: rt.service.id, Name: rt.service.name}
	}
	e.Consumer = ex.plugin.Consumer
	e.Lua = ex.plugin.Lua
	return e
}
