package bundled

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/portico-gw/portico/plugins"
)

// request-transformer's values are Penlight templates: text with $(expr)
// parts, expr being Lua evaluated in an environment with the request's
// headers, query_params, uri_captures and kong.ctx.shared
// (kong/plugins/request-transformer/access.lua). Portico evaluates no Lua
// for them: it renders the expressions that only read those tables, which
// is what configurations use them for, and refuses any other expression
// when the configuration is written.
//
//	expr    = operand { "or" operand }
//	operand = string | number | table ( "." name | "[" ( string | number ) "]" )
//	table   = "headers" | "query_params" | "uri_captures" | "shared"
//
// As in Kong, an expression yielding nothing renders as "", "or" takes the
// first operand that is not nil, and a value that is not a string (a header
// or query argument given several times, a query argument without a value)
// fails the request with a 500.

// msgTemplate refuses an expression that needs Lua.
const msgTemplate = "template '%s' needs Lua evaluation, which Portico does not do: " +
	"use $(headers.NAME), $(query_params.NAME), $(uri_captures.NAME), $(shared.NAME), " +
	"[\"NAME\"] or [N] indexing and 'or' defaults"

// template is a compiled value.
type template struct {
	raw   string
	parts []tmplPart
}

// tmplPart is literal text, or an expression when alts is not nil.
type tmplPart struct {
	text string
	alts []operand
}

type operandKind uint8

const (
	opLiteral operandKind = iota // a string or number
	opHeaders
	opQuery
	opCaptures
	opShared
)

type operand struct {
	kind operandKind
	// text is a literal's value or the key looked up (a header name in
	// lower case, '_' as '-', as ngx.req.get_headers looks them up).
	text    string
	index   int
	byIndex bool
}

// literal reports a template without expressions: raw is its value.
func (t *template) literal() bool { return len(t.parts) == 0 }

// compileTemplate parses a value; its expressions must be ones Portico
// renders.
func compileTemplate(raw string) (*template, error) {
	t := &template{raw: raw}
	rest := raw
	for {
		i := strings.Index(rest, "$(")
		if i < 0 {
			break
		}
		end := balanced(rest[i+1:])
		if end < 0 {
			break // an unclosed "$(" is text, as Lua's %b() finds no match
		}
		if i > 0 {
			t.parts = append(t.parts, tmplPart{text: rest[:i]})
		}
		src := rest[i+2 : i+1+end]
		alts, err := parseExpr(src)
		if err != nil {
			return nil, fmt.Errorf(msgTemplate, "$("+src+")")
		}
		t.parts = append(t.parts, tmplPart{alts: alts})
		rest = rest[i+2+end:]
	}
	if len(t.parts) > 0 && rest != "" {
		t.parts = append(t.parts, tmplPart{text: rest})
	}
	return t, nil
}

// balanced returns the index of the ")" closing the "(" s starts with, as
// Lua's %b() counts parentheses; -1 without one.
func balanced(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

var errExpr = errors.New("unsupported expression")

// parseExpr parses expr = operand { "or" operand }.
func parseExpr(src string) ([]operand, error) {
	l := lexer{s: src}
	var alts []operand
	for {
		op, err := l.operand()
		if err != nil {
			return nil, err
		}
		alts = append(alts, op)
		l.space()
		if l.done() {
			return alts, nil
		}
		if w := l.word(); w != "or" {
			return nil, errExpr
		}
	}
}

type lexer struct {
	s string
	i int
}

func (l *lexer) space() {
	for l.i < len(l.s) && strings.IndexByte(" \t\r\n", l.s[l.i]) >= 0 {
		l.i++
	}
}

func (l *lexer) done() bool { return l.i >= len(l.s) }

func isIdent(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

// word reads a Lua name ("" when none is next).
func (l *lexer) word() string {
	l.space()
	start := l.i
	for l.i < len(l.s) && isIdent(l.s[l.i], l.i == start) {
		l.i++
	}
	return l.s[start:l.i]
}

func (l *lexer) operand() (operand, error) {
	l.space()
	if l.done() {
		return operand{}, errExpr
	}
	switch c := l.s[l.i]; {
	case c == '\'' || c == '"':
		s, err := l.str()
		return operand{kind: opLiteral, text: s}, err
	case c >= '0' && c <= '9':
		n, err := l.number()
		return operand{kind: opLiteral, text: strconv.Itoa(n)}, err
	}
	var op operand
	switch l.word() {
	case "headers":
		op.kind = opHeaders
	case "query_params":
		op.kind = opQuery
	case "uri_captures":
		op.kind = opCaptures
	case "shared":
		op.kind = opShared
	default:
		return op, errExpr
	}
	l.space()
	if l.done() {
		return op, errExpr
	}
	switch l.s[l.i] {
	case '.':
		l.i++
		if op.text = l.word(); op.text == "" {
			return op, errExpr
		}
	case '[':
		l.i++
		l.space()
		if l.done() {
			return op, errExpr
		}
		var err error
		if c := l.s[l.i]; c == '\'' || c == '"' {
			op.text, err = l.str()
		} else {
			op.index, err = l.number()
			op.byIndex = true
		}
		l.space()
		if err != nil || l.done() || l.s[l.i] != ']' {
			return op, errExpr
		}
		l.i++
	default:
		return op, errExpr
	}
	if op.byIndex && op.kind != opCaptures {
		return op, errExpr // only captures have numeric keys
	}
	if op.kind == opHeaders {
		op.text = strings.ReplaceAll(strings.ToLower(op.text), "_", "-")
	}
	return op, nil
}

// str reads a quoted Lua string with its simple escapes.
func (l *lexer) str() (string, error) {
	q := l.s[l.i]
	l.i++
	var b strings.Builder
	for l.i < len(l.s) {
		c := l.s[l.i]
		l.i++
		switch {
		case c == q:
			return b.String(), nil
		case c == '\\' && l.i < len(l.s):
			e := l.s[l.i]
			l.i++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '\\', '\'', '"':
				b.WriteByte(e)
			default:
				return "", errExpr
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", errExpr
}

func (l *lexer) number() (int, error) {
	start := l.i
	for l.i < len(l.s) && l.s[l.i] >= '0' && l.s[l.i] <= '9' {
		l.i++
	}
	if l.i < len(l.s) && isIdent(l.s[l.i], false) || l.s[start:l.i] == "" {
		return 0, errExpr
	}
	return strconv.Atoi(l.s[start:l.i])
}

// tmplEnv is what expressions read: the request as it was when the plugin
// started (its query arguments parsed once).
type tmplEnv struct {
	c     *plugins.Context
	query *argList
}

// errRender is a value a template cannot concatenate, as Lua fails.
type errRender struct{ what, template string }

func (e *errRender) Error() string {
	return fmt.Sprintf("failed to render the template %s: %s", e.template, e.what)
}

// render appends the template's value to dst.
func (t *template) render(dst []byte, env *tmplEnv) ([]byte, error) {
	if t.literal() {
		return append(dst, t.raw...), nil
	}
	for i := range t.parts {
		p := &t.parts[i]
		if p.alts == nil {
			dst = append(dst, p.text...)
			continue
		}
		var err error
		if dst, err = t.renderExpr(dst, p.alts, env); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func (t *template) renderExpr(dst []byte, alts []operand, env *tmplEnv) ([]byte, error) {
	for i := range alts {
		op := &alts[i]
		switch op.kind {
		case opLiteral:
			return append(dst, op.text...), nil
		case opHeaders:
			h := &env.c.Request.Header
			if op.text == "host" {
				// get_headers keeps Host.
				return append(dst, h.Host()...), nil
			}
			switch n := headerCount(h, op.text); {
			case n == 1:
				return append(dst, h.Peek(op.text)...), nil
			case n > 1:
				return dst, &errRender{"header " + op.text + " has several values", t.raw}
			}
		case opQuery:
			if env.query == nil {
				continue
			}
			switch a, n := env.query.lookup(op.text); {
			case n == 1 && a.noValue:
				return dst, &errRender{"query argument " + op.text + " has no value", t.raw}
			case n == 1:
				return append(dst, a.value...), nil
			case n > 1:
				return dst, &errRender{"query argument " + op.text + " has several values", t.raw}
			}
		case opCaptures:
			if env.c.URICaptures == nil {
				continue
			}
			var v []byte
			var ok bool
			if op.byIndex {
				v, ok = env.c.URICaptures.CaptureAt(op.index)
			} else {
				v, ok = env.c.URICaptures.Capture(op.text)
			}
			if ok {
				return append(dst, v...), nil
			}
		case opShared:
			switch v := env.c.Shared[op.text].(type) {
			case nil:
			case string:
				return append(dst, v...), nil
			case []byte:
				return append(dst, v...), nil
			case int:
				return strconv.AppendInt(dst, int64(v), 10), nil
			case int64:
				return strconv.AppendInt(dst, v, 10), nil
			case float64:
				return strconv.AppendFloat(dst, v, 'g', 14, 64), nil
			default:
				return dst, &errRender{"shared." + op.text + " is not a string", t.raw}
			}
		}
	}
	return dst, nil
}
