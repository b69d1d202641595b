package e2e

import (
	"regexp"
	"strconv"
	"testing"
)

// mem_cache_size: repeated reads of one entity are served by the cache,
// and /metrics says so.
func TestEntityCacheMetrics(t *testing.T) {
	g := startGateway(t, "KONG_MEM_CACHE_SIZE=1m")
	wantStatus(t, g.postJSON("/consumers", map[string]any{"username": "alice"}), 201)
	for range 3 {
		wantStatus(t, g.get("/consumers/alice"), 200)
	}
	wantStatus(t, g.sendJSON("PATCH", "/consumers/alice", map[string]any{"custom_id": "7"}), 200)
	r := g.get("/consumers/alice")
	if r.body["custom_id"] != "7" {
		t.Fatalf("after PATCH the read gave %v", r.body["custom_id"])
	}
	code, text := g.getText("/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	m := regexp.MustCompile(`(?m)^portico_entity_cache_hits_total (\d+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no cache metrics in:\n%s", text)
	}
	if n, _ := strconv.Atoi(m[1]); n < 2 {
		t.Fatalf("%d cache hits after three reads of one consumer", n)
	}
}
