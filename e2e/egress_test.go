package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// With event_hooks_deny_private = on, a hook aimed at the node's own
// network fails for good on its first attempt and nothing reaches the
// receiver.
func TestEventHooksDenyPrivate(t *testing.T) {
	var hits atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer receiver.Close()
	g := startGateway(t, "KONG_EVENT_HOOKS_DENY_PRIVATE=on")
	hook := createHook(t, g, map[string]any{"source": "crud", "event": "consumers", "handler": "webhook",
		"config": map[string]any{"url": receiver.URL}})
	wantStatus(t, g.postJSON("/consumers", map[string]any{"username": "internal-probe"}), 201)
	d := waitDelivery(t, g, hook["id"].(string), "failed", isConsumerDelivery("internal-probe"))
	if n := len(d["attempts"].([]any)); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
	if e := lastAttemptError(d); !strings.Contains(e, "event_hooks_deny_private") {
		t.Errorf("attempt error %q does not say why", e)
	}
	if hits.Load() != 0 {
		t.Fatalf("the receiver got %d requests", hits.Load())
	}
}
