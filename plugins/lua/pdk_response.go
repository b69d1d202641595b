package lua

import (
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/portico-gw/portico/internal/kongerror"
	"github.com/portico-gw/portico/plugins"
)

// kong.response (kong/pdk/response.lua): the answer to the client.

// exitSignal is raised after kong.response.exit in rewrite and access to
// end the plugin's code there, as ngx.exit does in Kong; the host takes it
// for a normal return.
var exitSignal = &lua.LUserData{Value: "kong.response.exit", Metatable: lua.LNil}

// request is the Lua host's state of one request (plugins.Context.Lua).
type request struct {
	shared, ngxCtx *lua.LTable
	plugin         map[string]*lua.LTable
	// headerOps are response header changes made before the answer
	// exists (rewrite, access): applied when it does (header_filter).
	headerOps []headerOp
}

type headerOp struct {
	op          byte // 's'et, 'a'dd, 'c'lear
	name, value string
}

// requestOf is the request's Lua state, made on first use.
func requestOf(pc *plugins.Context) *request {
	if r, ok := pc.Lua.(*request); ok {
		return r
	}
	r := &request{}
	pc.Lua = r
	return r
}

// applyHeaderOps applies the response header changes made before the
// answer existed.
func applyHeaderOps(pc *plugins.Context) {
	r, ok := pc.Lua.(*request)
	if !ok || len(r.headerOps) == 0 {
		return
	}
	h := &pc.Response.Header
	for _, op := range r.headerOps {
		switch op.op {
		case 's':
			h.Set(op.name, op.value)
		case 'a':
			h.Add(op.name, op.value)
		default:
			h.Del(op.name)
		}
	}
	r.headerOps = r.headerOps[:0]
}

func responsePDK(L *lua.LState) *lua.LTable {
	return namespace(L, "kong.response", []pdkFunc{
		{"get_status", answerPhases, respStatus},
		{"get_header", answerPhases, respHeader},
		{"get_headers", answerPhases, respHeaders},
		{"get_source", answerPhases, respSource},
		{"set_status", headerSet, respSetStatus},
		{"set_header", headerSet, respHeaderOp('s')},
		{"add_header", headerSet, respHeaderOp('a')},
		{"clear_header", headerSet, respHeaderOp('c')},
		{"set_headers", headerSet, respSetHeaders},
		{"exit", exitPhases, respExit},
		{"error", exitPhases, respError},
		{"get_raw_body", phaseSet(phaseBodyFilter), respRawBody},
		{"set_raw_body", phaseSet(phaseBodyFilter), respSetRawBody},
	}, nil)
}

func respStatus(L *lua.LState, c *call) int {
	if c.pc == nil {
		L.Push(lua.LNumber(c.entry.Response.Status))
	} else {
		L.Push(lua.LNumber(c.pc.Response.StatusCode()))
	}
	return 1
}

func respHeader(L *lua.LState, c *call) int {
	name := headerName(L, 1)
	if c.pc == nil {
		if v, ok := plugins.Field(c.entry.Response.Headers, strings.ToLower(name)); ok {
			L.Push(lua.LString(v))
			return 1
		}
		L.Push(lua.LNil)
		return 1
	}
	return pushOptString(L, c.pc.Response.Header.Peek(name))
}

func respHeaders(L *lua.LState, c *call) int {
	max := maxArg(L, 1, defaultMaxHeader)
	if c.pc == nil {
		L.Push(headersTable(L, fieldHeaders(c.entry.Response.Headers), max))
		return 1
	}
	L.Push(headersTable(L, func(yield func(k, v []byte) bool) {
		for k, v := range c.pc.Response.Header.All() {
			if !yield(k, v) {
				return
			}
		}
	}, max))
	return 1
}

func respSource(L *lua.LState, c *call) int {
	switch {
	case c.pc == nil:
		L.Push(lua.LString("service"))
	case c.pc.Exited():
		L.Push(lua.LString("exit"))
	case c.pc.FromService:
		L.Push(lua.LString("service"))
	default:
		L.Push(lua.LString("error"))
	}
	return 1
}

// checkStatus is Kong's status check (kong/pdk/response.lua).
func checkStatus(L *lua.LState, n int) int {
	v, ok := L.Get(n).(lua.LNumber)
	if !ok {
		L.ArgError(n, "code must be a number")
	}
	if float64(v) != float64(int(v)) || v < 100 || v > 599 {
		L.ArgError(n, "code must be a number between 100 and 599")
	}
	return int(v)
}

func respSetStatus(L *lua.LState, c *call) int {
	c.pc.Response.SetStatusCode(checkStatus(L, 1))
	return 0
}

// headerValue checks a header value as Kong does: a string, number or
// boolean.
func headerValue(L *lua.LState, n int) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber, lua.LBool:
		return v.String()
	}
	L.ArgError(n, "invalid header value for \""+L.CheckString(1)+"\": got "+L.Get(n).Type().String()+", expected array of string, string, number or boolean")
	return ""
}

func checkHeaderName(L *lua.LState) string {
	name, ok := L.Get(1).(lua.LString)
	if !ok || name == "" {
		L.ArgError(1, "invalid header name \""+luaString(L.Get(1))+"\": got "+L.Get(1).Type().String()+", expected string")
	}
	return string(name)
}

func respHeaderOp(op byte) func(*lua.LState, *call) int {
	return func(L *lua.LState, c *call) int {
		name := checkHeaderName(L)
		var value string
		if op != 'c' {
			value = headerValue(L, 2)
		}
		changeHeader(c, op, name, value)
		return 0
	}
}

// changeHeader changes a response header now or, before the answer
// exists (rewrite, access) or while it may still be replaced by an exit
// (response), in header_filter, so an exit keeps the headers set before
// it, as nginx's do.
func changeHeader(c *call, op byte, name, value string) {
	if c.phase == phaseRewrite || c.phase == phaseAccess || c.phase == phaseResponse {
		r := requestOf(c.pc)
		r.headerOps = append(r.headerOps, headerOp{op: op, name: name, value: value})
		return
	}
	h := &c.pc.Response.Header
	switch op {
	case 's':
		h.Set(name, value)
	case 'a':
		h.Add(name, value)
	default:
		h.Del(name)
	}
}

// respSetHeaders is set_headers: each name set to its value, or to every
// value of an array.
func respSetHeaders(L *lua.LState, c *call) int {
	t := L.CheckTable(1)
	t.ForEach(func(k, v lua.LValue) {
		name := k.String()
		if arr, ok := v.(*lua.LTable); ok {
			for i := 1; i <= arr.Len(); i++ {
				op := byte('a')
				if i == 1 {
					op = 's'
				}
				changeHeader(c, op, name, arr.RawGetInt(i).String())
			}
			return
		}
		changeHeader(c, 's', name, v.String())
	})
	return 0
}

// exitHeaders reads exit's headers argument (values: strings or arrays).
func exitHeaders(L *lua.LState, n int, set func(name, value string, add bool)) {
	t, ok := L.Get(n).(*lua.LTable)
	if !ok {
		if L.Get(n) != lua.LNil {
			L.ArgError(n, "headers must be a nil or table")
		}
		return
	}
	t.ForEach(func(k, v lua.LValue) {
		name := k.String()
		if arr, ok := v.(*lua.LTable); ok {
			for i := 1; i <= arr.Len(); i++ {
				set(name, arr.RawGetInt(i).String(), i > 1)
			}
			return
		}
		set(name, v.String(), false)
	})
}

// respExit is kong.response.exit(status, body?, headers?): a table body is
// sent as JSON (Kong's encoder), a string as is.
func respExit(L *lua.LState, c *call) int {
	status := checkStatus(L, 1)
	body := L.Get(2)
	var out []byte
	isJSON := false
	switch b := body.(type) {
	case *lua.LNilType:
	case lua.LString:
		out = []byte(b)
	case *lua.LTable:
		var err error
		if out, err = encodeJSON(nil, b, 0); err != nil {
			L.ArgError(2, "body must be a nil, string or table ("+err.Error()+")")
		}
		isJSON = true
	default:
		L.ArgError(2, "body must be a nil, string or table")
	}
	pc := c.pc
	pc.Exit(status, nil, nil)
	if out != nil {
		pc.Response.SetBodyRaw(append([]byte(nil), out...))
		if isJSON {
			pc.Response.Header.SetContentType("application/json; charset=utf-8")
		}
	}
	exitHeaders(L, 3, func(name, value string, add bool) {
		if add {
			pc.Response.Header.Add(name, value)
		} else {
			pc.Response.Header.Set(name, value)
		}
	})
	return unwind(L, c)
}

// unwind ends the plugin's phase code after an exit (rewrite, access).
func unwind(L *lua.LState, c *call) int {
	if c.phase == phaseRewrite || c.phase == phaseAccess {
		L.Error(exitSignal, 0)
	}
	return 0
}

// respError is kong.response.error(status, message?, headers?): Kong's
// error answer in the format the client accepts.
func respError(L *lua.LState, c *call) int {
	status := checkStatus(L, 1)
	if status < 400 {
		L.ArgError(1, "code must be a number between 400 and 599")
	}
	msg := ""
	if m, ok := L.Get(2).(lua.LString); ok {
		msg = string(m)
	} else if t, ok := L.Get(2).(*lua.LTable); ok {
		if m, ok := t.RawGetString("message").(lua.LString); ok {
			msg = string(m)
		}
	}
	if msg == "" {
		msg = kongerror.Message(status)
	}
	c.pc.Error(status, msg)
	exitHeaders(L, 3, func(name, value string, add bool) {
		if add {
			c.pc.Response.Header.Add(name, value)
		} else {
			c.pc.Response.Header.Set(name, value)
		}
	})
	return unwind(L, c)
}

func respRawBody(L *lua.LState, c *call) int {
	L.Push(lua.LString(c.pc.Response.Body()))
	return 1
}

func respSetRawBody(L *lua.LState, c *call) int {
	c.pc.Response.SetBodyString(L.CheckString(1))
	c.pc.Response.Header.SetContentLength(len(c.pc.Response.Body()))
	return 0
}
