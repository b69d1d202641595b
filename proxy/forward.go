package proxy

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/proxy/balancer"
)

// forward sends the request to the service, retrying on another peer as
// Kong does (service retries, on connection failures and timeouts), and
// streams the answer back.
func (p *Proxy) forward(ctx *fasthttp.RequestCtx, ex *exchange, rt *route, svc *service, proto []byte, trusted bool, start time.Time) {
	if !svc.enabled {
		p.answer(ctx, ex, start, fasthttp.StatusServiceUnavailable, msgServiceDisabled)
		return
	}
	p.buildUpstream(ctx, ex, rt, svc, proto, trusted, false)
	replayable := ex.upReq.replayable()
	idempotent := isIdempotent(ctx.Request.Header.Method())
	ex.hash = hashInput{ctx: ctx, client: ex.client, match: &ex.match}

	var lastErr error
	var upstreamStart time.Time
	for attempt := 0; attempt <= svc.retries; attempt++ {
		pickStart := time.Now()
		addr, b, err := p.pick(ex, svc)
		if err != nil {
			if lastErr == nil {
				msg := msgNoPeer
				if errors.Is(err, balancer.ErrNameResolution) {
					msg = msgNameResolution
				}
				p.answer(ctx, ex, start, fasthttp.StatusServiceUnavailable, msg)
				return
			}
			break
		}
		p.setHost(ctx, ex, rt, svc)
		upstreamStart = time.Now()
		ex.tries = append(ex.tries, tryRecord{addr: addr, start: pickStart, pick: upstreamStart.Sub(pickStart)})
		ctx.Response.Reset()
		tr := svc.transport
		if scheme := ex.plugin.Target.Scheme; scheme != "" && scheme != svc.scheme {
			tr = svc.otherScheme // kong.service.request.set_scheme
		}
		err = tr.roundTrip(addr, ex.peer.Hostname, &ex.upReq, &ctx.Response, ctx.IsHead(), upstreamStart)
		elapsed := time.Since(upstreamStart)
		if err == nil {
			if b != nil {
				b.Done(&ex.peer, balancer.Result{Status: ctx.Response.StatusCode(), Latency: elapsed})
			}
			p.proxied(ctx, ex, start, upstreamStart, elapsed)
			ex.proxied = true
			return
		}
		lastErr = err
		ex.tries[len(ex.tries)-1].code = failureCode(err)
		if b != nil {
			b.Done(&ex.peer, failureResult(err, elapsed))
		}
		ex.tried = append(ex.tried, addr)
		// A request whose body was sent (or partly streamed) can only be
		// tried again when it is idempotent and its body is still here.
		if !isDialError(err) && (!idempotent || !replayable) {
			break
		}
	}
	ctx.Response.Reset()
	var limit *plugins.BodyLimitError
	if errors.As(lastErr, &limit) {
		p.answer(ctx, ex, start, fasthttp.StatusRequestEntityTooLarge, limit.Message)
		ctx.SetConnectionClose() // the rest of the body is not read
		return
	}
	if isTimeout(lastErr) {
		p.answer(ctx, ex, start, fasthttp.StatusGatewayTimeout, msgTimeout)
		return
	}
	p.logf("error", "%s: upstream %s: %v", rt.describe(), ex.peer.Addr, lastErr)
	p.answer(ctx, ex, start, fasthttp.StatusBadGateway, msgBadGateway)
}

// pick chooses the address for one attempt: from the upstream's balancer,
// the host name's addresses, or the service's IP literal.
func (p *Proxy) pick(ex *exchange, svc *service) (string, *balancer.Balancer, error) {
	if t := &ex.plugin.Target; t.Host != "" || t.UpstreamName != "" {
		return p.pickChanged(ex, svc)
	}
	b := svc.upstream
	if b == nil {
		b = svc.dns
	}
	if b == nil {
		if svc.dialAddr == "" {
			return "", nil, balancer.ErrNameResolution
		}
		ex.peer = balancer.Peer{Addr: svc.dialAddr, Hostname: svc.host, Port: svc.port}
		return svc.dialAddr, nil, nil
	}
	if err := b.Pick(&ex.hash, ex.tried, &ex.peer); err != nil {
		return "", nil, err
	}
	return ex.peer.Addr, b, nil
}

// pickChanged picks the peer a plugin chose: a target
// (kong.service.set_target) or an upstream by name
// (kong.service.set_upstream).
func (p *Proxy) pickChanged(ex *exchange, svc *service) (string, *balancer.Balancer, error) {
	up := &ex.plugin.Target
	if up.Host != "" {
		port := up.Port
		if port == 0 {
			port = svc.port
		}
		addr := net.JoinHostPort(up.Host, strconv.Itoa(port))
		ex.peer = balancer.Peer{Addr: addr, Hostname: up.Host, Port: port}
		return addr, nil, nil
	}
	snap := p.snap.Load()
	var b *balancer.Balancer
	if snap != nil {
		b = snap.balancers.Upstream(svc.workspace, up.UpstreamName)
	}
	if b == nil {
		return "", nil, balancer.ErrNameResolution
	}
	if err := b.Pick(&ex.hash, ex.tried, &ex.peer); err != nil {
		return "", nil, err
	}
	return ex.peer.Addr, b, nil
}

// proxied finishes an answer that came from the upstream: hop-by-hop
// headers out, Kong's latency, Via, Server and request id headers in.
func (p *Proxy) proxied(ctx *fasthttp.RequestCtx, ex *exchange, start, upstreamStart time.Time, upstream time.Duration) {
	ex.proxied, ex.upstreamStart, ex.upstreamWait = true, upstreamStart, upstream
	ex.plugin.FromService = true
	rh := &ctx.Response.Header
	stripResponseHop(rh, &ex.hops) // also finds the upstream's Via
	if ex.peer.SetCookie != "" {
		rh.Add("Set-Cookie", ex.peer.SetCookie)
	}
	if p.headers.has(hdrUpstreamLatency) {
		rh.SetCanonical(keyUpstreamLatency, millisBytes(ex, upstream))
	}
	if p.headers.has(hdrProxyLatency) {
		rh.SetCanonical(keyProxyLatency, millisBytes(ex, upstreamStart.Sub(start)))
	}
	if p.headers.has(hdrUpstreamStatus) {
		ex.num = strconv.AppendInt(ex.num[:0], int64(ctx.Response.StatusCode()), 10)
		rh.SetCanonical(keyUpstreamStatus, ex.num)
	}
	if p.headers.has(hdrVia) {
		ex.scratch = ex.scratch[:0]
		if v := ex.hops.found.via; len(v) > 0 {
			ex.scratch = append(append(ex.scratch, v...), ", "...)
		}
		ex.scratch = append(append(ex.scratch, "1.1 "...), p.serverName...)
		rh.SetCanonical(keyVia, ex.scratch)
	}
	if p.headers.has(hdrServer) && len(rh.Server()) == 0 {
		rh.SetServer(p.serverName)
	}
	if p.headers.has(hdrRequestID) {
		rh.SetCanonical(keyRequestID, ex.id)
	}
}

// Kong's response header names, canonical already (set without
// normalising).
var (
	keyUpstreamLatency = []byte("X-Kong-Upstream-Latency")
	keyProxyLatency    = []byte("X-Kong-Proxy-Latency")
	keyResponseLatency = []byte("X-Kong-Response-Latency")
	keyUpstreamStatus  = []byte("X-Kong-Upstream-Status")
	keyVia             = []byte("Via")
	keyRequestID       = []byte("X-Kong-Request-Id")
)

// appendAddr writes a client address as nginx's $remote_addr does: "unix:"
// for a client that is not on TCP.
func appendAddr(dst []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(dst, "unix:"...)
	}
	return a.AppendTo(dst)
}

// queryString is what follows "?" in a request target, nil without one.
func queryString(uri []byte) []byte {
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		return uri[i+1:]
	}
	return nil
}

// hostOnly drops a port from a Host value (IPv6 literals keep brackets).
func hostOnly(host []byte) []byte {
	if i := lastColon(host); i >= 0 {
		return host[:i]
	}
	return host
}

func lastColon(host []byte) int {
	for i := len(host) - 1; i >= 0; i-- {
		switch host[i] {
		case ':':
			return i
		case ']':
			return -1
		}
	}
	return -1
}

func protoVersion(h *fasthttp.RequestHeader) string {
	switch string(h.Protocol()) {
	case "HTTP/1.0":
		return "1.0"
	case "HTTP/2", "HTTP/2.0":
		return "2"
	}
	return "1.1"
}

func isIdempotent(method []byte) bool {
	switch string(method) {
	case "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE":
		return true
	}
	return false
}

// isDialError reports a failure before anything was sent: trying another
// peer is always safe.
func isDialError(err error) bool {
	if errors.Is(err, fasthttp.ErrDialTimeout) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func isTimeout(err error) bool {
	if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// failureResult is a failed attempt as passive health checks count it.
func failureResult(err error, elapsed time.Duration) balancer.Result {
	f := balancer.FailureTCP
	if isTimeout(err) {
		f = balancer.FailureTimeout
	}
	return balancer.Result{Failure: f, Latency: elapsed}
}
