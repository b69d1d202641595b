package admin

import (
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
