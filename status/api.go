package status

import (
	"encoding/json"
	"net/http"
	"sync/atomic"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Kong's Status API messages (kong/status/ready.lua, kong/api/api_helpers.lua).
const (
	msgReady          = "ready"
	msgDraining       = "draining"
	msgDatabase       = "failed to connect to database"
	msgRouterNotBuilt = "router builds not yet complete"
	msgNotFound       = "Not found"
	msgMethod         = "Method not allowed"
	// DB-less mode: a node holding no configuration is not ready.
	msgEmptyConfiguration  = "no configuration available (empty configuration present)"
	emptyConfigurationHash = "00000000000000000000000000000000"
)

// APIOptions configure the Status API.
type APIOptions struct {
	Reporter *Reporter
	// Routing reports whether the node has loaded its configuration and its
	// proxy routes requests (its router is built and its listeners serve).
	Routing func() bool
	// Metrics serves GET /metrics in the Prometheus text format.
	Metrics http.Handler
	// Log, when set, is told why the node is not ready.
	Log func(format string, args ...any)
}

// API is Kong's Status API: GET /status, GET /status/ready, POST
// /status/ready (status=draining) and GET /metrics, without authentication,
// as in Kong. It is safe for concurrent use.
type API struct {
	opts     APIOptions
	draining atomic.Bool
	metrics  fasthttp.RequestHandler
}

// NewAPI returns the Status API.
func NewAPI(opts APIOptions) *API {
	a := &API{opts: opts}
	if opts.Metrics != nil {
		a.metrics = fasthttpadaptor.NewFastHTTPHandler(opts.Metrics)
	}
	return a
}

// Drain makes GET /status/ready answer 503 {"message":"draining"} from now
// on, as POST /status/ready status=draining (kong drain) does.
func (a *API) Drain() { a.draining.Store(true) }

// Handler serves the Status API.
func (a *API) Handler(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	get := ctx.IsGet() || ctx.IsHead()
	switch {
	case path == "/status" && get:
		writeJSON(ctx, fasthttp.StatusOK, a.opts.Reporter.Body(ctx))
	case path == "/status/ready" && get:
		a.ready(ctx)
	case path == "/status/ready" && ctx.IsPost():
		a.drain(ctx)
	case path == "/metrics" && get && a.metrics != nil:
		a.metrics(ctx)
	case path == "/status" || path == "/status/ready" || (path == "/metrics" && a.metrics != nil):
		writeJSON(ctx, fasthttp.StatusMethodNotAllowed, map[string]any{"message": msgMethod})
	default:
		writeJSON(ctx, fasthttp.StatusNotFound, map[string]any{"message": msgNotFound})
	}
}

// ready answers Kong's readiness probe (kong/status/ready.lua, traditional
// mode): draining first, then the database, then the router.
func (a *API) ready(ctx *fasthttp.RequestCtx) {
	reason := ""
	switch {
	case a.draining.Load():
		writeJSON(ctx, fasthttp.StatusServiceUnavailable, map[string]any{"message": msgDraining})
		return
	case !a.opts.Reporter.Reachable(ctx):
		reason = msgDatabase
	case a.opts.Routing != nil && !a.opts.Routing():
		reason = msgRouterNotBuilt
	case a.opts.Reporter.opts.ConfigurationHash != nil && a.opts.Reporter.opts.ConfigurationHash() == emptyConfigurationHash:
		reason = msgEmptyConfiguration
	}
	if reason != "" {
		if a.opts.Log != nil {
			a.opts.Log("not ready for proxying: %s", reason)
		}
		writeJSON(ctx, fasthttp.StatusServiceUnavailable, map[string]any{"message": reason})
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"message": msgReady})
}

// drain is POST /status/ready: status=draining (JSON or form) answers 204
// and turns readiness off for good; anything else is a bare 400, as in Kong.
func (a *API) drain(ctx *fasthttp.RequestCtx) {
	status := ""
	if ct := ctx.Request.Header.ContentType(); len(ct) >= 16 && string(ct[:16]) == "application/json" {
		var body struct {
			Status string `json:"status"`
		}
		if json.Unmarshal(ctx.PostBody(), &body) == nil {
			status = body.Status
		}
	} else {
		status = string(ctx.PostArgs().Peek("status"))
		if status == "" {
			status = string(ctx.QueryArgs().Peek("status"))
		}
	}
	if status != msgDraining {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		return
	}
	a.Drain()
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = fasthttp.StatusInternalServerError, []byte(`{"message":"An unexpected error occurred"}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(b)
}
