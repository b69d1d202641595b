package luatemplate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

const seedTemplate = "Admin account `{{ entity.username }}` {{ operation}}d; email address set to `{{ entity.email }}`"

func seedContext() map[string]any {
	return map[string]any{
		"operation": "create",
		"entity": map[string]any{
			"username": "Arya Stark",
			"email":    "arya@gameofthrones.com",
			"tags":     []any{"stark", "north"},
			"age":      18.0,
			"ratio":    1.5,
			"neg":      -3.0,
			"big":      1e15,
			"enabled":  true,
			"profile":  map[string]any{"house": map[string]any{"name": "Stark"}},
		},
		"html":  `<a href="x">Tom & 'Jerry'</a>`,
		"none":  nil,
		"flag":  false,
		"empty": "",
	}
}

func render(t *testing.T, src string, ctx map[string]any) string {
	t.Helper()
	tp, err := Compile(src)
	if err != nil {
		t.Fatalf("Compile(%q): %v", src, err)
	}
	if err := tp.Check(); err != nil {
		t.Fatalf("Check(%q): %v\n%s", src, err, tp.Lua)
	}
	L := lua.NewState()
	defer L.Close()
	out, err := Render(L, tp, ctx)
	if err != nil {
		t.Fatalf("Render(%q): %v\n%s", src, err, tp.Lua)
	}
	return out
}

func TestRender(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"seed example", seedTemplate, "Admin account `Arya Stark` created; email address set to `arya@gameofthrones.com`"},
		{"escape amp", `{{ "a&b" }}`, "a&amp;b"},
		{"escape lt", `{{ "a<b" }}`, "a&lt;b"},
		{"escape gt", `{{ "a>b" }}`, "a&gt;b"},
		{"escape dquote", `{{ 'a"b' }}`, "a&quot;b"},
		{"escape squote", `{{ "a'b" }}`, "a&#39;b"},
		{"escape slash", `{{ "a/b" }}`, "a&#47;b"},
		{"escape all from context", `{{ html }}`, "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;&#47;a&gt;"},
		{"no escape of other chars", `{{ "{}%#\\é" }}`, `{}%#\é`},
		{"raw", `{* html *}`, `<a href="x">Tom & 'Jerry'</a>`},
		{"raw slash", `{* "a/b" *}`, "a/b"},
		{"nil escaped", `[{{ none }}]`, "[]"},
		{"nil raw", `[{* none *}]`, "[]"},
		{"missing name", `[{{ nosuch }}]`, "[]"},
		{"missing field", `[{{ entity.nosuch }}]`, "[]"},
		{"empty expression", `[{{ }}][{**}]`, "[][]"},
		{"empty string", `[{{ empty }}]`, "[]"},
		{"false", `{{ flag }}`, "false"},
		{"true", `{{ entity.enabled }}`, "true"},
		{"nested fields", `{{ entity.profile.house.name }}`, "Stark"},
		{"index syntax", `{{ entity["profile"]["house"].name }}`, "Stark"},
		{"method upper", `{{ entity.username:upper() }}`, "ARYA STARK"},
		{"string lib", `{{ string.format("%s/%d", operation, 7) }}`, "create&#47;7"},
		{"concat operator", `{{ operation.."d" }}`, "created"},
		{"concat number literal", `{{ 1 .. "x" }}`, "1x"},
		{"integral number", `{{ entity.age }}`, "18"},
		{"fraction number", `{{ entity.ratio }}`, "1.5"},
		{"negative number", `{{ entity.neg }}`, "-3"},
		{"large integral number", `{{ entity.big }}`, "1000000000000000"},
		{"arithmetic", `{{ entity.age + 1 }}`, "19"},
		{"for loop", `{% for _, t in ipairs(entity.tags) do %}{{ t }},{% end %}`, "stark,north,"},
		{"if else", `{% if entity.enabled then %}on{% else %}off{% end %}`, "on"},
		{"if false branch", `{% if flag then %}on{% else %}off{% end %}`, "off"},
		{"local assignment", `{% local n = #entity.tags %}{{ n }} tags`, "2 tags"},
		{"global assignment stays local", `{% count = 3 %}{{ count * 2 }}`, "6"},
		{"function value called", `{% local f = function() return "hi" end %}{* f *}`, "hi"},
		{"echo", `a{% echo("b", 1) %}c`, "ab1c"},
		{"context table", `{{ context.operation }}`, "create"},
		{"comment", `a{# a comment with {{ x }} #}b`, "ab"},
		{"comment strips newline", "a{# c #}\nb", "ab"},
		{"code strips newline and leading blanks", "<ul>\n  {% for _, t in ipairs(entity.tags) do %}\n  <li>{{ t }}</li>\n  {% end %}\n</ul>",
			"<ul>\n  <li>stark</li>\n  <li>north</li>\n</ul>"},
		{"expression keeps newline", "{{ operation }}\nx", "create\nx"},
		{"literal long bracket close", "a]]b]=]c]==]d]", "a]]b]=]c]==]d]"},
		{"literal ends with bracket eq", "{{ operation }}x]=", "createx]="},
		{"literal braces and percent", "{ } % {x} }} %} {a %{ 100% {}", "{ } % {x} }} %} {a %{ 100% {}"},
		{"literal json", `{"user":"{{ entity.username }}","n":{{ entity.age }}}`, `{"user":"Arya Stark","n":18}`},
		{"literal leading newlines", "\n\nx\n", "\n\nx\n"},
		{"literal crlf", "a\r\nb\rc\n\r{{ operation }}", "a\r\nb\rc\n\rcreate"},
		{"literal control bytes", "a\x00b\x01\"\\c", "a\x00b\x01\"\\c"},
		{"literal non utf8", "\xff\xfe{{ operation }}", "\xff\xfecreate"},
		{"trailing open brace", "abc{", "abc{"},
		{"backslash escapes tag", `a\{{ operation }}b`, "a{{ operation }}b"},
		{"double backslash", `a\\{{ operation }}`, `a\create`},
		{"expression with comment", `{{ operation -- trailing comment }}`, "create"},
		{"expression with long string", `{{ [==[x]]y]==] }}`, "x]]y"},
		{"keyword-like fields", `{{ entity.username:lower():gsub(" ", "_") }}`, "arya_stark"},
		{"multiline code", "{%\nlocal a = 1\nlocal b = 2\n%}{{ a + b }}", "3"},
		{"empty template", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(t, tc.src, seedContext()); got != tc.want {
				t.Errorf("render(%q)\n got %q\nwant %q", tc.src, got, tc.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name, src    string
		line, column int
		contains     string
	}{
		{"unclosed expression", "hello {{ entity.name", 1, 7, `"{{"`},
		{"unclosed raw", "a\nb {* x", 2, 3, `"{*"`},
		{"unclosed code", "x\ny\n  {% if a then", 3, 3, `"{%"`},
		{"unclosed comment", "{# oops", 1, 1, `"{#"`},
		{"wrong closer", "{{ x *}", 1, 1, `"}}"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.src)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) error = %v, want *SyntaxError", tc.src, err)
			}
			if se.Line != tc.line || se.Column != tc.column || !strings.Contains(se.Error(), tc.contains) {
				t.Errorf("got %v (line %d col %d), want line %d col %d containing %s", err, se.Line, se.Column, tc.line, tc.column, tc.contains)
			}
		})
	}
}

func TestCheckErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
	}{
		{"bad expression", "ok\n{{ entity. }}", 2},
		{"unbalanced parens", "{{ (a }}", 1},
		{"bad statement", "a\nb\n{% for x %}", 3},
		{"missing end", "{% if x then %}y", 1},
		{"unterminated string", "line1\nline2\n{{ 'abc }}", 3},
		{"statement in expression", "{{ local x }}", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := Compile(tc.src)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			err = tp.Check()
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Check(%q) = %v, want *SyntaxError\n%s", tc.src, err, tp.Lua)
			}
			if !strings.HasPrefix(se.Msg, "lua: ") {
				t.Errorf("message %q lacks lua: prefix", se.Msg)
			}
			if se.Line != tc.line {
				t.Errorf("Check(%q) = %v, want line %d", tc.src, err, tc.line)
			}
			L := lua.NewState()
			defer L.Close()
			if _, err := Render(L, tp, nil); err == nil {
				t.Errorf("Render succeeded on invalid template")
			}
		})
	}
}

func TestRuntimeErrorMapsLine(t *testing.T) {
	tp, err := Compile("a\nb\n{{ entity.missing.deeper }}")
	if err != nil {
		t.Fatal(err)
	}
	L := lua.NewState()
	defer L.Close()
	_, err = Render(L, tp, seedContext())
	if err == nil || !strings.Contains(err.Error(), "template line 3:") {
		t.Fatalf("err = %v, want mention of template line 3", err)
	}
}

func TestRenderFunctionReusable(t *testing.T) {
	// The chunk is run once; its render function serves many contexts, with a
	// custom escape function and with nil (built-in escape).
	tp, err := Compile(`{{ name }}|{* name *}|{{ n }}`)
	if err != nil {
		t.Fatal(err)
	}
	L := lua.NewState()
	defer L.Close()
	fn, err := L.LoadString(tp.Lua)
	if err != nil {
		t.Fatal(err)
	}
	L.Push(fn)
	L.Call(0, 1)
	renderFn := L.Get(-1)
	L.Pop(1)
	call := func(ctx *lua.LTable, esc lua.LValue) string {
		L.Push(renderFn)
		L.Push(ctx)
		L.Push(esc)
		L.Call(2, 1)
		defer L.Pop(1)
		return L.Get(-1).String()
	}
	c1 := L.NewTable()
	c1.RawSetString("name", lua.LString("<b>"))
	c1.RawSetString("n", lua.LNumber(2))
	c2 := L.NewTable()
	c2.RawSetString("name", lua.LString("x/y"))
	upper := L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(strings.ToUpper(L.CheckString(1))))
		return 1
	})
	for _, tc := range []struct {
		name string
		ctx  *lua.LTable
		esc  lua.LValue
		want string
	}{
		{"builtin escape", c1, lua.LNil, "&lt;b&gt;|<b>|2"},
		{"custom escape", c1, upper, "<B>|<b>|2"},
		{"second context", c2, lua.LNil, "x&#47;y|x/y|"},
		{"go escape", c2, L.NewFunction(LuaEscape), "x&#47;y|x/y|"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := call(tc.ctx, tc.esc); got != tc.want {
				t.Errorf("got %q want %q", got, tc.want)
			}
		})
	}
}

func TestContextConversionErrors(t *testing.T) {
	tp, err := Compile("x")
	if err != nil {
		t.Fatal(err)
	}
	L := lua.NewState()
	defer L.Close()
	if _, err := Render(L, tp, map[string]any{"bad": struct{}{}}); err == nil {
		t.Error("expected error for unsupported type")
	}
}

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{`&<>"'/`, "&amp;&lt;&gt;&quot;&#39;&#47;"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := Escape(tc.in); got != tc.want {
				t.Errorf("Escape(%q) = %q want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	tp, err := Compile(`{{ a.b:c(d, "e f", [[g]]) }}{% for k, v in pairs(h) do --[[ i ]] end %}{* x..y *}{{ 1e5 + 0x1F }}`)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(tp.Names, ",")
	if want := "a,d,h,k,pairs,v,x,y"; got != want {
		t.Errorf("Names = %s want %s", got, want)
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{seedTemplate, "{% for i=1,3 do %}{{i}}{% end %}", "{# c #}", "{{", "\\{{ x }}", "]]=]{*x*}", "{{ [[x }}", "\r\n{%\n%}\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tp, err := Compile(src)
		if err != nil {
			return
		}
		if tp.Check() != nil {
			return
		}
		// Templates without tags must render to themselves.
		if !strings.Contains(src, "{") {
			L := lua.NewState()
			defer L.Close()
			out, err := Render(L, tp, nil)
			if err != nil || out != src {
				t.Fatalf("render(%q) = %q, %v", src, out, err)
			}
		}
	})
}

func BenchmarkRender(b *testing.B) {
	tp, err := Compile(seedTemplate)
	if err != nil {
		b.Fatal(err)
	}
	L := lua.NewState()
	defer L.Close()
	ctx := seedContext()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(L, tp, ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCheckContext: checking stops with the context's error once it is
// done, without keeping the failure (a later check with time compiles),
// and code nested deeper than Lua allows is refused at its template line
// before gopher-lua's compiler spends seconds on it.
func TestCheckContext(t *testing.T) {
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		src  string
		ctx  context.Context
		want string // "" = compiles
	}{
		{"context done", "{{ a }}", expired, "context canceled"},
		{"deep expression", "line 1\n{{ " + strings.Repeat("a+", 20000) + "a }}", context.Background(),
			"luatemplate: line 2: lua: chunk has too many syntax levels"},
		{"nesting Lua allows", "{{ " + strings.Repeat("a+", 150) + "a }}", context.Background(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := Compile(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = tpl.CheckContext(tt.ctx)
			if took := time.Since(start); took > time.Second {
				t.Errorf("checking took %v", took)
			}
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if tt.ctx.Err() != nil {
				if err := tpl.Check(); err != nil {
					t.Fatalf("a check with time after a cut-short one: %v", err)
				}
			}
		})
	}
}
