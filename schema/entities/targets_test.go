package entities

import (
	"testing"

	"github.com/portico-gw/portico/schema"
)

func TestTargets(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		got := mustPrepare(t, Targets(), map[string]any{"target": "example.com", "upstream": ref(testID2)})
		wantFields(t, got, map[string]any{
			"id": testID, "created_at": float64(testNow), "updated_at": float64(testNow),
			"upstream": ref(testID2), "target": "example.com:8000", "weight": 100.0, "tags": nil,
		})
	})
	for _, tc := range []struct{ in, want string }{
		{"example.com", "example.com:8000"},
		{"example.com:8080", "example.com:8080"},
		{"10.0.0.1", "10.0.0.1:8000"},
		{"010.000.000.001:80", "10.0.0.1:80"},
		{"::1", "[0000:0000:0000:0000:0000:0000:0000:0001]:8000"},
		{"[2001:db8::1]:443", "[2001:0db8:0000:0000:0000:0000:0000:0001]:443"},
	} {
		t.Run("normalises "+tc.in, func(t *testing.T) {
			got := mustPrepare(t, Targets(), map[string]any{"target": tc.in, "upstream": ref(testID2)})
			if got["target"] != tc.want {
				t.Errorf("target = %v, want %v", got["target"], tc.want)
			}
		})
	}
	t.Run("weight zero", func(t *testing.T) {
		mustPrepare(t, Targets(), map[string]any{"target": "a.com", "weight": 0.0, "upstream": ref(testID2)})
	})
	t.Run("timestamps are numbers", func(t *testing.T) {
		e := Targets()
		for _, name := range []string{"created_at", "updated_at"} {
			if f := e.Field(name); f.Type != schema.Number || !f.Timestamp || !f.Auto {
				t.Errorf("%s = %+v", name, f)
			}
		}
	})
	runInvalid(t, Targets, []invalidCase{
		{"target missing", map[string]any{"upstream": ref(testID2)}, schema.Errors{"target": "required field missing"}},
		{"upstream missing", map[string]any{"target": "a.com"}, schema.Errors{"upstream": "required field missing"}},
		{"bad port", map[string]any{"target": "hostname:1.0", "upstream": ref(testID2)},
			schema.Errors{"target": "Invalid target ('hostname:1.0'); not a valid hostname or ip address"}},
		{"port too big", map[string]any{"target": "a.com:65536", "upstream": ref(testID2)},
			schema.Errors{"target": "Invalid target ('a.com:65536'); not a valid hostname or ip address"}},
		{"weight", map[string]any{"target": "a.com", "weight": 65536.0, "upstream": ref(testID2)},
			schema.Errors{"weight": "value should be between 0 and 65535"}},
	})
}
