package rbac

import "testing"

func TestPermissionsAllows(t *testing.T) {
	perms := func(ps ...EndpointPermission) *Permissions { return NewPermissions(ps) }
	ep := func(ws, endpoint string, a Action) EndpointPermission {
		return EndpointPermission{Workspace: ws, Endpoint: endpoint, Actions: a}
	}
	deny := func(ws, endpoint string, a Action) EndpointPermission {
		return EndpointPermission{Workspace: ws, Endpoint: endpoint, Actions: a, Negative: true}
	}
	var admin, readOnly, super *Permissions
	for _, r := range DefaultRoles {
		p := NewPermissions(r.Permissions)
		switch r.Name {
		case "admin":
			admin = p
		case "read-only":
			readOnly = p
		case SuperAdminRole:
			super = p
		}
	}
	tests := []struct {
		name              string
		p                 *Permissions
		ws, path, pattern string
		action            Action
		want              bool
	}{
		{"super-admin anything", super, "team-a", "/rbac/users/x", "/rbac/users/*", Delete, true},
		{"read-only reads", readOnly, "default", "/consumers", "/consumers", Read, true},
		{"read-only cannot create", readOnly, "default", "/consumers", "/consumers", Create, false},
		{"admin creates services", admin, "team-a", "/services", "/services", Create, true},
		{"admin cannot read RBAC users", admin, "default", "/rbac/users", "/rbac/users", Read, false},
		{"admin cannot give roles", admin, "default", "/admins/bob/roles", "/admins/*/roles", Create, false},
		{"admin cannot edit role endpoints", admin, "default", "/rbac/roles/admin/endpoints/default/*", "/rbac/roles/*/endpoints/*/*", Create, false},
		{"admin cannot list admins", admin, "default", "/admins", "/admins", Read, false},
		{"exact endpoint", perms(ep("default", "/consumers", Read)), "default", "/consumers", "/consumers", Read, true},
		{"exact endpoint does not cover children", perms(ep("default", "/consumers", Read)), "default", "/consumers/alice", "/consumers/*", Read, false},
		{"wildcard covers one segment", perms(ep("default", "/consumers/*", Read)), "default", "/consumers/alice", "/consumers/*", Read, true},
		{"wildcard does not cover two", perms(ep("default", "/consumers/*", Read)), "default", "/consumers/alice/plugins", "/consumers/*/plugins", Read, false},
		{"one named entity", perms(ep("default", "/consumers/alice", Update)), "default", "/consumers/alice", "/consumers/*", Update, true},
		{"another named entity", perms(ep("default", "/consumers/alice", Update)), "default", "/consumers/bob", "/consumers/*", Update, false},
		{"another workspace's grant", perms(ep("team-a", "*", AllActions)), "default", "/consumers", "/consumers", Read, false},
		{"own workspace's grant", perms(ep("team-a", "*", AllActions)), "team-a", "/consumers", "/consumers", Read, true},
		{"every workspace", perms(ep("*", "/consumers", Read)), "team-b", "/consumers", "/consumers", Read, true},
		{"negative wins on the same key", perms(ep("default", "/consumers", Read), deny("default", "/consumers", Read)), "default", "/consumers", "/consumers", Read, false},
		{"specific negative over a wildcard grant", perms(ep("default", "*", AllActions), deny("default", "/consumers/*", Delete)), "default", "/consumers/alice", "/consumers/*", Delete, false},
		{"specific negative leaves other actions", perms(ep("default", "*", AllActions), deny("default", "/consumers/*", Delete)), "default", "/consumers/alice", "/consumers/*", Read, true},
		{"workspace before *", perms(ep("default", "/consumers", Read), deny("*", "*", Read)), "default", "/consumers", "/consumers", Read, true},
		{"a key without the action falls through", perms(ep("default", "/consumers", Create), ep("default", "*", Read)), "default", "/consumers", "/consumers", Read, true},
		{"nothing", perms(), "default", "/", "/", Read, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Allows(tt.ws, tt.path, tt.pattern, tt.action); got != tt.want {
				t.Fatalf("Allows(%s, %s, %s, %s) = %v, want %v", tt.ws, tt.path, tt.pattern, tt.action, got, tt.want)
			}
		})
	}
}

func TestNormalizeEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"*": "*", " /consumers/ ": "/consumers", "rbac/*": "/rbac/*", "/services/*": "/services/*", "": "/",
	} {
		if got := NormalizeEndpoint(in); got != want {
			t.Errorf("NormalizeEndpoint(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestActionFor(t *testing.T) {
	for method, want := range map[string]Action{"GET": Read, "HEAD": Read, "OPTIONS": Read, "POST": Create,
		"PUT": Update, "PATCH": Update, "DELETE": Delete} {
		if got := ActionFor(method); got != want {
			t.Errorf("ActionFor(%s) = %s, want %s", method, got, want)
		}
	}
}
