package admin

import (
	"errors"
	"net/http"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/portico-gw/portico/eventhooks"
)

// Messages of the event hooks endpoints (Kong's, where Kong has them).
const (
	msgSourceNotFound   = "Not Found" // Kong's sources endpoints capitalise it
	msgHooksDisabled    = "event hooks are disabled (event_hooks_enabled = off)"
	msgDeliveryNotFound = "Not found"
	msgReceiverFailed   = "the event hook's receiver failed"
)

// routeEventHooks adds Kong's event hooks endpoints beside the generated
// CRUD ones, and Portico's delivery records.
func (a *API) routeEventHooks() {
	if a.db.Entity("event_hooks") == nil {
		return
	}
	a.register([]route{
		{fasthttp.MethodGet, "/event-hooks/sources", a.hookSources},
		{fasthttp.MethodGet, "/event-hooks/sources/{source}", a.hookSources},
		{fasthttp.MethodGet, "/event-hooks/sources/{source}/{event}", a.hookSources},
		{fasthttp.MethodPost, "/event-hooks/{event_hooks}/test", a.hookTest},
		{fasthttp.MethodGet, "/event-hooks/{event_hooks}/ping", a.hookPing},
		{fasthttp.MethodGet, "/event-hooks/{event_hooks}/deliveries", a.hookDeliveries},
		{fasthttp.MethodPost, "/event-hooks/{event_hooks}/deliveries/retry", a.hookRedrive},
		{fasthttp.MethodPost, "/event-hooks/{event_hooks}/deliveries/{delivery}/retry", a.hookRetry},
	})
}

// routeMetrics serves the node's Prometheus metrics.
func (a *API) routeMetrics(h http.Handler) {
	if h == nil {
		return
	}
	a.handle(fasthttp.MethodGet, "/metrics", fasthttpadaptor.NewFastHTTPHandler(h))
	a.endpoint("/metrics")
}

// hooks returns the running service, answering 400 itself when event hooks
// are off.
func (a *API) hooks(ctx *fasthttp.RequestCtx) (*eventhooks.Service, bool) {
	if a.eventHooks == nil {
		writeMessage(ctx, fasthttp.StatusBadRequest, msgHooksDisabled)
		return nil, false
	}
	return a.eventHooks, true
}

// hookSources serves /event-hooks/sources[/{source}[/{event}]].
func (a *API) hookSources(ctx *fasthttp.RequestCtx) {
	all := map[string]map[string]eventhooks.EventInfo{}
	if a.eventHooks != nil {
		all = a.eventHooks.Sources().All()
	}
	source, event := param(ctx, "source"), param(ctx, "event")
	switch {
	case source == "":
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"data": all})
	case event == "":
		events, ok := all[source]
		if !ok {
			writeMessage(ctx, fasthttp.StatusNotFound, msgSourceNotFound)
			return
		}
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"data": events})
	default:
		info, ok := all[source][event]
		if !ok {
			writeMessage(ctx, fasthttp.StatusNotFound, msgSourceNotFound)
			return
		}
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"data": info})
	}
}

// hookTest delivers the posted data to the hook now (Kong's /test).
func (a *API) hookTest(ctx *fasthttp.RequestCtx) {
	svc, ok := a.hooks(ctx)
	if !ok {
		return
	}
	b, err := decodeBody(string(ctx.Request.Header.ContentType()), ctx.PostBody())
	if err != nil {
		a.writeError(ctx, err)
		return
	}
	res, err := svc.Test(ctx, param(ctx, "event_hooks"), b.args)
	if a.hookError(ctx, err) {
		return
	}
	out := map[string]any{"data": res.Data}
	if res.Result != nil {
		out["result"] = map[string]any{"status": res.Result.Status, "headers": res.Result.Headers, "body": res.Result.Body}
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

// hookPing sends the hook's ping now (webhook hooks only).
func (a *API) hookPing(ctx *fasthttp.RequestCtx) {
	svc, ok := a.hooks(ctx)
	if !ok {
		return
	}
	if a.hookError(ctx, svc.Ping(ctx, param(ctx, "event_hooks"))) {
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
}

// hookError answers a service error: unknown hook 404, a handler that
// cannot ping 400, a receiver that failed 502 with the cause. It reports
// whether it answered.
func (a *API) hookError(ctx *fasthttp.RequestCtx, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, eventhooks.ErrHookNotFound), errors.Is(err, eventhooks.ErrDeliveryNotFound):
		notFound(ctx)
	case errors.Is(err, eventhooks.ErrNoPing):
		writeMessage(ctx, fasthttp.StatusBadRequest, err.Error())
	default:
		// The receiver failed: not our fault nor the client's.
		writeJSON(ctx, fasthttp.StatusBadGateway, map[string]any{"message": msgReceiverFailed, "err": err.Error()})
	}
	return true
}

// hookDeliveries lists a hook's delivery records (?status=, size, offset).
func (a *API) hookDeliveries(ctx *fasthttp.RequestCtx) {
	svc, ok := a.hooks(ctx)
	if !ok {
		return
	}
	opts, err := pageOptions(ctx.QueryArgs(), nil)
	if err != nil {
		a.writeError(ctx, err)
		return
	}
	status := string(ctx.QueryArgs().Peek("status"))
	rows, offset, err := svc.Deliveries(ctx, param(ctx, "event_hooks"), status, opts.Size, opts.Offset)
	if err != nil {
		a.writeError(ctx, a.db.MapError(err))
		return
	}
	data := make([]any, len(rows))
	for i, r := range rows {
		data[i] = r
	}
	writeJSON(ctx, fasthttp.StatusOK, pageBody(ctx, data, offset, false))
}

// hookRetry runs one delivery again now.
func (a *API) hookRetry(ctx *fasthttp.RequestCtx) {
	svc, ok := a.hooks(ctx)
	if !ok {
		return
	}
	view, err := svc.Retry(ctx, param(ctx, "event_hooks"), param(ctx, "delivery"))
	if errors.Is(err, eventhooks.ErrDeliveryNotFound) {
		writeMessage(ctx, fasthttp.StatusNotFound, msgDeliveryNotFound)
		return
	}
	if err != nil {
		a.writeError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, view)
}

// hookRedrive runs every delivery of a status (failed by default) again.
func (a *API) hookRedrive(ctx *fasthttp.RequestCtx) {
	svc, ok := a.hooks(ctx)
	if !ok {
		return
	}
	status := string(ctx.QueryArgs().Peek("status"))
	switch status {
	case "", eventhooks.StatusFailed, eventhooks.StatusDelivered, eventhooks.StatusPending:
	default:
		writeJSON(ctx, fasthttp.StatusBadRequest, map[string]any{
			"message": "status must be one of: failed, delivered, pending"})
		return
	}
	n, err := svc.Redrive(ctx, param(ctx, "event_hooks"), status)
	if err != nil {
		a.writeError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"retried": n})
}
