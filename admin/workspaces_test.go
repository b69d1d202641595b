package admin

import (
	"net/url"
	"reflect"
	"slices"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/schema/entities"
)

func TestWorkspaceEntity(t *testing.T) {
	h := newHarness(t)
	ws := h.mustCreate("/workspaces", map[string]any{"name": "team-a", "comment": "the A team"})
	wantFields(t, ws, map[string]any{"name": "team-a", "comment": "the A team",
		"meta": map[string]any{"color": nil, "thumbnail": nil}})
	cfg, _ := ws["config"].(map[string]any)
	if cfg["portal"] != false || cfg["portal_auth"] != nil {
		t.Errorf("config %s, want portal false and the rest null", js(cfg))
	}
	def := h.get("/workspaces/default").want(t, 200).obj(t)
	if def["name"] != "default" {
		t.Fatalf("default workspace %s", js(def))
	}
	if self := h.get("/team-a/workspaces/team-a").want(t, 200).obj(t); self["id"] != ws["id"] {
		t.Errorf("team-a under its prefix: %s", js(self))
	}

	runAPICases(t, h, []apiCase{
		{"rename", "PATCH", "/workspaces/team-a", map[string]any{"name": "team-b"}, 400, "Cannot rename a workspace"},
		{"rename by PUT", "PUT", "/workspaces/" + ws["id"].(string), map[string]any{"name": "team-b"}, 400, "Cannot rename a workspace"},
		{"delete default", "DELETE", "/workspaces/default", nil, 400, "Cannot delete default workspace"},
		{"cascade does not delete default", "DELETE", "/workspaces/default?cascade=true", nil, 400, "Cannot delete default workspace"},
		{"unknown under a prefix", "GET", "/nowhere/consumers", nil, 404, "Workspace 'nowhere' not found"},
		{"encoded slash in the prefix", "GET", "/team%2Fa/consumers", nil, 404, "Workspace 'team/a' not found"},
		{"no such endpoint under an unknown prefix", "GET", "/nowhere/nothing", nil, 404, "Not found"},
		{"workspaces only from the default one", "GET", "/team-a/workspaces", nil, 404, "Not found"},
		// go-kong's Workspaces.ExistsByName (decK, the Ingress Controller).
		{"a workspace reads itself under its prefix", "GET", "/team-a/workspaces/team-a", nil, 200, nil},
		{"by id", "GET", "/team-a/workspaces/" + ws["id"].(string), nil, 200, nil},
		{"and its meta", "GET", "/team-a/workspaces/team-a/meta", nil, 200, nil},
		{"not another workspace", "GET", "/team-a/workspaces/default", nil, 404, "Not found"},
		{"nor writes itself", "PATCH", "/team-a/workspaces/team-a", map[string]any{"comment": "x"}, 404, "Not found"},
		{"nor deletes itself", "DELETE", "/team-a/workspaces/team-a", nil, 404, "Not found"},
		{"dot segments", "GET", "/team-a/../consumers", nil, 404, "Not found"},
		{"encoded dot segments", "GET", "/team-a/%2e%2e/consumers", nil, 404, "Not found"},
		{"dot segment after an endpoint", "GET", "/consumers/../rbac/users", nil, 404, "Not found"},
	})

	t.Run("reserved names", func(t *testing.T) {
		for _, name := range []string{"services", "consumers", "rbac", "event-hooks", "status"} {
			r := h.json("POST", "/workspaces", map[string]any{"name": name}).want(t, 400)
			if f, _ := r.obj(t)["fields"].(map[string]any); f == nil || f["name"] == nil {
				t.Errorf("%s: %s, want an error naming the field", name, r.raw)
			}
		}
		h.json("POST", "/workspaces", map[string]any{"name": "a/b"}).want(t, 400)
	})
}

// TestWorkspaceRootsAreReserved keeps workspace names and the Admin API's
// first path segments apart, so a prefix is never mistaken for an endpoint.
func TestWorkspaceRootsAreReserved(t *testing.T) {
	h := newHarness(t)
	for _, root := range h.api.Roots() {
		if !slices.Contains(entities.ReservedWorkspaceNames, root) {
			t.Errorf("the Admin API root %q is not a reserved workspace name", root)
		}
	}
}

func TestWorkspaceIsolation(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/workspaces", map[string]any{"name": "team-a"})
	h.mustCreate("/workspaces", map[string]any{"name": "team-b"})

	// One name per workspace: both workspaces may have alice.
	alice := h.mustCreate("/consumers", map[string]any{"username": "alice"})
	aliceA := h.mustCreate("/team-a/consumers", map[string]any{"username": "alice", "custom_id": "a1"})
	if alice["id"] == aliceA["id"] {
		t.Fatal("two workspaces' alice share an id")
	}
	if _, shown := aliceA["ws_id"]; shown {
		t.Errorf("ws_id shown in an Admin API answer: %s", js(aliceA))
	}
	r := h.json("POST", "/team-a/consumers", map[string]any{"username": "alice"}).want(t, 409)
	if msg := r.obj(t)["message"]; msg != `UNIQUE violation detected on '{username="alice"}'` {
		t.Errorf("unique violation %q names more than the field", msg)
	}

	// Node information at /kong, with or without a workspace prefix, as
	// Kong Enterprise serves it (decK reads the version there).
	for _, path := range []string{"/kong", "/team-a/kong", "/default/kong"} {
		if got := h.get(path).want(t, 200).obj(t); got["version"] != testKongVersion || got["tagline"] != "Welcome to kong" {
			t.Errorf("%s = %s, want the node's information", path, js(got))
		}
	}

	// /default/... is /...
	if got := h.get("/default/consumers/alice").want(t, 200).obj(t); got["id"] != alice["id"] {
		t.Errorf("/default/consumers/alice = %s, want the default workspace's alice", js(got))
	}
	cases := []struct {
		path string
		want []string // ids, for a list; one id, for an entity; none for a 404
	}{
		{"/consumers", []string{alice["id"].(string)}},
		{"/default/consumers", []string{alice["id"].(string)}},
		{"/team-a/consumers", []string{aliceA["id"].(string)}},
		{"/team-b/consumers", nil},
		{"/team-a/consumers/alice", []string{aliceA["id"].(string)}},
		{"/team-a/consumers/" + alice["id"].(string), nil},
		{"/team-b/consumers/alice", nil},
		{"/team-b/consumers/" + aliceA["id"].(string), nil},
		{"/consumers/" + aliceA["id"].(string), nil},
		{"/team-a/consumers?custom_id=a1", []string{aliceA["id"].(string)}},
		{"/consumers?custom_id=a1", nil},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			u, _ := url.Parse(c.path)
			r := h.get(c.path)
			if isList := u.Path == "/consumers" || u.Path == "/default/consumers" || len(u.Path) > 9 && u.Path[len(u.Path)-9:] == "consumers"; isList {
				got := ids(t, r.want(t, 200).obj(t))
				if len(got) == 0 && len(c.want) == 0 {
					return
				}
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("ids %v, want %v", got, c.want)
				}
				return
			}
			if len(c.want) == 0 {
				r.want(t, 404)
				return
			}
			if got := r.want(t, 200).obj(t)["id"]; got != c.want[0] {
				t.Errorf("id %v, want %s", got, c.want[0])
			}
		})
	}

	t.Run("writes stay in their workspace", func(t *testing.T) {
		h.json("PATCH", "/team-b/consumers/alice", map[string]any{"custom_id": "x"}).want(t, 404)
		h.do("DELETE", "/team-b/consumers/"+aliceA["id"].(string), "", nil).want(t, 204)
		h.get("/team-a/consumers/alice").want(t, 200)
		// PUT of another workspace's id cannot take it over.
		h.json("PUT", "/team-b/consumers/"+aliceA["id"].(string), map[string]any{"username": "mallory"}).want(t, 400)
		if got := h.get("/team-a/consumers/alice").want(t, 200).obj(t); got["username"] != "alice" {
			t.Errorf("alice became %s", js(got))
		}
	})

	t.Run("references stay in their workspace", func(t *testing.T) {
		svc := h.mustCreate("/services", map[string]any{"name": "s", "url": "http://example.com"})
		r := h.json("POST", "/team-a/routes", map[string]any{"paths": []any{"/x"}, "service": ref(svc["id"])}).want(t, 400)
		if r.obj(t)["name"] != "foreign key violation" {
			t.Errorf("a route in team-a on a default service: %s", r.raw)
		}
		h.json("POST", "/team-a/services/s/routes", map[string]any{"paths": []any{"/x"}}).want(t, 404)
		svcA := h.mustCreate("/team-a/services", map[string]any{"name": "s", "url": "http://example.com"})
		route := h.mustCreate("/team-a/services/s/routes", map[string]any{"paths": []any{"/x"}})
		if got := h.get("/team-a/routes/"+route["id"].(string)+"/service").want(t, 200).obj(t); got["id"] != svcA["id"] {
			t.Errorf("the route's service is %s, want team-a's", js(got))
		}
		h.get("/routes/"+route["id"].(string)).want(t, 404)
		// A global plugin per workspace: the cache key includes it.
		h.mustCreate("/plugins", map[string]any{"name": "cors"})
		h.mustCreate("/team-a/plugins", map[string]any{"name": "cors"})
		h.json("POST", "/team-a/plugins", map[string]any{"name": "cors"}).want(t, 409)
	})

	t.Run("page links keep the prefix", func(t *testing.T) {
		h.mustCreate("/team-b/consumers", map[string]any{"username": "b1"})
		h.mustCreate("/team-b/consumers", map[string]any{"username": "b2"})
		page := h.get("/team-b/consumers?size=1").want(t, 200).obj(t)
		next, _ := page["next"].(string)
		if len(next) < 16 || next[:16] != "/team-b/consumer" {
			t.Fatalf("next %q, want a link under /team-b", next)
		}
		h.get(next).want(t, 200)
	})

	t.Run("meta counts", func(t *testing.T) {
		got := h.get("/workspaces/team-a/meta").want(t, 200).obj(t)
		want := map[string]any{"counts": map[string]any{"consumers": 1.0, "services": 1.0, "routes": 1.0, "plugins": 1.0}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("meta %s, want %s", js(got), js(want))
		}
		h.get("/workspaces/nowhere/meta").want(t, 404)
	})

	t.Run("delete a non-empty workspace", func(t *testing.T) {
		r := h.do("DELETE", "/workspaces/team-a", "", nil).want(t, 400)
		want := map[string]any{"message": "Workspace is not empty",
			"entities": map[string]any{"consumers": 1.0, "services": 1.0, "routes": 1.0, "plugins": 1.0}}
		if got := r.obj(t)["message"]; !reflect.DeepEqual(got, want) {
			t.Errorf("message %s, want %s", js(got), js(want))
		}
		h.get("/team-a/consumers/alice").want(t, 200)
		h.do("DELETE", "/workspaces/team-a?cascade=true", "", nil).want(t, fasthttp.StatusNoContent)
		h.get("/workspaces/team-a").want(t, 404)
		wantMessage(t, h.get("/team-a/consumers"), 404, "Workspace 'team-a' not found")
		h.get("/consumers/alice").want(t, 200)
		h.get("/plugins").want(t, 200)
	})
}

func TestWorkspaceTags(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/workspaces", map[string]any{"name": "team-a"})
	mine := h.mustCreate("/consumers", map[string]any{"username": "alice", "tags": []any{"t1"}})
	theirs := h.mustCreate("/team-a/consumers", map[string]any{"username": "alice", "tags": []any{"t1"}})
	for path, want := range map[string]any{"/tags": mine["id"], "/tags/t1": mine["id"], "/team-a/tags/t1": theirs["id"]} {
		data, _ := h.get(path).want(t, 200).obj(t)["data"].([]any)
		if len(data) != 1 || data[0].(map[string]any)["entity_id"] != want {
			t.Errorf("%s: %s, want only %v", path, js(data), want)
		}
	}
}
