package schema

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	testID  = "4a3d6e1c-3c5e-4b8b-9d6a-2f7e1c0b9a11"
	testID2 = "9b1e3a4f-7c2d-4e5f-8a6b-0c1d2e3f4a5b"
)

// clock returns an Auto whose clock reads now and whose ids are testID.
func clock(now int64) Auto {
	return Auto{Now: func() time.Time { return time.Unix(now, 0) }, NewID: func() string { return testID }}
}

// widgets is a small entity exercising the engine's features.
func widgets() *Entity {
	return &Entity{
		Name:        "widgets",
		EndpointKey: "name",
		Fields: []*Field{
			ID(),
			CreatedAt(),
			UpdatedAt(),
			{Name: "name", Type: String, Required: true, Unique: true},
			{Name: "kind", Type: String, Immutable: true, Default: "basic"},
			{Name: "size", Type: Integer, Default: 1.0, Between: Range(1, 10)},
			{Name: "ratio", Type: Number},
			{Name: "enabled", Type: Boolean, Default: true},
			{Name: "labels", Type: Array, Elements: &Field{Type: String}},
			{Name: "ports", Type: Set, Elements: &Field{Type: Integer}},
			{Name: "meta", Type: Map, Keys: &Field{Type: String}, Values: &Field{Type: String}},
			{Name: "secret", Type: String, WriteOnly: true},
			{Name: "owner", Type: Foreign, Reference: "owners"},
			{Name: "config", Type: Record, Required: true, Fields: []*Field{
				{Name: "url", Type: String, Required: true, Default: "http://x"},
				{Name: "retries", Type: Integer, Default: 3.0},
				{Name: "tls", Type: Record, Required: true, Fields: []*Field{
					{Name: "verify", Type: Boolean, Default: true},
					{Name: "depth", Type: Integer, Default: 1.0},
				}},
			}},
			Tags(),
		},
	}
}

func mustInsert(t *testing.T, e *Entity, in map[string]any, auto Auto) map[string]any {
	t.Helper()
	out, errs := e.PrepareInsert(in, auto)
	if errs != nil {
		t.Fatalf("PrepareInsert: %v", errs)
	}
	if errs := e.Validate(out); errs != nil {
		t.Fatalf("Validate: %v", errs)
	}
	return out
}

func TestPrepareInsertDefaults(t *testing.T) {
	e := widgets()
	in := map[string]any{"name": "w", "config": map[string]any{"retries": 5.0}}
	out := mustInsert(t, e, in, clock(100))
	want := map[string]any{
		"id": testID, "created_at": 100.0, "updated_at": 100.0,
		"name": "w", "kind": "basic", "size": 1.0, "ratio": nil, "enabled": true,
		"labels": nil, "ports": nil, "meta": nil, "secret": nil, "owner": nil, "tags": nil,
		"config": map[string]any{"url": "http://x", "retries": 5.0,
			"tls": map[string]any{"verify": true, "depth": 1.0}},
	}
	if !Equal(out, want) {
		t.Errorf("PrepareInsert =\n%v\nwant\n%v", out, want)
	}
	if _, touched := in["id"]; touched {
		t.Error("PrepareInsert modified its input")
	}
}

func TestPrepareUpdate(t *testing.T) {
	e := widgets()
	existing := mustInsert(t, e, map[string]any{"name": "w", "labels": []any{"a"},
		"config": map[string]any{"url": "http://a", "retries": 5.0,
			"tls": map[string]any{"verify": false, "depth": 4.0}}}, clock(100))

	t.Run("merges records recursively and refreshes updated_at", func(t *testing.T) {
		patch := map[string]any{"size": 3.0, "labels": []any{"b"},
			"config": map[string]any{"retries": 7.0, "tls": map[string]any{"depth": 2.0}}}
		out, errs := e.PrepareUpdate(existing, patch, clock(200))
		if errs != nil {
			t.Fatal(errs)
		}
		if out["created_at"] != 100.0 || out["updated_at"] != 200.0 {
			t.Errorf("timestamps: created_at=%v updated_at=%v", out["created_at"], out["updated_at"])
		}
		wantConfig := map[string]any{"url": "http://a", "retries": 7.0,
			"tls": map[string]any{"verify": false, "depth": 2.0}}
		if !Equal(out["config"], wantConfig) {
			t.Errorf("config = %v, want %v", out["config"], wantConfig)
		}
		if !Equal(out["labels"], []any{"b"}) {
			t.Errorf("arrays are replaced, not merged: labels = %v", out["labels"])
		}
		if out["size"] != 3.0 || out["name"] != "w" || out["id"] != testID {
			t.Errorf("top-level fields: %v", out)
		}
		if existing["size"] != 1.0 {
			t.Error("PrepareUpdate modified the existing entity")
		}
	})
	t.Run("null clears a field", func(t *testing.T) {
		out, errs := e.PrepareUpdate(existing, map[string]any{"labels": nil}, clock(200))
		if errs != nil || out["labels"] != nil {
			t.Errorf("labels = %v (%v)", out["labels"], errs)
		}
	})
	t.Run("immutable field changed", func(t *testing.T) {
		_, errs := e.PrepareUpdate(existing, map[string]any{"kind": "fancy"}, clock(200))
		if want := (Errors{"kind": "immutable field cannot be updated"}); !reflect.DeepEqual(errs, want) {
			t.Errorf("errs = %v, want %v", errs, want)
		}
	})
	t.Run("immutable field unchanged", func(t *testing.T) {
		if _, errs := e.PrepareUpdate(existing, map[string]any{"kind": "basic"}, clock(200)); errs != nil {
			t.Errorf("errs = %v", errs)
		}
	})
}

func TestPrepareUpsertKeepsIdentity(t *testing.T) {
	e := widgets()
	existing := mustInsert(t, e, map[string]any{"name": "w", "size": 5.0}, clock(100))
	existing["id"] = testID2
	out, errs := e.PrepareUpsert(map[string]any{"name": "w"}, existing, clock(300))
	if errs != nil {
		t.Fatal(errs)
	}
	if out["id"] != testID2 || out["created_at"] != 100.0 || out["updated_at"] != 300.0 {
		t.Errorf("identity: %v %v %v", out["id"], out["created_at"], out["updated_at"])
	}
	if out["size"] != 1.0 {
		t.Errorf("PUT replaces: size = %v, want the default 1", out["size"])
	}
}

func TestShorthandExpansion(t *testing.T) {
	e := widgets()
	e.Shorthands = []Shorthand{{Name: "size_text", Type: String, Expand: func(v any) (map[string]any, error) {
		if v == "big" {
			return map[string]any{"size": 10.0}, nil
		}
		return nil, errorString("unknown size")
	}}}
	out, errs := e.PrepareInsert(map[string]any{"name": "w", "size_text": "big"}, clock(1))
	if errs != nil || out["size"] != 10.0 {
		t.Fatalf("out = %v, errs = %v", out, errs)
	}
	if _, ok := out["size_text"]; ok {
		t.Error("the shorthand stayed in the entity")
	}
	if _, errs := e.PrepareInsert(map[string]any{"name": "w", "size_text": "odd"}, clock(1)); !reflect.DeepEqual(errs, Errors{"size_text": "unknown size"}) {
		t.Errorf("errs = %v", errs)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestValidateMessages(t *testing.T) {
	e := widgets()
	for _, tc := range []struct {
		name  string
		patch map[string]any
		want  Errors
	}{
		{"required", map[string]any{"name": nil}, Errors{"name": "required field missing"}},
		{"unknown field", map[string]any{"color": "red"}, Errors{"color": "unknown field"}},
		{"between", map[string]any{"size": 11.0}, Errors{"size": "value should be between 1 and 10"}},
		{"integer", map[string]any{"size": 1.5}, Errors{"size": "expected an integer"}},
		{"boolean", map[string]any{"enabled": "yes"}, Errors{"enabled": "expected a boolean"}},
		{"array", map[string]any{"labels": "a"}, Errors{"labels": "expected an array"}},
		{"set", map[string]any{"ports": "a"}, Errors{"ports": "expected a set"}},
		{"map", map[string]any{"meta": []any{}}, Errors{"meta": "expected a map"}},
		{"empty string", map[string]any{"name": ""}, Errors{"name": "length must be at least 1"}},
		{"nested record", map[string]any{"config": map[string]any{"url": 1.0, "tls": map[string]any{"depth": "x"}}},
			Errors{"config": Errors{"url": "expected a string", "tls": Errors{"depth": "expected an integer"}}}},
		{"foreign", map[string]any{"owner": map[string]any{"id": "nope", "x": 1.0}},
			Errors{"owner": Errors{"id": "expected a valid UUID"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := map[string]any{"name": "w"}
			for k, v := range tc.patch {
				in[k] = v
			}
			out, errs := e.PrepareInsert(in, clock(1))
			if errs != nil {
				t.Fatal(errs)
			}
			if got := e.Validate(out); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Validate = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestErrorsMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		errs Errors
		want string
	}{
		{"one", Errors{"name": "required field missing"}, "schema violation (name: required field missing)"},
		{"entity", Errors{EntityKey: []string{"at least one of these fields must be non-empty: 'custom_id', 'username'"}},
			"schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')"},
		{"many, entity first, fields sorted", Errors{
			"port":    "value should be between 0 and 65535",
			"host":    "required field missing",
			EntityKey: []string{"failed conditional validation given value of field 'protocol'"},
		}, "3 schema violations (failed conditional validation given value of field 'protocol'; " +
			"host: required field missing; port: value should be between 0 and 65535)"},
		{"nested", Errors{"config": Errors{"garbage": "unknown field", "tls": Errors{"depth": "expected an integer"}}, "name": "expected a string"},
			"3 schema violations (config.garbage: unknown field; config.tls.depth: expected an integer; name: expected a string)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.errs.Message(); got != tc.want {
				t.Errorf("Message() =\n%s\nwant\n%s", got, tc.want)
			}
			if tc.errs.Error() != tc.want {
				t.Error("Error() differs from Message()")
			}
		})
	}
	b, err := json.Marshal(Errors{"config": Errors{"url": "x"}, EntityKey: []string{"y"}})
	if err != nil || string(b) != `{"@entity":["y"],"config":{"url":"x"}}` {
		t.Errorf("JSON form = %s (%v)", b, err)
	}
}

func TestInfer(t *testing.T) {
	e := widgets()
	e.Shorthands = []Shorthand{{Name: "count", Type: Integer, Expand: func(any) (map[string]any, error) { return nil, nil }}}
	got := e.Infer(map[string]any{
		"name":    "w",
		"size":    "5",
		"ratio":   " 0.5 ",
		"enabled": "false",
		"labels":  "one",
		"ports":   []any{"80", "x"},
		"tags":    "",
		"meta":    map[string]any{"k": "v"},
		"owner":   map[string]any{"id": ""},
		"config":  map[string]any{"retries": "9", "tls": map[string]any{"verify": "true", "depth": "deep"}, "extra": "1"},
		"count":   "3",
		"other":   "7",
	})
	want := map[string]any{
		"name":    "w",
		"size":    5.0,
		"ratio":   0.5,
		"enabled": false,
		"labels":  []any{"one"},
		"ports":   []any{80.0, "x"},
		"tags":    nil,
		"meta":    map[string]any{"k": "v"},
		"owner":   map[string]any{"id": nil},
		"config":  map[string]any{"retries": 9.0, "tls": map[string]any{"verify": true, "depth": "deep"}, "extra": "1"},
		"count":   3.0,
		"other":   "7",
	}
	if !Equal(got, want) {
		t.Errorf("Infer =\n%v\nwant\n%v", got, want)
	}
	t.Run("bad numbers are left for validation", func(t *testing.T) {
		in := e.Infer(map[string]any{"name": "w", "size": "big"})
		out, _ := e.PrepareInsert(in, clock(1))
		if errs := e.Validate(out); !reflect.DeepEqual(errs, Errors{"size": "expected an integer"}) {
			t.Errorf("errs = %v", errs)
		}
	})
}

func TestOutput(t *testing.T) {
	e := widgets()
	row := mustInsert(t, e, map[string]any{"name": "w", "secret": "s3cr3t"}, clock(1))
	row["labels"] = []any(nil)
	row["meta"] = map[string]any(nil)
	delete(row, "ratio") // an old row without a newer field
	out := e.Output(row)
	if _, ok := out["secret"]; ok {
		t.Error("write-only field in output")
	}
	for _, f := range []string{"ratio", "owner", "tags", "ports"} {
		if v, ok := out[f]; !ok || v != nil {
			t.Errorf("%s = %v, %v; want present and null", f, v, ok)
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, frag := range []string{`"labels":[]`, `"meta":{}`, `"ratio":null`, `"tags":null`,
		`"config":{"retries":3,"tls":{"depth":1,"verify":true},"url":"http://x"}`} {
		if !strings.Contains(s, frag) {
			t.Errorf("output %s lacks %s", s, frag)
		}
	}
	if stripped := StripNulls(out).(map[string]any); stripped["tags"] != nil || len(stripped) >= len(out) {
		t.Errorf("StripNulls kept nulls: %v", stripped)
	}
}

func TestJSONable(t *testing.T) {
	e := widgets()
	e.Checks = []Check{
		{AtLeastOneOf: []string{"labels", "ports"}},
		{Conditional: &Conditional{IfField: "kind", IfMatch: &Field{Eq: "fancy"}, ThenField: "owner", ThenMatch: &Field{Eq: Null}}},
		{Custom: &CustomCheck{FieldSources: []string{"name"}, Fn: func(map[string]any) string { return "" }}},
	}
	b, err := json.Marshal(e.JSONable())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Fields       []map[string]map[string]any `json:"fields"`
		EntityChecks []map[string]any            `json:"entity_checks"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Fields) != len(e.Fields) {
		t.Fatalf("%d fields, want %d", len(got.Fields), len(e.Fields))
	}
	for i, f := range e.Fields {
		if _, ok := got.Fields[i][f.Name]; !ok || len(got.Fields[i]) != 1 {
			t.Errorf("field %d = %v, want the single key %q", i, got.Fields[i], f.Name)
		}
	}
	if !strings.HasPrefix(string(b), `{"entity_checks":[`) ||
		!strings.Contains(string(b), `"fields":[{"id":{"auto":true,"type":"string","uuid":true}},{"created_at":{"auto":true,"timestamp":true,"type":"integer"}}`) {
		t.Errorf("JSONable = %s", b)
	}
	for _, frag := range []string{
		`{"size":{"between":[1,10],"default":1,"type":"integer"}}`,
		`{"tags":{"elements":{"required":true,"type":"string"},"type":"set"}}`,
		`{"owner":{"reference":"owners","type":"foreign"}}`,
		`{"at_least_one_of":["labels","ports"]}`,
		`{"conditional":{"if_field":"kind","if_match":{"eq":"fancy"},"then_field":"owner","then_match":{"eq":null}}}`,
		`{"custom_entity_check":{"field_sources":["name"]}}`,
	} {
		if !strings.Contains(string(b), frag) {
			t.Errorf("JSONable lacks %s:\n%s", frag, b)
		}
	}
}

// A deprecated field stays in /schemas with Kong's deprecation notes:
// clients filling configs from the schema must know every field the Admin
// API returns.
func TestJSONableDeprecatedField(t *testing.T) {
	tests := []struct {
		name  string
		field *Field
		want  string
	}{
		{"with an old default", &Field{Name: "queue_size", Type: Integer, Deprecation: &Deprecation{
			Message: "use queue.max_batch_size", RemovalInVersion: "4.0", OldDefault: float64(1)}},
			`{"queue_size":{"deprecation":{"message":"use queue.max_batch_size","old_default":1,"removal_in_version":"4.0"},"type":"integer"}}`},
		{"without", &Field{Name: "old", Type: String, Deprecation: &Deprecation{Message: "gone", RemovalInVersion: "4.0"}},
			`{"old":{"deprecation":{"message":"gone","removal_in_version":"4.0"},"type":"string"}}`},
		{"not deprecated", &Field{Name: "name", Type: String}, `{"name":{"type":"string"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(fieldsJSON([]*Field{tc.field}))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != "["+tc.want+"]" {
				t.Errorf("fields = %s, want [%s]", b, tc.want)
			}
		})
	}
}

func TestEntityChecks(t *testing.T) {
	base := func(checks ...Check) *Entity {
		return &Entity{Name: "pairs", Fields: []*Field{
			{Name: "a", Type: String}, {Name: "b", Type: String}, {Name: "c", Type: Integer},
		}, Checks: checks}
	}
	for _, tc := range []struct {
		name  string
		check Check
		in    map[string]any
		want  Errors
	}{
		{"at_least_one_of", Check{AtLeastOneOf: []string{"a", "b"}}, map[string]any{},
			Errors{EntityKey: []string{"at least one of these fields must be non-empty: 'a', 'b'"}}},
		{"only_one_of", Check{OnlyOneOf: []string{"a", "b"}}, map[string]any{"a": "x", "b": "y"},
			Errors{EntityKey: []string{"exactly one of these fields must be non-empty: 'a', 'b'"}}},
		{"mutually_required", Check{MutuallyRequired: []string{"a", "b"}}, map[string]any{"a": "x"},
			Errors{EntityKey: []string{"all or none of these fields must be set: 'a', 'b'"}}},
		{"mutually_exclusive", Check{MutuallyExclusive: []string{"a", "b"}}, map[string]any{"a": "x", "b": "y"},
			Errors{EntityKey: []string{"only one or none of these fields must be set: 'a', 'b'"}}},
		{"distinct", Check{Distinct: []string{"a", "b"}}, map[string]any{"a": "x", "b": "x"},
			Errors{EntityKey: []string{"values of these fields must be distinct: 'a', 'b'"}}},
		{"conditional", Check{Conditional: &Conditional{IfField: "a", IfMatch: &Field{Eq: "x"}, ThenField: "c", ThenMatch: &Field{Required: true}}},
			map[string]any{"a": "x"},
			Errors{"c": "required field missing", EntityKey: []string{"failed conditional validation given value of field 'a'"}}},
		{"conditional not_one_of", Check{Conditional: &Conditional{IfField: "a", IfMatch: &Field{NotOneOf: Strings("x")}, ThenField: "b", ThenMatch: &Field{NotOneOf: Strings("y", "z")}}},
			map[string]any{"a": "w", "b": "z"},
			Errors{"b": "must not be one of: y, z", EntityKey: []string{"failed conditional validation given value of field 'a'"}}},
		{"conditional_at_least_one_of", Check{ConditionalAtLeastOneOf: &ConditionalAtLeastOneOf{IfField: "a", IfMatch: &Field{Eq: "x"},
			ThenAtLeastOneOf: []string{"b", "c"}, ThenErr: "must set one of %s when 'a' is 'x'"}},
			map[string]any{"a": "x"},
			Errors{EntityKey: []string{"must set one of 'b', 'c' when 'a' is 'x'"}}},
		{"custom skipped on field errors", Check{Custom: &CustomCheck{FieldSources: []string{"c"}, Fn: func(map[string]any) string { return "never" }}},
			map[string]any{"c": "x"}, Errors{"c": "expected an integer"}},
		{"custom", Check{Custom: &CustomCheck{FieldSources: []string{"a"}, Fn: func(e map[string]any) string {
			if e["a"] == "bad" {
				return "a is bad"
			}
			return ""
		}}}, map[string]any{"a": "bad"}, Errors{EntityKey: []string{"a is bad"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := base(tc.check)
			out, _ := e.PrepareInsert(tc.in, Auto{})
			if got := e.Validate(out); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Validate = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestSubschemas(t *testing.T) {
	newHooks := func() *Entity {
		e := &Entity{
			Name:         "hooks",
			SubschemaKey: "handler",
			UnknownSubschema: func(k string) string {
				return "handler '" + k + "' unknown"
			},
			Fields: []*Field{
				ID(),
				{Name: "handler", Type: String, Required: true},
				{Name: "config", Type: Record},
			},
		}
		e.AddSubschema(&Subschema{Name: "webhook", Fields: []*Field{
			{Name: "config", Type: Record, Required: true, Fields: []*Field{
				{Name: "url", Type: String, Required: true},
				{Name: "method", Type: String, Default: "POST"},
			}},
		}})
		e.AddSubschema(&Subschema{Name: "log", Fields: []*Field{
			{Name: "config", Type: Record, Required: true, Fields: []*Field{
				{Name: "level", Type: String, Default: "info"},
			}},
		}})
		return e
	}
	e := newHooks()
	if names := e.SubschemaNames(); !reflect.DeepEqual(names, []string{"log", "webhook"}) {
		t.Errorf("SubschemaNames = %v", names)
	}
	t.Run("defaults from the subschema", func(t *testing.T) {
		out := mustInsert(t, e, map[string]any{"handler": "webhook", "config": map[string]any{"url": "http://x"}}, clock(1))
		if !Equal(out["config"], map[string]any{"url": "http://x", "method": "POST"}) {
			t.Errorf("config = %v", out["config"])
		}
	})
	t.Run("unknown subschema", func(t *testing.T) {
		out, _ := e.PrepareInsert(map[string]any{"handler": "nope"}, clock(1))
		if errs := e.Validate(out); errs["handler"] != "handler 'nope' unknown" {
			t.Errorf("errs = %v", errs)
		}
	})
	t.Run("changing the key resets the subschema's record", func(t *testing.T) {
		existing := mustInsert(t, e, map[string]any{"handler": "webhook", "config": map[string]any{"url": "http://x"}}, clock(1))
		out, errs := e.PrepareUpdate(existing, map[string]any{"handler": "log"}, clock(2))
		if errs != nil {
			t.Fatal(errs)
		}
		if !Equal(out["config"], map[string]any{"level": "info"}) {
			t.Errorf("config = %v", out["config"])
		}
	})
	t.Run("registries are independent", func(t *testing.T) {
		if newHooks().Subschema("webhook") == e.Subschema("webhook") {
			t.Error("subschemas shared between entity values")
		}
	})
	t.Run("duplicate subschema panics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("no panic")
			}
		}()
		e.AddSubschema(&Subschema{Name: "log"})
	})
	t.Run("subschema JSONable", func(t *testing.T) {
		j, ok := e.SubschemaJSONable("log")
		if !ok {
			t.Fatal("no subschema")
		}
		b, _ := json.Marshal(j)
		if !strings.Contains(string(b), `{"config":{"fields":[{"level":{"default":"info","type":"string"}}],"required":true,"type":"record"}}`) {
			t.Errorf("SubschemaJSONable = %s", b)
		}
		if _, ok := e.SubschemaJSONable("nope"); ok {
			t.Error("unknown subschema rendered")
		}
	})
}

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	w := widgets()
	hooks := &Entity{Name: "event_hooks", AdminPath: "event-hooks", Fields: []*Field{ID()}}
	r.Register(w, hooks)
	if r.Entity("widgets") != w || r.ByPath("event-hooks") != hooks || r.ByPath("event_hooks") != nil {
		t.Error("lookups")
	}
	if got := r.Entities(); len(got) != 2 || got[0] != w {
		t.Errorf("Entities = %v", got)
	}
	if w.Field("config").Field("tls").Field("depth") == nil || w.Field("nope") != nil {
		t.Error("Field lookups")
	}
	if !w.Tagged() || hooks.Tagged() {
		t.Error("Tagged")
	}
	if sets := w.UniqueSets(); !reflect.DeepEqual(sets, [][]string{{"name"}}) {
		t.Errorf("UniqueSets = %v", sets)
	}
	if refs := w.References(); len(refs) != 1 || refs[0].Name != "owner" {
		t.Errorf("References = %v", refs)
	}
	defer func() {
		if recover() == nil {
			t.Error("duplicate registration did not panic")
		}
	}()
	r.Register(widgets())
}

// TestPayloadIsOutputRedactedWithoutNulls pins Payload to the three steps
// it fuses.
func TestPayloadIsOutputRedactedWithoutNulls(t *testing.T) {
	e := &Entity{Name: "hooks", Fields: []*Field{
		{Name: "id", Type: String},
		{Name: "event", Type: String},
		{Name: "hidden", Type: String, WriteOnly: true},
		{Name: "tags", Type: Set, Elements: &Field{Type: String}},
		{Name: "config", Type: Record, Fields: []*Field{
			{Name: "url", Type: String},
			{Name: "secret", Type: String, Sensitive: true},
			{Name: "headers", Type: Map, Keys: &Field{Type: String}, Values: &Field{Type: String}},
			{Name: "unset", Type: String},
		}},
	}}
	e.index()
	rows := []map[string]any{
		{"id": "1", "event": nil, "hidden": "h", "tags": []any{"a"},
			"config": map[string]any{"url": "u", "secret": "s", "headers": map[string]any{}, "unset": nil}},
		{"id": "2", "config": map[string]any{"secret": nil}},
		{"id": "3", "config": nil, "tags": nil},
	}
	for _, row := range rows {
		got := e.Payload(row)
		want := StripNulls(e.Redact(e.Output(row)))
		if !Equal(got, want) {
			t.Errorf("Payload(%v) = %v, want %v", row, got, want)
		}
	}
}

// A reference given as the whole referenced object (as go-kong sends a
// service's client_certificate) keeps its primary key alone, on inserts
// and updates.
func TestForeignObjectKeepsPrimaryKey(t *testing.T) {
	e := widgets()
	whole := map[string]any{"id": testID2, "name": "owner", "created_at": 1.0}
	out := mustInsert(t, e, map[string]any{"name": "w", "owner": whole}, clock(1))
	if !Equal(out["owner"], map[string]any{"id": testID2}) {
		t.Errorf("insert: owner = %v", out["owner"])
	}
	upd, errs := e.PrepareUpdate(out, map[string]any{"owner": whole}, clock(2))
	if errs != nil || !Equal(upd["owner"], map[string]any{"id": testID2}) {
		t.Errorf("update: owner = %v (%v)", upd["owner"], errs)
	}
	if whole["name"] != "owner" {
		t.Error("the input was changed")
	}
}

// A cache key of one unique field that always has a value is that field's
// unique index already: the store keeps one, and uniqueness is checked once.
func TestDistinctCacheKey(t *testing.T) {
	for _, tc := range []struct {
		name  string
		field *Field
		key   []string
		want  []string
	}{
		{"a unique required field", &Field{Name: "username", Type: String, Unique: true, Required: true}, []string{"username"}, nil},
		{"a unique generated field", &Field{Name: "key", Type: String, Unique: true, Auto: true}, []string{"key"}, nil},
		{"a unique field that may be null", &Field{Name: "key", Type: String, Unique: true}, []string{"key"}, []string{"key"}},
		{"a field that is not unique", &Field{Name: "key", Type: String, Required: true}, []string{"key"}, []string{"key"}},
		{"several fields", &Field{Name: "key", Type: String, Unique: true, Required: true}, []string{"key", "other"}, []string{"key", "other"}},
		{"none", &Field{Name: "key", Type: String}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &Entity{Name: "things", CacheKey: tc.key, Fields: []*Field{tc.field, {Name: "other", Type: String}}}
			NewRegistry().Register(e)
			if got := e.DistinctCacheKey(); !slices.Equal(got, tc.want) {
				t.Fatalf("DistinctCacheKey() = %v, want %v", got, tc.want)
			}
		})
	}
}
