// Package luatemplate compiles lua-resty-template templates (as used by
// Kong's webhook-custom event hooks for config.payload, config.body and
// config.headers) into Lua source that a Lua runtime compiles once and runs
// many times.
//
// # Generated code
//
// Template.Lua is a Lua 5.1 chunk (gopher-lua dialect) of the form
//
//	local ___G = {entity = entity, ipairs = ipairs, ...}   -- load-time globals
//	... private helpers ...
//	return function(context, escape) ... return rendered end
//
// Running the chunk once yields the render function; calling it with the
// context table (the event data) and an escape function returns the rendered
// string. escape receives only strings (the value of a {{ }} expression when
// it is a string) and must return a string; nil values render as "" and other
// non-strings render through tostring without calling escape. If escape is
// nil the chunk's built-in HTML escape (lua-resty-template's table) is used.
//
// # Expression scope
//
// lua-resty-template runs the view under setfenv with an environment whose
// __index is context[k] or template[k] or _G[k]. The sandboxed runtime does
// not expose setfenv, and a per-call environment on a shared, compiled-once
// function is not re-entrant, so this package does not rely on environments
// at all. Instead Compile lexes every Lua code fragment of the template
// ({{ }}, {* *} and {% %}), collects the free identifiers (names not
// preceded by "." or ":", not keywords, not "context", not starting with
// "___") and declares, at the top of the render function,
//
//	local entity = context.entity; if entity == nil then entity = ___G.entity end
//
// where ___G captured the chunk environment's globals of the same names when
// the chunk was loaded. The host therefore only has to load the chunk with
// the (sandbox) globals it wants templates to see as the chunk environment —
// the default for LState.Load — and call it once; no SetFEnv is needed and
// the render function is safe to call re-entrantly and for any number of
// contexts. Assignments in {% %} code (x = 1) go to these locals, so they
// are visible to the rest of the template but never leak into globals.
//
// # Syntax
//
//	{{ expr }}  expression, HTML-escaped (& < > " ' / as lua-resty-template)
//	{* expr *}  expression, raw
//	{% code %}  Lua statements; trailing blanks (space, tab, \v, \0) before
//	            the tag and one "\n" right after it are removed
//	{# text #}  comment; one "\n" right after it is removed
//	\{{ ... }}  a tag preceded by one backslash is literal text (the
//	            backslash is dropped); two backslashes emit one and the tag
//	            is processed (for {% only: both are kept, as upstream)
//
// Deviations from lua-resty-template 2.0: an unclosed {{, {*, {% or {# is an
// error (upstream emits it verbatim); {( )}, {[ ]} includes and {-block-}
// / {-raw-} sections are not supported and are emitted verbatim; the helpers
// template, include, blocks and layout are not defined (echo is); top-level
// names are resolved with a nil check rather than "or", so a context field
// holding false renders "false" instead of falling through to a global;
// globals are captured when the chunk is loaded, not at each lookup.
package luatemplate

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/portico-gw/portico/luavm"
)

// MaxNames bounds the number of distinct free identifiers a template may use
// (each becomes a local of the render function; Lua allows ~200 registers).
const MaxNames = 150

// Template is a compiled template.
type Template struct {
	// Source is the template text given to Compile.
	Source string
	// Lua is the generated chunk; see the package documentation.
	Lua string
	// Names are the free identifiers resolved from context/globals, sorted.
	Names []string

	lineMap []int // generated line (1-based index) -> template line

	mu    sync.Mutex
	done  bool // proto and perr are set
	proto *lua.FunctionProto
	perr  error
}

// SyntaxError is a template syntax error (or a Lua error mapped back to the
// template) at a 1-based line and column of the template source.
type SyntaxError struct {
	Line, Column int // Column is 0 when unknown
	Msg          string
}

func (e *SyntaxError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("luatemplate: line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("luatemplate: line %d: %s", e.Line, e.Msg)
}

var closers = map[byte]string{'{': "}}", '*': "*}", '%': "%}", '#': "#}"}

// Compile parses a lua-resty-template template and generates its Lua chunk.
// Lua syntax inside tags is not validated here; use Check.
func Compile(src string) (*Template, error) {
	return CompileContext(context.Background(), src)
}

// CompileContext is Compile that gives up, with ctx's error, once ctx is
// done (it checks at every tag).
func CompileContext(ctx context.Context, src string) (*Template, error) {
	g := &gen{src: src, ctx: ctx}
	if err := g.parse(); err != nil {
		return nil, err
	}
	if len(g.names) > MaxNames {
		return nil, &SyntaxError{Line: 1, Msg: fmt.Sprintf("too many distinct names in template code (%d > %d)", len(g.names), MaxNames)}
	}
	t := &Template{Source: src}
	t.Lua, t.lineMap = g.assemble()
	t.Names = g.sortedNames()
	return t, nil
}

// Check compiles t.Lua with gopher-lua's parser and compiler and reports Lua
// syntax errors with the template line they come from.
func (t *Template) Check() error {
	_, err := t.compiled(context.Background())
	return err
}

// CheckContext is Check that gives up, with ctx's error, once ctx is done.
// It runs on the caller's goroutine and starts none: parsing reads its
// input through ctx, and code nested deeper than luavm.MaxSyntaxDepth is
// refused before gopher-lua's compiler (which ctx cannot interrupt, and
// which is quadratic in the nesting) sees it.
func (t *Template) CheckContext(ctx context.Context) error {
	_, err := t.compiled(ctx)
	return err
}

// compiled compiles t.Lua once; a compile cut short by ctx is not kept.
func (t *Template) compiled(ctx context.Context) (*lua.FunctionProto, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return t.proto, t.perr
	}
	proto, err := t.compile(ctx)
	if ctx.Err() != nil && err != nil {
		return nil, fmt.Errorf("luatemplate: %w", ctx.Err())
	}
	t.proto, t.perr, t.done = proto, err, true
	return proto, err
}

func (t *Template) compile(ctx context.Context) (proto *lua.FunctionProto, err error) {
	defer func() {
		if r := recover(); r != nil {
			proto, err = nil, fmt.Errorf("luatemplate: lua compiler panic: %v", r)
		}
	}()
	chunk, err := luavm.Parse(ctx, t.Lua, "template")
	if err != nil {
		var pe *parse.Error
		var le *luavm.SyntaxLevelError
		switch {
		case errors.As(err, &pe):
			if pe.Pos.Line <= 0 { // EOF
				return nil, &SyntaxError{Line: t.templateLine(len(t.lineMap)), Msg: "lua: " + pe.Message + " at end of code"}
			}
			msg := pe.Message
			if pe.Token != "" {
				msg += " near '" + pe.Token + "'"
			}
			return nil, &SyntaxError{Line: t.templateLine(pe.Pos.Line), Msg: "lua: " + msg}
		case errors.As(err, &le):
			return nil, &SyntaxError{Line: t.templateLine(le.Line), Msg: "lua: " + luavm.ErrSyntaxLevels.Error()}
		}
		return nil, fmt.Errorf("luatemplate: lua: %w", err)
	}
	if chunk == nil {
		return nil, errors.New("luatemplate: lua: syntax error")
	}
	proto, err = lua.Compile(chunk, "template")
	if err != nil {
		var ce *lua.CompileError
		if errors.As(err, &ce) {
			return nil, &SyntaxError{Line: t.templateLine(ce.Line), Msg: "lua: " + ce.Message}
		}
		return nil, fmt.Errorf("luatemplate: lua: %w", err)
	}
	return proto, nil
}

// templateLine maps a line of t.Lua to the template line it was generated
// from (1 for preamble lines).
func (t *Template) templateLine(genLine int) int {
	if genLine < 1 {
		return 1
	}
	if genLine > len(t.lineMap) {
		genLine = len(t.lineMap)
	}
	if genLine < 1 {
		return 1
	}
	if l := t.lineMap[genLine-1]; l > 0 {
		return l
	}
	return 1
}

var runtimeLineRe = regexp.MustCompile(`template:(\d+):`)

// mapRuntimeError rewrites "template:N:" positions in a runtime error
// message to template lines.
func (t *Template) mapRuntimeError(msg string) string {
	return runtimeLineRe.ReplaceAllStringFunc(msg, func(m string) string {
		n, _ := strconv.Atoi(m[len("template:") : len(m)-1])
		return "template line " + strconv.Itoa(t.templateLine(n)) + ":"
	})
}

// ---- parser / generator ----

type gen struct {
	ctx   context.Context
	src   string
	body  strings.Builder
	bmap  []int // template line per body line
	cur   int   // template line for the current body line (0 = unset)
	names map[string]struct{}
}

func (g *gen) pos(off int) (line, col int) {
	line = 1 + strings.Count(g.src[:off], "\n")
	col = off - (strings.LastIndexByte(g.src[:off], '\n') + 1) + 1
	return
}

// emit appends s to the body; tline is the template line of s's first byte
// (0 = synthetic code, inherits the current mapping).
func (g *gen) emit(s string, tline int) {
	if tline > 0 {
		g.cur = tline
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			g.bmap = append(g.bmap, g.cur)
			if tline > 0 {
				g.cur++
			}
		}
	}
	g.body.WriteString(s)
}

func (g *gen) text(off, end int) {
	if off >= end {
		return
	}
	line, _ := g.pos(off)
	s := g.src[off:end]
	g.emit("___n=___n+1 ___[___n]=", 0)
	if strings.ContainsRune(s, '\r') {
		g.emit(quote(s), line)
	} else {
		lvl := 1
		for strings.Contains(s+"]", "]"+strings.Repeat("=", lvl)+"]") {
			lvl++
		}
		eq := strings.Repeat("=", lvl)
		g.emit("["+eq+"[\n", 0)
		g.emit(s, line)
		g.emit("]"+eq+"]", 0)
	}
	g.emit("\n", 0)
}

// quote encodes s as a double-quoted Lua string that survives the lexer
// byte for byte.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString("\\n")
		case c == '\r':
			b.WriteString("\\r")
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func trim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) })
}

func (g *gen) parse() error {
	src := g.src
	g.names = map[string]struct{}{}
	i := 0 // start of pending literal text
	s := strings.IndexByte(src, '{')
	for s >= 0 && s+1 < len(src) {
		if err := g.ctx.Err(); err != nil {
			return fmt.Errorf("luatemplate: %w", err)
		}
		t := src[s+1]
		closer, ok := closers[t]
		if !ok {
			s = next(src, s+1)
			continue
		}
		// backslash escapes, as upstream
		z, w := false, 0
		if s-1 >= i && src[s-1] == '\\' {
			w = 1
			z = !(s-2 >= i && src[s-2] == '\\')
		}
		if z {
			g.text(i, s-1)
			i = s
			s = next(src, s+1)
			continue
		}
		p := s + 2
		e := strings.Index(src[p:], closer)
		if e < 0 {
			line, col := g.pos(s)
			return &SyntaxError{Line: line, Column: col, Msg: fmt.Sprintf("unclosed %q (missing %q)", src[s:s+2], closer)}
		}
		e += p // index of closer
		code := src[p:e]
		line, _ := g.pos(p)
		switch t {
		case '{', '*':
			g.text(i, s-w)
			fn := "___x(___e,"
			if t == '*' {
				fn = "___o("
			}
			g.emit("___n=___n+1 ___[___n]="+fn, 0)
			if c := trim(code); c == "" {
				g.emit("nil", 0)
			} else {
				g.collect(code)
				g.emit("\n", 0)
				g.emit(code, line)
				g.emit("\n", 0)
			}
			g.emit(")\n", 0)
			s, i = e+1, e+2
		case '%':
			r := s
			for r > i && (src[r-1] == ' ' || src[r-1] == '\t' || src[r-1] == '\v' || src[r-1] == 0) {
				r--
			}
			g.text(i, r)
			g.collect(code)
			g.emit("\n", 0)
			g.emit(code, line)
			g.emit("\n", 0)
			n := e + 2
			if n < len(src) && src[n] == '\n' {
				n++
			}
			s, i = n-1, n
		case '#':
			g.text(i, s-w)
			n := e + 2
			if n < len(src) && src[n] == '\n' {
				n++
			}
			s, i = n-1, n
		}
		s = next(src, s+1)
	}
	g.text(i, len(src))
	return nil
}

func next(src string, from int) int {
	if from >= len(src) {
		return -1
	}
	j := strings.IndexByte(src[from:], '{')
	if j < 0 {
		return -1
	}
	return from + j
}

const preamble = `local ___G={%s}
local ___type,___tostring,___gsub,___concat,___select=type,tostring,string.gsub,table.concat,select
local ___H={["&"]="&amp;",["<"]="&lt;",[">"]="&gt;",['"']="&quot;",["'"]="&#39;",["/"]="&#47;"}
local function ___o(s)
if s==nil then return "" end
if ___type(s)=="function" then return ___o(s()) end
return ___tostring(s)
end
local function ___esc(s) return (___gsub(s,"[\">/<'&]",___H)) end
local function ___x(e,s)
if ___type(s)=="string" then return e(s) end
return ___o(s)
end
return function(context,___e)
context=context or {}
___e=___e or ___esc
local ___,___n={},0
`

func (g *gen) sortedNames() []string {
	out := make([]string, 0, len(g.names))
	for n := range g.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (g *gen) assemble() (string, []int) {
	names := g.sortedNames()
	var b strings.Builder
	fields := make([]string, len(names))
	for k, n := range names {
		fields[k] = n + "=" + n
	}
	fmt.Fprintf(&b, preamble, strings.Join(fields, ","))
	for _, n := range names {
		if n == "echo" {
			b.WriteString("local echo=context.echo if echo==nil then echo=function(...) for i=1,___select(\"#\",...) do ___n=___n+1 ___[___n]=___tostring((___select(i,...))) end end end\n")
			continue
		}
		fmt.Fprintf(&b, "local %s=context.%s if %s==nil then %s=___G.%s end\n", n, n, n, n, n)
	}
	pre := strings.Count(b.String(), "\n")
	lm := make([]int, pre, pre+len(g.bmap)+2)
	first := 1
	for _, l := range g.bmap {
		if l > 0 {
			first = l
			break
		}
	}
	for k := range lm {
		lm[k] = first
	}
	last := first
	for _, l := range g.bmap {
		if l > 0 {
			last = l
		}
		lm = append(lm, last)
	}
	b.WriteString(g.body.String())
	b.WriteString("return ___concat(___,\"\",1,___n)\nend\n")
	lm = append(lm, last, last)
	return b.String(), lm
}
