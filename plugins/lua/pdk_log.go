package lua

import (
	"bytes"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/portico-gw/portico/logger"
	"github.com/portico-gw/portico/luavm"
)

// kong.log (kong/pdk/log.lua): lines in the error log with Kong's prefix,
// "[kong] handler.lua:12 [my-plugin] message", and the log serializer.

var logLevels = []struct {
	name  string
	level logger.Level
}{
	{"debug", logger.Debug}, {"info", logger.Info}, {"notice", logger.Notice}, {"warn", logger.Warn},
	{"err", logger.Error}, {"crit", logger.Crit}, {"alert", logger.Alert}, {"emerg", logger.Emerg},
}

// joinArgs concatenates the call's arguments with tostring, as Kong's
// kong.log does (no separator).
func joinArgs(L *lua.LState, from int) string {
	var b strings.Builder
	for i := from; i <= L.GetTop(); i++ {
		b.WriteString(L.ToStringMeta(L.Get(i)).String())
	}
	return b.String()
}

func logPDK(L *lua.LState, h *Host) *lua.LTable {
	fns := make([]pdkFunc, 0, len(logLevels)+3)
	for _, lv := range logLevels {
		lv := lv
		fns = append(fns, pdkFunc{lv.name, anyPhase, func(L *lua.LState, c *call) int {
			h.logLine(L, c, lv.level, joinArgs(L, 1))
			return 0
		}})
	}
	fns = append(fns,
		pdkFunc{"inspect", anyPhase, func(L *lua.LState, c *call) int {
			h.logLine(L, c, logger.Debug, joinArgs(L, 1))
			return 0
		}},
		pdkFunc{"deprecation", anyPhase, func(L *lua.LState, c *call) int {
			h.logLine(L, c, logger.Warn, joinArgs(L, 1))
			return 0
		}},
		pdkFunc{"serialize", requestPhase, logSerialize},
	)
	t := namespace(L, "kong.log", fns, nil)
	// kong.log(...) logs at notice.
	t.Metatable.(*lua.LTable).RawSetString("__call", L.NewFunction(func(L *lua.LState) int {
		c := current(L, "kong.log", anyPhase)
		h.logLine(L, c, logger.Notice, joinArgs(L, 2))
		return 0
	}))
	return t
}

// logLine writes one kong.log line.
func (h *Host) logLine(L *lua.LState, c *call, level logger.Level, msg string) {
	log := h.opts.Log
	if log == nil || !log.Enabled(level) {
		return
	}
	name := c.name
	var b strings.Builder
	b.WriteString("[kong] ")
	b.WriteString(where(L))
	if name != "" {
		b.WriteString(" [")
		b.WriteString(name)
		b.WriteString("]")
	}
	b.WriteString(" ")
	b.WriteString(msg)
	log.Log(level, b.String())
}

// logSerialize is kong.log.serialize(): what Kong's basic serializer
// reports (the table log plugins send).
func logSerialize(L *lua.LState, c *call) int {
	m := map[string]any{}
	if c.pc == nil {
		e := c.entry
		m["request"] = map[string]any{"method": e.Request.Method, "uri": e.Request.URI, "url": e.Request.URL,
			"headers": e.Request.Headers, "querystring": e.Request.Querystring, "size": e.Request.Size}
		m["response"] = map[string]any{"status": e.Response.Status, "headers": e.Response.Headers, "size": e.Response.Size}
		m["latencies"] = map[string]any{"kong": e.Latencies.Kong, "proxy": e.Latencies.Proxy, "request": e.Latencies.Request}
		m["client_ip"] = e.ClientIP
		m["started_at"] = e.StartedAt
		m["upstream_uri"] = e.UpstreamURI
		if e.Route.ID != "" {
			m["route"] = map[string]any{"id": e.Route.ID, "name": e.Route.Name}
		}
		if e.Service.ID != "" {
			m["service"] = map[string]any{"id": e.Service.ID, "name": e.Service.Name}
		}
		if e.Consumer != nil {
			m["consumer"] = e.Consumer
		}
	} else {
		pc := c.pc
		headers := map[string]any{}
		for k, v := range pc.Request.Header.All() {
			headers[string(bytes.ToLower(k))] = string(v)
		}
		query := map[string]any{}
		eachArg(rawQuery(c), defaultMaxArgs, func(k string, v lua.LValue) {
			if s, ok := v.(lua.LString); ok {
				query[k] = string(s)
			} else {
				query[k] = true
			}
		})
		scheme := "http"
		if pc.Ctx != nil && pc.Ctx.IsTLS() {
			scheme = "https"
		}
		uri := string(pc.Request.Header.RequestURI())
		m["request"] = map[string]any{"method": string(pc.Request.Header.Method()), "uri": uri,
			"url": scheme + "://" + string(pc.Request.Header.Host()) + uri, "headers": headers, "querystring": query,
			"size": len(pc.Request.Header.RawHeaders()) + len(pc.Request.Body())}
		respHeaders := map[string]any{}
		for k, v := range pc.Response.Header.All() {
			respHeaders[string(bytes.ToLower(k))] = string(v)
		}
		m["response"] = map[string]any{"status": pc.Response.StatusCode(), "headers": respHeaders, "size": len(pc.Response.Body())}
		m["client_ip"] = pc.ClientIP.String()
		m["started_at"] = pc.Started.UnixMilli()
		if pc.Route.ID != "" {
			m["route"] = rowOrRef(pc.Route.Row, pc.Route.ID, pc.Route.Name)
		}
		if pc.Service.ID != "" {
			m["service"] = rowOrRef(pc.Service.Row, pc.Service.ID, pc.Service.Name)
		}
		if pc.Consumer != nil {
			m["consumer"] = pc.Consumer
		}
	}
	v, err := luavm.ToLua(L, clean(m))
	if err != nil {
		L.RaiseError("kong.log.serialize: %s", err.Error())
	}
	L.Push(v)
	return 1
}

func rowOrRef(row map[string]any, id, name string) any {
	if row != nil {
		return row
	}
	return map[string]any{"id": id, "name": name}
}

// clean drops nulls and the workspace field, which Lua tables cannot hold
// or Kong does not show.
func clean(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if e == nil || k == "ws_id" {
				continue
			}
			out[k] = clean(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = clean(e)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out
	}
	return v
}
