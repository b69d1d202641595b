package admin

import (
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/proxy/balancer"
	"github.com/portico-gw/portico/schema"
)

// healthChecksOff is the health Kong reports for targets the balancers do
// not know (yet): no checks run for them (kong/api/routes/upstreams.lua).
const healthChecksOff = "HEALTHCHECKS_OFF"

// UpstreamHealth is what the proxy's balancers tell and take about target
// health.
type UpstreamHealth interface {
	Health(upstreamID string) ([]balancer.TargetHealth, bool)
	BalancerHealth(upstreamID string) (balancer.BalancerHealth, bool)
	SetHealth(upstreamID, target, address string, healthy bool) error
}

// routeUpstreams adds Kong's upstream endpoints that are not plain CRUD:
// /upstreams/{u}/targets/all (every target), the health reports and the
// manual health setters.
func (a *API) routeUpstreams() {
	upstreams, targets := a.db.Entity("upstreams"), a.db.Entity("targets")
	if upstreams == nil || targets == nil {
		return
	}
	parent := &nested{parent: upstreams, field: "upstream"}
	all := "/upstreams/{upstreams}/targets/all"
	a.endpoint(all)
	a.handle(fasthttp.MethodGet, all, func(ctx *fasthttp.RequestCtx) { a.list(ctx, targets, parent) })

	health := "/upstreams/{upstreams}/health"
	a.endpoint(health)
	a.handle(fasthttp.MethodGet, health, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.QueryArgs().Peek("balancer_health")) == "1" {
			a.balancerHealth(ctx, upstreams)
			return
		}
		// Kong pages the targets and adds each one's health.
		var reports map[string]balancer.TargetHealth
		shape := func(r map[string]any) map[string]any {
			if reports == nil {
				reports = a.targetReports(db.RefID(r["upstream"]))
			}
			return withHealth(targets.Output(r), reports)
		}
		a.listWith(ctx, targets, parent, shape, map[string]any{"node_id": a.node.NodeID})
	})

	targetHealth := "/upstreams/{upstreams}/targets/{targets}/health"
	a.endpoint(targetHealth)
	a.handle(fasthttp.MethodGet, targetHealth, func(ctx *fasthttp.RequestCtx) {
		upstreamID, target, ok := a.upstreamTarget(ctx, upstreams, targets)
		if !ok {
			return
		}
		out := withHealth(targets.Output(target), a.targetReports(upstreamID))
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"data": []any{out}, "node_id": a.node.NodeID})
	})

	for _, path := range []string{
		"/upstreams/{upstreams}/targets/{targets}/",
		"/upstreams/{upstreams}/targets/{targets}/{address}/",
	} {
		for _, state := range []string{"healthy", "unhealthy"} {
			healthy := state == "healthy"
			a.endpoint(path + state)
			a.handle(fasthttp.MethodPut, path+state, func(ctx *fasthttp.RequestCtx) {
				a.setTargetHealth(ctx, upstreams, targets, healthy)
			})
		}
	}
}

// targetReports is the balancers' health of an upstream's targets, by id.
func (a *API) targetReports(upstreamID string) map[string]balancer.TargetHealth {
	out := map[string]balancer.TargetHealth{}
	if a.balancers == nil {
		return out
	}
	list, _ := a.balancers.Health(upstreamID)
	for _, t := range list {
		out[t.ID] = t
	}
	return out
}

// withHealth adds health and data to a target's output.
func withHealth(out map[string]any, reports map[string]balancer.TargetHealth) map[string]any {
	id, _ := out[schema.FieldID].(string)
	if r, ok := reports[id]; ok {
		out["health"] = r.Health
		out["data"] = r.Data
		return out
	}
	out["health"] = healthChecksOff
	out["data"] = map[string]any{"addresses": map[string]any{}} // Kong encodes an empty table as {}
	return out
}

func (a *API) balancerHealth(ctx *fasthttp.RequestCtx, upstreams *schema.Entity) {
	up, ok := a.selected(ctx, upstreams, param(ctx, upstreams.Name), nil)
	if !ok {
		return
	}
	var data any = map[string]any{"health": healthChecksOff, "id": up[schema.FieldID]}
	if a.balancers != nil {
		if h, ok := a.balancers.BalancerHealth(db.RefID(up[schema.FieldID])); ok {
			data = h
		}
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"data": data, "next": nil, "node_id": a.node.NodeID})
}

// upstreamTarget finds the upstream's id and its target (by id or
// host:port), answering Kong's 404 itself.
func (a *API) upstreamTarget(ctx *fasthttp.RequestCtx, upstreams, targets *schema.Entity) (string, map[string]any, bool) {
	scope, ok := a.scope(ctx, &nested{parent: upstreams, field: "upstream"})
	if !ok {
		return "", nil, false
	}
	target, ok := a.selected(ctx, targets, param(ctx, targets.Name), scope)
	if !ok {
		return "", nil, false
	}
	return scope.ID, target, true
}

// setTargetHealth is PUT .../healthy|unhealthy: Kong's 204, 404 for an
// unknown upstream or target, 400 with the balancer's message otherwise.
func (a *API) setTargetHealth(ctx *fasthttp.RequestCtx, upstreams, targets *schema.Entity, healthy bool) {
	upstreamID, target, ok := a.upstreamTarget(ctx, upstreams, targets)
	if !ok {
		return
	}
	if a.balancers == nil {
		writeMessage(ctx, fasthttp.StatusBadRequest, "the proxy is not running on this node")
		return
	}
	address, _ := ctx.UserValue("address").(string)
	err := a.balancers.SetHealth(upstreamID, target["target"].(string), address, healthy)
	var he *balancer.HealthError
	switch {
	case err == nil:
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	case errors.Is(err, balancer.ErrUnknownTarget):
		notFound(ctx)
	case errors.As(err, &he):
		writeMessage(ctx, fasthttp.StatusBadRequest, he.Message)
	default:
		a.writeError(ctx, err)
	}
}
