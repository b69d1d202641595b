package balancer

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FromRows reads rows as the store gives them back (decoded JSON).
func TestFromRows(t *testing.T) {
	var up map[string]any
	var targets []map[string]any
	if err := json.Unmarshal([]byte(`{
		"id": "u1", "name": "backend", "ws_id": "w1", "algorithm": "consistent-hashing",
		"hash_on": "header", "hash_fallback": "cookie", "hash_on_header": "X-User",
		"hash_fallback_header": null, "hash_on_cookie": "lb", "hash_on_cookie_path": "/",
		"hash_on_query_arg": null, "hash_fallback_query_arg": null,
		"hash_on_uri_capture": null, "hash_fallback_uri_capture": null,
		"slots": 2000, "host_header": "api.example", "use_srv_name": true,
		"healthchecks": {"threshold": 25, "active": {"type": "https"}}
	}`), &up); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`[
		{"id": "t1", "target": "a.example:8080", "weight": 50, "created_at": 1700000000.5, "upstream": {"id": "u1"}},
		{"id": "t2", "target": "10.0.0.1:80", "weight": 0, "created_at": 1700000001}
	]`), &targets); err != nil {
		t.Fatal(err)
	}
	got := FromRows(up, targets)
	want := Upstream{
		ID: "u1", Name: "backend", WorkspaceID: "w1", Algorithm: AlgorithmConsistentHashing,
		HashOn: "header", HashFallback: "cookie", HashOnHeader: "X-User", HashOnCookie: "lb", HashOnCookiePath: "/",
		Slots: 2000, HostHeader: "api.example", UseSRVName: true,
		Healthchecks: map[string]any{"threshold": 25.0, "active": map[string]any{"type": "https"}},
		Targets: []Target{
			{ID: "t1", Target: "a.example:8080", Weight: 50, CreatedAt: 1700000000.5},
			{ID: "t2", Target: "10.0.0.1:80", Weight: 0, CreatedAt: 1700000001},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	hc := parseHealthchecks(got.Healthchecks)
	if hc.threshold != 25 || hc.active.typ != "https" || hc.enabled || !hc.passive.unhealthy.has(503) || !hc.active.healthy.has(302) {
		t.Errorf("parsed healthchecks %+v", hc)
	}
}

// Kong's is_upstream_using_healthcheck: an active interval or a passive
// failure limit turns health checks on.
func TestHealthchecksEnabled(t *testing.T) {
	tests := []struct {
		name string
		hc   map[string]any
		want bool
	}{
		{"nil", nil, false},
		{"defaults", map[string]any{"active": map[string]any{"healthy": map[string]any{"interval": 0.0}}}, false},
		{"active healthy interval", map[string]any{"active": map[string]any{"healthy": map[string]any{"interval": 5.0}}}, true},
		{"active unhealthy interval", map[string]any{"active": map[string]any{"unhealthy": map[string]any{"interval": 0.5}}}, true},
		{"passive tcp failures", passiveChecks(1, 0, 0, 0), true},
		{"passive timeouts", passiveChecks(0, 1, 0, 0), true},
		{"passive http failures", passiveChecks(0, 0, 1, 0), true},
		{"passive successes only", passiveChecks(0, 0, 0, 5), false},
	}
	for _, tt := range tests {
		if got := parseHealthchecks(tt.hc).enabled; got != tt.want {
			t.Errorf("%s: enabled %v, want %v", tt.name, got, tt.want)
		}
	}
}
