package proxy

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/internal/kongerror"
	"github.com/portico-gw/portico/internal/requestid"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/proxy/balancer"
	"github.com/portico-gw/portico/proxy/router"
)

// exchange is the per-request working state, pooled so that a proxied
// request allocates nothing the pool can keep.
type exchange struct {
	match   router.Match
	rreq    router.Request
	upReq   upstreamRequest
	id      []byte // X-Kong-Request-Id
	scratch []byte
	num     []byte
	hops    hopScan
	peer    balancer.Peer
	tried   []string
	hash    hashInput
	remote  netip.Addr // the connection's peer
	client  netip.Addr // the client address after real_ip processing
	plugin  plugins.Context
	// What log entries report of the upstream: the attempts, and for an
	// answer that came from it, when it was asked and how long it took.
	tries         []tryRecord
	proxied       bool
	upstreamStart time.Time
	upstreamWait  time.Duration
	// body holds an answer's body while it is buffered for plugins.
	body []byte
}

func (ex *exchange) reset() {
	ex.match.Reset()
	ex.rreq = router.Request{}
	ex.upReq.reset()
	ex.id = ex.id[:0]
	ex.tried = ex.tried[:0]
	ex.tries, ex.proxied = ex.tries[:0], false
	ex.peer = balancer.Peer{}
	ex.hash = hashInput{}
	ex.plugin.Reset()
}

// Handler returns the fasthttp handler serving proxied traffic.
func (p *Proxy) Handler() fasthttp.RequestHandler { return p.serve }

func (p *Proxy) serve(ctx *fasthttp.RequestCtx) {
	start := ctx.Time() // when the server read the request
	ex := p.exchanges.Get().(*exchange)
	defer func() {
		ex.reset()
		p.exchanges.Put(ex)
	}()
	ex.id = requestid.Append(ex.id[:0])
	h := &ctx.Request.Header

	if max := p.opts.ClientMaxBodySize; max > 0 && int64(h.ContentLength()) > max {
		p.answer(ctx, ex, start, fasthttp.StatusRequestEntityTooLarge, msgBodyTooLarge)
		ctx.SetConnectionClose()
		return
	}

	snap := p.snap.Load()
	if snap == nil {
		p.answer(ctx, ex, start, fasthttp.StatusNotFound, msgNoRoute)
		return
	}
	ex.remote = remoteAddr(ctx)
	peerTrusted := p.isTrusted(ex.remote)
	ex.client = p.clientAddr(h, ex.remote, peerTrusted)
	if len(snap.rewrite) > 0 {
		// Global plugins' rewrite phase, before routing (it may change
		// what the router sees).
		ex.startPlugins(ctx, start, ex.client)
		if !p.runList(ctx, ex, start, snap.rewrite, phaseRewrite, connProto(ctx)) {
			if ex.plugin.Exited() {
				p.ownHeaders(ctx, ex, start)
			}
			return
		}
	}
	rawPath := requestPath(h.RequestURI())
	ex.rreq = router.Request{
		Method:  h.Method(),
		Host:    h.Host(),
		Path:    rawPath,
		Scheme:  "http",
		Port:    localPort(ctx),
		Headers: h,
	}
	if ctx.IsTLS() {
		ex.rreq.Scheme = "https"
		if st := ctx.TLSConnectionState(); st != nil {
			ex.rreq.SNI = st.ServerName
		}
	}
	if !snap.router.Match(&ex.rreq, &ex.match) {
		if ex.match.BadPath() {
			p.answer(ctx, ex, start, fasthttp.StatusBadRequest, msgBadRequest)
		} else {
			p.answer(ctx, ex, start, fasthttp.StatusNotFound, msgNoRoute)
		}
		if snap.unrouted != nil {
			p.queueLog(ctx, ex, nil, snap.unrouted, start)
		}
		return
	}
	rt := ex.match.Route.Value.(*route)
	proto := forwardedProto(ctx, h, peerTrusted)

	// Kong's protocol checks after a match (runloop/handler.lua).
	if rt.protocols&protoHTTPS != 0 && rt.protocols&protoHTTP == 0 && !bytes.Equal(proto, schemeHTTPS) {
		if rt.redirectStatus == 426 {
			ctx.Response.Header.Set("Connection", "Upgrade")
			ctx.Response.Header.Set("Upgrade", "TLS/1.2, HTTP/1.1")
			p.answer(ctx, ex, start, 426, msgUseHTTPS)
			return
		}
		host := h.Host()
		if peerTrusted {
			if fh := h.Peek("X-Forwarded-Host"); len(fh) > 0 {
				host = fh
			}
		}
		loc := append(append(append(ex.scratch[:0], "https://"...), host...), h.RequestURI()...)
		ctx.Response.Header.SetBytesV("Location", loc)
		p.answerEmpty(ctx, ex, start, rt.redirectStatus)
		return
	}
	if rt.protocols&(protoGRPC|protoGRPCS) != 0 && rt.protocols&(protoHTTP|protoHTTPS) == 0 {
		if !bytes.HasPrefix(h.ContentType(), []byte("application/grpc")) {
			p.answer(ctx, ex, start, fasthttp.StatusUnsupportedMediaType, msgNotGRPC)
			return
		}
		ctx.Response.Header.Set("Connection", "Upgrade")
		ctx.Response.Header.Set("Upgrade", "HTTP/2")
		p.answer(ctx, ex, start, 426, msgUseHTTP2)
		return
	}
	ch := rt.plugins
	if ch == nil {
		p.serveRoute(ctx, ex, rt, proto, peerTrusted, start)
		return
	}
	pc := ex.startPlugins(ctx, start, ex.client)
	pc.Route = plugins.Ref{ID: rt.id, Name: rt.name, Row: rt.row}
	pc.URICaptures = &ex.match
	if rt.service != nil {
		pc.Service = plugins.Ref{ID: rt.service.id, Name: rt.service.name, Row: rt.service.row}
	}
	reqProto := connProto(ctx)
	if !ch.hasAccess || p.runChain(ctx, ex, start, ch, phaseAccess, reqProto) {
		p.serveRoute(ctx, ex, rt, proto, peerTrusted, start)
		if ch.hasResponse && ex.proxied {
			p.respond(ctx, ex, start, ch, reqProto)
		}
	} else if ex.plugin.Exited() {
		p.ownHeaders(ctx, ex, start)
	}
	if ch.hasHeader {
		p.runChain(ctx, ex, start, ch, phaseHeaderFilter, reqProto)
	}
	if ch.hasBody && ex.plugin.BodyWanted() {
		p.filterBody(ctx, ex, start, ch, reqProto)
	}
	if ch.hasLog {
		p.queueLog(ctx, ex, rt, ch, start)
	}
}

// serveRoute answers a matched request once its plugins' access phase let
// it through: the service checks, then the upstream (or a WebSocket
// tunnel).
func (p *Proxy) serveRoute(ctx *fasthttp.RequestCtx, ex *exchange, rt *route, proto []byte, peerTrusted bool, start time.Time) {
	h := &ctx.Request.Header
	svc := rt.service
	if svc == nil {
		p.answer(ctx, ex, start, fasthttp.StatusServiceUnavailable, msgNoService)
		return
	}
	if p.opts.AllowDebugHeader && bytes.Equal(h.Peek("Kong-Debug"), []byte("1")) {
		rh := &ctx.Response.Header
		rh.Set("Kong-Route-Id", rt.id)
		if rt.name != "" {
			rh.Set("Kong-Route-Name", rt.name)
		}
		rh.Set("Kong-Service-Id", svc.id)
		if svc.name != "" {
			rh.Set("Kong-Service-Name", svc.name)
		}
	}
	// One pass over the headers finds the hop-by-hop ones (dropped when the
	// upstream request is written) and a WebSocket upgrade.
	ex.hops.scan(h.All())
	if ex.hops.websocket() {
		p.proxyWebSocket(ctx, ex, rt, svc, proto, peerTrusted, start)
		return
	}
	p.forward(ctx, ex, rt, svc, proto, peerTrusted, start)
}

// connProto is the request's protocol as plugin rows name it.
func connProto(ctx *fasthttp.RequestCtx) protoSet {
	if ctx.IsTLS() {
		return protoHTTPS
	}
	return protoHTTP
}

// queueLog hands the request to the chain's log plugins: what they report
// is copied now, and serialized by a log worker.
func (p *Proxy) queueLog(ctx *fasthttp.RequestCtx, ex *exchange, rt *route, ch *chain, start time.Time) {
	c := captures.Get().(*logCapture)
	consumer := consumerID(&ex.plugin)
	for i := range ch.links {
		if in := ch.links[i].pick(consumer); in != nil && in.log != nil && in.protocols&connProto(ctx) != 0 {
			c.to = append(c.to, in.log)
		}
	}
	if len(c.to) == 0 {
		c.release()
		return
	}
	capture(c, ctx, ex, rt, start)
	p.logs.push(c)
}

// requestPath is the raw path of a request target, without the query
// string (absolute-form targets lose their scheme and authority).
func requestPath(uri []byte) []byte {
	if len(uri) > 0 && uri[0] != '/' {
		if i := bytes.Index(uri, []byte("://")); i >= 0 {
			rest := uri[i+3:]
			if j := bytes.IndexByte(rest, '/'); j >= 0 {
				uri = rest[j:]
			} else {
				uri = []byte("/")
			}
		}
	}
	if q := bytes.IndexByte(uri, '?'); q >= 0 {
		uri = uri[:q]
	}
	return uri
}

func localPort(ctx *fasthttp.RequestCtx) int {
	if a, ok := ctx.LocalAddr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

func remoteAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	if a, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}

func (p *Proxy) isTrusted(a netip.Addr) bool {
	if !a.IsValid() {
		return p.trustUnix
	}
	for _, pfx := range p.trusted {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr is nginx's realip result: the peer, or for a trusted peer the
// address in real_ip_header (with real_ip_recursive, the last address in
// the list that is not trusted).
func (p *Proxy) clientAddr(h *fasthttp.RequestHeader, peer netip.Addr, trusted bool) netip.Addr {
	if len(p.realIP) == 0 || !trusted {
		return peer
	}
	v := h.PeekBytes(p.realIP)
	if len(v) == 0 {
		return peer
	}
	for len(v) > 0 {
		var item []byte
		if i := bytes.LastIndexByte(v, ','); i >= 0 {
			item, v = v[i+1:], v[:i]
		} else {
			item, v = v, nil
		}
		a, err := netip.ParseAddr(string(bytes.TrimSpace(item)))
		if err != nil {
			return peer
		}
		a = a.Unmap()
		if !p.opts.RealIPRecursive || !p.isTrusted(a) {
			return a
		}
		peer = a
	}
	return peer
}

// forwardedProto is the scheme the client used: X-Forwarded-Proto from a
// trusted peer, else the connection's.
func forwardedProto(ctx *fasthttp.RequestCtx, h *fasthttp.RequestHeader, trusted bool) []byte {
	if trusted {
		if v := h.Peek("X-Forwarded-Proto"); len(v) > 0 {
			return v
		}
	}
	if ctx.IsTLS() {
		return schemeHTTPS
	}
	return schemeHTTP
}

// Read-only: handed to header setters, which copy them.
var schemeHTTP, schemeHTTPS = []byte("http"), []byte("https")

// answer sends an error Kong makes itself, with its headers.
func (p *Proxy) answer(ctx *fasthttp.RequestCtx, ex *exchange, start time.Time, status int, msg string) {
	kongerror.Write(ctx, status, msg, ex.id)
	p.ownHeaders(ctx, ex, start)
}

// answerEmpty sends a bodiless answer Kong makes itself (redirects).
func (p *Proxy) answerEmpty(ctx *fasthttp.RequestCtx, ex *exchange, start time.Time, status int) {
	ctx.Response.ResetBody()
	ctx.SetStatusCode(status)
	p.ownHeaders(ctx, ex, start)
}

// ownHeaders are the headers of an answer Kong produced (not proxied).
func (p *Proxy) ownHeaders(ctx *fasthttp.RequestCtx, ex *exchange, start time.Time) {
	rh := &ctx.Response.Header
	if p.headers.has(hdrResponseLatency) {
		rh.SetCanonical(keyResponseLatency, millisBytes(ex, time.Since(start)))
	}
	if p.headers.has(hdrServer) {
		rh.SetServer(p.serverName)
	}
	if p.headers.has(hdrRequestID) {
		rh.SetCanonical(keyRequestID, ex.id)
	}
}

func millisBytes(ex *exchange, d time.Duration) []byte {
	ex.num = strconv.AppendInt(ex.num[:0], d.Milliseconds(), 10)
	return ex.num
}
