package admin

import (
	"github.com/valyala/fasthttp"
)

// Kong Enterprise's Admin API has collections for features Portico does not
// have. go-kong and decK read them whenever the gateway reports Kong
// Enterprise's version (a dump lists consumer groups, vaults,
// partials, licenses, mTLS and OAuth2 credentials, filter chains), and a
// 404 there would read as a missing route rather than an unused feature. So
// they are served as Kong Enterprise serves a feature nobody uses: collections
// are empty pages, items are not found, and deleting an absent item succeeds,
// while a write is refused as an unlicensed Kong Enterprise refuses it:
// nothing is stored that would then be ignored.

// msgUnlicensed is Kong Enterprise's answer to a write on a feature its
// license does not cover.
const msgUnlicensed = "Enterprise license missing or expired"

// msgWasmDisabled is Kong's answer on every filter chain endpoint while wasm
// is off (kong/api/routes/filter_chains.lua); Portico has no wasm.
const msgWasmDisabled = "this endpoint is only available when wasm is enabled"

// unusedCollections are the Kong Enterprise collections served empty, by
// parent entity ("" for top-level ones); each also gets its item path.
var unusedCollections = []struct {
	parent, path, item string
}{
	{"", "/consumer_groups", "consumer_groups"},
	{"consumer_groups", "/consumer_groups/{consumer_groups}/consumers", "consumers"},
	{"consumers", "/consumers/{consumers}/consumer_groups", "consumer_groups"},
	{"", "/vaults", "vaults"},
	{"", "/partials", "partials"},
	{"", "/licenses", "licenses"},
	{"", "/mtls-auths", "mtls_auth_credentials"},
	{"consumers", "/consumers/{consumers}/mtls-auth", "mtls_auth_credentials"},
	{"", "/oauth2", "oauth2_credentials"},
	{"consumers", "/consumers/{consumers}/oauth2", "oauth2_credentials"},
	{"", "/oauth2_tokens", "oauth2_tokens"},
	{"", "/degraphql_routes", "degraphql_routes"},
	{"services", "/services/{services}/degraphql/routes", "degraphql_routes"},
	{"", "/graphql-rate-limiting-advanced/costs", "costs"},
	{"services", "/services/{services}/graphql-rate-limiting-advanced/costs", "costs"},
}

// wasmPaths are Kong's filter chain endpoints.
var wasmPaths = []string{
	"/filter-chains", "/filter-chains/{filter_chains}",
	"/filter-chains/{filter_chains}/route", "/filter-chains/{filter_chains}/service",
	"/routes/{routes}/filter-chains", "/routes/{routes}/filter-chains/{filter_chains}",
	"/services/{services}/filter-chains", "/services/{services}/filter-chains/{filter_chains}",
	"/routes/{routes}/filters/enabled", "/routes/{routes}/filters/disabled",
	"/routes/{routes}/filters/all",
}

// routeEnterprise serves the unused Kong Enterprise collections and the
// filter chain endpoints. Through handle they get the workspace prefixes and
// the RBAC check of every other endpoint.
func (a *API) routeEnterprise() {
	for _, c := range unusedCollections {
		c := c
		item := c.path + "/{" + c.item + "}"
		a.endpoint(c.path)
		a.endpoint(item)
		// parentExists answers 404 for a missing parent, as Kong does
		// before looking at the collection.
		parentExists := func(ctx *fasthttp.RequestCtx) bool {
			if c.parent == "" {
				return true
			}
			e := a.db.Entity(c.parent)
			if e == nil { // an unused collection's parent: never there
				notFound(ctx)
				return false
			}
			_, ok := a.selected(ctx, e, param(ctx, c.parent), nil)
			return ok
		}
		a.handle(fasthttp.MethodGet, c.path, func(ctx *fasthttp.RequestCtx) {
			if !parentExists(ctx) {
				return
			}
			if _, err := pageOptions(ctx.QueryArgs(), nil); err != nil {
				a.writeError(ctx, err)
				return
			}
			writeJSON(ctx, fasthttp.StatusOK, map[string]any{"data": []any{}, "next": nil})
		})
		a.handle(fasthttp.MethodPost, c.path, func(ctx *fasthttp.RequestCtx) {
			if parentExists(ctx) {
				writeMessage(ctx, fasthttp.StatusForbidden, msgUnlicensed)
			}
		})
		a.handle(fasthttp.MethodGet, item, func(ctx *fasthttp.RequestCtx) {
			if parentExists(ctx) {
				notFound(ctx)
			}
		})
		for _, m := range []string{fasthttp.MethodPut, fasthttp.MethodPatch} {
			a.handle(m, item, func(ctx *fasthttp.RequestCtx) {
				if parentExists(ctx) {
					writeMessage(ctx, fasthttp.StatusForbidden, msgUnlicensed)
				}
			})
		}
		a.handle(fasthttp.MethodDelete, item, func(ctx *fasthttp.RequestCtx) {
			if parentExists(ctx) {
				ctx.SetStatusCode(fasthttp.StatusNoContent)
			}
		})
	}
	wasmDisabled := func(ctx *fasthttp.RequestCtx) {
		writeMessage(ctx, fasthttp.StatusBadRequest, msgWasmDisabled)
	}
	for _, p := range wasmPaths {
		a.endpoint(p)
		for _, m := range []string{fasthttp.MethodGet, fasthttp.MethodPost, fasthttp.MethodPut, fasthttp.MethodPatch, fasthttp.MethodDelete} {
			a.handle(m, p, wasmDisabled)
		}
	}
}
