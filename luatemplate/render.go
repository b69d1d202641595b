package luatemplate

import (
	gocontext "context"
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/portico-gw/portico/luavm"
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
	proto, err := t.compiled(gocontext.Background())
	if err != nil {
		return "", err
	}
	ctx, err := luavm.ToLua(L, context)
	if err != nil {
		return "", fmt.Errorf("luatemplate: %w", err)
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
