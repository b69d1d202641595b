package lua

import (
	"bytes"
	"io"
	"mime"
	"net"
	"net/netip"
	"net/url"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// kong.request (kong/pdk/request.lua): the client's request.

// Kong's limits and messages.
const (
	defaultMaxArgs   = 100
	defaultMaxHeader = 100
	msgBodyTooLarge  = "request body did not fit into client body buffer, consider raising 'client_body_buffer_size'"
)

func requestPDK(L *lua.LState) *lua.LTable {
	return namespace(L, "kong.request", []pdkFunc{
		{"get_scheme", requestPhase, reqScheme},
		{"get_host", requestPhase, reqHost},
		{"get_port", requestPhase, reqPort},
		{"get_forwarded_scheme", requestPhase, reqForwarded("X-Forwarded-Proto", reqScheme)},
		{"get_forwarded_host", requestPhase, reqForwarded("X-Forwarded-Host", reqHost)},
		{"get_forwarded_port", requestPhase, reqForwardedPort},
		{"get_forwarded_path", requestPhase, reqForwarded("X-Forwarded-Path", reqPath)},
		{"get_forwarded_prefix", requestPhase, reqForwardedPrefix},
		{"get_http_version", requestPhase, reqHTTPVersion},
		{"get_method", requestPhase, reqMethod},
		{"get_path", requestPhase, reqPath},
		{"get_raw_path", requestPhase, reqRawPath},
		{"get_path_with_query", requestPhase, reqPathWithQuery},
		{"get_raw_query", requestPhase, reqRawQuery},
		{"get_query_arg", requestPhase, reqQueryArg},
		{"get_query", requestPhase, reqQuery},
		{"get_header", requestPhase, reqHeader},
		{"get_headers", requestPhase, reqHeaders},
		{"get_raw_body", live, reqRawBody},
		{"get_body", live, reqBody},
		{"get_start_time", requestPhase, reqStartTime},
	}, nil)
}

// requestURI is the request target as the client sent it.
func requestURI(c *call) string {
	if c.pc == nil {
		return c.entry.Request.URI
	}
	return string(c.pc.Request.Header.RequestURI())
}

func reqScheme(L *lua.LState, c *call) int {
	switch {
	case c.pc != nil && c.pc.Ctx != nil && c.pc.Ctx.IsTLS():
		L.Push(lua.LString("https"))
	case c.pc == nil && strings.HasPrefix(c.entry.Request.URL, "https:"):
		L.Push(lua.LString("https"))
	default:
		L.Push(lua.LString("http"))
	}
	return 1
}

// host is the Host header without its port, lower-cased (nginx's $host).
func host(c *call) string {
	var h string
	if c.pc == nil {
		h, _ = plugins.Field(c.entry.Request.Headers, "host")
	} else {
		h = string(c.pc.Request.Header.Host())
	}
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	return strings.ToLower(h)
}

func reqHost(L *lua.LState, c *call) int {
	L.Push(lua.LString(host(c)))
	return 1
}

func localPort(c *call) int {
	if c.pc != nil && c.pc.Ctx != nil {
		if a, ok := c.pc.Ctx.LocalAddr().(*net.TCPAddr); ok {
			return a.Port
		}
	}
	if c.pc == nil {
		if u, err := url.Parse(c.entry.Request.URL); err == nil {
			if p := u.Port(); p != "" {
				n, _ := schema.LuaToNumber(p)
				return int(n)
			}
		}
	}
	return 0
}

func reqPort(L *lua.LState, c *call) int {
	L.Push(lua.LNumber(localPort(c)))
	return 1
}

// peerTrusted reports whether the connecting peer is in trusted_ips (the
// X-Forwarded-* headers are then believed, as Kong does).
func peerTrusted(L *lua.LState, c *call) bool {
	if c.pc == nil || c.pc.Ctx == nil {
		return false
	}
	a, ok := c.pc.Ctx.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return false
	}
	ip, _ := netip.AddrFromSlice(a.IP)
	return hostOf(L).isTrusted(ip.Unmap())
}

func reqForwarded(header string, own func(*lua.LState, *call) int) func(*lua.LState, *call) int {
	return func(L *lua.LState, c *call) int {
		if peerTrusted(L, c) {
			if v := c.pc.Request.Header.Peek(header); len(v) > 0 {
				if i := bytes.IndexByte(v, ','); i >= 0 {
					v = v[:i]
				}
				s := strings.TrimSpace(string(v))
				if header == "X-Forwarded-Host" || header == "X-Forwarded-Proto" {
					s = strings.ToLower(s)
					if h, _, err := net.SplitHostPort(s); err == nil && header == "X-Forwarded-Host" {
						s = h
					}
				}
				L.Push(lua.LString(s))
				return 1
			}
		}
		return own(L, c)
	}
}

func reqForwardedPort(L *lua.LState, c *call) int {
	if peerTrusted(L, c) {
		if v := c.pc.Request.Header.Peek("X-Forwarded-Port"); len(v) > 0 {
			if n, ok := schema.LuaToNumber(strings.TrimSpace(string(v))); ok && n >= 1 && n <= 65535 {
				L.Push(lua.LNumber(int(n)))
				return 1
			}
		}
	}
	return reqPort(L, c)
}

func reqForwardedPrefix(L *lua.LState, c *call) int {
	if peerTrusted(L, c) {
		if v := c.pc.Request.Header.Peek("X-Forwarded-Prefix"); len(v) > 0 {
			L.Push(lua.LString(v))
			return 1
		}
	}
	L.Push(lua.LNil)
	return 1
}

func reqHTTPVersion(L *lua.LState, c *call) int {
	v := 1.1
	if c.pc != nil {
		switch string(c.pc.Request.Header.Protocol()) {
		case "HTTP/1.0":
			v = 1.0
		case "HTTP/2", "HTTP/2.0":
			v = 2
		}
	}
	L.Push(lua.LNumber(v))
	return 1
}

func reqMethod(L *lua.LState, c *call) int {
	if c.pc == nil {
		L.Push(lua.LString(c.entry.Request.Method))
	} else {
		L.Push(lua.LString(c.pc.Request.Header.Method()))
	}
	return 1
}

func rawPath(c *call) string {
	u := requestURI(c)
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	return u
}

func reqRawPath(L *lua.LState, c *call) int {
	L.Push(lua.LString(rawPath(c)))
	return 1
}

// reqPath is Kong 3's get_path: the path normalised (percent-decoding of
// unreserved characters, dot segments, merged slashes).
func reqPath(L *lua.LState, c *call) int {
	L.Push(lua.LString(schema.NormalizePath(rawPath(c), true)))
	return 1
}

func rawQuery(c *call) string {
	u := requestURI(c)
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[i+1:]
	}
	return ""
}

func reqPathWithQuery(L *lua.LState, c *call) int {
	p, q := reqPathString(c), rawQuery(c)
	if q != "" {
		p += "?" + q
	}
	L.Push(lua.LString(p))
	return 1
}

func reqPathString(c *call) string { return schema.NormalizePath(rawPath(c), true) }

func reqRawQuery(L *lua.LState, c *call) int {
	L.Push(lua.LString(rawQuery(c)))
	return 1
}

// argValue is an argument as ngx.req.get_uri_args gives it: true for a
// flag (no "="), else its decoded value.
func argValue(v []byte, hasEq bool) lua.LValue {
	if !hasEq {
		return lua.LTrue
	}
	return lua.LString(v)
}

// eachArg walks a query string as ngx decodes it, stopping after max
// arguments.
func eachArg(q string, max int, fn func(k string, v lua.LValue)) {
	n := 0
	for q != "" && (max <= 0 || n < max) {
		var part string
		part, q, _ = strings.Cut(q, "&")
		if part == "" {
			continue
		}
		k, v, hasEq := strings.Cut(part, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			dk = k
		}
		if dk == "" {
			continue
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			dv = v
		}
		n++
		fn(dk, argValue([]byte(dv), hasEq))
	}
}

// argsTable collects arguments into Kong's table: a name repeated gives an
// array of its values.
func argsTable(L *lua.LState, q string, max int) *lua.LTable {
	t := L.NewTable()
	eachArg(q, max, func(k string, v lua.LValue) {
		switch cur := t.RawGetString(k).(type) {
		case *lua.LNilType:
			t.RawSetString(k, v)
		case *lua.LTable:
			cur.Append(v)
		default:
			arr := L.CreateTable(2, 0)
			arr.Append(cur)
			arr.Append(v)
			t.RawSetString(k, arr)
		}
	})
	return t
}

func reqQueryArg(L *lua.LState, c *call) int {
	name := L.CheckString(1)
	var found lua.LValue = lua.LNil
	eachArg(rawQuery(c), defaultMaxArgs, func(k string, v lua.LValue) {
		if found == lua.LNil && k == name {
			found = v
		}
	})
	L.Push(found)
	return 1
}

func maxArg(L *lua.LState, n, dflt int) int {
	max := L.OptInt(n, dflt)
	if max < 1 || max > 1000 {
		L.ArgError(n, "max_args must be >= 1 and <= 1000")
	}
	return max
}

func reqQuery(L *lua.LState, c *call) int {
	L.Push(argsTable(L, rawQuery(c), maxArg(L, 1, defaultMaxArgs)))
	return 1
}

// headerName is a header name as ngx.var.http_* matches it: underscores
// stand for dashes.
func headerName(L *lua.LState, n int) string {
	return strings.ReplaceAll(L.CheckString(n), "_", "-")
}

func reqHeader(L *lua.LState, c *call) int {
	name := headerName(L, 1)
	if c.pc == nil {
		if v, ok := plugins.Field(c.entry.Request.Headers, strings.ToLower(name)); ok {
			L.Push(lua.LString(v))
		} else {
			L.Push(lua.LNil)
		}
		return 1
	}
	v := c.pc.Request.Header.Peek(name)
	if v == nil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LString(v))
	return 1
}

// headersTable is Kong's get_headers table: lower-case names, a repeated
// header an array of its values; reading it with another case or with
// underscores finds the same entry, as in Kong.
func headersTable(L *lua.LState, all func(func(k, v []byte) bool), max int) *lua.LTable {
	t := L.NewTable()
	n := 0
	all(func(k, v []byte) bool {
		if n >= max {
			return false
		}
		n++
		key := strings.ToLower(string(k))
		switch cur := t.RawGetString(key).(type) {
		case *lua.LNilType:
			t.RawSetString(key, lua.LString(v))
		case *lua.LTable:
			cur.Append(lua.LString(v))
		default:
			arr := L.CreateTable(2, 0)
			arr.Append(cur)
			arr.Append(lua.LString(v))
			t.RawSetString(key, arr)
		}
		return true
	})
	mt := L.CreateTable(0, 1)
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		k, ok := L.Get(2).(lua.LString)
		if !ok {
			return 0
		}
		norm := strings.ReplaceAll(strings.ToLower(string(k)), "_", "-")
		if norm == string(k) {
			return 0
		}
		L.Push(L.GetTable(L.Get(1), lua.LString(norm)))
		return 1
	}))
	t.Metatable = mt
	return t
}

func reqHeaders(L *lua.LState, c *call) int {
	max := maxArg(L, 1, defaultMaxHeader)
	if c.pc == nil {
		L.Push(headersTable(L, fieldHeaders(c.entry.Request.Headers), max))
		return 1
	}
	L.Push(headersTable(L, func(yield func(k, v []byte) bool) {
		for k, v := range c.pc.Request.Header.All() {
			if !yield(k, v) {
				return
			}
		}
	}, max))
	return 1
}

func fieldHeaders(fs []plugins.LogField) func(func(k, v []byte) bool) {
	return func(yield func(k, v []byte) bool) {
		for _, f := range fs {
			if !yield([]byte(f.Name), []byte(f.Value)) {
				return
			}
		}
	}
}

// requestBody is the request body when it fits in
// client_body_buffer_size, as Kong reads it (a larger or chunked body is
// left streaming to the service, and Kong's answer is nil).
func requestBody(L *lua.LState, c *call) ([]byte, bool) {
	r := c.pc.Request
	if !r.IsBodyStream() {
		return r.Body(), true
	}
	n := r.Header.ContentLength()
	if n < 0 || int64(n) > hostOf(L).bodyBuffer() {
		return nil, false
	}
	// Read the stream here (the service then gets the buffer).
	buf, err := io.ReadAll(io.LimitReader(r.BodyStream(), int64(n)))
	if err != nil || len(buf) != n {
		return nil, false
	}
	r.SetBodyRaw(buf)
	return buf, true
}

func reqRawBody(L *lua.LState, c *call) int {
	body, ok := requestBody(L, c)
	if !ok {
		L.Push(lua.LNil)
		L.Push(lua.LString(msgBodyTooLarge))
		return 2
	}
	L.Push(lua.LString(body))
	return 1
}

// reqBody is get_body: the body decoded by its content type (or the one
// given): JSON, form-urlencoded or multipart. It returns the table, or
// nil and Kong's message, and the mime type.
func reqBody(L *lua.LState, c *call) int {
	mimeType := L.OptString(1, "")
	max := L.OptInt(2, defaultMaxArgs)
	ct := mimeType
	if ct == "" {
		ct = string(c.pc.Request.Header.ContentType())
		if ct == "" {
			L.Push(lua.LNil)
			L.Push(lua.LString("missing content type"))
			return 2
		}
	}
	mt, _, _ := mime.ParseMediaType(ct)
	if mt == "" {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	}
	body, ok := requestBody(L, c)
	if !ok {
		L.Push(lua.LNil)
		L.Push(lua.LString(msgBodyTooLarge))
		L.Push(lua.LString(mt))
		return 3
	}
	switch {
	case mt == "application/x-www-form-urlencoded":
		L.Push(argsTable(L, string(body), max))
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		v, err := decodeJSON(L, body)
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString("invalid json body"))
			L.Push(lua.LString(mt))
			return 3
		}
		if _, ok := v.(*lua.LTable); !ok {
			L.Push(lua.LNil)
			L.Push(lua.LString("invalid json body"))
			L.Push(lua.LString(mt))
			return 3
		}
		L.Push(v)
	case mt == "multipart/form-data":
		form, err := c.pc.Request.MultipartForm()
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString("unable to decode multipart body"))
			L.Push(lua.LString(mt))
			return 3
		}
		t := L.NewTable()
		for k, vs := range form.Value {
			if len(vs) == 1 {
				t.RawSetString(k, lua.LString(vs[0]))
			} else {
				arr := L.NewTable()
				for _, v := range vs {
					arr.Append(lua.LString(v))
				}
				t.RawSetString(k, arr)
			}
		}
		L.Push(t)
	default:
		L.Push(lua.LNil)
		L.Push(lua.LString("unsupported content type '" + mt + "'"))
		L.Push(lua.LString(mt))
		return 3
	}
	L.Push(lua.LNil)
	L.Push(lua.LString(mt))
	return 3
}

func reqStartTime(L *lua.LState, c *call) int {
	if c.pc == nil {
		L.Push(lua.LNumber(c.entry.StartedAt))
	} else {
		L.Push(lua.LNumber(c.pc.Started.UnixMilli()))
	}
	return 1
}

// hostOf is the Host whose state runs L.
func hostOf(L *lua.LState) *Host {
	if h, ok := L.GetGlobal(hostGlobal).(*lua.LUserData); ok {
		if host, ok := h.Value.(*Host); ok {
			return host
		}
	}
	return nil
}

// hostGlobal holds the state's Host, under a name Lua code cannot spell.
const hostGlobal = "\x00portico.host"

// bodyBuffer is client_body_buffer_size (nginx's default, 8k, when unset).
func (h *Host) bodyBuffer() int64 {
	if h == nil || h.opts.ClientBodyBufferSize <= 0 {
		return 8 << 10
	}
	return h.opts.ClientBodyBufferSize
}

func (h *Host) isTrusted(a netip.Addr) bool {
	if h == nil || !a.IsValid() {
		return false
	}
	for _, p := range h.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
