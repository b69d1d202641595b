package admin

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/rbac"
)

const (
	tokenHeader = "Kong-Admin-Token"
	superToken  = "kong-admin-password"
)

// newRBACHarness serves an Admin API with enforce_rbac on, bootstrapped
// with the super admin kong_admin (token superToken), and returns it
// authenticated as kong_admin.
func newRBACHarness(t *testing.T) *harness {
	t.Helper()
	t.Setenv(rbac.PasswordEnv, superToken)
	bus := &events.Bus{}
	api := newAPIWith(t, db.Options{Bus: bus}, func(d *db.DB, o *Options) {
		if err := rbac.Bootstrap(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		o.RBAC, o.RBACHeader = rbac.New(d, bus), tokenHeader
	})
	return serveAPI(t, api).with(tokenHeader, superToken)
}

// rbacUser creates an RBAC user holding token and the given roles (of the
// workspace prefix, "" for the default one).
func rbacUserWith(h *harness, prefix, name, token string, roles ...string) {
	h.tb.Helper()
	h.mustCreate(prefix+"/rbac/users", map[string]any{"name": name, "user_token": token})
	h.json("POST", prefix+"/rbac/users/"+name+"/roles", map[string]any{"roles": strings.Join(roles, ",")}).want(h.tb, 201)
}

func TestRBACRoleMatrix(t *testing.T) {
	h := newRBACHarness(t)
	h.mustCreate("/workspaces", map[string]any{"name": "team-a"})
	h.mustCreate("/consumers", map[string]any{"username": "alice"})
	h.mustCreate("/team-a/consumers", map[string]any{"username": "alice"})

	// A role that manages consumers in default only, and another that
	// denies deleting them: the denial wins over the grant.
	h.mustCreate("/rbac/roles", map[string]any{"name": "consumer-clerk"})
	h.mustCreate("/rbac/roles/consumer-clerk/endpoints", map[string]any{"endpoint": "/consumers", "actions": "read,create"})
	h.mustCreate("/rbac/roles/consumer-clerk/endpoints", map[string]any{"endpoint": "/consumers/*", "actions": "*"})
	h.mustCreate("/rbac/roles", map[string]any{"name": "no-deleting"})
	h.mustCreate("/rbac/roles/no-deleting/endpoints", map[string]any{"endpoint": "/consumers/*", "actions": "delete", "negative": true})
	// A role of team-a, created there: everything, but in team-a only.
	h.mustCreate("/team-a/rbac/roles", map[string]any{"name": "team-a-owner"})
	h.mustCreate("/team-a/rbac/roles/team-a-owner/endpoints", map[string]any{"endpoint": "*", "actions": "*"})

	rbacUserWith(h, "", "reader", "reader-token", "read-only")
	rbacUserWith(h, "", "operator", "operator-token", "admin")
	rbacUserWith(h, "", "clerk", "clerk-token", "consumer-clerk", "no-deleting")
	rbacUserWith(h, "/team-a", "owner-a", "owner-a-token", "team-a-owner")
	h.mustCreate("/rbac/users", map[string]any{"name": "roleless", "user_token": "roleless-token"})

	forbidden := func(user, action string) string {
		return fmt.Sprintf("%s, you do not have permissions to %s this resource", user, action)
	}
	cases := []struct {
		token, method, path string
		body                any
		status              int
		message             string
	}{
		{superToken, "GET", "/rbac/users", nil, 200, ""},
		{superToken, "POST", "/team-a/consumers", map[string]any{"username": "by-super"}, 201, ""},

		{"reader-token", "GET", "/consumers", nil, 200, ""},
		{"reader-token", "GET", "/team-a/consumers/alice", nil, 200, ""},
		{"reader-token", "HEAD", "/consumers", nil, 200, ""},
		{"reader-token", "POST", "/consumers", map[string]any{"username": "x"}, 403, forbidden("reader", "create")},
		{"reader-token", "PATCH", "/consumers/alice", map[string]any{"custom_id": "x"}, 403, forbidden("reader", "update")},
		{"reader-token", "PUT", "/consumers/zed", map[string]any{}, 403, forbidden("reader", "update")},
		{"reader-token", "DELETE", "/consumers/alice", nil, 403, forbidden("reader", "delete")},

		{"operator-token", "POST", "/services", map[string]any{"name": "s", "url": "http://example.com"}, 201, ""},
		{"operator-token", "POST", "/team-a/consumers", map[string]any{"username": "by-operator"}, 201, ""},
		{"operator-token", "GET", "/rbac/users", nil, 403, forbidden("operator", "read")},
		{"operator-token", "POST", "/rbac/roles", map[string]any{"name": "x"}, 403, forbidden("operator", "create")},
		{"operator-token", "POST", "/rbac/roles/admin/endpoints", map[string]any{"endpoint": "*", "actions": "*"}, 403, forbidden("operator", "create")},
		{"operator-token", "POST", "/admins/kong_admin/roles", map[string]any{"roles": "super-admin"}, 403, forbidden("operator", "create")},
		{"operator-token", "GET", "/admins", nil, 403, forbidden("operator", "read")},

		{"clerk-token", "GET", "/consumers", nil, 200, ""},
		{"clerk-token", "POST", "/consumers", map[string]any{"username": "by-clerk"}, 201, ""},
		{"clerk-token", "PATCH", "/consumers/alice", map[string]any{"custom_id": "c1"}, 200, ""},
		{"clerk-token", "DELETE", "/consumers/alice", nil, 403, forbidden("clerk", "delete")},
		{"clerk-token", "GET", "/services", nil, 403, forbidden("clerk", "read")},
		{"clerk-token", "GET", "/consumers/alice/plugins", nil, 403, forbidden("clerk", "read")},
		{"clerk-token", "GET", "/team-a/consumers", nil, 403, forbidden("clerk", "read")},

		// A role granting another workspace grants nothing here.
		{"owner-a-token", "GET", "/team-a/consumers", nil, 200, ""},
		{"owner-a-token", "DELETE", "/team-a/consumers/by-super", nil, 204, ""},
		{"owner-a-token", "GET", "/consumers", nil, 403, forbidden("owner-a", "read")},
		{"owner-a-token", "GET", "/default/consumers", nil, 403, forbidden("owner-a", "read")},
		{"owner-a-token", "POST", "/workspaces", map[string]any{"name": "mine"}, 403, forbidden("owner-a", "create")},

		// Bad credentials, wherever they are.
		{"roleless-token", "GET", "/consumers", nil, 401, "Invalid RBAC credentials"},
		{"", "GET", "/consumers", nil, 401, "Invalid RBAC credentials"},
		{"nope", "GET", "/status", nil, 401, "Invalid RBAC credentials"},
		{strings.Repeat("x", 2000), "GET", "/consumers", nil, 401, "Invalid RBAC credentials"},
		{"", "GET", "/consumers?Kong-Admin-Token=" + superToken, nil, 401, "Invalid RBAC credentials"},
		{"", "POST", "/consumers", map[string]any{"username": "x", "Kong-Admin-Token": superToken}, 401, "Invalid RBAC credentials"},
		{"", "GET", "/nowhere/consumers", nil, 401, "Invalid RBAC credentials"},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%.16s %s %s", c.token, c.method, c.path)
		t.Run(name, func(t *testing.T) {
			hc := h.with(tokenHeader, c.token)
			r := hc.call(c.method, c.path, c.body)
			r.want(t, c.status)
			if c.message != "" {
				wantMessage(t, r, c.status, c.message)
			}
			if strings.Contains(string(r.raw), superToken) || strings.Contains(string(r.raw), "$2a$") {
				t.Errorf("the answer shows a token or its hash: %s", r.raw)
			}
		})
	}
}

func TestRBACRoleEndpoints(t *testing.T) {
	h := newRBACHarness(t)
	h.mustCreate("/workspaces", map[string]any{"name": "team-a"})
	role := h.mustCreate("/rbac/roles", map[string]any{"name": "dev", "comment": "developers"})
	wantFields(t, role, map[string]any{"name": "dev", "comment": "developers", "is_default": false})

	ep := h.do("POST", "/rbac/roles/dev/endpoints", mimeForm, []byte("endpoint=services/&actions=read,update")).want(t, 201).obj(t)
	want := map[string]any{"endpoint": "/services", "workspace": "default", "actions": []any{"read", "update"},
		"negative": false, "role": map[string]any{"id": role["id"]}, "comment": nil}
	for k, v := range want {
		if !reflect.DeepEqual(ep[k], v) {
			t.Errorf("%s = %s, want %s", k, js(ep[k]), js(v))
		}
	}
	if _, hasID := ep["id"]; hasID {
		t.Errorf("a role endpoint shows an id: %s", js(ep))
	}
	h.mustCreate("/rbac/roles/dev/endpoints", map[string]any{"endpoint": "*", "workspace": "team-a", "actions": []any{"*"}})

	runAPICases(t, h, []apiCase{
		{"missing endpoint", "POST", "/rbac/roles/dev/endpoints", map[string]any{"actions": "read"}, 400, "'endpoint' is a required field"},
		{"unknown action", "POST", "/rbac/roles/dev/endpoints", map[string]any{"endpoint": "/x", "actions": "read,fly"}, 400, "Undefined RBAC action fly"},
		{"unknown workspace", "POST", "/rbac/roles/dev/endpoints", map[string]any{"endpoint": "/x", "actions": "read", "workspace": "nowhere"}, 404, "Workspace nowhere does not exist"},
		{"duplicate", "POST", "/rbac/roles/dev/endpoints", map[string]any{"endpoint": "/services", "actions": "read"}, 409, nil},
		{"unknown role", "POST", "/rbac/roles/nobody/endpoints", map[string]any{"endpoint": "/x", "actions": "read"}, 404, "Not found"},
		{"get one", "GET", "/rbac/roles/dev/endpoints/default/services", nil, 200, nil},
		{"get the wildcard", "GET", "/rbac/roles/dev/endpoints/team-a/*", nil, 200, nil},
		{"get a missing one", "GET", "/rbac/roles/dev/endpoints/default/routes", nil, 404, "Not found"},
		{"patch", "PATCH", "/rbac/roles/dev/endpoints/default/services", map[string]any{"actions": "delete", "negative": true}, 200, nil},
		{"entity: missing id", "POST", "/rbac/roles/dev/entities", map[string]any{"actions": "read"}, 400, "Missing required parameter: 'entity_id'"},
		{"entity: not a uuid", "POST", "/rbac/roles/dev/entities", map[string]any{"entity_id": "abc", "entity_type": "services", "actions": "read"}, 400, "abc is not a valid uuid"},
		{"entity: missing type", "POST", "/rbac/roles/dev/entities", map[string]any{"entity_id": role["id"], "actions": "read"}, 400, "Missing required parameter: 'entity_type'"},
		{"entity: no such entity", "POST", "/rbac/roles/dev/entities", map[string]any{"entity_id": "6f2d6b3c-1111-4222-8333-444455556666", "entity_type": "services", "actions": "read"}, 400, "There is no entity of type 'services' with given entity_id"},
		{"entity: wildcard", "POST", "/rbac/roles/dev/entities", map[string]any{"entity_id": "*", "actions": "read"}, 201, nil},
		{"entity: get", "GET", "/rbac/roles/dev/entities/*", nil, 200, nil},
		{"entity: bad id", "GET", "/rbac/roles/dev/entities/abc", nil, 400, "abc is not a valid uuid"},
		{"roles: none given", "POST", "/rbac/users/kong_admin/roles", map[string]any{}, 403, "the admin should not update their own roles"},
		{"own role's endpoints", "POST", "/rbac/roles/super-admin/endpoints", map[string]any{"endpoint": "/x", "actions": "read"}, 403, "the admin should not update their own roles"},
		{"own role's endpoint, patched", "PATCH", "/rbac/roles/super-admin/endpoints/*/*", map[string]any{"actions": "read"}, 403, "the admin should not update or delete their own endpoints"},
		{"own role's endpoint, deleted", "DELETE", "/rbac/roles/super-admin/endpoints/*/*", nil, 403, "the admin should not update or delete their own endpoints"},
		{"another role's endpoint", "GET", "/rbac/roles/read-only/endpoints/*/*", nil, 200, nil},
		{"delete", "DELETE", "/rbac/roles/dev/endpoints/default/services", nil, 204, nil},
		{"delete again", "DELETE", "/rbac/roles/dev/endpoints/default/services", nil, 204, nil},
	})

	list := h.get("/rbac/roles/dev/endpoints").want(t, 200).obj(t)
	if data, _ := list["data"].([]any); len(data) != 1 {
		t.Errorf("endpoints after the delete: %s", js(list))
	}
	perms := h.get("/rbac/roles/dev/permissions").want(t, 200).obj(t)
	if got := js(perms["endpoints"]); got != `{"team-a":{"*":{"create":{"negative":false},"delete":{"negative":false},"read":{"negative":false},"update":{"negative":false}}}}` {
		t.Errorf("permissions %s", got)
	}

	t.Run("assigning roles", func(t *testing.T) {
		h.mustCreate("/rbac/users", map[string]any{"name": "bob", "user_token": "bob-token"})
		wantMessage(t, h.json("POST", "/rbac/users/bob/roles", map[string]any{}), 400, "must provide >= 1 role")
		wantMessage(t, h.json("POST", "/rbac/users/bob/roles", map[string]any{"roles": "dev,ghost"}), 400, "role not found with name 'ghost'")
		r := h.do("POST", "/rbac/users/bob/roles", mimeForm, []byte("roles=dev,read-only")).want(t, 201).obj(t)
		if names := roleNamesOf(r); !reflect.DeepEqual(names, []string{"dev", "read-only"}) {
			t.Errorf("roles %v", names)
		}
		if u, _ := r["user"].(map[string]any); u["name"] != "bob" || u["user_token"] != nil {
			t.Errorf("user %s", js(r["user"]))
		}
		h.do("DELETE", "/rbac/users/bob/roles?roles=dev", "", nil).want(t, 204)
		if names := roleNamesOf(h.get("/rbac/users/bob/roles").want(t, 200).obj(t)); !reflect.DeepEqual(names, []string{"read-only"}) {
			t.Errorf("roles after the delete %v", names)
		}
	})
}

func roleNamesOf(body map[string]any) []string {
	var out []string
	roles, _ := body["roles"].([]any)
	for _, r := range roles {
		out = append(out, r.(map[string]any)["name"].(string))
	}
	return out
}

func TestRBACAdminsAndUserinfo(t *testing.T) {
	h := newRBACHarness(t)
	r := h.do("POST", "/admins", mimeForm, []byte("username=Arya Stark&email=arya@gameofthrones.com")).want(t, 200).obj(t)
	admin, _ := r["admin"].(map[string]any)
	wantFields(t, admin, map[string]any{"username": "Arya Stark", "status": 4.0, "rbac_token_enabled": true})
	userID := db.RefID(admin["rbac_user"])
	if userID == "" {
		t.Fatalf("the admin has no RBAC user: %s", js(admin))
	}
	// Give the admin's user a known token and a role; then it can work.
	h.json("PATCH", "/rbac/users/"+userID, map[string]any{"user_token": "arya-token"}).want(t, 200)
	roles := h.json("POST", "/admins/Arya Stark/roles", map[string]any{"roles": "read-only"}).want(t, 201).obj(t)
	if names := roleNamesOf(roles); !reflect.DeepEqual(names, []string{"read-only"}) {
		t.Errorf("roles %v", names)
	}
	arya := h.with(tokenHeader, "arya-token")
	arya.get("/consumers").want(t, 200)
	wantMessage(t, arya.json("POST", "/admins/Arya Stark/roles", map[string]any{"roles": "super-admin"}), 403,
		"Arya Stark-"+strings.TrimPrefix(mustUserName(t, h, userID), "Arya Stark-")+", you do not have permissions to create this resource")

	info := arya.get("/userinfo").want(t, 200).obj(t)
	if a, _ := info["admin"].(map[string]any); a["username"] != "Arya Stark" {
		t.Errorf("userinfo admin %s", js(info["admin"]))
	}
	if p, _ := info["permissions"].(map[string]any); js(p["endpoints"]) != `{"*":{"*":{"read":{"negative":false}}}}` {
		t.Errorf("userinfo permissions %s", js(info["permissions"]))
	}
	if ws, _ := info["workspaces"].([]any); len(ws) != 1 {
		t.Errorf("userinfo workspaces %s", js(info["workspaces"]))
	}
	// The super admin may not change its own roles; another admin can't see
	// anyone's tokens.
	wantMessage(t, h.json("DELETE", "/admins/kong_admin/roles", map[string]any{"roles": "super-admin"}), 403, "the admin should not update their own roles")
	for _, path := range []string{"/rbac/users", "/admins", "/rbac/users/kong_admin", "/userinfo"} {
		if raw := string(h.get(path).want(t, 200).raw); strings.Contains(raw, "user_token") || strings.Contains(raw, "$2a$") {
			t.Errorf("%s shows a token: %s", path, raw)
		}
	}
	// An RBAC user who is no admin has no userinfo.
	rbacUserWith(h, "", "robot", "robot-token", "read-only")
	h.with(tokenHeader, "robot-token").get("/userinfo").want(t, 404)
}

func mustUserName(t *testing.T, h *harness, id string) string {
	t.Helper()
	return h.get("/rbac/users/"+id).want(t, 200).obj(t)["name"].(string)
}

// TestRBACAdminLifecycle: an admin's RBAC user follows the admin: disabled
// with rbac_token_enabled=false, deleted with it.
func TestRBACAdminLifecycle(t *testing.T) {
	h := newRBACHarness(t)
	admin := h.json("POST", "/admins", map[string]any{"username": "sansa"}).want(t, 200).obj(t)["admin"].(map[string]any)
	userID := db.RefID(admin["rbac_user"])
	h.json("PATCH", "/rbac/users/"+userID, map[string]any{"user_token": "sansa-token"}).want(t, 200)
	h.json("POST", "/admins/sansa/roles", map[string]any{"roles": "read-only"}).want(t, 201)
	sansa := h.with(tokenHeader, "sansa-token")
	sansa.get("/consumers").want(t, 200)

	h.json("PATCH", "/admins/sansa", map[string]any{"rbac_token_enabled": false}).want(t, 200)
	sansa.get("/consumers").want(t, 401)
	h.json("PATCH", "/admins/sansa", map[string]any{"rbac_token_enabled": true}).want(t, 200)
	sansa.get("/consumers").want(t, 200)

	h.do("DELETE", "/admins/sansa", "", nil).want(t, 204)
	sansa.get("/consumers").want(t, 401)
	h.get("/rbac/users/"+userID).want(t, 404)
}

// TestRBACUserDeleteTakesItsAdmin: deleting an admin's RBAC user deletes
// the admin (Kong's cascade), each once.
func TestRBACUserDeleteTakesItsAdmin(t *testing.T) {
	bus := &events.Bus{}
	var deletes []string
	bus.Subscribe(db.SourceCRUD, func(ev events.Event) {
		if ch, ok := ev.Data.(db.Change); ok && ch.Operation == db.OpDelete {
			deletes = append(deletes, ch.Entity.Name)
		}
	})
	h := serveAPI(t, newAPIWith(t, db.Options{Bus: bus}, nil))
	admin := h.json("POST", "/admins", map[string]any{"username": "theon"}).want(t, 200).obj(t)["admin"].(map[string]any)
	h.do("DELETE", "/rbac/users/"+db.RefID(admin["rbac_user"]), "", nil).want(t, 204)
	h.get("/admins/theon").want(t, 404)
	if !reflect.DeepEqual(deletes, []string{"admins", "rbac_users"}) {
		t.Errorf("delete events %v, want admins then rbac_users, once each", deletes)
	}
}

// TestRBACTokensAreUnique: a token another RBAC user holds is refused
// with Kong's unique violation, which names the field but not the token.
func TestRBACTokensAreUnique(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/rbac/users", map[string]any{"name": "arya", "user_token": "arya-token"})
	h.mustCreate("/rbac/users", map[string]any{"name": "bran", "user_token": "bran-token"})
	const want = `{"code":5,"fields":["user_token"],"message":"UNIQUE violation detected on '{\"user_token\"}'","name":"unique constraint violation"}`
	for _, r := range []*response{
		h.json("POST", "/rbac/users", map[string]any{"name": "cat", "user_token": "arya-token"}),
		h.json("PATCH", "/rbac/users/bran", map[string]any{"user_token": "arya-token"}),
	} {
		if got := js(r.want(t, 409).obj(t)); got != want {
			t.Errorf("body %s, want %s", got, want)
		}
	}
	h.get("/rbac/users/cat").want(t, 404)
}
