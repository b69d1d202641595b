package luavm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// The `..` operator runs inside gopher-lua's VM, where nothing can check
// it, and doubling a string in a loop reaches gigabytes in a few dozen
// steps. So Compile rewrites every `a .. b .. c` into a call of concatOp
// with the operands, which charges the result to the call's memory budget
// before building it (memory.go) and refuses results over MaxStringBytes,
// like string.rep. Semantics are Lua's: strings and numbers are joined,
// anything else goes through __concat, right to left.
//
// The function reaches compiled code as a local of the chunk's top level
// whose name no Lua code can spell (concatName): nested functions see it
// as an upvalue, so neither globals nor setfenv can change it.

// concatName is the name of the chunk-level local holding concatOp; the
// leading NUL keeps it out of reach of Lua source.
const concatName = "\x00concat"

// MaxSyntaxDepth bounds how deeply expressions and blocks may nest, as Lua
// 5.1 does (LUAI_MAXCCALLS, "chunk has too many syntax levels").
// gopher-lua's compiler takes time quadratic in the nesting (a chain of
// 20,000 "+" takes seconds), so deeper code is refused before compiling.
const MaxSyntaxDepth = 200

// ErrSyntaxLevels is matched (errors.Is) by the error for code nested
// deeper than MaxSyntaxDepth.
var ErrSyntaxLevels = errors.New("chunk has too many syntax levels")

// SyntaxLevelError is code nested deeper than MaxSyntaxDepth, at a line.
type SyntaxLevelError struct {
	Source string // the chunk's name
	Line   int
}

func (e *SyntaxLevelError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.Source, e.Line, ErrSyntaxLevels)
}

func (e *SyntaxLevelError) Unwrap() error { return ErrSyntaxLevels }

// Parse parses Lua source, stopping when ctx is done (the parser reads its
// input through ctx), and refuses code nested deeper than MaxSyntaxDepth.
// The result compiles with lua.Compile in time bounded by the source's
// size.
func Parse(ctx context.Context, source, name string) ([]ast.Stmt, error) {
	stmts, err := parse.Parse(&contextReader{ctx: ctx, r: strings.NewReader(source)}, name)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	d := depthCheck{ctx: ctx, source: name}
	d.stmts(stmts, 0)
	if d.err != nil {
		return nil, d.err
	}
	return stmts, nil
}

// contextReader hands the parser its input in small pieces, failing once
// ctx is done.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) > 512 {
		p = p[:512]
	}
	return c.r.Read(p)
}

type depthCheck struct {
	ctx    context.Context
	source string
	nodes  int
	err    error
}

func (d *depthCheck) enter(depth int, line int) bool {
	if d.err != nil {
		return false
	}
	if depth > MaxSyntaxDepth {
		d.err = &SyntaxLevelError{Source: d.source, Line: line}
		return false
	}
	if d.nodes++; d.nodes%1024 == 0 {
		if err := d.ctx.Err(); err != nil {
			d.err = err
			return false
		}
	}
	return true
}

func (d *depthCheck) stmts(list []ast.Stmt, depth int) {
	for _, s := range list {
		d.stmt(s, depth)
	}
}

func (d *depthCheck) exprs(list []ast.Expr, depth int) {
	for _, e := range list {
		d.expr(e, depth)
	}
}

func (d *depthCheck) stmt(s ast.Stmt, depth int) {
	if !d.enter(depth, s.Line()) {
		return
	}
	depth++
	forEachChild(s, func(e ast.Expr) { d.expr(e, depth) }, func(b []ast.Stmt) { d.stmts(b, depth) })
}

func (d *depthCheck) expr(e ast.Expr, depth int) {
	if e == nil || !d.enter(depth, e.Line()) {
		return
	}
	depth++
	forEachExprChild(e, func(c ast.Expr) { d.expr(c, depth) }, func(b []ast.Stmt) { d.stmts(b, depth) })
}

// forEachChild calls expr for every expression and block for every block
// directly inside s.
func forEachChild(s ast.Stmt, expr func(ast.Expr), block func([]ast.Stmt)) {
	each := func(list []ast.Expr) {
		for _, e := range list {
			expr(e)
		}
	}
	switch s := s.(type) {
	case *ast.AssignStmt:
		each(s.Lhs)
		each(s.Rhs)
	case *ast.LocalAssignStmt:
		each(s.Exprs)
	case *ast.FuncCallStmt:
		expr(s.Expr)
	case *ast.DoBlockStmt:
		block(s.Stmts)
	case *ast.WhileStmt:
		expr(s.Condition)
		block(s.Stmts)
	case *ast.RepeatStmt:
		block(s.Stmts)
		expr(s.Condition)
	case *ast.IfStmt:
		expr(s.Condition)
		block(s.Then)
		block(s.Else)
	case *ast.NumberForStmt:
		expr(s.Init)
		expr(s.Limit)
		if s.Step != nil {
			expr(s.Step)
		}
		block(s.Stmts)
	case *ast.GenericForStmt:
		each(s.Exprs)
		block(s.Stmts)
	case *ast.FuncDefStmt:
		if s.Name != nil {
			if s.Name.Func != nil {
				expr(s.Name.Func)
			}
			if s.Name.Receiver != nil {
				expr(s.Name.Receiver)
			}
		}
		expr(s.Func)
	case *ast.ReturnStmt:
		each(s.Exprs)
	}
}

// forEachExprChild calls expr for every expression and block for every
// block directly inside e.
func forEachExprChild(e ast.Expr, expr func(ast.Expr), block func([]ast.Stmt)) {
	switch e := e.(type) {
	case *ast.AttrGetExpr:
		expr(e.Object)
		expr(e.Key)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			if f.Key != nil {
				expr(f.Key)
			}
			expr(f.Value)
		}
	case *ast.FuncCallExpr:
		if e.Func != nil {
			expr(e.Func)
		}
		if e.Receiver != nil {
			expr(e.Receiver)
		}
		for _, a := range e.Args {
			expr(a)
		}
	case *ast.LogicalOpExpr:
		expr(e.Lhs)
		expr(e.Rhs)
	case *ast.RelationalOpExpr:
		expr(e.Lhs)
		expr(e.Rhs)
	case *ast.StringConcatOpExpr:
		expr(e.Lhs)
		expr(e.Rhs)
	case *ast.ArithmeticOpExpr:
		expr(e.Lhs)
		expr(e.Rhs)
	case *ast.UnaryMinusOpExpr:
		expr(e.Expr)
	case *ast.UnaryNotOpExpr:
		expr(e.Expr)
	case *ast.UnaryLenOpExpr:
		expr(e.Expr)
	case *ast.FunctionExpr:
		block(e.Stmts)
	}
}

// meterConcat rewrites every `..` in the chunk into a call of the chunk's
// concat local, and declares that local first.
func meterConcat(stmts []ast.Stmt) []ast.Stmt {
	var rewrite func(e ast.Expr) ast.Expr
	var rewriteBlock func(b []ast.Stmt)
	rewriteList := func(list []ast.Expr) {
		for i, e := range list {
			list[i] = rewrite(e)
		}
	}
	rewriteBlock = func(b []ast.Stmt) {
		for _, s := range b {
			switch s := s.(type) {
			case *ast.AssignStmt:
				rewriteList(s.Lhs)
				rewriteList(s.Rhs)
			case *ast.LocalAssignStmt:
				rewriteList(s.Exprs)
			case *ast.FuncCallStmt:
				s.Expr = rewrite(s.Expr)
			case *ast.WhileStmt:
				s.Condition = rewrite(s.Condition)
			case *ast.RepeatStmt:
				s.Condition = rewrite(s.Condition)
			case *ast.IfStmt:
				s.Condition = rewrite(s.Condition)
			case *ast.NumberForStmt:
				s.Init, s.Limit = rewrite(s.Init), rewrite(s.Limit)
				if s.Step != nil {
					s.Step = rewrite(s.Step)
				}
			case *ast.GenericForStmt:
				rewriteList(s.Exprs)
			case *ast.FuncDefStmt:
				if s.Name != nil && s.Name.Func != nil {
					s.Name.Func = rewrite(s.Name.Func)
				}
				if s.Name != nil && s.Name.Receiver != nil {
					s.Name.Receiver = rewrite(s.Name.Receiver)
				}
				rewrite(s.Func)
			case *ast.ReturnStmt:
				rewriteList(s.Exprs)
			}
			forEachChild(s, func(ast.Expr) {}, rewriteBlock)
		}
	}
	rewrite = func(e ast.Expr) ast.Expr {
		if e == nil {
			return nil
		}
		if c, ok := e.(*ast.StringConcatOpExpr); ok {
			// a .. b .. c parses as a .. (b .. c): one call for the chain.
			var operands []ast.Expr
			for {
				operands = append(operands, rewrite(c.Lhs))
				next, ok := c.Rhs.(*ast.StringConcatOpExpr)
				if !ok {
					operands = append(operands, rewrite(c.Rhs))
					break
				}
				c = next
			}
			fn := &ast.IdentExpr{Value: concatName}
			fn.SetLine(e.Line())
			fn.SetLastLine(e.LastLine())
			// AdjustRet: one result, and never a tail call, so errors
			// point at the line of the `..`.
			call := &ast.FuncCallExpr{Func: fn, Args: operands, AdjustRet: true}
			call.SetLine(e.Line())
			call.SetLastLine(e.LastLine())
			return call
		}
		switch x := e.(type) {
		case *ast.AttrGetExpr:
			x.Object, x.Key = rewrite(x.Object), rewrite(x.Key)
		case *ast.TableExpr:
			for _, f := range x.Fields {
				f.Key, f.Value = rewrite(f.Key), rewrite(f.Value)
			}
		case *ast.FuncCallExpr:
			x.Func, x.Receiver = rewrite(x.Func), rewrite(x.Receiver)
			rewriteList(x.Args)
		case *ast.LogicalOpExpr:
			x.Lhs, x.Rhs = rewrite(x.Lhs), rewrite(x.Rhs)
		case *ast.RelationalOpExpr:
			x.Lhs, x.Rhs = rewrite(x.Lhs), rewrite(x.Rhs)
		case *ast.ArithmeticOpExpr:
			x.Lhs, x.Rhs = rewrite(x.Lhs), rewrite(x.Rhs)
		case *ast.UnaryMinusOpExpr:
			x.Expr = rewrite(x.Expr)
		case *ast.UnaryNotOpExpr:
			x.Expr = rewrite(x.Expr)
		case *ast.UnaryLenOpExpr:
			x.Expr = rewrite(x.Expr)
		case *ast.FunctionExpr:
			rewriteBlock(x.Stmts)
		}
		return e
	}
	rewriteBlock(stmts)
	decl := &ast.LocalAssignStmt{Names: []string{concatName}, Exprs: []ast.Expr{&ast.IdentExpr{Value: concatName}}}
	return append([]ast.Stmt{decl}, stmts...)
}

// concatOp is `..` for compiled code: the operands, left to right.
func (st *state) concatOp(L *lua.LState) int {
	n := L.GetTop()
	max := int64(st.vm.opts.MaxStringBytes)
	rhs := L.Get(n)
	for i := n - 1; i >= 1; {
		lhs := L.Get(i)
		if !lua.LVCanConvToString(lhs) || !lua.LVCanConvToString(rhs) {
			op := L.GetMetaField(lhs, "__concat")
			if op == lua.LNil {
				op = L.GetMetaField(rhs, "__concat")
			}
			if op.Type() != lua.LTFunction {
				L.RaiseError("cannot perform concat operation between %v and %v", lhs.Type().String(), rhs.Type().String())
			}
			L.Push(op)
			L.Push(lhs)
			L.Push(rhs)
			L.Call(2, 1)
			rhs = L.Get(-1)
			L.Pop(1)
			i--
			continue
		}
		// Join the run of string-like operands ending at i.
		first := i
		size := int64(len(lua.LVAsString(rhs)))
		for first >= 1 && lua.LVCanConvToString(L.Get(first)) {
			size += int64(len(lua.LVAsString(L.Get(first))))
			if size > max {
				L.RaiseError("string concatenation: resulting string too large (limit is %d bytes)", max)
			}
			first--
		}
		if m := st.meter; m != nil && !m.reserve(size) {
			m.raiseMemory(L)
		}
		var b strings.Builder
		b.Grow(int(size))
		for k := first + 1; k <= i; k++ {
			b.WriteString(lua.LVAsString(L.Get(k)))
		}
		b.WriteString(lua.LVAsString(rhs))
		rhs = lua.LString(b.String())
		i = first
	}
	L.Push(rhs)
	return 1
}
