package lua

import (
	"net/url"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// kong.service, kong.service.request and kong.service.response
// (kong/pdk/service*.lua): the upstream request and its answer.

func servicePDK(L *lua.LState) *lua.LTable {
	return namespace(L, "kong.service", []pdkFunc{
		{"set_upstream", accessPhase, svcSetUpstream},
		{"set_target", accessPhase, svcSetTarget},
	}, nil)
}

func svcSetUpstream(L *lua.LState, c *call) int {
	name := L.CheckString(1)
	c.pc.Target.UpstreamName = name
	c.pc.Target.Host, c.pc.Target.Port = "", 0
	L.Push(lua.LTrue)
	return 1
}

func svcSetTarget(L *lua.LState, c *call) int {
	host := L.CheckString(1)
	port, ok := L.Get(2).(lua.LNumber)
	if !ok || port < 0 || port > 65535 || float64(port) != float64(int(port)) {
		L.ArgError(2, "port must be an integer between 0 and 65535: given "+L.Get(2).String())
	}
	c.pc.Target.Host, c.pc.Target.Port = host, int(port)
	c.pc.Target.UpstreamName = ""
	return 0
}

func serviceRequestPDK(L *lua.LState) *lua.LTable {
	return namespace(L, "kong.service.request", []pdkFunc{
		{"set_header", rewriteAcc, svcReqHeader('s')},
		{"add_header", rewriteAcc, svcReqHeader('a')},
		{"clear_header", rewriteAcc, svcReqHeader('c')},
		{"set_headers", rewriteAcc, svcReqSetHeaders},
		{"set_path", accessPhase, svcReqSetPath},
		{"set_raw_query", rewriteAcc, svcReqSetRawQuery},
		{"set_scheme", rewriteAcc, svcReqSetScheme},
		{"set_query", rewriteAcc, svcReqSetQuery},
		{"clear_query_arg", rewriteAcc, svcReqClearQueryArg},
		{"set_method", rewriteAcc, svcReqSetMethod},
		{"set_raw_body", rewriteAcc, svcReqSetRawBody},
		{"set_body", rewriteAcc, svcReqSetBody},
		{"enable_buffering", rewriteAcc, func(L *lua.LState, c *call) int { return 0 }},
	}, nil)
}

func svcReqHeader(op byte) func(*lua.LState, *call) int {
	return func(L *lua.LState, c *call) int {
		name := checkHeaderName(L)
		h := &c.pc.Request.Header
		switch op {
		case 's':
			v := headerValue(L, 2)
			if strings.EqualFold(name, "host") {
				h.SetHost(v)
			} else {
				h.Set(name, v)
			}
		case 'a':
			h.Add(name, headerValue(L, 2))
		default:
			h.Del(name)
		}
		return 0
	}
}

func svcReqSetHeaders(L *lua.LState, c *call) int {
	t := L.CheckTable(1)
	h := &c.pc.Request.Header
	t.ForEach(func(k, v lua.LValue) {
		name := k.String()
		if arr, ok := v.(*lua.LTable); ok {
			h.Del(name)
			for i := 1; i <= arr.Len(); i++ {
				h.Add(name, arr.RawGetInt(i).String())
			}
			return
		}
		h.Set(name, v.String())
	})
	return 0
}

func svcReqSetPath(L *lua.LState, c *call) int {
	p := L.CheckString(1)
	if !strings.HasPrefix(p, "/") {
		L.ArgError(1, "path must start with /")
	}
	c.pc.Upstream.SetPath([]byte(p))
	return 0
}

// svcReqSetScheme is kong.service.request.set_scheme: "http" or "https"
// for the request to the service (its port is kept).
func svcReqSetScheme(L *lua.LState, c *call) int {
	scheme := L.CheckString(1)
	if scheme != "http" && scheme != "https" {
		L.ArgError(1, "invalid scheme: "+scheme)
	}
	c.pc.Target.Scheme = scheme
	return 0
}

func svcReqSetRawQuery(L *lua.LState, c *call) int {
	c.pc.SetRawQuery([]byte(L.CheckString(1)))
	return 0
}

// encodeArgs is ngx.encode_args: names sorted, arrays repeated, true a
// flag, false left out.
func encodeArgs(t *lua.LTable) string {
	type kv struct {
		k string
		v lua.LValue
	}
	var args []kv
	t.ForEach(func(k, v lua.LValue) { args = append(args, kv{k.String(), v}) })
	sort.Slice(args, func(i, j int) bool { return args[i].k < args[j].k })
	var b strings.Builder
	add := func(k string, v lua.LValue) {
		if x, ok := v.(lua.LBool); ok && !bool(x) {
			return
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(escapeURI(k))
		if _, ok := v.(lua.LBool); ok {
			return
		}
		b.WriteByte('=')
		b.WriteString(escapeURI(v.String()))
	}
	for _, a := range args {
		if arr, ok := a.v.(*lua.LTable); ok {
			for i := 1; i <= arr.Len(); i++ {
				add(a.k, arr.RawGetInt(i))
			}
			continue
		}
		add(a.k, a.v)
	}
	return b.String()
}

// escapeURI is ngx.escape_uri (type 2: everything but unreserved
// characters).
func escapeURI(s string) string {
	const unreserved = "-._~"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(unreserved, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}

func svcReqSetQuery(L *lua.LState, c *call) int {
	c.pc.SetRawQuery([]byte(encodeArgs(L.CheckTable(1))))
	return 0
}

func svcReqClearQueryArg(L *lua.LState, c *call) int {
	name := L.CheckString(1)
	q := string(c.pc.Request.Header.RequestURI())
	if i := strings.IndexByte(q, '?'); i >= 0 {
		q = q[i+1:]
	} else {
		q = ""
	}
	var kept []string
	for _, part := range strings.Split(q, "&") {
		k, _, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); (err == nil && dk == name) || k == name || part == "" {
			continue
		}
		kept = append(kept, part)
	}
	c.pc.SetRawQuery([]byte(strings.Join(kept, "&")))
	return 0
}

var methods = map[string]bool{"GET": true, "HEAD": true, "PUT": true, "POST": true, "DELETE": true, "OPTIONS": true,
	"MKCOL": true, "COPY": true, "MOVE": true, "PROPFIND": true, "PROPPATCH": true, "LOCK": true, "UNLOCK": true, "PATCH": true, "TRACE": true}

func svcReqSetMethod(L *lua.LState, c *call) int {
	m := L.CheckString(1)
	if !methods[m] {
		L.ArgError(1, "invalid method: "+m)
	}
	c.pc.Request.Header.SetMethod(m)
	return 0
}

func setBody(c *call, body []byte, contentType string) {
	r := c.pc.Request
	r.ResetBody()
	r.SetBodyRaw(body)
	r.Header.SetContentLength(len(body))
	if contentType != "" {
		r.Header.SetContentType(contentType)
	}
}

func svcReqSetRawBody(L *lua.LState, c *call) int {
	setBody(c, []byte(L.CheckString(1)), "")
	return 0
}

// svcReqSetBody is set_body(table, mime?): encoded by the content type
// (JSON, form-urlencoded).
func svcReqSetBody(L *lua.LState, c *call) int {
	t := L.CheckTable(1)
	ct := L.OptString(2, string(c.pc.Request.Header.ContentType()))
	mt := strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		out, err := encodeJSON(nil, t, 0)
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		setBody(c, out, ct)
	case mt == "application/x-www-form-urlencoded":
		setBody(c, []byte(encodeArgs(t)), ct)
	case mt == "":
		L.Push(lua.LNil)
		L.Push(lua.LString("missing content type"))
		return 2
	default:
		L.Push(lua.LNil)
		L.Push(lua.LString("unsupported content type '" + mt + "'"))
		return 2
	}
	L.Push(lua.LTrue)
	return 1
}

func serviceResponsePDK(L *lua.LState) *lua.LTable {
	fromService := func(f func(*lua.LState, *call) int) func(*lua.LState, *call) int {
		return func(L *lua.LState, c *call) int {
			if c.pc != nil && !c.pc.FromService {
				L.Push(lua.LNil)
				return 1
			}
			return f(L, c)
		}
	}
	return namespace(L, "kong.service.response", []pdkFunc{
		{"get_status", answerPhases, fromService(respStatus)},
		{"get_header", answerPhases, fromService(respHeader)},
		{"get_headers", answerPhases, fromService(respHeaders)},
		{"get_raw_body", phaseSet(phaseHeaderFilter, phaseResponse, phaseBodyFilter), fromService(svcRespRawBody)},
		{"get_body", phaseSet(phaseHeaderFilter, phaseResponse, phaseBodyFilter), fromService(svcRespBody)},
	}, nil)
}

// svcRespRawBody is the service's answer body when it was read whole
// (small answers); a streamed answer has none yet.
func svcRespRawBody(L *lua.LState, c *call) int {
	if c.pc.Response.IsBodyStream() {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LString(c.pc.Response.Body()))
	return 1
}

func svcRespBody(L *lua.LState, c *call) int {
	if c.pc.Response.IsBodyStream() {
		L.Push(lua.LNil)
		L.Push(lua.LString("the answer is streamed"))
		return 2
	}
	ct := strings.ToLower(string(c.pc.Response.Header.ContentType()))
	body := c.pc.Response.Body()
	switch {
	case strings.Contains(ct, "json"):
		v, err := decodeJSON(L, body)
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString("invalid json body"))
			return 2
		}
		L.Push(v)
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		L.Push(argsTable(L, string(body), defaultMaxArgs))
	default:
		L.Push(lua.LNil)
		L.Push(lua.LString("unsupported content type '" + ct + "'"))
		return 2
	}
	return 1
}
