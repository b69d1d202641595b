package schema

import (
	"reflect"
	"testing"
)

// limiters is an entity whose config record declares deprecated flat
// shorthands of its redis record, as rate-limiting does.
func limiters() *Entity {
	dep := func(name string) *Deprecation {
		return &Deprecation{Message: "limiters: config." + name + " is deprecated", RemovalInVersion: "4.0"}
	}
	return &Entity{
		Name: "limiters",
		Fields: []*Field{
			ID(),
			{Name: "config", Type: Record, Required: true, Fields: []*Field{
				{Name: "minute", Type: Number},
				{Name: "redis", Type: Record, Required: true, Fields: []*Field{
					{Name: "host", Type: String},
					{Name: "port", Type: Integer, Default: 6379.0},
					{Name: "password", Type: String, AllowEmpty: true},
				}},
			}, Shorthands: []Shorthand{
				{Name: "redis_host", Type: String, ReplacedWith: []string{"redis", "host"}, Deprecation: dep("redis_host")},
				{Name: "redis_port", Type: Integer, ReplacedWith: []string{"redis", "port"}, Deprecation: dep("redis_port")},
				{Name: "redis_password", Type: String, AllowEmpty: true, ReplacedWith: []string{"redis", "password"}, Deprecation: dep("redis_password")},
			}},
		},
	}
}

func TestRecordShorthands(t *testing.T) {
	redis := func(host, port, password any) map[string]any {
		return map[string]any{"host": host, "port": port, "password": password}
	}
	for _, tc := range []struct {
		name      string
		config    map[string]any
		wantRedis map[string]any
		wantErr   Errors
	}{
		{"flat fields write the record", map[string]any{"redis_host": "r.internal", "redis_port": 6380.0},
			redis("r.internal", 6380.0, nil), nil},
		{"beside the record", map[string]any{"redis_host": "r.internal", "redis": map[string]any{"port": 7000.0}},
			redis("r.internal", 7000.0, nil), nil},
		{"both, the same value", map[string]any{"redis_host": "r", "redis": map[string]any{"host": "r"}},
			redis("r", 6379.0, nil), nil},
		{"empty password", map[string]any{"redis_password": ""}, redis(nil, 6379.0, ""), nil},
		{"null shorthand", map[string]any{"redis_host": nil, "redis": map[string]any{"host": "r"}},
			redis("r", 6379.0, nil), nil},
		{"both, different values", map[string]any{"redis_port": 1.0, "redis": map[string]any{"port": 2.0}}, nil,
			Errors{"config": Errors{"redis_port": "both deprecated and new field are used but their values mismatch: redis_port = 1 vs redis.port = 2"}}},
		{"wrong type", map[string]any{"redis_port": "x"}, nil,
			Errors{"config": Errors{"redis_port": "expected an integer"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := limiters()
			out, errs := e.PrepareInsert(map[string]any{"config": tc.config}, clock(1))
			if !reflect.DeepEqual(errs, tc.wantErr) {
				t.Fatalf("errors %v, want %v", errs, tc.wantErr)
			}
			if errs != nil {
				return
			}
			if verrs := e.Validate(out); verrs != nil {
				t.Fatalf("Validate: %v", verrs)
			}
			cfg := out["config"].(map[string]any)
			if !reflect.DeepEqual(cfg["redis"], tc.wantRedis) {
				t.Errorf("config.redis = %v, want %v", cfg["redis"], tc.wantRedis)
			}
			if _, kept := cfg["redis_host"]; kept {
				t.Error("a shorthand was stored")
			}
		})
	}

	t.Run("a patch merges into the stored record", func(t *testing.T) {
		e := limiters()
		row := mustInsert(t, e, map[string]any{"config": map[string]any{"redis": map[string]any{"host": "a", "password": "pw"}}}, clock(1))
		out, errs := e.PrepareUpdate(row, map[string]any{"config": map[string]any{"redis_host": "b"}}, clock(2))
		if errs != nil {
			t.Fatal(errs)
		}
		if got := out["config"].(map[string]any)["redis"]; !reflect.DeepEqual(got, redis("b", 6379.0, "pw")) {
			t.Errorf("config.redis after the patch = %v", got)
		}
	})

	t.Run("reads echo the deprecated fields", func(t *testing.T) {
		e := limiters()
		row := mustInsert(t, e, map[string]any{"config": map[string]any{"redis_host": "r"}}, clock(1))
		cfg := e.Output(row)["config"].(map[string]any)
		for k, want := range map[string]any{"redis_host": "r", "redis_port": 6379.0, "redis_password": nil} {
			if got, ok := cfg[k]; !ok || got != want {
				t.Errorf("config.%s = %v (present %v), want %v", k, got, ok, want)
			}
		}
		// The echo is accepted back, as decK sends a dump.
		if _, errs := e.PrepareUpdate(row, map[string]any{"config": cfg}, clock(2)); errs != nil {
			t.Errorf("the output written back: %v", errs)
		}
	})

	t.Run("form values are typed", func(t *testing.T) {
		got := limiters().Infer(map[string]any{"config": map[string]any{"redis_port": "6380"}})
		if p := got["config"].(map[string]any)["redis_port"]; p != 6380.0 {
			t.Errorf("redis_port inferred as %#v", p)
		}
	})

	t.Run("schemas list them", func(t *testing.T) {
		fields := limiters().JSONable()["fields"].([]any)
		config := fields[1].(map[string]any)["config"].(map[string]any)
		got := config["shorthand_fields"].([]any)
		want := map[string]any{"redis_password": map[string]any{"type": "string", "len_min": 0, "deprecation": map[string]any{
			"message": "limiters: config.redis_password is deprecated", "removal_in_version": "4.0",
			"replaced_with": []any{map[string]any{"path": []any{"redis", "password"}}}}}}
		if len(got) != 3 || !reflect.DeepEqual(got[2], want) {
			t.Errorf("shorthand_fields = %v", got)
		}
	})
}
