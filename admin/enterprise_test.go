package admin

import (
	"testing"
)

// TestUnusedEnterpriseEndpoints: Kong Enterprise's collections Portico does
// not have answer as an unused feature does (empty, not found, deleted),
// writes are refused as unlicensed, filter chains as with wasm off; under a
// workspace prefix too, and a missing parent is 404.
func TestUnusedEnterpriseEndpoints(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/workspaces", map[string]any{"name": "team-a"})
	h.mustCreate("/consumers", map[string]any{"username": "alice"})
	h.mustCreate("/services", map[string]any{"name": "svc", "url": "http://example.com"})
	for _, c := range []struct {
		method, path string
		body         any
		status       int
		message      string
	}{
		{"GET", "/consumer_groups", nil, 200, ""},
		{"GET", "/consumer_groups?size=1&tags=a", nil, 200, ""},
		{"GET", "/consumer_groups?size=0", nil, 400, ""},
		{"GET", "/team-a/consumer_groups", nil, 200, ""},
		{"GET", "/vaults", nil, 200, ""},
		{"GET", "/partials", nil, 200, ""},
		{"GET", "/licenses", nil, 200, ""},
		{"GET", "/mtls-auths", nil, 200, ""},
		{"GET", "/oauth2", nil, 200, ""},
		{"GET", "/degraphql_routes", nil, 200, ""},
		{"GET", "/consumers/alice/consumer_groups", nil, 200, ""},
		{"GET", "/consumers/alice/mtls-auth", nil, 200, ""},
		{"GET", "/consumers/nobody/mtls-auth", nil, 404, msgNotFound},
		{"GET", "/services/svc/degraphql/routes", nil, 200, ""},
		{"GET", "/services/nothing/degraphql/routes", nil, 404, msgNotFound},
		{"GET", "/consumer_groups/gold", nil, 404, msgNotFound},
		{"GET", "/consumer_groups/gold/consumers", nil, 404, msgNotFound},
		{"GET", "/team-a/vaults/env", nil, 404, msgNotFound},
		{"DELETE", "/vaults/v1", nil, 204, ""},
		{"POST", "/consumer_groups", map[string]any{"name": "gold"}, 403, msgUnlicensed},
		{"PUT", "/vaults/env", map[string]any{"name": "env"}, 403, msgUnlicensed},
		{"PATCH", "/team-a/vaults/s", map[string]any{"name": "s"}, 403, msgUnlicensed},
		{"POST", "/consumers/alice/mtls-auth", map[string]any{"subject_name": "x"}, 403, msgUnlicensed},
		{"GET", "/filter-chains", nil, 400, msgWasmDisabled},
		{"POST", "/services/svc/filter-chains", map[string]any{}, 400, msgWasmDisabled},
		{"GET", "/team-a/routes/r/filters/enabled", nil, 400, msgWasmDisabled},
		{"GET", "/nowhere/consumer_groups", nil, 404, ""},
	} {
		r := h.call(c.method, c.path, c.body).want(t, c.status)
		if c.status == 204 {
			continue
		}
		got := r.obj(t)
		if c.status == 200 {
			if data, ok := got["data"].([]any); !ok || len(data) != 0 || got["next"] != nil {
				t.Errorf("%s %s = %v, want an empty page", c.method, c.path, got)
			}
		}
		if c.message != "" && got["message"] != c.message {
			t.Errorf("%s %s: message %v, want %q", c.method, c.path, got["message"], c.message)
		}
	}
}

// TestUnusedEnterpriseEndpointsRBAC: the same endpoints are behind RBAC.
func TestUnusedEnterpriseEndpointsRBAC(t *testing.T) {
	h := newRBACHarness(t)
	h.mustCreate("/rbac/roles", map[string]any{"name": "services-only"})
	h.mustCreate("/rbac/roles/services-only/endpoints", map[string]any{"endpoint": "/services", "actions": "read"})
	rbacUserWith(h, "", "svc-reader", "svc-reader-token", "services-only")
	u := h.with(tokenHeader, "svc-reader-token")
	u.get("/services").want(t, 200)
	u.get("/consumer_groups").want(t, 403)
	u.get("/vaults").want(t, 403)
	h.get("/vaults").want(t, 200)
	h.with(tokenHeader, "wrong").get("/vaults").want(t, 401)
}
