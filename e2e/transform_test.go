package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// transformUpstream answers with what it received, as JSON, with a
// header and a member the response-transformer removes.
func transformUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Internal", "secret")
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "uri": r.RequestURI, "host": r.Host,
			"headers": r.Header, "body": string(body), "secret": "s", "keep": "k"})
	}))
	t.Cleanup(s.Close)
	return s
}

// curlJSON runs curl and decodes the JSON body it printed; a
// Content-Length must be the body's.
func curlJSON(t *testing.T, args ...string) (head string, body map[string]any) {
	t.Helper()
	out, err := runTool(t, "curl", append([]string{"-si"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	head, raw, _ := strings.Cut(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n\n")
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		t.Fatalf("not JSON: %s\n\n%s", head, raw)
	}
	if cl := headerValue(head, "Content-Length"); cl != "" && cl != strconv.Itoa(len(raw)) {
		t.Errorf("Content-Length %s for a body of %d bytes", cl, len(raw))
	}
	return head, body
}

// request-transformer: the upstream sees the headers, query string, body
// and path the plugin made, templates rendered from the request.
func TestTransformRequest(t *testing.T) {
	up := transformUpstream(t)
	g := startGateway(t)
	g.curlCreate("/services", "name=svc", "url="+up.URL)
	g.curlCreate("/services/svc/plugins", "name=request-transformer",
		"config.remove.headers[]=x-drop",
		"config.add.headers[]=x-user:$(uri_captures.user)",
		"config.add.headers[]=x-from-query:$(query_params.lang or 'en')",
		"config.rename.querystring[]=old:new",
		"config.add.querystring[]=added:yes",
		"config.remove.body[]=password",
		"config.add.body[]=source:gateway",
		"config.replace.uri=/users/$(uri_captures.user)/profile")
	wantStatus(t, g.cli("curl", "-si", "-X", "POST", g.adminURL("/services/svc/routes"),
		"--data-urlencode", "paths[]=~/people/(?<user>[a-z0-9]+)$"), 201)
	g.waitProxy("/people/ada", "", 200)

	_, got := curlJSON(t, g.proxyURL("/people/ada?old=1&lang=fr"), "-H", "X-Drop: 1",
		"-H", "Content-Type: application/json", "--data", `{"name":"Ada","password":"p"}`)
	headers := got["headers"].(map[string]any)
	first := func(name string) string {
		if v, ok := headers[name].([]any); ok && len(v) > 0 {
			return v[0].(string)
		}
		return ""
	}
	if got["uri"] != "/users/ada/profile?added=yes&lang=fr&new=1" {
		t.Errorf("uri %v", got["uri"])
	}
	if first("X-Drop") != "" || first("X-User") != "ada" || first("X-From-Query") != "fr" {
		t.Errorf("headers %v", headers)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(got["body"].(string)), &body); err != nil || body["name"] != "Ada" ||
		body["source"] != "gateway" || body["password"] != nil {
		t.Errorf("body %v", got["body"])
	}

	// A template that needs Lua is refused with Kong's 400.
	r := g.cli("curl", "-si", "-X", "POST", g.adminURL("/plugins"), "--data", "name=request-transformer",
		"--data-urlencode", "config.add.headers[]=x:$(string.upper(headers.host))")
	wantStatus(t, r, 400)
	if !strings.Contains(string(r.raw), "needs Lua evaluation") || r.body["name"] != "schema violation" {
		t.Errorf("refusal %s", r.raw)
	}
}

// response-transformer: the client gets the headers and JSON body the
// plugin made, with a Content-Length that fits.
func TestTransformResponse(t *testing.T) {
	up := transformUpstream(t)
	g := startGateway(t)
	g.curlCreate("/services", "name=svc", "url="+up.URL)
	g.curlCreate("/services/svc/plugins", "name=response-transformer",
		"config.remove.headers[]=x-internal",
		"config.add.headers[]=x-served-by:portico",
		"config.remove.json[]=secret",
		"config.add.json[]=version:2", "config.add.json_types[]=number")
	g.curlCreate("/services/svc/routes", "paths[]=/resp")
	g.waitProxy("/resp", "", 200)

	head, body := curlJSON(t, g.proxyURL("/resp"))
	if headerValue(head, "X-Internal") != "" || headerValue(head, "X-Served-By") != "portico" {
		t.Errorf("headers:\n%s", head)
	}
	if body["secret"] != nil || body["keep"] != "k" || body["version"] != float64(2) {
		t.Errorf("body %v", body)
	}
	if headerValue(head, "Content-Length") == "" {
		t.Errorf("no Content-Length:\n%s", head)
	}
}

// bot-detection: a bot's User-Agent gets Kong's 403, a browser's goes
// through.
func TestTransformBotDetection(t *testing.T) {
	g := gatewayWithPlugin(t, "/bots", "name=bot-detection", "config.deny[]=^BadAgent")
	g.waitProxy("/bots", "", 403) // Go's client names itself Go-http-client: a bot
	for _, c := range []struct {
		ua     string
		status int
	}{
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 403},
		{"BadAgent/1.0", 403},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0", 200},
	} {
		r := g.cli("curl", "-si", "-A", c.ua, g.proxyURL("/bots"))
		wantStatus(t, r, c.status)
		if c.status == 403 {
			wantFields(t, r.body, map[string]any{"message": "Forbidden"})
		}
	}
}

// proxy-cache: a miss, then a hit from the cache, then a purge through the
// Admin API makes the next request a miss again.
func TestTransformProxyCache(t *testing.T) {
	calls := 0
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"call":%d}`, calls)
	}))
	t.Cleanup(up.Close)
	g := startGateway(t)
	g.curlCreate("/services", "name=svc", "url="+up.URL)
	g.curlCreate("/services/svc/plugins", "name=proxy-cache", "config.strategy=memory", "config.cache_ttl=60")
	g.curlCreate("/services/svc/routes", "paths[]=/cached")
	g.waitProxy("/cached/warm", "", 200)

	head, body := curlJSON(t, g.proxyURL("/cached/x?a=1"))
	key := headerValue(head, "X-Cache-Key")
	if headerValue(head, "X-Cache-Status") != "Miss" || len(key) != 64 {
		t.Fatalf("first request:\n%s", head)
	}
	first := body["call"]
	head, body = curlJSON(t, g.proxyURL("/cached/x?a=1"))
	if headerValue(head, "X-Cache-Status") != "Hit" || body["call"] != first || headerValue(head, "Age") == "" ||
		headerValue(head, "X-Cache-Key") != key {
		t.Fatalf("second request (%v):\n%s", body, head)
	}
	// A POST is not cached.
	head, _ = curlJSON(t, "-X", "POST", g.proxyURL("/cached/x?a=1"))
	if headerValue(head, "X-Cache-Status") != "Bypass" {
		t.Errorf("POST:\n%s", head)
	}

	r := g.cli("curl", "-si", g.adminURL("/proxy-cache/"+key))
	wantStatus(t, r, 200)
	if r.body["status"] != float64(200) || !strings.Contains(fmt.Sprint(r.body["body"]), `"call"`) {
		t.Errorf("cached object %v", r.body)
	}
	wantStatus(t, g.cli("curl", "-si", "-X", "DELETE", g.adminURL("/proxy-cache/"+key)), 204)
	wantStatus(t, g.cli("curl", "-si", "-X", "DELETE", g.adminURL("/proxy-cache/"+key)), 404)
	head, body = curlJSON(t, g.proxyURL("/cached/x?a=1"))
	if headerValue(head, "X-Cache-Status") != "Miss" || body["call"] == first {
		t.Fatalf("after the purge (%v):\n%s", body, head)
	}

	// The plugin's own endpoint, then a flush of every cache.
	plugins := g.cli("curl", "-si", g.adminURL("/plugins"))
	id := plugins.body["data"].([]any)[0].(map[string]any)["id"].(string)
	wantStatus(t, g.cli("curl", "-si", g.adminURL("/proxy-cache/"+id+"/caches/"+key)), 200)
	wantStatus(t, g.cli("curl", "-si", "-X", "DELETE", g.adminURL("/proxy-cache")), 204)
	wantStatus(t, g.cli("curl", "-si", g.adminURL("/proxy-cache/"+id+"/caches/"+key)), 404)
}
