package admin

import (
	"github.com/valyala/fasthttp"
)

// healthChecksOff is the health Kong reports for targets of an upstream
// whose health checks are not running (kong/api/routes/upstreams.lua).
const healthChecksOff = "HEALTHCHECKS_OFF"

// routeUpstreams adds Kong's upstream endpoints that are not plain CRUD:
// /upstreams/{u}/targets/all (every target) and /upstreams/{u}/health.
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
		a.listWith(ctx, targets, parent, func(r map[string]any) map[string]any {
			out := targets.Output(r)
			out["health"] = healthChecksOff
			out["data"] = map[string]any{"addresses": []any{}}
			return out
		}, map[string]any{"node_id": a.node.NodeID})
	})
}
