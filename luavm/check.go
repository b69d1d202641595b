package luavm

import (
	"context"
	"fmt"
	"strings"

	"github.com/yuin/gopher-lua/ast"
)

// CheckSource is the write-time check of code stored to run later
// (pre-function and post-function): it compiles, and in ModeSandbox it
// refuses what the sandbox would refuse when the code runs: reading a
// standard library global the sandbox hides (io, debug, load, print ...),
// a library function it leaves out (os.execute, string.dump ...), and
// require of a module untrusted_lua_sandbox_requires does not list. Names
// the code declares local are its own. Globals listed in
// Options.Environment or Options.Expose are allowed.
//
// The message is Lua's, `[string "..."]:LINE: ...`, as Kong's load()
// reports syntax errors.
func (vm *VM) CheckSource(source string) error {
	if vm.opts.Mode == ModeOff {
		return nil // refused when it runs, as in Kong
	}
	name := ChunkName(source)
	stmts, err := Parse(context.Background(), source, name)
	if err != nil {
		return &Error{Kind: KindSyntax, Message: strings.TrimSpace(err.Error()), cause: err}
	}
	if vm.opts.Mode != ModeSandbox {
		return nil
	}
	c := &sandboxCheck{vm: vm, name: name, locals: map[string]bool{}}
	c.declared(stmts)
	c.block(stmts)
	if c.err != "" {
		return &Error{Kind: KindRuntime, Message: c.err}
	}
	return nil
}

// sandboxHidden are the standard globals the sandbox does not give.
var sandboxHidden = map[string]bool{
	"io": true, "debug": true, "package": true, "load": true, "loadstring": true, "loadfile": true,
	"dofile": true, "getfenv": true, "setfenv": true, "getmetatable": true, "setmetatable": true,
	"rawget": true, "rawset": true, "rawequal": true, "collectgarbage": true, "module": true,
	"newproxy": true, "print": true, "channel": true,
}

type sandboxCheck struct {
	vm     *VM
	name   string
	locals map[string]bool
	err    string
}

func (c *sandboxCheck) fail(line int, format string, args ...any) {
	if c.err == "" {
		c.err = fmt.Sprintf("%s:%d: ", c.name, line) + fmt.Sprintf(format, args...)
	}
}

// declared collects every name the chunk declares local (parameters,
// locals, loop variables), anywhere: such a name is never the global.
func (c *sandboxCheck) declared(stmts []ast.Stmt) {
	var expr func(ast.Expr)
	var block func([]ast.Stmt)
	expr = func(e ast.Expr) {
		if f, ok := e.(*ast.FunctionExpr); ok && f.ParList != nil {
			for _, n := range f.ParList.Names {
				c.locals[n] = true
			}
		}
		if e != nil {
			forEachExprChild(e, expr, block)
		}
	}
	block = func(list []ast.Stmt) {
		for _, s := range list {
			switch s := s.(type) {
			case *ast.LocalAssignStmt:
				for _, n := range s.Names {
					c.locals[n] = true
				}
			case *ast.NumberForStmt:
				c.locals[s.Name] = true
			case *ast.GenericForStmt:
				for _, n := range s.Names {
					c.locals[n] = true
				}
			}
			forEachChild(s, expr, block)
		}
	}
	block(stmts)
}

func (c *sandboxCheck) block(stmts []ast.Stmt) {
	for _, s := range stmts {
		forEachChild(s, c.expr, c.block)
	}
}

// allowedGlobal reports whether sandboxed code may read the global name.
func (c *sandboxCheck) allowedGlobal(name string) bool {
	if c.locals[name] || !sandboxHidden[name] {
		return true
	}
	for _, e := range append(append([]string{}, c.vm.opts.Environment...), c.vm.opts.Expose...) {
		if e = strings.TrimSpace(e); e == name || strings.HasPrefix(e, name+".") {
			return true
		}
	}
	return false
}

func (c *sandboxCheck) expr(e ast.Expr) {
	if e == nil || c.err != "" {
		return
	}
	switch x := e.(type) {
	case *ast.IdentExpr:
		if !c.allowedGlobal(x.Value) {
			c.fail(x.Line(), "'%s' is not available in the sandbox (untrusted_lua = sandbox)", x.Value)
		}
		return
	case *ast.AttrGetExpr:
		if obj, ok := x.Object.(*ast.IdentExpr); ok && !c.locals[obj.Value] {
			if key, ok := x.Key.(*ast.StringExpr); ok {
				if fns, lib := sandboxLibs[obj.Value]; lib && (fns != nil && !contains(fns, key.Value) || sandboxLibDeny[obj.Value+"."+key.Value]) &&
					!c.envAllows(obj.Value+"."+key.Value) {
					c.fail(x.Line(), "'%s.%s' is not available in the sandbox (untrusted_lua = sandbox)", obj.Value, key.Value)
					return
				}
			}
		}
	case *ast.FuncCallExpr:
		if fn, ok := x.Func.(*ast.IdentExpr); ok && fn.Value == "require" && !c.locals["require"] && len(x.Args) > 0 {
			if mod, ok := x.Args[0].(*ast.StringExpr); ok && !c.vm.requires[mod.Value] {
				c.fail(x.Line(), "require '%s' not allowed within sandbox", mod.Value)
				return
			}
		}
	}
	forEachExprChild(e, c.expr, c.block)
}

func (c *sandboxCheck) envAllows(name string) bool {
	for _, e := range c.vm.opts.Environment {
		if strings.TrimSpace(e) == name {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
