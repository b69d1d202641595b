package lua

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"hash/crc32"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/portico-gw/portico/logger"
	"github.com/portico-gw/portico/plugins"
)

// ngx: the part of OpenResty's ngx API Kong plugins use most, on top of
// the same request (kong/pdk is itself written over it).

// nginx's error log levels as ngx.log takes them.
var ngxLevels = map[int]logger.Level{
	0: logger.Emerg, 1: logger.Emerg, 2: logger.Alert, 3: logger.Crit, 4: logger.Error,
	5: logger.Warn, 6: logger.Notice, 7: logger.Info, 8: logger.Debug,
}

var ngxConstants = map[string]int{
	"OK": 0, "ERROR": -1, "AGAIN": -2, "DONE": -4, "DECLINED": -5,
	"STDERR": 0, "EMERG": 1, "ALERT": 2, "CRIT": 3, "ERR": 4, "WARN": 5, "NOTICE": 6, "INFO": 7, "DEBUG": 8,
	"HTTP_GET": 2, "HTTP_HEAD": 4, "HTTP_POST": 8, "HTTP_PUT": 16, "HTTP_DELETE": 32, "HTTP_MKCOL": 64,
	"HTTP_COPY": 128, "HTTP_MOVE": 256, "HTTP_OPTIONS": 512, "HTTP_PROPFIND": 1024, "HTTP_PROPPATCH": 2048,
	"HTTP_LOCK": 4096, "HTTP_UNLOCK": 8192, "HTTP_PATCH": 16384, "HTTP_TRACE": 32768,
	"HTTP_CONTINUE": 100, "HTTP_SWITCHING_PROTOCOLS": 101, "HTTP_OK": 200, "HTTP_CREATED": 201,
	"HTTP_ACCEPTED": 202, "HTTP_NO_CONTENT": 204, "HTTP_PARTIAL_CONTENT": 206, "HTTP_SPECIAL_RESPONSE": 300,
	"HTTP_MOVED_PERMANENTLY": 301, "HTTP_MOVED_TEMPORARILY": 302, "HTTP_SEE_OTHER": 303, "HTTP_NOT_MODIFIED": 304,
	"HTTP_TEMPORARY_REDIRECT": 307, "HTTP_PERMANENT_REDIRECT": 308, "HTTP_BAD_REQUEST": 400,
	"HTTP_UNAUTHORIZED": 401, "HTTP_PAYMENT_REQUIRED": 402, "HTTP_FORBIDDEN": 403, "HTTP_NOT_FOUND": 404,
	"HTTP_NOT_ALLOWED": 405, "HTTP_NOT_ACCEPTABLE": 406, "HTTP_REQUEST_TIMEOUT": 408, "HTTP_CONFLICT": 409,
	"HTTP_GONE": 410, "HTTP_UPGRADE_REQUIRED": 426, "HTTP_TOO_MANY_REQUESTS": 429, "HTTP_CLOSE": 444,
	"HTTP_ILLEGAL": 451, "HTTP_INTERNAL_SERVER_ERROR": 500, "HTTP_METHOD_NOT_IMPLEMENTED": 501,
	"HTTP_BAD_GATEWAY": 502, "HTTP_SERVICE_UNAVAILABLE": 503, "HTTP_GATEWAY_TIMEOUT": 504,
	"HTTP_VERSION_NOT_SUPPORTED": 505, "HTTP_INSUFFICIENT_STORAGE": 507,
}

func ngxFn(t *lua.LTable, L *lua.LState, name string, fn lua.LGFunction) {
	t.RawSetString(name, L.NewFunction(fn))
}

// ngxTable builds a state's ngx global.
func ngxTable(loc *local) *lua.LTable {
	L, h := loc.L, loc.host
	ngx := L.CreateTable(0, 128)
	for k, v := range ngxConstants {
		ngx.RawSetString(k, lua.LNumber(v))
	}
	ngx.RawSetString("null", null)
	ngxFn(ngx, L, "log", func(L *lua.LState) int {
		level, ok := ngxLevels[L.CheckInt(1)]
		if !ok {
			L.ArgError(1, "bad log level")
		}
		if log := h.opts.Log; log != nil && log.Enabled(level) {
			log.Log(level, "[lua] "+where(L)+": "+joinArgs(L, 2))
		}
		return 0
	})
	ngxFn(ngx, L, "now", func(L *lua.LState) int {
		L.Push(lua.LNumber(float64(time.Now().UnixMilli()) / 1000))
		return 1
	})
	ngxFn(ngx, L, "time", func(L *lua.LState) int {
		L.Push(lua.LNumber(time.Now().Unix()))
		return 1
	})
	ngxFn(ngx, L, "update_time", func(L *lua.LState) int { return 0 })
	ngxFn(ngx, L, "today", func(L *lua.LState) int {
		L.Push(lua.LString(time.Now().Format("2006-01-02")))
		return 1
	})
	ngxFn(ngx, L, "localtime", func(L *lua.LState) int {
		L.Push(lua.LString(time.Now().Format("2006-01-02 15:04:05")))
		return 1
	})
	ngxFn(ngx, L, "utctime", func(L *lua.LState) int {
		L.Push(lua.LString(time.Now().UTC().Format("2006-01-02 15:04:05")))
		return 1
	})
	ngxFn(ngx, L, "http_time", func(L *lua.LState) int {
		L.Push(lua.LString(time.Unix(int64(L.CheckNumber(1)), 0).UTC().Format(time.RFC1123)))
		return 1
	})
	ngxFn(ngx, L, "cookie_time", func(L *lua.LState) int {
		L.Push(lua.LString(time.Unix(int64(L.CheckNumber(1)), 0).UTC().Format("Mon, 02-Jan-06 15:04:05 GMT")))
		return 1
	})
	ngxFn(ngx, L, "parse_http_time", func(L *lua.LState) int {
		t, err := time.Parse(time.RFC1123, L.CheckString(1))
		if err != nil {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LNumber(t.Unix()))
		return 1
	})
	ngxFn(ngx, L, "md5", func(L *lua.LState) int {
		sum := md5.Sum([]byte(L.CheckString(1)))
		L.Push(lua.LString(hex.EncodeToString(sum[:])))
		return 1
	})
	ngxFn(ngx, L, "md5_bin", func(L *lua.LState) int {
		sum := md5.Sum([]byte(L.CheckString(1)))
		L.Push(lua.LString(sum[:]))
		return 1
	})
	ngxFn(ngx, L, "sha1_bin", func(L *lua.LState) int {
		sum := sha1.Sum([]byte(L.CheckString(1)))
		L.Push(lua.LString(sum[:]))
		return 1
	})
	ngxFn(ngx, L, "hmac_sha1", func(L *lua.LState) int {
		m := hmac.New(sha1.New, []byte(L.CheckString(1)))
		m.Write([]byte(L.CheckString(2)))
		L.Push(lua.LString(m.Sum(nil)))
		return 1
	})
	crc := func(L *lua.LState) int {
		L.Push(lua.LNumber(crc32.ChecksumIEEE([]byte(L.CheckString(1)))))
		return 1
	}
	ngxFn(ngx, L, "crc32_short", crc)
	ngxFn(ngx, L, "crc32_long", crc)
	ngxFn(ngx, L, "encode_base64", func(L *lua.LState) int {
		enc := base64.StdEncoding
		if L.OptBool(2, false) {
			enc = base64.RawStdEncoding
		}
		L.Push(lua.LString(enc.EncodeToString([]byte(L.CheckString(1)))))
		return 1
	})
	ngxFn(ngx, L, "decode_base64", func(L *lua.LState) int {
		s := L.CheckString(1)
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			if b, err = base64.RawStdEncoding.DecodeString(s); err != nil {
				L.Push(lua.LNil)
				return 1
			}
		}
		L.Push(lua.LString(b))
		return 1
	})
	ngxFn(ngx, L, "escape_uri", func(L *lua.LState) int {
		L.Push(lua.LString(escapeURI(L.CheckString(1))))
		return 1
	})
	ngxFn(ngx, L, "unescape_uri", func(L *lua.LState) int {
		s := L.CheckString(1)
		if u, err := url.QueryUnescape(s); err == nil {
			s = u
		}
		L.Push(lua.LString(s))
		return 1
	})
	ngxFn(ngx, L, "encode_args", func(L *lua.LState) int {
		L.Push(lua.LString(encodeArgs(L.CheckTable(1))))
		return 1
	})
	ngxFn(ngx, L, "decode_args", func(L *lua.LState) int {
		L.Push(argsTable(L, L.CheckString(1), L.OptInt(2, defaultMaxArgs)))
		return 1
	})
	ngxFn(ngx, L, "quote_sql_str", func(L *lua.LState) int {
		s := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`, "\n", `\n`, "\r", `\r`, "\x1a", `\Z`).Replace(L.CheckString(1))
		L.Push(lua.LString("'" + s + "'"))
		return 1
	})
	ngxFn(ngx, L, "sleep", func(L *lua.LState) int {
		d := time.Duration(float64(L.CheckNumber(1)) * float64(time.Second))
		if dl := time.Until(deadlineOf(L)); d > dl {
			d = dl
		}
		if d > 0 {
			time.Sleep(d)
		}
		return 0
	})
	ngxFn(ngx, L, "exit", func(L *lua.LState) int {
		c := current(L, "ngx.exit", exitPhases)
		status := L.CheckInt(1)
		if status == 0 || status == 200 && c.phase != phaseRewrite && c.phase != phaseAccess {
			return 0
		}
		if status >= 400 {
			c.pc.Error(status, "")
		} else {
			c.pc.Exit(status, nil, nil)
		}
		return unwind(L, c)
	})
	ngx.RawSetString("re", ngxRe(L))
	ngx.RawSetString("req", ngxReq(L))
	ngx.RawSetString("var", ngxVar(L))
	ngx.RawSetString("header", ngxHeader(L))
	worker := L.NewTable()
	ngxFn(worker, L, "pid", func(L *lua.LState) int { L.Push(lua.LNumber(os.Getpid())); return 1 })
	ngxFn(worker, L, "id", func(L *lua.LState) int { L.Push(lua.LNumber(0)); return 1 })
	ngxFn(worker, L, "count", func(L *lua.LState) int { L.Push(lua.LNumber(1)); return 1 })
	ngxFn(worker, L, "exiting", func(L *lua.LState) int { L.Push(lua.LFalse); return 1 })
	missing(L, worker, "ngx.worker")
	ngx.RawSetString("worker", worker)
	config := L.NewTable()
	config.RawSetString("subsystem", lua.LString("http"))
	config.RawSetString("ngx_lua_version", lua.LNumber(10026))
	config.RawSetString("nginx_version", lua.LNumber(1025003))
	config.RawSetString("debug", lua.LFalse)
	ngxFn(config, L, "prefix", func(L *lua.LState) int { L.Push(lua.LString("")); return 1 })
	missing(L, config, "ngx.config")
	ngx.RawSetString("config", config)

	// ngx.ctx and ngx.status are per request.
	mt := L.CreateTable(0, 2)
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		switch k := L.CheckString(2); k {
		case "ctx":
			r := requestState(current(L, "ngx.ctx", requestPhase))
			if r.ngxCtx == nil {
				r.ngxCtx = L.NewTable()
			}
			L.Push(r.ngxCtx)
		case "status":
			c := current(L, "ngx.status", requestPhase)
			return respStatus(L, c)
		default:
			L.RaiseError("ngx.%s is not supported by Portico's Lua plugin host (see docs/plugins.md)", k)
		}
		return 1
	}))
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		switch k := L.CheckString(2); k {
		case "status":
			c := current(L, "ngx.status", live)
			c.pc.Response.SetStatusCode(L.CheckInt(3))
		case "ctx":
			r := requestState(current(L, "ngx.ctx", requestPhase))
			r.ngxCtx = L.CheckTable(3)
		default:
			L.RawSet(L.CheckTable(1), L.Get(2), L.Get(3))
		}
		return 0
	}))
	ngx.Metatable = mt
	return ngx
}

func deadlineOf(L *lua.LState) time.Time {
	if ctx := L.Context(); ctx != nil {
		if d, ok := ctx.Deadline(); ok {
			return d
		}
	}
	return time.Now().Add(time.Second)
}

// ngxReq is the subset of ngx.req plugins use.
func ngxReq(L *lua.LState) *lua.LTable {
	return namespace(L, "ngx.req", []pdkFunc{
		{"get_headers", requestPhase, reqHeaders},
		{"get_method", requestPhase, reqMethod},
		{"get_uri_args", requestPhase, reqQuery},
		{"read_body", live, func(L *lua.LState, c *call) int { return 0 }},
		{"get_body_data", live, func(L *lua.LState, c *call) int {
			body, ok := requestBody(L, c)
			if !ok {
				L.Push(lua.LNil)
				return 1
			}
			return pushOptString(L, body)
		}},
		{"get_post_args", live, func(L *lua.LState, c *call) int {
			body, _ := requestBody(L, c)
			L.Push(argsTable(L, string(body), L.OptInt(1, defaultMaxArgs)))
			return 1
		}},
		{"set_header", rewriteAcc, func(L *lua.LState, c *call) int {
			name := checkHeaderName(L)
			if L.Get(2) == lua.LNil {
				c.pc.Request.Header.Del(name)
				return 0
			}
			return svcReqHeader('s')(L, c)
		}},
		{"clear_header", rewriteAcc, svcReqHeader('c')},
		{"set_uri_args", rewriteAcc, func(L *lua.LState, c *call) int {
			if s, ok := L.Get(1).(lua.LString); ok {
				c.pc.SetRawQuery([]byte(s))
				return 0
			}
			return svcReqSetQuery(L, c)
		}},
		{"set_uri", accessPhase, svcReqSetPath},
		{"set_method", rewriteAcc, func(L *lua.LState, c *call) int {
			n := L.CheckInt(1)
			for name, v := range ngxConstants {
				if v == n && strings.HasPrefix(name, "HTTP_") && methods[name[5:]] {
					c.pc.Request.Header.SetMethod(name[5:])
					return 0
				}
			}
			L.ArgError(1, "unsupported HTTP method: "+strconv.Itoa(n))
			return 0
		}},
		{"set_body_data", rewriteAcc, svcReqSetRawBody},
		{"start_time", requestPhase, func(L *lua.LState, c *call) int {
			if c.pc == nil {
				L.Push(lua.LNumber(float64(c.entry.StartedAt) / 1000))
			} else {
				L.Push(lua.LNumber(float64(c.pc.Started.UnixMilli()) / 1000))
			}
			return 1
		}},
		{"http_version", requestPhase, reqHTTPVersion},
		{"get_headers_count", requestPhase, func(L *lua.LState, c *call) int {
			L.Push(lua.LNumber(c.pc.Request.Header.Len()))
			return 1
		}},
	}, nil)
}

// ngxVar is ngx.var: nginx's request variables.
func ngxVar(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	mt := L.CreateTable(0, 2)
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		name := L.CheckString(2)
		c := current(L, "ngx.var."+name, requestPhase)
		v, ok := ngxVariable(L, c, name)
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(v)
		return 1
	}))
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		name := L.CheckString(2)
		c := current(L, "ngx.var."+name, rewriteAcc)
		switch name {
		case "upstream_uri":
			p := L.CheckString(3)
			path, q, hasQ := strings.Cut(p, "?")
			c.pc.Upstream.SetPath([]byte(path))
			if hasQ {
				c.pc.SetRawQuery([]byte(q))
			}
		default:
			L.RaiseError("ngx.var.%s cannot be set in Portico", name)
		}
		return 0
	}))
	t.Metatable = mt
	return t
}

func ngxVariable(L *lua.LState, c *call, name string) (lua.LValue, bool) {
	str := func(s string) (lua.LValue, bool) { return lua.LString(s), true }
	switch {
	case strings.HasPrefix(name, "http_"):
		if c.pc == nil {
			v, ok := plugins.Field(c.entry.Request.Headers, strings.ReplaceAll(name[5:], "_", "-"))
			return lua.LString(v), ok
		}
		v := c.pc.Request.Header.Peek(strings.ReplaceAll(name[5:], "_", "-"))
		return lua.LString(v), v != nil
	case strings.HasPrefix(name, "arg_"):
		var found lua.LValue = lua.LNil
		eachArg(rawQuery(c), defaultMaxArgs, func(k string, v lua.LValue) {
			if found == lua.LNil && strings.EqualFold(k, name[4:]) {
				if s, ok := v.(lua.LString); ok {
					found = s
				} else {
					found = lua.LString("")
				}
			}
		})
		return found, found != lua.LNil
	case strings.HasPrefix(name, "cookie_") && c.pc != nil:
		v := c.pc.Request.Header.Cookie(name[7:])
		return lua.LString(v), v != nil
	}
	switch name {
	case "request_uri":
		return str(requestURI(c))
	case "uri":
		return str(reqPathString(c))
	case "args", "query_string":
		q := rawQuery(c)
		return lua.LString(q), q != ""
	case "is_args":
		if rawQuery(c) != "" {
			return str("?")
		}
		return str("")
	case "host":
		return str(host(c))
	case "scheme":
		reqScheme(L, c)
		v := L.Get(-1)
		L.Pop(1)
		return v, true
	case "https":
		if c.pc != nil && c.pc.Ctx != nil && c.pc.Ctx.IsTLS() {
			return str("on")
		}
		return str("")
	case "request_method":
		if c.pc == nil {
			return str(c.entry.Request.Method)
		}
		return str(string(c.pc.Request.Header.Method()))
	case "remote_addr":
		if c.pc == nil {
			return str(c.entry.ClientIP)
		}
		return str(c.pc.ClientIP.String())
	case "realip_remote_addr", "binary_remote_addr":
		ip, _ := peer(c)
		return str(ip.String())
	case "remote_port", "realip_remote_port":
		_, port := peer(c)
		return str(strconv.Itoa(port))
	case "server_port":
		return str(strconv.Itoa(localPort(c)))
	case "server_protocol":
		if c.pc != nil {
			return str(string(c.pc.Request.Header.Protocol()))
		}
		return str("HTTP/1.1")
	case "request_id", "kong_request_id":
		if c.pc != nil {
			return str(string(c.pc.RequestID))
		}
	case "content_type":
		if c.pc != nil {
			ct := c.pc.Request.Header.ContentType()
			return lua.LString(ct), len(ct) > 0
		}
	case "content_length":
		if c.pc != nil && c.pc.Request.Header.ContentLength() >= 0 {
			return str(strconv.Itoa(c.pc.Request.Header.ContentLength()))
		}
	case "request_length":
		if c.pc != nil {
			return str(strconv.Itoa(len(c.pc.Request.Header.RawHeaders()) + len(c.pc.Request.Body())))
		}
	case "request_time":
		if c.pc != nil {
			return str(strconv.FormatFloat(time.Since(c.pc.Started).Seconds(), 'f', 3, 64))
		}
	case "status":
		if c.pc != nil {
			return str(strconv.Itoa(c.pc.Response.StatusCode()))
		}
		return str(strconv.Itoa(c.entry.Response.Status))
	case "upstream_uri":
		if c.pc != nil {
			if path, ok := c.pc.Upstream.Path(); ok {
				return str(string(path))
			}
		}
		if c.pc == nil {
			return str(c.entry.UpstreamURI)
		}
	case "hostname":
		h, _ := os.Hostname()
		return str(h)
	}
	return lua.LNil, false
}

// ngxHeader is ngx.header: the response's headers, read and written by
// name (underscores stand for dashes).
func ngxHeader(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	mt := L.CreateTable(0, 2)
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		c := current(L, "ngx.header", answerPhases)
		return respHeader(popFirst(L), c)
	}))
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		c := current(L, "ngx.header", headerSet)
		name := strings.ReplaceAll(L.CheckString(2), "_", "-")
		switch v := L.Get(3).(type) {
		case *lua.LNilType:
			changeHeader(c, 'c', name, "")
		case *lua.LTable:
			for i := 1; i <= v.Len(); i++ {
				op := byte('a')
				if i == 1 {
					op = 's'
				}
				changeHeader(c, op, name, v.RawGetInt(i).String())
			}
		default:
			changeHeader(c, 's', name, v.String())
		}
		return 0
	}))
	t.Metatable = mt
	return t
}

// popFirst drops the table argument of a metamethod, so the key is at 1.
func popFirst(L *lua.LState) *lua.LState {
	L.Remove(1)
	return L
}

// Regular expressions (ngx.re): PCRE patterns run on Go's RE2, which
// lacks backreferences and lookaround; options i, m, s and x are honoured,
// j, o, u, U, d and D ignored.
var reCache sync.Map // options + "\x00" + pattern → *regexp.Regexp

func compileRe(pattern, opts string) (*regexp.Regexp, error) {
	key := opts + "\x00" + pattern
	if re, ok := reCache.Load(key); ok {
		return re.(*regexp.Regexp), nil
	}
	flags := ""
	anchored := false
	for _, o := range opts {
		switch o {
		case 'i', 'm', 's':
			flags += string(o)
		case 'x':
			pattern = stripExtended(pattern)
		case 'a':
			anchored = true
		}
	}
	p := pattern
	if anchored {
		p = `\A(?:` + p + `)`
	}
	if flags != "" {
		p = "(?" + flags + ")" + p
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	reCache.Store(key, re)
	return re, nil
}

// stripExtended drops the white space and comments of an x-mode pattern.
func stripExtended(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			b.WriteByte(c)
			i++
			b.WriteByte(p[i])
			continue
		case c == '[':
			inClass = true
		case c == ']':
			inClass = false
		case !inClass && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			continue
		case !inClass && c == '#':
			for i < len(p) && p[i] != '\n' {
				i++
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// captures builds ngx.re.match's table: [0] the match, [n] the groups
// (false when a group did not take part), names for named groups.
func captures(L *lua.LState, re *regexp.Regexp, s string, loc []int) *lua.LTable {
	t := L.CreateTable(re.NumSubexp(), 1)
	names := re.SubexpNames()
	for i := 0; i <= re.NumSubexp(); i++ {
		var v lua.LValue = lua.LFalse
		if loc[2*i] >= 0 {
			v = lua.LString(s[loc[2*i]:loc[2*i+1]])
		}
		t.RawSetInt(i, v)
		if names[i] != "" {
			t.RawSetString(names[i], v)
		}
	}
	return t
}

// startPos reads ngx.re's ctx.pos (1-based).
func startPos(L *lua.LState, n int, s string) (int, *lua.LTable) {
	ctx, ok := L.Get(n).(*lua.LTable)
	if !ok {
		return 0, nil
	}
	if p, ok := ctx.RawGetString("pos").(lua.LNumber); ok && int(p) > 1 {
		if int(p)-1 > len(s) {
			return len(s), ctx
		}
		return int(p) - 1, ctx
	}
	return 0, ctx
}

func ngxRe(L *lua.LState) *lua.LTable {
	re := L.NewTable()
	fail := func(L *lua.LState, err error) int {
		L.Push(lua.LNil)
		L.Push(lua.LString("failed to compile regex: " + err.Error()))
		return 2
	}
	ngxFn(re, L, "match", func(L *lua.LState) int {
		s, pat, opts := L.CheckString(1), L.CheckString(2), L.OptString(3, "")
		r, err := compileRe(pat, opts)
		if err != nil {
			return fail(L, err)
		}
		from, ctx := startPos(L, 4, s)
		loc := r.FindStringSubmatchIndex(s[from:])
		if loc == nil {
			L.Push(lua.LNil)
			return 1
		}
		for i := range loc {
			if loc[i] >= 0 {
				loc[i] += from
			}
		}
		if ctx != nil {
			ctx.RawSetString("pos", lua.LNumber(loc[1]+1))
		}
		L.Push(captures(L, r, s, loc))
		return 1
	})
	ngxFn(re, L, "find", func(L *lua.LState) int {
		s, pat, opts := L.CheckString(1), L.CheckString(2), L.OptString(3, "")
		r, err := compileRe(pat, opts)
		if err != nil {
			return fail(L, err)
		}
		from, ctx := startPos(L, 4, s)
		nth := L.OptInt(5, 0)
		loc := r.FindStringSubmatchIndex(s[from:])
		if loc == nil || 2*nth+1 >= len(loc) || loc[2*nth] < 0 {
			L.Push(lua.LNil)
			return 1
		}
		if ctx != nil {
			ctx.RawSetString("pos", lua.LNumber(from+loc[1]+1))
		}
		L.Push(lua.LNumber(from + loc[2*nth] + 1))
		L.Push(lua.LNumber(from + loc[2*nth+1]))
		return 2
	})
	ngxFn(re, L, "gmatch", func(L *lua.LState) int {
		s, pat, opts := L.CheckString(1), L.CheckString(2), L.OptString(3, "")
		r, err := compileRe(pat, opts)
		if err != nil {
			return fail(L, err)
		}
		all := r.FindAllStringSubmatchIndex(s, -1)
		i := 0
		L.Push(L.NewFunction(func(L *lua.LState) int {
			if i >= len(all) {
				L.Push(lua.LNil)
				return 1
			}
			L.Push(captures(L, r, s, all[i]))
			i++
			return 1
		}))
		return 1
	})
	subst := func(global bool) lua.LGFunction {
		return func(L *lua.LState) int {
			s, pat := L.CheckString(1), L.CheckString(2)
			repl := L.Get(3)
			r, err := compileRe(pat, L.OptString(4, ""))
			if err != nil {
				return fail(L, err)
			}
			n := 0
			var b strings.Builder
			last := 0
			for _, loc := range r.FindAllStringSubmatchIndex(s, -1) {
				if !global && n == 1 {
					break
				}
				n++
				b.WriteString(s[last:loc[0]])
				switch rv := repl.(type) {
				case *lua.LFunction:
					L.Push(rv)
					L.Push(captures(L, r, s, loc))
					L.Call(1, 1)
					b.WriteString(L.Get(-1).String())
					L.Pop(1)
				default:
					b.Write(r.ExpandString(nil, ngxTemplate(lua.LVAsString(rv)), s, loc))
				}
				last = loc[1]
			}
			b.WriteString(s[last:])
			L.Push(lua.LString(b.String()))
			L.Push(lua.LNumber(n))
			return 2
		}
	}
	ngxFn(re, L, "gsub", subst(true))
	ngxFn(re, L, "sub", subst(false))
	missing(L, re, "ngx.re")
	return re
}

// ngxTemplate turns ngx.re's $0, $1, ${name} and $$ into Go's template.
func ngxTemplate(t string) string {
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c != '$' || i+1 >= len(t) {
			b.WriteByte(c)
			continue
		}
		next := t[i+1]
		switch {
		case next == '$':
			b.WriteString("$$")
			i++
		case next >= '0' && next <= '9':
			j := i + 1
			for j < len(t) && t[j] >= '0' && t[j] <= '9' {
				j++
			}
			b.WriteString("${" + t[i+1:j] + "}")
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
