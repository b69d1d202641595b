package handler

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/catalog"
	"github.com/portico-gw/portico/luavm"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/schema/entities"
)

func TestInstallValidation(t *testing.T) {
	lambda := func(src string) map[string]any {
		return map[string]any{"source": "crud", "handler": "lambda", "config": map[string]any{"functions": []any{src}}}
	}
	custom := func(cfg map[string]any) map[string]any {
		cfg["url"], cfg["method"] = "http://x.test", "POST"
		return map[string]any{"source": "crud", "handler": "webhook-custom", "config": cfg}
	}
	tests := []struct {
		name  string
		mode  luavm.Mode
		input map[string]any
		want  string // a substring of the message; "" = valid
	}{
		{"lambda ok", luavm.ModeSandbox, lambda("return function(data) return data end"), ""},
		{"lambda syntax", luavm.ModeSandbox, lambda("return function(data"), "config.functions.1: Error parsing function: "},
		{"lambda not a function", luavm.ModeSandbox, lambda("return 1"),
			"config.functions.1: Bad return value from function, expected function type, got number"},
		{"lambda off", luavm.ModeOff, lambda("return function() end"), "'untrusted_lua' config option is set to 'off'"},
		{"template ok", luavm.ModeSandbox, custom(map[string]any{"payload": map[string]any{"text": "{{ entity.username }} {{ operation }}d"}}), ""},
		{"template unclosed", luavm.ModeSandbox, custom(map[string]any{"payload": map[string]any{"text": "{{ entity.username"}}), "config.payload"},
		{"template bad lua", luavm.ModeSandbox, custom(map[string]any{"body": "{{ a + }}"}), "config.body: "},
		{"template code off", luavm.ModeOff, custom(map[string]any{"body": "{% for i=1,2 do %}x{% end %}"}), "untrusted_lua"},
		{"template expression off", luavm.ModeOff, custom(map[string]any{"body": "{{ operation }}"}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, _, err := catalog.Build([]string{"bundled"})
			if err != nil {
				t.Fatal(err)
			}
			vm, err := luavm.New(luavm.Options{Mode: tt.mode})
			if err != nil {
				t.Fatal(err)
			}
			defer vm.Close()
			InstallValidation(reg, vm)
			e := reg.Entity(entities.EventHooksName)
			entity, errs := e.PrepareInsert(tt.input, schema.Auto{})
			if errs == nil {
				errs = e.Validate(entity)
			}
			switch {
			case tt.want == "" && errs != nil:
				t.Fatalf("refused: %s", errs.Message())
			case tt.want != "" && (errs == nil || !strings.Contains(errs.Message(), tt.want)):
				t.Fatalf("got %v, want a message containing %q", errs, tt.want)
			}
		})
	}
}

// TestCheckTemplateLimits: a template too slow or too deep to compile is
// refused within the time limit, and no goroutine is left compiling it
// (the goroutine count is back to where it was).
func TestCheckTemplateLimits(t *testing.T) {
	vm, err := luavm.New(luavm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	tests := []struct {
		name  string
		src   string
		limit time.Duration
		want  string
	}{
		// gopher-lua's compiler would take many seconds over this chain.
		{"deep expression", "{{ " + strings.Repeat("a+", 30000) + "a }}", 2 * time.Second, "too many syntax levels"},
		// Parsing 64 KB of tags takes longer than this limit.
		{"slow to parse", strings.Repeat("{{a}}\n", maxTemplateBytes/6-1), time.Millisecond, "template too complex to compile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func(old time.Duration) { templateCheckLimit = old }(templateCheckLimit)
			templateCheckLimit = tt.limit
			baseline := runtime.NumGoroutine()
			start := time.Now()
			err := checkTemplate(vm, tt.src)
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if took > tt.limit+500*time.Millisecond {
				t.Errorf("refused after %v, limit %v", took, tt.limit)
			}
			deadline := time.Now().Add(time.Second)
			for runtime.NumGoroutine() > baseline {
				if time.Now().After(deadline) {
					t.Fatalf("%d goroutines a second after the refusal, %d before", runtime.NumGoroutine(), baseline)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// TestInstallValidationKeepsDeclaredChecks: the Lua checks are added to
// the subschemas' declared checks, which keep running, before and after.
func TestInstallValidationKeepsDeclaredChecks(t *testing.T) {
	reg, _, err := catalog.Build([]string{"bundled"})
	if err != nil {
		t.Fatal(err)
	}
	vm, err := luavm.New(luavm.Options{Mode: luavm.ModeSandbox})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	e := reg.Entity(entities.EventHooksName)
	declared := schema.Check{Custom: &schema.CustomCheck{FieldSources: []string{"source"}, Fn: func(row map[string]any) string {
		if row["source"] == "forbidden" {
			return "source is forbidden"
		}
		return ""
	}}}
	for _, name := range []string{"lambda", "webhook-custom"} {
		sub := e.Subschema(name)
		sub.Checks = append(sub.Checks, declared)
	}
	InstallValidation(reg, vm)
	tests := []struct {
		name, handler, source string
		config                map[string]any
		want                  []string // substrings of the message; none = valid
	}{
		{"lambda, both checks fail", "lambda", "forbidden", map[string]any{"functions": []any{"return 1"}},
			[]string{"source is forbidden", "config.functions.1: Bad return value"}},
		{"lambda, declared check fails", "lambda", "forbidden", map[string]any{"functions": []any{"return function() end"}},
			[]string{"source is forbidden"}},
		{"lambda valid", "lambda", "crud", map[string]any{"functions": []any{"return function() end"}}, nil},
		{"template, both checks fail", "webhook-custom", "forbidden",
			map[string]any{"url": "http://x.test", "method": "POST", "body": "{{ a + }}"},
			[]string{"source is forbidden", "config.body: "}},
		{"template, bad url and bad template", "webhook-custom", "crud",
			map[string]any{"url": "nope", "method": "POST", "headers": map[string]any{"x": "{{ a + }}"}},
			[]string{"config.url", "config.headers.x: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entity, errs := e.PrepareInsert(map[string]any{"source": tt.source, "handler": tt.handler, "config": tt.config}, schema.Auto{})
			if errs == nil {
				errs = e.Validate(entity)
			}
			if len(tt.want) == 0 {
				if errs != nil {
					t.Fatalf("refused: %s", errs.Message())
				}
				return
			}
			if errs == nil {
				t.Fatalf("accepted, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(errs.Message(), w) {
					t.Errorf("message %q lacks %q", errs.Message(), w)
				}
			}
		})
	}
}
