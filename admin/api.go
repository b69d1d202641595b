// Package admin serves Kong's Admin API. Endpoints are generated from the
// schema registry (one generic collection/entity/nested/foreign handler set
// for every entity, as Kong's endpoints.lua does); the few special endpoints
// (/, /status, /schemas, /tags ...) sit beside them.
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/internal/requestid"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/dbless"
	"github.com/portico-gw/portico/eventhooks"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/rbac"
)

// Logger is what the Admin API logs through (the node's error log).
type Logger interface {
	Errorf(format string, args ...any)
}

// PluginInfo describes one plugin available on this node.
type PluginInfo struct {
	Name     string
	Version  string
	Priority int
}

// NodeInfo is what GET / reports about the node.
type NodeInfo struct {
	// KongVersion is the Kong Admin API version Portico implements; clients
	// such as decK and go-kong choose their behaviour from it.
	KongVersion string
	// Edition is GET / "edition" ("enterprise" or "community"), and
	// ServerTokens the Server header ("kong/3.9.1.0-enterprise-edition"),
	// both following KongVersion's shape.
	Edition, ServerTokens string
	PorticoVersion        string
	Hostname              string
	NodeID                string
	PID                   int
	// Configuration is the effective configuration with secrets masked.
	Configuration map[string]any
}

// Options configure the Admin API.
type Options struct {
	DB      *db.DB
	Plugins []PluginInfo
	Node    NodeInfo
	Log     Logger
	// Status builds the body of GET /status (the same as the Status API's).
	Status func(ctx context.Context) map[string]any
	// Balancers reports and sets upstream target health; nil when the
	// node runs no proxy.
	Balancers UpstreamHealth
	// EventHooks is the node's event hooks pipeline; nil when
	// event_hooks_enabled is off.
	EventHooks *eventhooks.Service
	// Metrics serves the node's Prometheus metrics on /metrics.
	Metrics http.Handler
	// RBAC, when set (enforce_rbac), requires every request to carry a
	// valid token in RBACHeader, whose roles allow the request.
	RBAC       *rbac.Authenticator
	RBACHeader string
	// Session, when set with RBAC, serves Kong Manager's /auth and lets
	// a session cookie stand for a token.
	Session *SessionOptions
	// Registry is the node's enabled plugin types: plugins with endpoints
	// of their own (proxy-cache) are served through it.
	Registry *plugins.Registry
	// Config is a DB-less node's configuration (GET and POST /config);
	// nil with a database.
	Config *dbless.Manager
}

// API is the Admin API handler. It is safe for concurrent use.
type API struct {
	db         *db.DB
	plugins    []PluginInfo
	node       NodeInfo
	log        Logger
	statusBody func(ctx context.Context) map[string]any
	balancers  UpstreamHealth
	router     *router.Router
	eventHooks *eventhooks.Service
	rbac       *rbac.Authenticator
	rbacHeader string
	registry   *plugins.Registry
	config     *dbless.Manager
	session    *SessionOptions
	endpoints  []string
	roots      map[string]bool // first path segments of the endpoints
	server     []byte          // the Server header value
}

// New builds the Admin API from the DB's schema registry.
func New(opts Options) *API {
	a := &API{
		db:         opts.DB,
		plugins:    opts.Plugins,
		node:       opts.Node,
		log:        opts.Log,
		statusBody: opts.Status,
		balancers:  opts.Balancers,
		eventHooks: opts.EventHooks,
		rbac:       opts.RBAC,
		rbacHeader: opts.RBACHeader,
		registry:   opts.Registry,
		config:     opts.Config,
		session:    opts.Session,
		router:     router.New(),
		roots:      map[string]bool{},
		server:     []byte(opts.Node.ServerTokens),
	}
	if a.log == nil {
		a.log = discardLogger{}
	}
	sort.Slice(a.plugins, func(i, j int) bool { return a.plugins[i].Name < a.plugins[j].Name })
	r := a.router
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.HandleOPTIONS = true
	r.NotFound = a.retryWithoutSlash
	r.MethodNotAllowed = methodNotAllowed
	r.GlobalOPTIONS = func(ctx *fasthttp.RequestCtx) {
		h := &ctx.Response.Header
		h.Set("Access-Control-Allow-Methods", string(h.Peek("Allow")))
		if req := ctx.Request.Header.Peek("Access-Control-Request-Headers"); len(req) > 0 {
			h.SetBytesV("Access-Control-Allow-Headers", req)
			h.Set("Access-Control-Max-Age", "600")
		}
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	}
	r.PanicHandler = a.recoverPanic
	a.routeSpecial()
	a.routeConfig()
	a.routeEntities()
	a.routeUpstreams()
	a.routeEventHooks()
	a.routeRBAC()
	a.routeWorkspaces()
	a.routeMetrics(opts.Metrics)
	a.routeProxyCache()
	a.routeEnterprise()
	sort.Strings(a.endpoints)
	return a
}

// retryWithoutSlash serves /services/ as /services, as Kong's default route
// does, before answering 404.
func (a *API) retryWithoutSlash(ctx *fasthttp.RequestCtx) {
	p := ctx.Request.URI().PathOriginal()
	if len(p) > 1 && p[len(p)-1] == '/' && ctx.UserValue(slashRetried) == nil {
		ctx.SetUserValue(slashRetried, true)
		ctx.Request.URI().SetPath(string(p[:len(p)-1]))
		a.router.Handler(ctx)
		return
	}
	notFound(ctx)
}

// slashRetried marks a request already retried without its trailing slash.
const slashRetried = "portico.slash_retried"

type discardLogger struct{}

func (discardLogger) Errorf(string, ...any) {}

// handle registers a handler; GET handlers also answer HEAD.
// Under enforce_rbac the caller's roles must allow the request first.
func (a *API) handle(method, path string, h fasthttp.RequestHandler) {
	a.addRoot(path)
	if a.rbac != nil && !rbacExempt[path] {
		h = a.authorized(endpointPattern(path), h)
	}
	a.router.Handle(method, path, h)
	if method == fasthttp.MethodGet {
		a.router.Handle(fasthttp.MethodHead, path, h)
	}
}

// endpoint records a path for GET /endpoints.
// A catch-all parameter ({endpoint:*}) is listed as Kong lists it: "*".
func (a *API) endpoint(path string) {
	if i := strings.Index(path, ":*}"); i >= 0 {
		if j := strings.LastIndexByte(path[:i], '{'); j >= 0 {
			path = path[:j] + "*" + path[i+3:]
		}
	}
	a.endpoints = append(a.endpoints, path)
}

// Handler returns the fasthttp handler serving the Admin API.
func (a *API) Handler() fasthttp.RequestHandler {
	inner := a.router.Handler
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		h := &ctx.Response.Header
		h.SetBytesV(fasthttp.HeaderServer, a.server)
		h.Set("X-Kong-Admin-Request-ID", requestid.New())
		a.cors(ctx)
		switch {
		case a.isAuth(ctx):
			a.serveAuth(ctx)
		case (a.rbac == nil || preflight(ctx) || a.authenticated(ctx)) && a.enterWorkspace(ctx):
			inner(ctx)
		}
		h.Set("X-Kong-Admin-Latency", strconv.FormatInt(time.Since(start).Milliseconds(), 10))
	}
}

func (a *API) recoverPanic(ctx *fasthttp.RequestCtx, v any) {
	a.log.Errorf("admin API panic on %s %s: %v\n%s", ctx.Method(), ctx.Path(), v, debug.Stack())
	ctx.Response.ResetBody()
	writeMessage(ctx, fasthttp.StatusInternalServerError, msgInternal)
}

// writeJSON writes v as the response body. Kong prints "/" and "<" as they
// are, so HTML escaping is off.
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = fasthttp.StatusInternalServerError
		buf.Reset()
		fmt.Fprintf(&buf, `{"message":%q}`, msgInternal)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(bytes.TrimRight(buf.Bytes(), "\n"))
}
