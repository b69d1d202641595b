package entities

import (
	"slices"
	"testing"

	"github.com/portico-gw/portico/schema"
)

// pluginsWith returns Plugins() with a "demo" subschema registered, shaped
// like a plugin's schema.lua (consumer forbidden, http protocols, config).
func pluginsWith() *schema.Entity {
	e := Plugins()
	e.AddSubschema(&schema.Subschema{Name: "demo", Fields: []*schema.Field{
		schema.NoConsumer(),
		schema.ProtocolsHTTP("protocols"),
		{Name: "config", Type: schema.Record, Required: true, Fields: []*schema.Field{
			{Name: "header_name", Type: schema.String, Required: true, Default: "X-Demo"},
			{Name: "limit", Type: schema.Integer, Between: schema.Range(1, 1000), Default: 10.0},
		}},
	}})
	return e
}

func TestPlugins(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		got := mustPrepare(t, pluginsWith(), map[string]any{"name": "demo", "service": ref(testID2)})
		wantFields(t, got, map[string]any{
			"id": testID, "name": "demo", "instance_name": nil,
			"created_at": float64(testNow), "updated_at": float64(testNow),
			"route": nil, "service": ref(testID2), "consumer": nil,
			"config":    map[string]any{"header_name": "X-Demo", "limit": 10.0},
			"protocols": []any{"grpc", "grpcs", "http", "https"}, "enabled": true, "tags": nil,
			"ordering": nil,
		})
	})
	t.Run("without subschema the base protocols apply", func(t *testing.T) {
		f := Plugins().Field("protocols")
		if !schema.Equal(f.Default, []any{"grpc", "grpcs", "http", "https"}) || !f.Required {
			t.Errorf("protocols = %+v", f)
		}
	})
	runInvalid(t, pluginsWith, []invalidCase{
		{"not enabled", map[string]any{"name": "i-dont-exist", "config": map[string]any{}},
			schema.Errors{"name": "plugin 'i-dont-exist' not enabled; add it to the 'plugins' configuration property"}},
		{"name missing", map[string]any{}, schema.Errors{"name": "required field missing"}},
		{"config", map[string]any{"name": "demo", "config": map[string]any{"limit": 0.0, "nope": true}},
			schema.Errors{"config": schema.Errors{"limit": "value should be between 1 and 1000", "nope": "unknown field"}}},
		{"protocols", map[string]any{"name": "demo", "protocols": []any{"tcp"}},
			schema.Errors{"protocols": elemErr(1, "expected one of: grpc, grpcs, http, https")}},
		{"instance_name", map[string]any{"name": "demo", "instance_name": "a/b"},
			schema.Errors{"instance_name": "invalid value 'a/b': the only accepted ascii characters are alphanumerics or ., -, _, and ~"}},
		{"route id", map[string]any{"name": "demo", "route": map[string]any{}},
			schema.Errors{"route": schema.Errors{"id": "missing primary key"}}},
		{"ordering phase", map[string]any{"name": "demo", "ordering": map[string]any{"before": map[string]any{"rewrite": []any{"cors"}}}},
			schema.Errors{"ordering": schema.Errors{"before": "expected one of: access"}}},
	})
	t.Run("ordering on a consumer-scoped plugin", func(t *testing.T) {
		e := Plugins()
		e.AddSubschema(&schema.Subschema{Name: "scoped", Fields: []*schema.Field{
			{Name: "config", Type: schema.Record, Fields: []*schema.Field{}}}})
		_, errs := prepare(e, map[string]any{"name": "scoped", "consumer": ref(testID2),
			"ordering": map[string]any{"after": map[string]any{"access": []any{"key-auth"}}}})
		if want := "dynamic ordering is not supported for plugins scoped to a consumer"; !slices.Equal(errs[schema.EntityKey].([]string), []string{want}) {
			t.Errorf("errors = %v", errs)
		}
	})
	t.Run("message", func(t *testing.T) {
		_, errs := prepare(pluginsWith(), map[string]any{"name": "demo", "config": map[string]any{"nope": 1.0}, "enabled": "yes"})
		want := "2 schema violations (config.nope: unknown field; enabled: expected a boolean)"
		if got := errs.Message(); got != want {
			t.Errorf("Message() = %q, want %q", got, want)
		}
	})
	t.Run("no consumer", func(t *testing.T) {
		_, errs := prepare(pluginsWith(), map[string]any{"name": "demo", "consumer": ref(testID)})
		if want := (schema.Errors{"consumer": "value must be null"}); errs.Message() != want.Message() {
			t.Errorf("errors = %v, want %v", errs, want)
		}
	})
	t.Run("renaming resets config", func(t *testing.T) {
		e := pluginsWith()
		e.AddSubschema(&schema.Subschema{Name: "other", Fields: []*schema.Field{
			{Name: "config", Type: schema.Record, Required: true, Fields: []*schema.Field{
				{Name: "level", Type: schema.String, Default: "info"},
			}},
		}})
		existing := mustPrepare(t, e, map[string]any{"name": "demo"})
		out, errs := e.PrepareUpdate(existing, map[string]any{"name": "other"}, testAuto)
		if errs != nil {
			t.Fatal(errs)
		}
		if !schema.Equal(out["config"], map[string]any{"level": "info"}) {
			t.Errorf("config = %v", out["config"])
		}
	})
}
