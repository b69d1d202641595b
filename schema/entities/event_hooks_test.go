package entities

import (
	"reflect"
	"testing"

	"github.com/portico-gw/portico/schema"
)

const hookURL = "https://example.com/hook"

func webhookCustom(config map[string]any) map[string]any {
	return map[string]any{"source": "crud", "event": "admins", "handler": "webhook-custom", "config": config}
}

func TestEventHooks(t *testing.T) {
	t.Run("webhook defaults", func(t *testing.T) {
		got := mustPrepare(t, EventHooks(), map[string]any{
			"source": "crud", "handler": "webhook", "config": map[string]any{"url": hookURL},
		})
		wantFields(t, got, map[string]any{
			"id": testID, "created_at": float64(testNow), "updated_at": float64(testNow),
			"source": "crud", "event": nil, "on_change": nil, "snooze": nil, "handler": "webhook",
			"config": map[string]any{"url": hookURL, "headers": map[string]any{}, "secret": nil, "ssl_verify": false},
		})
	})
	t.Run("webhook full", func(t *testing.T) {
		got := mustPrepare(t, EventHooks(), map[string]any{
			"id": testID2, "source": "crud", "event": "consumers:create", "on_change": true, "snooze": 30.0,
			"handler": "webhook", "config": map[string]any{"url": "http://10.0.0.1:8080/x?y=1",
				"headers": map[string]any{"X-A": "1"}, "secret": "s3cr3t", "ssl_verify": true},
		})
		wantFields(t, got, map[string]any{
			"id": testID2, "created_at": float64(testNow), "updated_at": float64(testNow),
			"source": "crud", "event": "consumers:create", "on_change": true, "snooze": 30.0, "handler": "webhook",
			"config": map[string]any{"url": "http://10.0.0.1:8080/x?y=1", "headers": map[string]any{"X-A": "1"},
				"secret": "s3cr3t", "ssl_verify": true},
		})
	})
	t.Run("snooze has no bounds, as in Kong", func(t *testing.T) {
		for _, n := range []float64{0, -1, 1 << 40} {
			mustPrepare(t, EventHooks(), map[string]any{"source": "crud", "handler": "log", "snooze": n})
		}
	})
	t.Run("unknown source and event are stored (Kong 3.7+)", func(t *testing.T) {
		mustPrepare(t, EventHooks(), map[string]any{"source": "foo", "event": "bar", "handler": "log"})
	})
	for _, tc := range []struct {
		name string
		in   map[string]any
	}{
		{"log without config", map[string]any{"source": "crud", "handler": "log"}},
		{"log with empty config", map[string]any{"source": "crud", "handler": "log", "config": map[string]any{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustPrepare(t, EventHooks(), tc.in)
			wantFields(t, got, map[string]any{
				"id": testID, "created_at": float64(testNow), "updated_at": float64(testNow),
				"source": "crud", "event": nil, "on_change": nil, "snooze": nil, "handler": "log",
				"config": map[string]any{},
			})
		})
	}

	validCustom := map[string]any{"url": hookURL, "method": "POST", "payload": map[string]any{"text": "{{ entity.username }}"},
		"body": "", "headers": map[string]any{"content-type": "application/json"}}
	runInvalid(t, EventHooks, []invalidCase{
		{"missing handler", map[string]any{"source": "crud"},
			schema.Errors{"handler": "required field missing"}},
		{"unknown handler", map[string]any{"source": "crud", "handler": "foo", "config": map[string]any{"x": 1.0}},
			schema.Errors{"handler": "unknown type: foo"}},
		{"handler type", map[string]any{"source": "crud", "handler": 1.0},
			schema.Errors{"handler": "expected a string"}},
		{"missing source", map[string]any{"handler": "log"},
			schema.Errors{"source": "required field missing"}},
		{"empty event", map[string]any{"source": "crud", "event": "", "handler": "log"},
			schema.Errors{"event": "length must be at least 1"}},
		{"webhook without config", map[string]any{"source": "crud", "handler": "webhook"},
			schema.Errors{"config": schema.Errors{"url": "required field missing"}}},
		{"webhook without url", map[string]any{"source": "crud", "handler": "webhook", "config": map[string]any{"ssl_verify": true}},
			schema.Errors{"config": schema.Errors{"url": "required field missing"}}},
		{"url without host", map[string]any{"source": "crud", "handler": "webhook", "config": map[string]any{"url": "example.com/hook"}},
			schema.Errors{"config": schema.Errors{"url": "missing host in url"}}},
		{"url without scheme", map[string]any{"source": "crud", "handler": "webhook", "config": map[string]any{"url": "//example.com/hook"}},
			schema.Errors{"config": schema.Errors{"url": "missing scheme in url"}}},
		{"empty url", map[string]any{"source": "crud", "handler": "webhook", "config": map[string]any{"url": ""}},
			schema.Errors{"config": schema.Errors{"url": "length must be at least 1"}}},
		{"snooze not a number", map[string]any{"source": "crud", "handler": "log", "snooze": "x"},
			schema.Errors{"snooze": "expected an integer"}},
		{"snooze fractional", map[string]any{"source": "crud", "handler": "log", "snooze": 1.5},
			schema.Errors{"snooze": "expected an integer"}},
		{"on_change", map[string]any{"source": "crud", "handler": "log", "on_change": "x"},
			schema.Errors{"on_change": "expected a boolean"}},
		{"config not a record", map[string]any{"source": "crud", "handler": "webhook", "config": "x"},
			schema.Errors{"config": "expected a record"}},
		{"header value", map[string]any{"source": "crud", "handler": "webhook",
			"config": map[string]any{"url": hookURL, "headers": map[string]any{"X-A": 1.0}}},
			schema.Errors{"config": schema.Errors{"headers": "expected a string"}}},
		{"ssl_verify", map[string]any{"source": "crud", "handler": "webhook",
			"config": map[string]any{"url": hookURL, "ssl_verify": "yes"}},
			schema.Errors{"config": schema.Errors{"ssl_verify": "expected a boolean"}}},
		{"webhook-custom field on a webhook", map[string]any{"source": "crud", "handler": "webhook",
			"config": map[string]any{"url": hookURL, "method": "POST"}},
			schema.Errors{"config": schema.Errors{"method": "unknown field"}}},
		{"log takes no config", map[string]any{"source": "crud", "handler": "log", "config": map[string]any{"log_format": "x"}},
			schema.Errors{"config": schema.Errors{"log_format": "unknown field"}}},
		{"unknown top-level field", map[string]any{"source": "crud", "handler": "log", "tags": []any{"a"}},
			schema.Errors{"tags": "unknown field"}},

		// webhook-custom and lambda: their config is checked here; what their
		// templates and functions run is checked by the event hooks service
		// (eventhooks.InstallValidation).
		{"webhook-custom lowercase method", webhookCustom(map[string]any{"url": hookURL, "method": "post"}),
			schema.Errors{"config": schema.Errors{"method": "invalid value: post"}}},
		{"webhook-custom without method", webhookCustom(map[string]any{"url": hookURL}),
			schema.Errors{"config": schema.Errors{"method": "required field missing"}}},
		{"webhook-custom nested payload", webhookCustom(map[string]any{"url": hookURL, "method": "POST",
			"payload": map[string]any{"a": map[string]any{"b": "c"}}}),
			schema.Errors{"config": schema.Errors{"payload": "expected a string"}}},
		{"webhook-custom valid", webhookCustom(validCustom), nil},
		{"webhook-custom minimal", webhookCustom(map[string]any{"url": hookURL, "method": "GET"}), nil},

		{"lambda without functions", map[string]any{"source": "crud", "handler": "lambda", "config": map[string]any{}},
			schema.Errors{"config": schema.Errors{"functions": "required field missing"}}},
		{"lambda empty function", map[string]any{"source": "crud", "handler": "lambda",
			"config": map[string]any{"functions": []any{"return function() end", ""}}},
			schema.Errors{"config": schema.Errors{"functions": elemErr(2, "length must be at least 1")}}},
		{"lambda functions not an array", map[string]any{"source": "crud", "handler": "lambda",
			"config": map[string]any{"functions": "return function() end"}},
			schema.Errors{"config": schema.Errors{"functions": "expected an array"}}},
		{"lambda valid", map[string]any{"source": "crud", "event": "consumers", "handler": "lambda",
			"config": map[string]any{"functions": []any{"return function (data, event, source, pid) end"}}},
			nil},
	})

	t.Run("messages", func(t *testing.T) {
		for _, tc := range []struct {
			in   map[string]any
			want string
		}{
			{map[string]any{"source": "crud"}, "schema violation (handler: required field missing)"},
			{map[string]any{"source": "crud", "handler": "foo"}, "schema violation (handler: unknown type: foo)"},
			{map[string]any{"source": "crud", "handler": "webhook", "config": map[string]any{}},
				"schema violation (config.url: required field missing)"},
			{map[string]any{"source": "crud", "handler": "webhook", "config": map[string]any{"url": hookURL, "method": "POST"}},
				"schema violation (config.method: unknown field)"},
			{webhookCustom(map[string]any{"url": hookURL, "method": "post"}),
				"schema violation (config.method: invalid value: post)"},
			{map[string]any{"source": "crud", "handler": "log", "snooze": "x", "on_change": "x"},
				"2 schema violations (on_change: expected a boolean; snooze: expected an integer)"},
		} {
			_, errs := prepare(EventHooks(), tc.in)
			if errs == nil {
				t.Errorf("%v: no errors, want %q", tc.in, tc.want)
				continue
			}
			if got := errs.Message(); got != tc.want {
				t.Errorf("%v: Message() = %q, want %q", tc.in, got, tc.want)
			}
		}
	})

	t.Run("output", func(t *testing.T) {
		e := EventHooks()
		row := mustPrepare(t, e, map[string]any{"source": "crud", "handler": "webhook", "config": map[string]any{"url": hookURL}})
		want := map[string]any{
			"id": testID, "created_at": float64(testNow), "updated_at": float64(testNow),
			"source": "crud", "event": nil, "on_change": nil, "snooze": nil, "handler": "webhook",
			"config": map[string]any{"url": hookURL, "headers": map[string]any{}, "secret": nil, "ssl_verify": false},
		}
		wantFields(t, e.Output(row), want)
		// A sparse stored row still prints every field, null when unset.
		out := e.Output(map[string]any{"id": testID, "source": "crud", "handler": "webhook",
			"config": map[string]any{"url": hookURL}})
		wantFields(t, out, map[string]any{
			"id": testID, "created_at": nil, "updated_at": nil,
			"source": "crud", "event": nil, "on_change": nil, "snooze": nil, "handler": "webhook",
			"config": map[string]any{"url": hookURL, "headers": nil, "secret": nil, "ssl_verify": nil},
		})
		row = mustPrepare(t, e, map[string]any{"source": "crud", "handler": "log"})
		if got := e.Output(row)["config"]; !schema.Equal(got, map[string]any{}) {
			t.Errorf("log config printed as %#v, want {}", got)
		}
	})

	t.Run("patch", func(t *testing.T) {
		e := EventHooks()
		existing := mustPrepare(t, e, map[string]any{"source": "crud", "handler": "webhook",
			"config": map[string]any{"url": hookURL, "secret": "s"}})
		out, errs := e.PrepareUpdate(existing, map[string]any{"config": map[string]any{"ssl_verify": true}}, testAuto)
		if errs != nil {
			t.Fatal(errs)
		}
		if errs := e.Validate(out); errs != nil {
			t.Fatal(errs.Message())
		}
		want := map[string]any{"url": hookURL, "headers": map[string]any{}, "secret": "s", "ssl_verify": true}
		if !schema.Equal(out["config"], want) {
			t.Errorf("merged config = %v, want %v", out["config"], want)
		}
		// A new handler starts from its own config, not the old one's.
		out, errs = e.PrepareUpdate(existing, map[string]any{"handler": "log"}, testAuto)
		if errs != nil {
			t.Fatal(errs)
		}
		if errs := e.Validate(out); errs != nil {
			t.Fatal(errs.Message())
		}
		if !schema.Equal(out["config"], map[string]any{}) {
			t.Errorf("config after handler change = %v, want {}", out["config"])
		}
		out, _ = e.PrepareUpdate(existing, map[string]any{"handler": "foo"}, testAuto)
		if errs := e.Validate(out); errs.Message() != "schema violation (handler: unknown type: foo)" {
			t.Errorf("unknown handler on update: %v", errs)
		}
	})
}

func TestEventHooksMetadata(t *testing.T) {
	e := EventHooks()
	if e.Name != "event_hooks" || e.Path() != "event-hooks" || e.EndpointKey != "" || !e.NoPut ||
		e.SubschemaKey != "handler" || e.Workspaceable || e.Tagged() || e.AdminDisabled || e.CacheKey != nil {
		t.Errorf("metadata: %+v", e)
	}
	var names []string
	for _, f := range e.Fields {
		names = append(names, f.Name)
		if f.Unique {
			t.Errorf("%s is unique", f.Name)
		}
	}
	if want := []string{"id", "created_at", "updated_at", "source", "event", "on_change", "snooze", "handler", "config"}; !reflect.DeepEqual(names, want) {
		t.Errorf("fields = %v, want %v", names, want)
	}
	if got, want := e.SubschemaNames(), []string{"lambda", "log", "webhook", "webhook-custom"}; !reflect.DeepEqual(got, want) {
		t.Errorf("handlers = %v, want %v", got, want)
	}
	if got := e.UnknownSubschema("x"); got != "unknown type: x" {
		t.Errorf("UnknownSubschema = %q", got)
	}
	for _, h := range []string{"webhook", "webhook-custom"} {
		config := e.Subschema(h).Fields[0]
		if config.Name != "config" || !config.Required {
			t.Fatalf("%s: config = %+v", h, config)
		}
		if f := config.Field("secret"); f == nil || !f.Sensitive {
			t.Errorf("%s: secret is not sensitive", h)
		}
		for _, f := range config.Fields {
			if f.Name != "secret" && f.Sensitive {
				t.Errorf("%s: %s is sensitive", h, f.Name)
			}
		}
	}
	var order []string
	for _, f := range e.Subschema("webhook-custom").Fields[0].Fields {
		order = append(order, f.Name)
	}
	if want := []string{"url", "method", "payload", "payload_format", "body", "body_format", "headers",
		"headers_format", "secret", "ssl_verify"}; !reflect.DeepEqual(order, want) {
		t.Errorf("webhook-custom config fields = %v, want %v", order, want)
	}
	if e.Subschema("log").Fields[0].Required {
		t.Error("log config is required")
	}
	for _, h := range []string{"webhook", "webhook-custom", "log", "lambda"} {
		if len(e.Subschema(h).Checks) != 0 {
			t.Errorf("%s has checks", h)
		}
	}
}
