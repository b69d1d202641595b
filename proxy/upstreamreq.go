package proxy

import (
	"bufio"
	"io"
	"net/http/httputil"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/proxy/router"
)

// upstreamRequest is the request sent upstream, written straight from the
// client's request without building a second header object: the request
// line, the client's headers minus those Kong replaces or drops, Kong's
// headers, then the body. Only the Host line depends on the peer, so the
// rest is built once and reused by every attempt.
type upstreamRequest struct {
	line   []byte // "GET /path?q HTTP/1.1\r\n"
	fields []byte // every header line but Host, framing included
	host   []byte // the Host value of the current attempt
	body   []byte // a buffered body
	stream io.Reader
	// size is the body's Content-Length, -1 for a streamed body of unknown
	// size (sent chunked).
	size int
}

func (u *upstreamRequest) reset() {
	u.line, u.fields, u.host, u.body = u.line[:0], u.fields[:0], u.host[:0], nil
	u.stream, u.size = nil, 0
}

func appendField(b []byte, name string, value []byte) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// buildUpstream prepares the upstream request for a matched route and
// service (ex.hops holds the scan of the client's hop-by-hop headers):
// Kong's upstream URI, hop-by-hop headers removed, X-Forwarded-*,
// X-Real-IP, Via and the request id. With upgrade, the WebSocket upgrade
// headers go along (Kong's Connection: keep-alive, Upgrade).
func (p *Proxy) buildUpstream(ctx *fasthttp.RequestCtx, ex *exchange, rt *route, svc *service, proto []byte, trusted, upgrade bool) {
	in := &ctx.Request.Header
	u := &ex.upReq
	u.reset()

	u.line = append(u.line, in.Method()...)
	u.line = append(u.line, ' ')
	if up := &ex.plugin.Upstream; up.Path != nil || up.QuerySet {
		// A plugin changed them (kong.service.request.set_path ...).
		u.line = upstreamTarget(u.line, in, svc, rt, ex)
	} else {
		u.line = router.UpstreamPath(u.line, svc.path, rt.stripPath, &ex.match)
		if q := queryString(in.RequestURI()); q != nil {
			u.line = append(append(u.line, '?'), q...)
		}
	}
	// HTTP/1.1 whatever the client spoke (Kong's proxy_http_version).
	u.line = append(u.line, " HTTP/1.1\r\n"...)

	var kongID []byte
	if p.upHeaders.has(hdrRequestID) {
		kongID = ex.id
	}
	// The headers Kong replaces are read in the same pass: their incoming
	// values (the first of each) feed the replacements.
	var xff, via, fwdHost, fwdPort, fwdPath, fwdPrefix []byte
	for k, v := range in.All() {
		kind := classify(k)
		if kind.replaced() {
			switch {
			case kind == kindXForwardedFor && xff == nil:
				xff = v
			case kind == kindVia && via == nil:
				via = v
			case !trusted:
			case kind == kindXForwardedHost && fwdHost == nil:
				fwdHost = v
			case kind == kindXForwardedPort && fwdPort == nil:
				fwdPort = v
			case kind == kindXForwardedPath && fwdPath == nil:
				fwdPath = v
			case kind == kindXForwardedPrefix && fwdPrefix == nil:
				fwdPrefix = v
			}
			continue
		}
		if kind.hopByHop() || (kongID != nil && kind == kindRequestID) || (ex.hops.n > 0 && ex.hops.named(k)) {
			continue
		}
		u.fields = append(u.fields, k...)
		u.fields = append(u.fields, ": "...)
		u.fields = append(u.fields, v...)
		u.fields = append(u.fields, "\r\n"...)
	}

	// X-Forwarded-For: the incoming list plus the connecting peer.
	u.fields = append(u.fields, "X-Forwarded-For: "...)
	if len(xff) > 0 {
		u.fields = append(append(u.fields, xff...), ", "...)
	}
	u.fields = append(appendAddr(u.fields, ex.remote), "\r\n"...)
	u.fields = appendField(u.fields, "X-Forwarded-Proto", proto)

	host := in.Host()
	if len(fwdHost) > 0 {
		host = fwdHost
	}
	u.fields = appendField(u.fields, "X-Forwarded-Host", hostOnly(host))
	if len(fwdPort) > 0 {
		u.fields = appendField(u.fields, "X-Forwarded-Port", fwdPort)
	} else {
		u.fields = append(u.fields, "X-Forwarded-Port: "...)
		u.fields = append(strconv.AppendInt(u.fields, int64(ex.rreq.Port), 10), "\r\n"...)
	}
	if len(fwdPath) == 0 {
		fwdPath = requestPath(in.RequestURI())
	}
	u.fields = appendField(u.fields, "X-Forwarded-Path", fwdPath)
	if len(fwdPrefix) == 0 && len(ex.match.Prefix) > 0 && string(ex.match.Prefix) != "/" && rt.stripPath {
		fwdPrefix = ex.match.Prefix
	}
	if len(fwdPrefix) > 0 {
		u.fields = appendField(u.fields, "X-Forwarded-Prefix", fwdPrefix)
	}
	u.fields = append(u.fields, "X-Real-IP: "...)
	u.fields = append(appendAddr(u.fields, ex.client), "\r\n"...)
	if kongID != nil {
		u.fields = appendField(u.fields, "X-Kong-Request-Id", kongID)
	}
	// Via: what came in, then this hop.
	u.fields = append(u.fields, "Via: "...)
	if len(via) > 0 {
		u.fields = append(append(u.fields, via...), ", "...)
	}
	u.fields = append(u.fields, protoVersion(in)...)
	u.fields = append(append(u.fields, ' '), p.serverName...)
	u.fields = append(u.fields, "\r\n"...)
	if upgrade {
		u.fields = append(u.fields, "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"...)
		return
	}

	if ctx.Request.IsBodyStream() {
		u.stream, u.size = ctx.RequestBodyStream(), in.ContentLength()
	} else {
		u.body = ctx.Request.Body()
		u.size = len(u.body)
		if u.size == 0 && !methodHasBody(in.Method()) {
			u.size = -2 // no body, no framing
		}
	}
	switch {
	case u.size >= 0:
		u.fields = append(u.fields, "Content-Length: "...)
		u.fields = append(strconv.AppendInt(u.fields, int64(u.size), 10), "\r\n"...)
	case u.size == -1:
		u.fields = append(u.fields, "Transfer-Encoding: chunked\r\n"...)
	}
}

// methodHasBody reports the methods whose empty body is still announced
// with Content-Length: 0, as nginx does.
func methodHasBody(m []byte) bool {
	switch string(m) {
	case "POST", "PUT", "PATCH":
		return true
	}
	return false
}

// setHost sets the upstream Host: the client's with preserve_host, else
// the upstream's host_header, else the peer's name (with its port unless
// it is the scheme's default), as Kong's balancer does.
func (p *Proxy) setHost(ctx *fasthttp.RequestCtx, ex *exchange, rt *route, svc *service) {
	u := &ex.upReq
	switch {
	case rt.preserveHost:
		u.host = append(u.host[:0], ctx.Request.Header.Host()...)
	case svc.upstream != nil && svc.hostHeader != svc.host:
		u.host = append(u.host[:0], svc.hostHeader...)
	default:
		u.host = append(u.host[:0], ex.peer.Hostname...)
		if !(svc.scheme == "http" && ex.peer.Port == 80) && !(svc.scheme == "https" && ex.peer.Port == 443) {
			u.host = strconv.AppendInt(append(u.host, ':'), int64(ex.peer.Port), 10)
		}
	}
}

// writeTo writes the request, closing it (Connection: close) when asked.
func (u *upstreamRequest) writeTo(w *bufio.Writer, close bool) error {
	w.Write(u.line)
	w.WriteString("Host: ")
	w.Write(u.host)
	w.WriteString("\r\n")
	w.Write(u.fields)
	if close {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")
	switch {
	case u.stream != nil && u.size >= 0:
		if _, err := io.CopyN(w, u.stream, int64(u.size)); err != nil {
			return err
		}
	case u.stream != nil:
		cw := httputil.NewChunkedWriter(w)
		if _, err := io.Copy(cw, u.stream); err != nil {
			return err
		}
		cw.Close()
		w.WriteString("\r\n")
	default:
		w.Write(u.body)
	}
	return w.Flush()
}

// replayable reports whether the request can be sent again (its body is
// still at hand).
func (u *upstreamRequest) replayable() bool { return u.stream == nil }

// upstreamTarget is the upstream path and query string with the changes
// plugins made to them.
func upstreamTarget(line []byte, in *fasthttp.RequestHeader, svc *service, rt *route, ex *exchange) []byte {
	up := &ex.plugin.Upstream
	if up.Path != nil {
		line = append(line, up.Path...)
	} else {
		line = router.UpstreamPath(line, svc.path, rt.stripPath, &ex.match)
	}
	q := queryString(in.RequestURI())
	if up.QuerySet {
		q = up.Query
	}
	if len(q) > 0 {
		line = append(append(line, '?'), q...)
	}
	return line
}
