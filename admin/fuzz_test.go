package admin

import (
	"bytes"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/db"
)

// FuzzAdminRequest sends arbitrary requests through the whole Admin API
// (routing, decoding, schema processing, the DAO and the store): a client's
// mistake must never be a 500 or a panic.
func FuzzAdminRequest(f *testing.F) {
	seeds := []struct{ method, path, ctype, body string }{
		{"POST", "/services", mimeJSON, `{"name":"s","url":"http://a.test:8080/x","tags":["a"]}`},
		{"POST", "/services/s/routes", mimeForm, "paths[]=/a&methods=GET&headers.x-a[]=1&protocols=http"},
		{"PATCH", "/services/s", mimeJSON, `{"port":"x","retries":-1,"path":"//"}`},
		{"PUT", "/consumers/bob", mimeForm, "custom_id=1&tags[2]=x"},
		{"POST", "/plugins", mimeJSON, `{"name":"rate-limiting","config":{"minute":1,"redis":{"host":5}}}`},
		{"POST", "/plugins", mimeForm, "name=cors&config.origins=*&config.max_age=x"},
		{"POST", "/upstreams", mimeJSON, `{"name":"u","healthchecks":{"active":{"healthy":{"http_statuses":[99999]}}}}`},
		{"POST", "/upstreams/u/targets", mimeJSON, `{"target":"[::1]:99999"}`},
		{"POST", "/certificates", mimeJSON, `{"cert":"x","key":"y","snis":["*.a.test","a.*"]}`},
		{"GET", "/consumers?size=0&offset=AAAA&tags=a,b", "", ""},
		{"DELETE", "/routes/r/service", "", ""},
		{"POST", "/schemas/routes/validate", mimeJSON, `{"protocols":["grpc"],"strip_path":true}`},
		{"POST", "/workspaces", mimeForm, "name=team-a&meta.color=%23ff0000&config.portal=true"},
		{"POST", "/team-a/consumers", mimeJSON, `{"username":"a"}`},
		{"DELETE", "/workspaces/team-a?cascade=true", "", ""},
		{"POST", "/rbac/roles", mimeForm, "name=dev"},
		{"POST", "/rbac/roles/dev/endpoints", mimeForm, "endpoint=/consumers/*&actions=read,create&workspace=*"},
		{"PATCH", "/rbac/roles/dev/endpoints/*/consumers/*", mimeJSON, `{"actions":["delete"],"negative":true}`},
		{"POST", "/rbac/roles/dev/entities", mimeJSON, `{"entity_id":"*","actions":"*"}`},
		{"POST", "/rbac/users", mimeForm, "name=u&user_token=t"},
		{"POST", "/rbac/users/u/roles", mimeForm, "roles=dev,read-only"},
		{"POST", "/admins", mimeForm, "username=x&email=x@y"},
		{"DELETE", "/admins/x/roles?roles=dev", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.ctype, s.body)
	}
	api := newAPI(f, db.Options{})
	handler := api.Handler()
	f.Fuzz(func(t *testing.T, method, path, ctype, body string) {
		var ctx fasthttp.RequestCtx
		req := &fasthttp.Request{}
		req.Header.SetMethod(method)
		req.SetRequestURI(path)
		if ctype != "" {
			req.Header.SetContentType(ctype)
		}
		req.SetBodyString(body)
		ctx.Init(req, nil, nil)
		handler(&ctx)
		if status := ctx.Response.StatusCode(); status >= 500 {
			t.Fatalf("%s %q (%s) %q: status %d %s", method, path, ctype, body, status, ctx.Response.Body())
		}
	})
}

// FuzzWorkspacePath sends arbitrary paths at an Admin API holding a
// consumer in workspace team-a only: no path may reach it without naming
// team-a as its first segment, and none may fail with a 500 or a panic.
func FuzzWorkspacePath(f *testing.F) {
	for _, s := range []string{
		"/team-a/consumers", "/team-a/consumers/alice", "/default/../team-a/consumers", "/team-a/../consumers",
		"/team%2Da/consumers", "/team-a%2Fconsumers", "//team-a/consumers", "/team-a//consumers/alice",
		"/consumers/alice", "/default/consumers/alice", "/nowhere/consumers", "/team-a", "/%2e%2e/team-a/consumers",
		"/team-a/consumers?offset=x", "/team-a/workspaces", "/workspaces/team-a",
	} {
		f.Add("GET", s)
	}
	api := newAPI(f, db.Options{})
	handler := api.Handler()
	serve := func(method, path string) *fasthttp.RequestCtx {
		ctx := &fasthttp.RequestCtx{}
		req := &fasthttp.Request{}
		req.Header.SetMethod(method)
		req.SetRequestURI(path)
		req.Header.SetContentType(mimeJSON)
		ctx.Init(req, nil, nil)
		handler(ctx)
		return ctx
	}
	for _, w := range []struct{ path, body string }{
		{"/workspaces", `{"name":"team-a"}`},
		{"/team-a/consumers", `{"username":"alice","custom_id":"secret-of-team-a"}`},
	} {
		ctx := &fasthttp.RequestCtx{}
		req := &fasthttp.Request{}
		req.Header.SetMethod("POST")
		req.SetRequestURI(w.path)
		req.Header.SetContentType(mimeJSON)
		req.SetBodyString(w.body)
		ctx.Init(req, nil, nil)
		handler(ctx)
		if ctx.Response.StatusCode() != 201 {
			f.Fatalf("POST %s: %d %s", w.path, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		if method != "GET" && method != "HEAD" && method != "OPTIONS" {
			method = "GET" // reads only: the fixture must stay as it is
		}
		ctx := serve(method, path)
		if status := ctx.Response.StatusCode(); status >= 500 {
			t.Fatalf("%s %q: status %d %s", method, path, status, ctx.Response.Body())
		}
		if bytes.Contains(ctx.Response.Body(), []byte("secret-of-team-a")) {
			if ctx.UserValue(workspaceName) != "team-a" {
				t.Fatalf("%q reached team-a's consumer outside team-a", path)
			}
		}
	})
}
