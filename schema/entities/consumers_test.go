package entities

import (
	"testing"

	"github.com/portico-gw/portico/schema"
)

func TestConsumers(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		got := mustPrepare(t, Consumers(), map[string]any{"username": "bob"})
		wantFields(t, got, map[string]any{
			"id": testID, "created_at": float64(testNow), "updated_at": float64(testNow),
			"username": "bob", "custom_id": nil, "tags": nil,
		})
	})
	t.Run("custom_id only", func(t *testing.T) {
		mustPrepare(t, Consumers(), map[string]any{"custom_id": "4200", "tags": []any{"silver-tier"}})
	})
	runInvalid(t, Consumers, []invalidCase{
		{"neither username nor custom_id", map[string]any{},
			schema.Errors{"@entity": []string{"at least one of these fields must be non-empty: 'custom_id', 'username'"}}},
		{"empty username", map[string]any{"username": ""},
			schema.Errors{"username": "length must be at least 1",
				"@entity": []string{"at least one of these fields must be non-empty: 'custom_id', 'username'"}}},
		{"username type", map[string]any{"username": 1.0}, schema.Errors{"username": "expected a string"}},
	})
	t.Run("message", func(t *testing.T) {
		_, errs := prepare(Consumers(), map[string]any{})
		if got, want := errs.Message(), "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')"; got != want {
			t.Errorf("Message() = %q, want %q", got, want)
		}
	})
}
