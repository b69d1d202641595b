package e2e

import (
	"strings"
	"testing"
)

// TestWorkspacesAndRoles runs a gateway with RBAC on from the start: the
// super admin makes a workspace for a team, a role and a user of that
// team; the team's user works in its workspace only; the workspace's
// entities carry their workspace in events; everything survives a restart.
func TestWorkspacesAndRoles(t *testing.T) {
	const password = "kong-admin-pass"
	rcv := newHookReceiver(t)
	g := startGateway(t, "KONG_PASSWORD="+password, "KONG_ENFORCE_RBAC=on")
	curlAs := func(token string, args ...string) response {
		t.Helper()
		all := append([]string{"-s", "-i", "--path-as-is", "-H", "Kong-Admin-Token:" + token}, args...)
		return g.cli("curl", all...)
	}
	curl := func(args ...string) response { t.Helper(); return curlAs(password, args...) }
	http := func(path string, items ...string) response {
		t.Helper()
		args := append([]string{"--print=hb", "--ignore-stdin", "-f", ":" + itoa(g.adminPort) + path}, items...)
		return g.cli("http", append(args, "Kong-Admin-Token:"+password)...)
	}
	url := func(path string) string { return "http://" + g.adminHost() + path }

	r := curl("-X", "POST", url("/workspaces"), "-d", "name=team-a", "-d", "comment=the A team")
	wantStatus(t, r, 201)
	wsID, _ := r.body["id"].(string)
	wantStatus(t, curl("-X", "POST", url("/event-hooks"), "-d", "source=crud", "-d", "event=consumers",
		"-d", "handler=webhook", "-d", "config.url="+rcv.URL+"/hook"), 201)

	// Two workspaces, one consumer name each.
	r = http("/consumers", "username=alice")
	wantStatus(t, r, 201)
	aliceDefault, _ := r.body["id"].(string)
	r = http("/team-a/consumers", "username=alice", "custom_id=team-a-alice")
	wantStatus(t, r, 201)
	aliceA, _ := r.body["id"].(string)
	if _, shown := r.body["ws_id"]; shown {
		t.Errorf("ws_id shown: %s", r.raw)
	}
	ev := rcv.waitFor(t, "team-a's consumer event", 1, func(req hookRequest) bool {
		e, _ := req.JSON()["entity"].(map[string]any)
		return e["id"] == aliceA
	})[0]
	if e, _ := ev.JSON()["entity"].(map[string]any); e["ws_id"] != wsID {
		t.Errorf("event entity ws_id %v, want team-a's %s", e["ws_id"], wsID)
	}

	// A role of team-a: read and create consumers there; its user.
	wantStatus(t, http("/team-a/rbac/roles", "name=consumer-clerk"), 201)
	wantStatus(t, http("/team-a/rbac/roles/consumer-clerk/endpoints", "endpoint=/consumers", "actions=read,create"), 201)
	wantStatus(t, http("/team-a/rbac/roles/consumer-clerk/endpoints", "endpoint=/consumers/*", "actions=read"), 201)
	wantStatus(t, http("/team-a/rbac/users", "name=clerk", "user_token=clerk-token"), 201)
	r = http("/team-a/rbac/users/clerk/roles", "roles=consumer-clerk")
	wantStatus(t, r, 201)
	if strings.Contains(string(r.raw), "clerk-token") {
		t.Fatalf("a response shows the token: %s", r.raw)
	}

	clerkChecks := func(t *testing.T) {
		t.Helper()
		r := curlAs("clerk-token", url("/team-a/consumers"))
		wantStatus(t, r, 200)
		if !strings.Contains(string(r.raw), aliceA) || strings.Contains(string(r.raw), aliceDefault) {
			t.Errorf("team-a's consumers: %s", r.raw)
		}
		wantStatus(t, curlAs("clerk-token", url("/team-a/consumers/alice")), 200)
		for _, c := range []struct {
			args   []string
			status int
			msg    string
		}{
			{[]string{url("/consumers")}, 403, "clerk, you do not have permissions to read this resource"},
			{[]string{url("/default/consumers/alice")}, 403, "clerk, you do not have permissions to read this resource"},
			{[]string{"-X", "DELETE", url("/team-a/consumers/alice")}, 403, "clerk, you do not have permissions to delete this resource"},
			{[]string{url("/team-a/services")}, 403, "clerk, you do not have permissions to read this resource"},
			{[]string{url("/team-a/rbac/users")}, 403, "clerk, you do not have permissions to read this resource"},
		} {
			r := curlAs("clerk-token", c.args...)
			wantStatus(t, r, c.status)
			wantFields(t, r.body, map[string]any{"message": c.msg})
		}
	}
	clerkChecks(t)
	wantStatus(t, curlAs("clerk-token", "-X", "POST", url("/team-a/consumers"), "-d", "username=bob"), 201)

	// Path tricks reach nothing, and say nothing of what is there.
	for _, c := range []struct {
		path string
		msg  string
	}{
		{"/team-a/../consumers", "Not found"},
		{"/team-a/%2e%2e/consumers", "Not found"},
		{"/team%2Fa/consumers", "Workspace 'team/a' not found"},
		{"/nowhere/consumers", "Workspace 'nowhere' not found"},
		{"/team-a/workspaces", "Not found"},
	} {
		r := curl(url(c.path))
		wantStatus(t, r, 404)
		wantFields(t, r.body, map[string]any{"message": c.msg})
	}
	// Unauthenticated callers learn nothing about workspaces.
	wantStatus(t, curlAs("wrong", url("/nowhere/consumers")), 401)

	// A restart keeps workspaces, roles, users and their tokens.
	g.stop()
	g.start()
	clerkChecks(t)
	r = curl(url("/team-a/rbac/users/clerk/roles"))
	wantStatus(t, r, 200)
	if roles, _ := r.body["roles"].([]any); len(roles) != 1 {
		t.Errorf("clerk's roles after the restart: %s", r.raw)
	}

	// A workspace with entities is not deleted, unless asked to cascade.
	r = curl("-X", "DELETE", url("/workspaces/team-a"))
	wantStatus(t, r, 400)
	inner, _ := r.body["message"].(map[string]any)
	if inner["message"] != "Workspace is not empty" {
		t.Errorf("deleting a non-empty workspace: %s", r.raw)
	}
	wantStatus(t, curl("-X", "DELETE", url("/workspaces/default")), 400)
	wantStatus(t, curl("-X", "DELETE", url("/workspaces/team-a?cascade=true")), 204)
	wantStatus(t, curlAs("clerk-token", url("/team-a/consumers")), 401)
	wantStatus(t, curl(url("/consumers/alice")), 200)
}
