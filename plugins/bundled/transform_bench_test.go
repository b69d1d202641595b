package bundled

import (
	"testing"

	"github.com/portico-gw/portico/plugins"
)

// Benchmarks of the plugins' hot paths: one request through the phases
// each plugin has, on a context reused as the proxy reuses it.

func BenchmarkRequestTransformerHeaders(b *testing.B) {
	h, _ := newRequestTransformer(transformerConfig(b, "request-transformer", obj(
		"remove", obj("headers", list("x-gone")), "add", obj("headers", list("x-add:1")),
		"append", obj("headers", list("x-app:2")))))
	pc := originContext("GET", "/p?a=1", [][2]string{{"X-Gone", "1"}}, "")
	a := h.(plugins.Accessor)
	b.ReportAllocs()
	for b.Loop() {
		pc.Request.Header.Set("X-Gone", "1")
		pc.Request.Header.Del("X-App")
		a.Access(pc)
	}
}

func BenchmarkRequestTransformerTemplatesAndQuery(b *testing.B) {
	h, _ := newRequestTransformer(transformerConfig(b, "request-transformer", obj(
		"add", obj("headers", list("x-user:$(uri_captures.user)"), "querystring", list("q:$(headers.x_in or 'd')")),
		"replace", obj("uri", "/users/$(uri_captures.user)"))))
	pc := originContext("GET", "/u/42?a=1&b=2", nil, "")
	pc.URICaptures = captures{"user": "42"}
	a := h.(plugins.Accessor)
	b.ReportAllocs()
	for b.Loop() {
		pc.Request.SetRequestURI("/u/42?a=1&b=2")
		pc.Request.Header.Del("X-User")
		pc.Upstream = plugins.UpstreamRequest{}
		a.Access(pc)
	}
}

func BenchmarkRequestTransformerJSONBody(b *testing.B) {
	h, _ := newRequestTransformer(transformerConfig(b, "request-transformer", obj(
		"remove", obj("body", list("secret")), "add", obj("body", list("source:gateway")))))
	body := `{"id":1,"name":"a name","secret":"s","tags":["a","b"],"nested":{"k":"v"}}`
	pc := originContext("POST", "/", [][2]string{{"Content-Type", "application/json"}}, body)
	a := h.(plugins.Accessor)
	b.ReportAllocs()
	for b.Loop() {
		pc.Request.SetBodyString(body)
		a.Access(pc)
	}
}

func BenchmarkResponseTransformer(b *testing.B) {
	h, _ := newResponseTransformer(transformerConfig(b, "response-transformer", obj(
		"remove", obj("headers", list("x-internal"), "json", list("secret")),
		"add", obj("headers", list("x-gateway:portico"), "json", list("source:gateway")))))
	body := `{"id":1,"name":"a name","secret":"s","tags":["a","b"],"nested":{"k":"v"}}`
	pc := originContext("GET", "/", nil, "")
	hf, bf := h.(plugins.HeaderFilterer), h.(plugins.BodyFilterer)
	b.ReportAllocs()
	for b.Loop() {
		pc.Response.Header.SetContentType("application/json")
		pc.Response.Header.Set("X-Internal", "1")
		pc.Response.SetBodyString(body)
		hf.HeaderFilter(pc)
		bf.BodyFilter(pc)
	}
}

func BenchmarkBotDetection(b *testing.B) {
	h, _ := newBotDetection(transformerConfig(b, "bot-detection", obj("deny", list("^evil"))))
	pc := originContext("GET", "/", [][2]string{{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"}}, "")
	a := h.(plugins.Accessor)
	b.ReportAllocs()
	for b.Loop() {
		a.Access(pc) // cached verdict after the first
	}
}

func BenchmarkProxyCacheHit(b *testing.B) {
	conf := transformerConfig(b, "proxy-cache", obj("strategy", "memory"))
	var dicts cacheDicts
	dicts.byName, dicts.size = map[string]*cacheDict{}, 1<<20
	h, _ := dicts.newHandler(conf)
	proxyCacheRound(b, h, "GET", "/a?x=1", nil, 200, "application/json", "", `{"cached":true}`)
	pc := originContext("GET", "/a?x=1", nil, "")
	a, hf := h.(plugins.Accessor), h.(plugins.HeaderFilterer)
	b.ReportAllocs()
	for b.Loop() {
		a.Access(pc)
		hf.HeaderFilter(pc)
	}
	if string(pc.Response.Header.Peek("X-Cache-Status")) != "Hit" {
		b.Fatalf("not a hit: %s", &pc.Response.Header)
	}
}
