package proxy

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/proxy/balancer"
)

// wsHandshakeTimeout bounds the upstream's answer to the upgrade request.
const wsHandshakeTimeout = 60 * time.Second

// proxyWebSocket passes a WebSocket upgrade through: the request goes to a
// peer on its own connection with Kong's upstream headers (Connection:
// keep-alive, Upgrade; Upgrade: websocket); once the upstream answers 101,
// bytes are copied both ways until either side closes.
func (p *Proxy) proxyWebSocket(ctx *fasthttp.RequestCtx, ex *exchange, rt *route, svc *service, proto []byte, trusted bool, start time.Time) {
	if !svc.enabled {
		p.answer(ctx, ex, start, fasthttp.StatusServiceUnavailable, msgServiceDisabled)
		return
	}
	p.buildUpstream(ctx, ex, rt, svc, proto, trusted, true)
	ex.hash = hashInput{ctx: ctx, client: ex.client, match: &ex.match}
	addr, b, err := p.pick(ex, svc)
	if err != nil {
		p.answer(ctx, ex, start, fasthttp.StatusServiceUnavailable, msgNoPeer)
		return
	}
	p.setHost(ctx, ex, rt, svc)
	upstreamStart := time.Now()
	conn, err := (&net.Dialer{Timeout: svc.timeouts.connect}).Dial("tcp", addr)
	if err == nil && svc.scheme == "https" {
		tc := tls.Client(conn, svc.transport.tlsConfig(ex.peer.Hostname))
		conn, err = tc, tc.HandshakeContext(ctx)
	}
	if err != nil {
		if b != nil {
			b.Done(&ex.peer, failureResult(err, time.Since(upstreamStart)))
		}
		if isTimeout(err) {
			p.answer(ctx, ex, start, fasthttp.StatusGatewayTimeout, msgTimeout)
		} else {
			p.answer(ctx, ex, start, fasthttp.StatusBadGateway, msgBadGateway)
		}
		return
	}
	conn.SetDeadline(time.Now().Add(wsHandshakeTimeout))
	err = ex.upReq.writeTo(bufio.NewWriter(conn), false)
	br := bufio.NewReader(conn)
	var resp fasthttp.Response
	resp.SkipBody = true
	if err == nil {
		err = resp.Header.Read(br)
	}
	if err != nil {
		conn.Close()
		if b != nil {
			b.Done(&ex.peer, failureResult(err, time.Since(upstreamStart)))
		}
		p.answer(ctx, ex, start, fasthttp.StatusBadGateway, msgBadGateway)
		return
	}
	if b != nil {
		b.Done(&ex.peer, balancer.Result{Status: resp.StatusCode(), Latency: time.Since(upstreamStart)})
	}
	conn.SetDeadline(time.Time{})
	if resp.StatusCode() != fasthttp.StatusSwitchingProtocols {
		// Not upgraded: relay the answer (its body, if any, is read from
		// the upstream connection with the header's framing).
		resp.SkipBody = false
		resp.Header.CopyTo(&ctx.Response.Header)
		if err := resp.ReadBody(br, 0); err == nil {
			ctx.Response.SetBodyRaw(resp.Body())
		}
		conn.Close()
		p.proxied(ctx, ex, start, upstreamStart, time.Since(upstreamStart))
		return
	}
	// Send the 101 ourselves on the hijacked connection, then tunnel.
	head := resp.Header.Header()
	head = append([]byte(nil), head...)
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(client net.Conn) {
		defer conn.Close()
		if _, err := client.Write(head); err != nil {
			return
		}
		done := make(chan struct{}, 2)
		go func() {
			io.Copy(conn, client)
			closeWrite(conn)
			done <- struct{}{}
		}()
		go func() {
			// Bytes the upstream sent right after its 101 are in br.
			io.Copy(client, br)
			closeWrite(client)
			done <- struct{}{}
		}()
		// When either side finishes, the tunnel is over: closing both
		// ends the other copy.
		<-done
		conn.Close()
		client.Close()
		<-done
	})
}

func closeWrite(c net.Conn) {
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := c.(closeWriter); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}
