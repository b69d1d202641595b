package plugins

import (
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
)

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

	// Upstream is what plugins changed about the upstream request besides
	// its headers and body (kong.service.set_target,
	// kong.service.request.set_path ...); its zero value changes nothing.
	Upstream Upstream
	// FromService is set once the answer is the service's (Kong's
	// kong.response.get_source "service").
	FromService bool
	// Lua is the Lua plugin host's state for the request (kong.ctx
	// tables); nil until a Lua plugin needs it.
	Lua any

	exited bool
}

// Upstream holds changes to the upstream request the proxy applies when
// it builds it.
type Upstream struct {
	// Path replaces Kong's upstream path when not nil.
	Path []byte
	// Query replaces the query string when QuerySet (empty: none).
	Query    []byte
	QuerySet bool
	// Host and Port replace the peer the balancer would pick (Port 0: the
	// service's port).
	Host string
	Port int
	// UpstreamName balances over the upstream of that name instead of the
	// service's host.
	UpstreamName string
}

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
	*c = Context{Shared: c.Shared, Node: c.Node, Data: c.Data}
	if len(c.Shared) > 0 { // clear walks the table even when it is empty
		clear(c.Shared)
	}
}

// LogEntry is what Kong's basic log serializer reports about a request
// (kong/pdk/log.lua serialize), handed to log plugins after the answer.
type LogEntry struct {
	Request struct {
		Method, URI, URL string
		Headers          map[string]string
		Size             int
		Querystring      map[string]string
	}
	Response struct {
		Status  int
		Headers map[string]string
		Size    int
	}
	Latencies struct {
		Kong, Proxy, Request int64 // milliseconds
	}
	ClientIP    string
	StartedAt   int64 // milliseconds since the epoch
	UpstreamURI string
	Route       Ref
	Service     Ref
	Consumer    map[string]any
	// Lua is the request's Context.Lua (kong.ctx tables for the Lua log
	// phase).
	Lua any
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
