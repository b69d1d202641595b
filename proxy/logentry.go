package proxy

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/plugins"
)

// logCapture is what a request leaves for its log plugins: copies of what
// Kong's log serializer reports, taken when the answer is ready (the
// fasthttp context may not be kept past the handler) and turned into a
// plugins.LogEntry by a log worker, off the request's path. Captures are
// pooled: taking one copies bytes into buffers a previous request grew.
type logCapture struct {
	req  fasthttp.RequestHeader
	resp fasthttp.ResponseHeader
	// reqBody and respBody are the bodies' sizes; respBody is -1 for a
	// streamed answer of unknown length.
	reqBody, respBody int64
	id                []byte
	upstreamURI       []byte
	tls               bool
	tlsVersion        uint16
	tlsCipher         uint16
	port              int
	client            netip.Addr
	start, end        time.Time
	proxied           bool
	upstreamStart     time.Time
	upstreamWait      time.Duration
	tries             []tryRecord
	rt                *route
	consumer          map[string]any
	credential        map[string]any
	lua               any
	to                []plugins.Logger
}

// tryRecord is one balancer attempt: the address, when the balancer
// started and how long it took, and for a failed attempt the status it
// stands for.
type tryRecord struct {
	addr  string
	start time.Time
	pick  time.Duration
	code  int
}

var captures = sync.Pool{New: func() any { return &logCapture{} }}

// capture copies the request's log data; ex and ctx are read, not kept.
func capture(c *logCapture, ctx *fasthttp.RequestCtx, ex *exchange, rt *route, start time.Time) {
	ctx.Request.Header.CopyTo(&c.req)
	ctx.Response.Header.CopyTo(&c.resp)
	c.reqBody = int64(ctx.Request.Header.ContentLength())
	if c.reqBody < 0 {
		c.reqBody = 0
		if !ctx.Request.IsBodyStream() {
			c.reqBody = int64(len(ctx.Request.Body()))
		}
	}
	switch {
	case ctx.IsHead():
		c.respBody = 0
	case ctx.Response.IsBodyStream():
		c.respBody = int64(ctx.Response.Header.ContentLength())
		if c.respBody < 0 {
			c.respBody = -1
		}
	default:
		c.respBody = int64(len(ctx.Response.Body()))
		c.resp.SetContentLength(len(ctx.Response.Body()))
	}
	c.id = append(c.id[:0], ex.id...)
	c.upstreamURI = c.upstreamURI[:0]
	if f := ex.upReq.line; len(f) > 0 {
		if i := bytes.IndexByte(f, ' '); i >= 0 {
			if j := bytes.LastIndexByte(f, ' '); j > i {
				c.upstreamURI = append(c.upstreamURI, f[i+1:j]...)
			}
		}
	}
	c.tls = ctx.IsTLS()
	if c.tls {
		if st := ctx.TLSConnectionState(); st != nil {
			c.tlsVersion, c.tlsCipher = st.Version, st.CipherSuite
		}
	}
	c.port = localPort(ctx)
	c.client = ex.client
	c.start, c.end = start, time.Now()
	c.proxied, c.upstreamStart, c.upstreamWait = ex.proxied, ex.upstreamStart, ex.upstreamWait
	c.tries = append(c.tries[:0], ex.tries...)
	c.rt = rt
	c.consumer, c.credential = ex.plugin.Consumer, ex.plugin.Credential
	c.lua = ex.plugin.Lua
}

// release gives the capture back to the pool, holding nothing of the
// request's rows.
func (c *logCapture) release() {
	c.rt, c.consumer, c.credential, c.lua = nil, nil, nil, nil
	clear(c.to)
	c.to = c.to[:0]
	captures.Put(c)
}

// redacted are the request headers Kong's serializer never reports.
var redacted = map[string]bool{"authorization": true, "proxy-authorization": true}

// fill writes the capture as Kong's serializer reports it into e, whose
// slices are reused.
func (c *logCapture) fill(e *plugins.LogEntry) {
	*e = plugins.LogEntry{
		Request:  plugins.LogRequest{Headers: e.Request.Headers[:0], Querystring: e.Request.Querystring[:0]},
		Response: plugins.LogResponse{Headers: e.Response.Headers[:0]},
		Tries:    e.Tries[:0],
	}
	r := &e.Request
	r.ID = string(c.id)
	r.Method = string(c.req.Method())
	uri := c.req.RequestURI()
	r.URI = string(uri)
	scheme := "http"
	if c.tls {
		scheme = "https"
		r.TLS = &plugins.LogTLS{Version: tlsVersionName(c.tlsVersion), Cipher: tls.CipherSuiteName(c.tlsCipher), ClientVerify: "NONE"}
	}
	r.URL = scheme + "://" + strings.ToLower(string(hostOnly(c.req.Host()))) + ":" + strconv.Itoa(c.port) + r.URI
	for k, v := range c.req.All() {
		name := string(bytes.ToLower(k))
		value := string(v)
		if redacted[name] {
			value = "REDACTED"
		}
		r.Headers = append(r.Headers, plugins.LogField{Name: name, Value: value})
	}
	r.Querystring = appendQuery(r.Querystring, queryString(uri))
	head := len(c.req.RawHeaders())
	if head == 0 {
		head = len(c.req.Header())
	} else {
		// The request line and the blank line ending the head.
		head += len(c.req.Method()) + 1 + len(uri) + 1 + len(c.req.Protocol()) + 2 + 2
	}
	r.Size = int64(head) + c.reqBody

	w := &e.Response
	w.Status = c.resp.StatusCode()
	if len(c.resp.Peek(fasthttp.HeaderDate)) == 0 {
		c.resp.Set(fasthttp.HeaderDate, string(fasthttp.AppendHTTPDate(nil, c.end)))
	}
	for k, v := range c.resp.All() {
		w.Headers = append(w.Headers, plugins.LogField{Name: string(bytes.ToLower(k)), Value: string(v)})
	}
	w.Size = int64(len(c.resp.Header()))
	if c.respBody > 0 {
		w.Size += c.respBody
	}

	l := &e.Latencies
	l.Request = c.end.Sub(c.start).Milliseconds()
	l.Proxy = -1
	if c.proxied {
		l.Kong = c.upstreamStart.Sub(c.start).Milliseconds()
		l.Proxy = c.upstreamWait.Milliseconds()
		e.Source = "upstream"
	} else {
		l.Kong = l.Request
		e.Source = "kong"
	}

	var status []byte
	for _, t := range c.tries {
		lt := plugins.LogTry{
			BalancerStart:     t.start.UnixMilli(),
			BalancerStartNS:   t.start.UnixNano(),
			BalancerLatency:   t.pick.Milliseconds(),
			BalancerLatencyNS: t.pick.Nanoseconds(),
		}
		host, port, err := net.SplitHostPort(t.addr)
		if err != nil {
			host = t.addr
		}
		lt.IP, lt.Port = host, atoiOr(port, 0)
		code := t.code
		if code != 0 {
			lt.State, lt.Code = "failed", code
		} else if c.proxied {
			code = w.Status
		}
		e.Tries = append(e.Tries, lt)
		if code != 0 {
			if len(status) > 0 {
				status = append(status, ", "...)
			}
			status = strconv.AppendInt(status, int64(code), 10)
		}
	}
	e.UpstreamStatus = string(status)
	e.UpstreamURI = string(c.upstreamURI)
	e.ClientIP = string(appendAddr(nil, c.client))
	e.StartedAt = c.start.UnixMilli()
	if rt := c.rt; rt != nil {
		e.Route = plugins.Ref{ID: rt.id, Name: rt.name, Row: rt.row}
		e.RouteJSON = rt.encoded.get(rt.row)
		e.Workspace, e.WorkspaceName = rt.workspace, rt.workspaceName
		if svc := rt.service; svc != nil {
			e.Service = plugins.Ref{ID: svc.id, Name: svc.name, Row: svc.row}
			e.ServiceJSON = svc.encoded.get(svc.row)
		}
	}
	e.Consumer, e.Credential = c.consumer, c.credential
	e.Lua = c.lua
}

// appendQuery parses a query string as Kong's kong.request.get_query:
// arguments in order, decoded, an argument without "=" a flag; empty
// ones skipped.
func appendQuery(dst []plugins.LogField, q []byte) []plugins.LogField {
	for len(q) > 0 {
		var item []byte
		if i := bytes.IndexByte(q, '&'); i >= 0 {
			item, q = q[:i], q[i+1:]
		} else {
			item, q = q, nil
		}
		if len(item) == 0 {
			continue
		}
		name, value, hasValue := bytes.Cut(item, []byte("="))
		if len(name) == 0 {
			continue
		}
		f := plugins.LogField{Name: unescape(name), Flag: !hasValue}
		if hasValue {
			f.Value = unescape(value)
		}
		dst = append(dst, f)
	}
	return dst
}

func unescape(b []byte) string {
	s := string(b)
	if bytes.IndexByte(b, '%') < 0 && bytes.IndexByte(b, '+') < 0 {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

func atoiOr(s string, dflt int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return dflt
}

// tlsVersionName is OpenSSL's name of a protocol version, as nginx's
// $ssl_protocol reports it.
func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return ""
}

// lazyJSON is a stored row encoded once, the first time a log entry needs
// it (rows belong to a snapshot and do not change).
type lazyJSON struct{ p atomic.Pointer[[]byte] }

func (l *lazyJSON) get(row map[string]any) []byte {
	if b := l.p.Load(); b != nil {
		return *b
	}
	b, err := json.Marshal(row)
	if err != nil {
		return nil
	}
	l.p.Store(&b)
	return b
}

// workspaceNames maps workspace ids to names, for log entries'
// workspace_name.
func workspaceNames(c *config) map[string]string {
	out := map[string]string{}
	for _, r := range c.rows("workspaces") {
		name, _ := r["name"].(string)
		out[id(r)] = name
	}
	return out
}

// failureCode is the status a failed attempt stands for: 504 for a
// timeout, else 502 (nginx's $upstream_status).
func failureCode(err error) int {
	if isTimeout(err) {
		return fasthttp.StatusGatewayTimeout
	}
	return fasthttp.StatusBadGateway
}

// upstreamHealth reports every upstream's target addresses with their
// health, lower-case as Kong's prometheus exporter labels them.
func (p *Proxy) upstreamHealth(yield func(upstream, target, address, state string)) {
	s := p.snap.Load()
	if s == nil {
		return
	}
	for _, u := range s.upstreams {
		targets, ok := p.balancers.Health(u.ID)
		if !ok {
			continue
		}
		for _, t := range targets {
			if len(t.Data.Addresses) == 0 {
				yield(u.Name, t.Target, "", "dns_error")
				continue
			}
			for _, a := range t.Data.Addresses {
				yield(u.Name, t.Target, net.JoinHostPort(a.IP, strconv.Itoa(a.Port)), strings.ToLower(a.Health))
			}
		}
	}
}

// defaultWorkspace is the id of the workspace named "default".
func defaultWorkspace(names map[string]string) string {
	for id, name := range names {
		if name == "default" {
			return id
		}
	}
	return ""
}
