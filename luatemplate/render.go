package luatemplate

import (
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

var htmlReplacer = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;", "/", "&#47;",
)

// Escape is lua-resty-template's HTML escape: & < > " ' / become entities.
func Escape(s string) string {
	if !strings.ContainsAny(s, "&<>\"'/") {
		return s
	}
	return htmlReplacer.Replace(s)
}

// LuaEscape is Escape as a Lua function, suitable as the escape argument of
// the render function.
func LuaEscape(L *lua.LState) int {
	s := L.CheckString(1)
	if e := Escape(s); e != s {
		L.Push(lua.LString(e))
	} else {
		L.Push(L.Get(1))
	}
	return 1
}

// Render is a reference renderer: it compiles t.Lua (once per Template),
// runs the chunk in L with L's globals as its environment, converts context
// to Lua tables and calls the render function with LuaEscape.
func Render(L *lua.LState, t *Template, context map[string]any) (string, error) {
	proto, err := t.compiled()
	if err != nil {
		return "", err
	}
	ctx, err := toLua(L, context, 0)
	if err != nil {
		return "", err
	}
	chunk := L.NewFunctionFromProto(proto)
	L.Push(chunk)
	if err := L.PCall(0, 1, nil); err != nil {
		return "", fmt.Errorf("luatemplate: loading chunk: %s", t.mapRuntimeError(err.Error()))
	}
	fn := L.Get(-1)
	L.Pop(1)
	L.Push(fn)
	L.Push(ctx)
	L.Push(L.NewFunction(LuaEscape))
	if err := L.PCall(2, 1, nil); err != nil {
		return "", fmt.Errorf("luatemplate: render: %s", t.mapRuntimeError(err.Error()))
	}
	out := L.Get(-1)
	L.Pop(1)
	s, ok := out.(lua.LString)
	if !ok {
		return "", fmt.Errorf("luatemplate: render returned %s, not a string", out.Type())
	}
	return string(s), nil
}

const maxDepth = 100

// toLua converts JSON-model Go values to Lua values. It is deliberately small;
// the shared conversion lives elsewhere.
func toLua(L *lua.LState, v any, depth int) (lua.LValue, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("luatemplate: context nested deeper than %d", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		return lua.LNil, nil
	case bool:
		return lua.LBool(x), nil
	case float64:
		return lua.LNumber(x), nil
	case int:
		return lua.LNumber(x), nil
	case int64:
		return lua.LNumber(x), nil
	case string:
		return lua.LString(x), nil
	case []any:
		t := L.CreateTable(len(x), 0)
		for i, e := range x {
			lv, err := toLua(L, e, depth+1)
			if err != nil {
				return nil, err
			}
			t.RawSetInt(i+1, lv)
		}
		return t, nil
	case map[string]any:
		t := L.CreateTable(0, len(x))
		for k, e := range x {
			lv, err := toLua(L, e, depth+1)
			if err != nil {
				return nil, err
			}
			t.RawSetString(k, lv)
		}
		return t, nil
	default:
		return nil, fmt.Errorf("luatemplate: unsupported context value of type %T", v)
	}
}
