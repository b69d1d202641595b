package handler

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/portico-gw/portico/luatemplate"
	"github.com/portico-gw/portico/luavm"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/schema/entities"
)

// msgTemplateCodeOff refuses template code blocks when untrusted_lua is off.
const msgTemplateCodeOff = "template code blocks ({% %}) are not allowed: 'untrusted_lua' is set to 'off'"

// InstallValidation adds to the event_hooks entity the checks of what its
// handlers will run, when a hook is written: each lambda function is
// compiled and its top level run once in the sandbox (Kong's "Error parsing
// function" and "Bad return value" errors), and each webhook-custom
// template is compiled (a syntax error names the field, e.g.
// config.payload.text). With untrusted_lua off, lambda functions and
// template code blocks are refused. The checks are appended to the
// subschemas' declared ones and report at the field they judge. Call it
// once, when the node assembles its registry, before serving.
func InstallValidation(reg *schema.Registry, vm *luavm.VM) {
	e := reg.Entity(entities.EventHooksName)
	if e == nil {
		return
	}
	if sub := e.Subschema("lambda"); sub != nil {
		sub.Checks = append(sub.Checks, configCheck("functions", func(v any) any {
			return eachElement(v, func(src string) error { return vm.CheckFunction(entities.EventHooksName, src) })
		}))
	}
	if sub := e.Subschema("webhook-custom"); sub != nil {
		check := func(src string) error { return checkTemplate(vm, src) }
		sub.Checks = append(sub.Checks,
			configCheck("body", func(v any) any {
				if src, ok := v.(string); ok {
					if err := check(src); err != nil {
						return err.Error()
					}
				}
				return nil
			}),
			configCheck("payload", func(v any) any { return firstValue(v, check) }),
			configCheck("headers", func(v any) any { return firstValue(v, check) }),
		)
	}
}

// configCheck is a check of one config field, run once the field itself is
// valid: judge returns nil, or the field's error (a message, per-element
// messages, or keyed Errors), reported at config.<name>.
func configCheck(name string, judge func(v any) any) schema.Check {
	return schema.Check{Custom: &schema.CustomCheck{
		FieldSources: []string{"config." + name},
		FieldErrors: func(entity map[string]any) schema.Errors {
			config, _ := entity["config"].(map[string]any)
			v, ok := config[name]
			if !ok || v == nil {
				return nil
			}
			if msg := judge(v); msg != nil {
				return schema.Errors{"config": schema.Errors{name: msg}}
			}
			return nil
		},
	}}
}

// eachElement judges every string of an array, reporting Kong's
// per-position messages ([null, "msg"]), or nil when all pass.
func eachElement(v any, judge func(string) error) any {
	list, _ := v.([]any)
	var perIndex []any
	for i, x := range list {
		src, _ := x.(string)
		if err := judge(src); err != nil {
			if perIndex == nil {
				perIndex = make([]any, len(list))
			}
			perIndex[i] = err.Error()
		}
	}
	for len(perIndex) > 0 && perIndex[len(perIndex)-1] == nil {
		perIndex = perIndex[:len(perIndex)-1]
	}
	if perIndex == nil {
		return nil
	}
	return perIndex
}

// firstValue judges a map's string values in key order and reports the
// first failure under its key (config.payload.text), or nil.
func firstValue(v any, judge func(string) error) any {
	m, _ := v.(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		src, _ := m[k].(string)
		if err := judge(src); err != nil {
			return schema.Errors{k: err.Error()}
		}
	}
	return nil
}

// Bounds on checking a template at write time: its size, and how long the
// compiler may take (a pathological input must not hold an Admin API
// request).
const maxTemplateBytes = 64 << 10

// templateCheckLimit is a variable for tests.
var templateCheckLimit = 2 * time.Second

// checkTemplate compiles a template; its code blocks are refused when
// untrusted Lua is off. The compile runs on the caller's goroutine and
// stops at the time limit, so nothing keeps running after a refusal.
func checkTemplate(vm *luavm.VM, src string) error {
	if len(src) > maxTemplateBytes {
		return fmt.Errorf("template longer than %d bytes", maxTemplateBytes)
	}
	ctx, cancel := context.WithTimeout(context.Background(), templateCheckLimit)
	defer cancel()
	t, err := luatemplate.CompileContext(ctx, src)
	if err == nil {
		err = t.CheckContext(ctx)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("template too complex to compile")
	}
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "luatemplate: "))
	}
	if vm.Mode() == luavm.ModeOff && strings.Contains(src, "{%") {
		return errors.New(msgTemplateCodeOff)
	}
	return nil
}
