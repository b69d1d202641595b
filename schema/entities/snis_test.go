package entities

import (
	"testing"

	"github.com/portico-gw/portico/schema"
)

func TestSNIs(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		got := mustPrepare(t, SNIs(), map[string]any{"name": "*.example.com", "certificate": ref(testID2)})
		wantFields(t, got, map[string]any{
			"id": testID, "name": "*.example.com", "created_at": float64(testNow), "updated_at": float64(testNow),
			"tags": nil, "certificate": ref(testID2),
		})
	})
	runInvalid(t, SNIs, []invalidCase{
		{"certificate missing", map[string]any{"name": "example.com"}, schema.Errors{"certificate": "required field missing"}},
		{"name missing", map[string]any{"certificate": ref(testID2)}, schema.Errors{"name": "required field missing"}},
		{"ip", map[string]any{"name": "10.0.0.1", "certificate": ref(testID2)}, schema.Errors{"name": "must not be an IP"}},
		{"port", map[string]any{"name": "example.com:443", "certificate": ref(testID2)}, schema.Errors{"name": "must not have a port"}},
		{"inner wildcard", map[string]any{"name": "a.*.com", "certificate": ref(testID2)},
			schema.Errors{"name": "wildcard must be leftmost or rightmost character"}},
		{"two wildcards", map[string]any{"name": "*.example.*", "certificate": ref(testID2)},
			schema.Errors{"name": "only one wildcard must be specified"}},
	})
}
