package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// curlHead sends a request through the proxy with curl and returns the
// status, the head and the body.
func curlHead(t *testing.T, url string, args ...string) (int, string, string) {
	t.Helper()
	out, err := runTool(t, "curl", append([]string{"-si", url}, args...)...)
	if err != nil {
		t.Fatalf("curl %s: %v", url, err)
	}
	head, body, _ := strings.Cut(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n\n")
	status := 0
	if f := strings.Fields(head); len(f) > 1 {
		status, _ = strconv.Atoi(f[1])
	}
	return status, head, body
}

// startRedis runs a redis-server of the test's own on a free port: in CI it
// must be installed, elsewhere the test is skipped without it.
func startRedis(t *testing.T) int {
	t.Helper()
	bin := requireTool(t, "redis-server")
	port := freePort(t)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return port
		}
	}
	t.Fatal("redis-server did not start")
	return 0
}

// rate-limiting with the local policy: Kong's headers on every answer, and
// 429 with Retry-After past the limit.
func TestRateLimitingLocal(t *testing.T) {
	g := gatewayWithPlugin(t, "/limited", "name=rate-limiting", "config.minute=3", "config.hour=100", "config.policy=local")
	g.waitProxy("/limited", "", 200) // the first of the minute's 3
	for i := 2; i <= 3; i++ {
		status, head, body := curlHead(t, g.proxyURL("/limited"))
		if status != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q", i, status, body)
		}
		want := map[string]string{
			"X-RateLimit-Limit-Minute": "3", "X-RateLimit-Remaining-Minute": strconv.Itoa(3 - i),
			"X-RateLimit-Limit-Hour": "100", "X-RateLimit-Remaining-Hour": strconv.Itoa(100 - i),
			"RateLimit-Limit": "3", "RateLimit-Remaining": strconv.Itoa(3 - i),
		}
		for k, v := range want {
			if got := headerValue(head, k); got != v {
				t.Errorf("request %d: %s = %q; want %q\n%s", i, k, got, v, head)
			}
		}
		if reset, _ := strconv.Atoi(headerValue(head, "RateLimit-Reset")); reset < 1 || reset > 60 {
			t.Errorf("RateLimit-Reset %q", headerValue(head, "RateLimit-Reset"))
		}
	}
	status, head, body := curlHead(t, g.proxyURL("/limited"))
	if status != 429 || !strings.Contains(body, `"message":"API rate limit exceeded"`) {
		t.Fatalf("over the limit: %d\n%s\n%s", status, head, body)
	}
	if retry, _ := strconv.Atoi(headerValue(head, "Retry-After")); retry < 1 || retry > 60 ||
		headerValue(head, "X-RateLimit-Remaining-Minute") != "0" || headerValue(head, "RateLimit-Remaining") != "0" {
		t.Errorf("429 headers:\n%s", head)
	}

	// limit_by header, hidden headers and an own error: configured with
	// curl on another route.
	g.curlCreate("/services/svc/routes", "name=tenants", "paths[]=/tenants")
	g.curlCreate("/routes/tenants/plugins", "name=rate-limiting", "config.second=1", "config.limit_by=header",
		"config.header_name=X-Tenant", "config.hide_client_headers=true", "config.error_code=403", "config.error_message=quota used")
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, head, _ = curlHead(t, g.proxyURL("/tenants"), "-H", "X-Tenant: a")
		if status == 403 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tenant limit never applied: %d\n%s", status, head)
		}
	}
	if headerValue(head, "X-RateLimit-Limit-Second") != "" || headerValue(head, "Retry-After") != "" {
		t.Errorf("hidden headers shown:\n%s", head)
	}
	// Another tenant has its own count (within the same second, most likely:
	// allow a retry if the second turned).
	for range 3 {
		if status, _, _ = curlHead(t, g.proxyURL("/tenants"), "-H", "X-Tenant: b"); status == 200 {
			break
		}
	}
	if status != 200 {
		t.Errorf("another tenant was limited: %d", status)
	}

	// The cluster policy is refused by name.
	r := g.cli("curl", "-si", "-X", "POST", g.adminURL("/plugins"), "--data", "name=rate-limiting",
		"--data", "config.minute=1", "--data", "config.policy=cluster")
	wantStatus(t, r, 400)
	fields, _ := r.body["fields"].(map[string]any)
	config, _ := fields["config"].(map[string]any)
	if msg, _ := config["policy"].(string); !strings.Contains(msg, "policy 'cluster' is not supported") {
		t.Errorf("cluster policy: %s", r.raw)
	}
}

// rate-limiting with the redis policy: two nodes on one Redis share the
// limit.
func TestRateLimitingRedisTwoNodes(t *testing.T) {
	port := startRedis(t)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	defer upstream.Close()
	// Each node has its own database here: the service gets the same id on
	// both, as nodes sharing one database (or one declarative
	// configuration) see it, since Kong's counter keys name it.
	const serviceID = "5f1c0a8e-8a43-4a5b-9b8e-2d3c4e5f6a7b"
	var nodes []*gateway
	for range 2 {
		g := startGateway(t)
		g.curlCreate("/services", "id="+serviceID, "name=svc", "url="+upstream.URL)
		g.curlCreate("/services/svc/plugins", "name=rate-limiting", "config.minute=4", "config.policy=redis",
			"config.redis.host=127.0.0.1", "config.redis.port="+strconv.Itoa(port), "config.limit_by=ip")
		g.curlCreate("/services/svc/routes", "name=r", "paths[]=/shared")
		nodes = append(nodes, g)
	}
	// Both nodes' configuration is live once each has answered; the
	// counts of these two requests are part of the test.
	nodes[0].waitProxy("/shared", "", 200)
	nodes[1].waitProxy("/shared", "", 200)
	status, head, _ := curlHead(t, nodes[0].proxyURL("/shared"))
	if status != 200 || headerValue(head, "X-RateLimit-Remaining-Minute") != "1" {
		// Unless the minute turned between the requests.
		if headerValue(head, "X-RateLimit-Remaining-Minute") != "3" {
			t.Fatalf("third request: %d\n%s", status, head)
		}
		t.Skip("the minute turned during the test")
	}
	if status, head, _ = curlHead(t, nodes[1].proxyURL("/shared")); status != 200 || headerValue(head, "X-RateLimit-Remaining-Minute") != "0" {
		t.Fatalf("fourth request, other node: %d\n%s", status, head)
	}
	for i, g := range nodes {
		if status, head, body := curlHead(t, g.proxyURL("/shared")); status != 429 || !strings.Contains(body, "API rate limit exceeded") ||
			headerValue(head, "Retry-After") == "" {
			t.Errorf("node %d over the shared limit: %d\n%s\n%s", i, status, head, body)
		}
	}
}

// A refused request emits rate-limiting's rate-limit-exceeded event to a
// webhook, and the source is listed with the others.
func TestRateLimitExceededEventHook(t *testing.T) {
	receiver := newHookReceiver(t)
	g := gatewayWithPlugin(t, "/evented", "name=rate-limiting", "config.minute=1", "config.limit_by=ip")
	r := g.cli("curl", "-si", g.adminURL("/event-hooks/sources/rate-limiting"))
	wantStatus(t, r, 200)
	data, _ := r.body["data"].(map[string]any)
	ev, _ := data["rate-limit-exceeded"].(map[string]any)
	if fmt.Sprint(ev["fields"]) != "[consumer ip service rate limit window]" || fmt.Sprint(ev["unique"]) != "[consumer ip service]" {
		t.Fatalf("source: %s", r.raw)
	}
	g.curlCreate("/event-hooks", "source=rate-limiting", "event=rate-limit-exceeded", "handler=webhook",
		"config.url="+receiver.URL+"/hook", "snooze=60")
	g.waitProxy("/evented", "", 200)
	for range 3 {
		if status, _, _ := curlHead(t, g.proxyURL("/evented")); status != 429 {
			t.Skipf("the minute turned during the test: %d", status)
		}
	}
	isRateEvent := func(r hookRequest) bool { m := r.JSON(); return m != nil && m["event"] == "rate-limit-exceeded" }
	got := receiver.waitFor(t, "rate-limit-exceeded", 1, isRateEvent)
	m := got[0].JSON()
	service, _ := m["service"].(map[string]any)
	if m["source"] != "rate-limiting" || m["ip"] != "127.0.0.1" || m["limit"] != 1.0 || m["rate"] != 2.0 ||
		m["window"] != "minute" || service["name"] != "svc" || fmt.Sprint(m["consumer"]) != "map[]" {
		t.Errorf("event %s", got[0].Body)
	}
	// snooze: the other refusals within the minute were not delivered.
	time.Sleep(300 * time.Millisecond)
	if n := len(receiver.matching(isRateEvent)); n != 1 {
		t.Errorf("%d events delivered; snooze lets one through\n%s", n, receiver.dump())
	}
}

// response-ratelimiting: the upstream's X-Kong-Limit header consumes named
// limits; an answer over a used-up limit becomes a bare 429.
func TestResponseRateLimitingWithCurl(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Kong-Limit", "videos="+r.URL.Query().Get("cost"))
		fmt.Fprint(w, "video")
	}))
	defer upstream.Close()
	g := startGateway(t)
	g.curlCreate("/services", "name=svc", "url="+upstream.URL)
	g.curlCreate("/services/svc/plugins", "name=response-ratelimiting", "config.limits.videos.minute=3", "config.limit_by=ip")
	g.curlCreate("/services/svc/routes", "paths[]=/videos")
	g.waitProxy("/videos?cost=0", "", 200)
	status, head, body := curlHead(t, g.proxyURL("/videos?cost=2"))
	if status != 200 || body != "video" || headerValue(head, "X-RateLimit-Limit-videos-minute") != "3" ||
		headerValue(head, "X-RateLimit-Remaining-videos-minute") != "1" || headerValue(head, "X-Kong-Limit") != "" {
		t.Fatalf("%d\n%s\n%s", status, head, body)
	}
	if status, head, _ = curlHead(t, g.proxyURL("/videos?cost=1")); status != 200 || headerValue(head, "X-RateLimit-Remaining-videos-minute") != "0" {
		t.Skipf("the minute turned during the test: %d\n%s", status, head)
	}
	status, head, body = curlHead(t, g.proxyURL("/videos?cost=1"))
	if status != 429 || body != "" {
		t.Fatalf("over the limit: %d\n%s\n%q", status, head, body)
	}
	// An answer that consumes nothing still goes through.
	if status, _, _ = curlHead(t, g.proxyURL("/videos?cost=0")); status != 200 {
		t.Fatalf("free answer: %d", status)
	}
}
