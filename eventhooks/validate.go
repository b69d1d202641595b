package eventhooks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/portico-gw/portico/luatemplate"
	"github.com/portico-gw/portico/luavm"
	"github.com/portico-gw/portico/schema"
)

// msgTemplateCodeOff refuses template code blocks when untrusted_lua is off.
const msgTemplateCodeOff = "template code blocks ({% %}) are not allowed: 'untrusted_lua' is set to 'off'"

// InstallValidation makes the event_hooks entity check, when a hook is
// written, what its handler will run: each lambda function is compiled and
// its top level run once in the sandbox (Kong's "Error parsing function" and
// "Bad return value" errors), and each webhook-custom template is compiled
// (a syntax error names the field, e.g. config.payload.text). With
// untrusted_lua off, lambda functions and template code blocks are refused.
// Call it once at start, before serving.
func InstallValidation(reg *schema.Registry, vm *luavm.VM) {
	e := reg.Entity(hooksEntity)
	if e == nil {
		return
	}
	if sub := e.Subschema("lambda"); sub != nil {
		sub.Checks = nil
		if f := configField(sub, "functions"); f != nil && f.Elements != nil {
			f.Elements.Validator = func(v any) error {
				src, _ := v.(string)
				return vm.CheckFunction("event_hooks", src)
			}
		}
	}
	if sub := e.Subschema("webhook-custom"); sub != nil {
		sub.Checks = nil
		check := func(v any) error {
			src, _ := v.(string)
			return checkTemplate(vm, src)
		}
		if f := configField(sub, "body"); f != nil {
			f.Validator = check
		}
		for _, name := range []string{"payload", "headers"} {
			if f := configField(sub, name); f != nil && f.Values != nil {
				f.Values.Validator = check
				f.KeyedErrors = true // name the template: config.payload.text
			}
		}
	}
}

func configField(sub *schema.Subschema, name string) *schema.Field {
	for _, f := range sub.Fields {
		if f.Name == "config" {
			return f.Field(name)
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
