package plugins

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/netip"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/internal/kongerror"
)

// Factory builds a plugin instance from one plugin row's configuration
// (validated, defaults filled). It runs when the proxy's snapshot is built,
// never per request, so an instance precomputes what its configuration
// allows (compiled patterns, parsed CIDRs, header names).
type Factory func(config map[string]any) (Handler, error)

// Handler is a plugin instance. It implements any of the phase interfaces
// below; the host finds them once by type assertion when it builds chains.
// A handler is shared by every request its row applies to: it must be safe
// for concurrent use and keep per-request state in the Context.
type Handler any

// The phases, in Kong's order. A phase method that returns an error ends the
// request with Kong's 500 ("An unexpected error occurred"); the error goes to
// the error log.
type (
	// Rewriter runs before routing; only global plugins have it run.
	Rewriter interface{ Rewrite(*Context) error }
	// Accessor runs after routing, before the request goes upstream.
	Accessor interface{ Access(*Context) error }
	// HeaderFilterer runs when the answer's status and headers are known
	// (from the upstream or from a plugin's Exit), before they are sent.
	HeaderFilterer interface{ HeaderFilter(*Context) error }
	// Logger runs after the answer, off the request's path, with a copy of
	// what Kong's log serializer reports.
	Logger interface{ Log(*LogEntry) }

	// Responder runs on an answer from the upstream once it is read whole
	// (Kong's `response` phase), before header_filter: Context.Response
	// holds the status, headers and body, which it may change, or replace
	// with Exit. A chain with a Responder has every proxied answer
	// buffered (see BufferBody for the limit); answers Kong makes itself
	// (exits, errors) do not run it.
	Responder interface{ Response(*Context) error }
	// BodyFilterer changes an answer's body (Kong's `body_filter`), after
	// header_filter. Go plugins see the whole body at once: it runs only
	// when a plugin asked for the body with Context.BufferBody in an
	// earlier phase and the body fit the buffer limit, so a plugin must
	// not count on it running. Context.Response.Body() is the body;
	// SetBody replaces it (Content-Length follows).
	BodyFilterer interface{ BodyFilter(*Context) error }
	// Certifier runs during the TLS handshake of the proxy's ssl listeners
	// (Kong's `certificate` phase), before any request: only global
	// plugins have it run. It may choose the certificate presented; an
	// error fails the handshake.
	Certifier interface{ Certificate(*CertContext) error }
	// Phased is a handler that has every phase method but runs only some
	// (a Lua plugin has the methods its module defines): the host asks it
	// once, by Kong's phase name ("certificate", "rewrite", "access", "response",
	// "header_filter", "body_filter", "log"), so a phase it lacks costs
	// nothing.
	Phased interface{ Runs(phase string) bool }
)

// CertContext is a TLS handshake as the certificate phase sees it.
type CertContext struct {
	// ServerName is the SNI the client sent ("" without one).
	ServerName string
	// ClientIP is the connecting peer's address.
	ClientIP netip.Addr
	// Certificate, when a plugin sets it, is presented instead of the one
	// the SNI selects.
	Certificate *tls.Certificate
	Node        Node
}

// Context is one request as plugins see it (Kong's PDK, in Go). The host
// owns it: it is reset and reused after the request, so a plugin keeps
// nothing from it beyond the phase call.
type Context struct {
	// Ctx is the connection and request (address, TLS, counters).
	Ctx *fasthttp.RequestCtx
	// Request is the client's request: headers changed here are what the
	// upstream receives. Response is the answer being built.
	Request  *fasthttp.Request
	Response *fasthttp.Response
	// Node is the node serving the request.
	Node Node
	// Data reads stored entities (credentials, consumers) through a cache;
	// nil when the node has none (tests).
	Data Data
	// Events emits the events plugins publish (Info.Events) to event
	// hooks; nil when the node has event hooks off.
	Events Events
	// Log writes to the node's error log (kong.log) at a level ("err",
	// "warn", "notice"...); nil in tests. Never give it secrets.
	Log func(level, format string, args ...any)
	// ClientIP is the client's address after real_ip processing.
	ClientIP netip.Addr
	// Route and Service are what the request matched (empty in rewrite).
	Route, Service Ref
	// Consumer and Credential are set by an authentication plugin.
	Consumer   map[string]any
	Credential map[string]any
	// Shared is kong.ctx.shared: values plugins pass each other within
	// the request.
	Shared map[string]any
	// Started is when the request was read; RequestID is its
	// X-Kong-Request-Id.
	Started   time.Time
	RequestID []byte
	// URICaptures are the matched regex route's captures
	// (kong.request.get_uri_captures); nil before routing.
	URICaptures Captures
	// Upstream is what plugins set of the request sent to the service
	// beyond the client's request (kong.service.request).
	Upstream UpstreamRequest

	// Target is where plugins send the request instead of the service's
	// peer (kong.service.set_target, kong.service.set_upstream).
	Target UpstreamTarget
	// FromService is set once the answer is the service's (Kong's
	// kong.response.get_source "service").
	FromService bool
	// Lua is the Lua plugin host's state for the request (kong.ctx
	// tables); nil until a Lua plugin needs it.
	Lua any

	exited     bool
	bodyWanted bool
}

// UpstreamTarget replaces the peer the balancer would pick: Host and Port
// (Port 0: the service's port), or the upstream named UpstreamName; and
// the scheme of the request to it ("http" or "https"; "" keeps the
// service's).
type UpstreamTarget struct {
	Host         string
	Port         int
	UpstreamName string
	Scheme       string
}

// Events is how a plugin emits the events it publishes
// (kong.event_hooks.emit). It is safe for concurrent use.
type Events interface {
	// Wants reports whether an event hook listens to source's event, so
	// that a plugin builds the event's data only when it goes somewhere.
	Wants(source, event string) bool
	// Emit hands an event over to event hooks without blocking the
	// request: it is recorded off the request's path (under overload it
	// may be dropped, and the node logs that). data must not change after
	// the call.
	Emit(source, event string, data map[string]any)
}

// Scope is where a plugin row applies: its id and the route, service and
// consumer it is scoped to ("" when it is not). Kong hands these to
// plugins as conf.__plugin_id, conf.route_id, conf.service_id.
type Scope struct{ PluginID, Route, Service, Consumer string }

// Scoped is a handler that needs its row's scope, e.g. to key counters as
// Kong does. The host calls SetScope once, right after the Factory and
// before any phase.
type Scoped interface{ SetScope(Scope) }

// Ref is an entity a request matched: its id, name and stored row (read
// only: it belongs to the configuration snapshot).
type Ref struct {
	ID, Name string
	Row      map[string]any
}

// Node identifies the node (kong.node).
type Node struct{ ID, Hostname string }

// Exit ends the request with status and body, as kong.response.exit: a
// string or []byte body is sent as is, nil sends none, anything else goes
// as JSON. Later access-phase plugins and the upstream are skipped; header
// filters still run.
func (c *Context) Exit(status int, body any, headers map[string]string) {
	c.exited = true
	r := c.Response
	r.Reset()
	r.SetStatusCode(status)
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	switch b := body.(type) {
	case nil:
	case string:
		r.SetBodyString(b)
	case []byte:
		r.SetBody(b)
	default:
		out, err := json.Marshal(b)
		if err != nil {
			out = []byte(`{"message":"An unexpected error occurred"}`)
			r.SetStatusCode(fasthttp.StatusInternalServerError)
		}
		if len(headers) == 0 || len(r.Header.ContentType()) == 0 {
			r.Header.SetContentType("application/json; charset=utf-8")
		}
		r.SetBody(out)
	}
}

// Error ends the request with Kong's error answer, as kong.response.error:
// the message (Kong's default for the status when empty) in the format the
// client accepts, with the request id.
func (c *Context) Error(status int, message string) {
	c.exited = true
	c.Response.Reset()
	if message == "" {
		message = kongerror.Message(status)
	}
	kongerror.Write(c.Ctx, status, message, c.RequestID)
}

// Exited reports whether a plugin ended the request.
func (c *Context) Exited() bool { return c.exited }

// Reset prepares the context for another request.
func (c *Context) Reset() {
	up := c.Upstream
	up.reset()
	*c = Context{Shared: c.Shared, Node: c.Node, Data: c.Data, Events: c.Events, Log: c.Log, Upstream: up}
	if len(c.Shared) > 0 { // clear walks the table even when it is empty
		clear(c.Shared)
	}
}

// LimitedBody is a request body stream a plugin caps: reading past Limit
// fails with a *BodyLimitError, and the proxy answers the client with
// Kong's 413 and Message instead of the upstream's answer.
type LimitedBody struct {
	R       io.Reader
	Limit   int64
	Message string
	read    int64
}

func (b *LimitedBody) Read(p []byte) (int, error) {
	n, err := b.R.Read(p)
	b.read += int64(n)
	if b.read > b.Limit {
		return n, &BodyLimitError{Message: b.Message}
	}
	return n, err
}

// BodyLimitError is a request body cut at a plugin's limit.
type BodyLimitError struct{ Message string }

func (e *BodyLimitError) Error() string { return e.Message }
