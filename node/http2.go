package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// A listener with http2 serves HTTP/2 beside HTTP/1.x, with one handler:
//
//   - with ssl, TLS offers ALPN "h2" and "http/1.1"; a connection that
//     negotiates h2 goes to an HTTP/2 server, every other one to fasthttp;
//   - without ssl, a connection that starts with the HTTP/2 preface
//     ("prior knowledge", nginx's plain-text http2) goes to the HTTP/2
//     server, every other one to fasthttp, so HTTP/1.1 clients keep working.
//     The HTTP/1.1 Upgrade to h2c is not offered, as nginx does not.
//
// The HTTP/2 server is net/http's: it is golang.org/x/net/http2's server,
// bundled, and x/net's own Server is deprecated for it (from Go 1.27 it only
// wraps net/http). An http.Server also tracks the connections and shuts
// them down gracefully (GOAWAY, then wait for open streams). Its requests
// are run by the fasthttp server's Handler through h2Handler.

// h2MaxConcurrentStreams is nginx's http2_max_concurrent_streams default.
const h2MaxConcurrentStreams = 128

// h2Preface starts every HTTP/2 connection (RFC 9113 section 3.4).
var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// httpListener serves one bound listener with the fasthttp server srv, and
// with HTTP/2 when asked.
type httpListener struct {
	srv  *fasthttp.Server
	ln   net.Listener // what was bound
	h1   net.Listener // what fasthttp serves
	acc  *acceptor    // sorts connections between h1 and h2q; nil without http2
	h2q  *connQueue
	hs   *http.Server
	tls  *tls.Config
	wait time.Duration // for a TLS handshake or the HTTP/2 preface

	h2conns atomic.Int32
}

// newHTTPListener prepares ln (from bindListener) for serving with srv.
// cfg is the listener's TLS configuration for ssl, nil for plain text; it
// is not changed: a clone offers the ALPN protocols. h2 is the http2 flag.
// srv's Handler, ErrorHandler, Name, NoDefaultServerHeader, NoDefaultDate,
// MaxRequestBodySize, StreamRequestBody, ReadBufferSize, ReadTimeout,
// WriteTimeout, IdleTimeout and Logger apply to HTTP/2 requests too.
func newHTTPListener(ln net.Listener, cfg *tls.Config, h2 bool, srv *fasthttp.Server) *httpListener {
	l := &httpListener{srv: srv, ln: ln, h1: ln, wait: srv.ReadTimeout}
	if l.wait <= 0 {
		l.wait = 60 * time.Second // nginx's client_header_timeout
	}
	if !h2 {
		if cfg != nil {
			// The handshake runs in fasthttp's connection goroutine, under
			// its read deadline. ALPN offers what is served: a client that
			// asks only for h2 is told no_application_protocol.
			l.h1 = tls.NewListener(ln, withALPN(cfg, "http/1.1"))
		}
		return l
	}
	l.acc = newAcceptor(ln, l.route)
	l.h1 = newConnQueue(l.acc)
	l.h2q = newConnQueue(l.acc)
	if cfg != nil {
		l.tls = withALPN(cfg, "h2", "http/1.1")
	}
	l.hs = l.newH2Server()
	return l
}

// Serve serves until the listener is closed or shut down.
func (l *httpListener) Serve() error {
	if l.hs == nil {
		return l.srv.Serve(l.h1)
	}
	go func() {
		// It ends when the acceptor stops, at shutdown or with fasthttp's
		// own error, which Serve returns.
		if err := l.hs.Serve(l.h2q); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			l.logger().Printf("HTTP/2 server on %s: %v", l.ln.Addr(), err)
		}
	}()
	return l.srv.Serve(l.h1)
}

// Shutdown stops accepting, lets the requests in flight end (HTTP/2
// connections are sent GOAWAY) and closes the connections, all within ctx:
// when it expires the remaining HTTP/2 connections are closed at once.
func (l *httpListener) Shutdown(ctx context.Context) error {
	var wg sync.WaitGroup
	var h2err error
	if l.hs != nil {
		l.acc.close()
		wg.Go(func() {
			if h2err = l.hs.Shutdown(ctx); h2err != nil {
				l.hs.Close()
			}
		})
	}
	h1err := l.srv.ShutdownWithContext(ctx)
	wg.Wait()
	return errors.Join(h1err, h2err)
}

// Close closes the bound listener, for a start that fails before Serve.
func (l *httpListener) Close() error {
	if l.acc != nil {
		return l.acc.close()
	}
	return l.ln.Close()
}

// Addr is the bound address.
func (l *httpListener) Addr() net.Addr { return l.ln.Addr() }

// H2Conns counts the open HTTP/2 connections, which fasthttp's
// GetOpenConnectionsCount does not see.
func (l *httpListener) H2Conns() int32 { return l.h2conns.Load() }

// route sends c to the HTTP/2 server or to fasthttp, once the TLS handshake
// or the first bytes tell which.
func (l *httpListener) route(c net.Conn) {
	c.SetDeadline(time.Now().Add(l.wait))
	if l.tls != nil {
		tc := tls.Server(c, l.tls)
		if err := tc.Handshake(); err != nil {
			c.Close()
			return
		}
		c.SetDeadline(time.Time{})
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			l.h2q.put(tc)
		} else {
			l.h1.(*connQueue).put(tc)
		}
		return
	}
	// Read until the bytes leave the preface, or complete it. An HTTP/1.x
	// request differs within its first bytes ("PRI" is no method).
	buf := make([]byte, len(h2Preface))
	n := 0
	for n < len(buf) && bytes.Equal(buf[:n], h2Preface[:n]) {
		m, err := c.Read(buf[n:])
		n += m
		if err != nil && n < len(buf) && bytes.Equal(buf[:n], h2Preface[:n]) {
			c.Close() // gone, or silent until the deadline
			return
		}
	}
	c.SetDeadline(time.Time{})
	rc := &replayConn{Conn: c, rest: buf[:n]}
	if bytes.Equal(buf[:n], h2Preface) {
		l.h2q.put(rc)
	} else {
		l.h1.(*connQueue).put(rc)
	}
}

type connKey struct{}

func (l *httpListener) newH2Server() *http.Server {
	var p http.Protocols
	p.SetHTTP2(true)
	if l.tls == nil {
		p.SetUnencryptedHTTP2(true)
	}
	maxHeader := l.srv.ReadBufferSize
	if maxHeader <= 0 {
		maxHeader = 4096 // fasthttp's default: the same bound as HTTP/1.x headers
	}
	return &http.Server{
		Handler:        &h2Handler{srv: l.srv, log: l.logger()},
		Protocols:      &p,
		ReadTimeout:    l.srv.ReadTimeout,
		WriteTimeout:   l.srv.WriteTimeout,
		IdleTimeout:    l.srv.IdleTimeout,
		MaxHeaderBytes: maxHeader,
		HTTP2:          &http.HTTP2Config{MaxConcurrentStreams: h2MaxConcurrentStreams},
		ErrorLog:       log.New(printfWriter{l.logger()}, "", 0),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
		ConnState: func(_ net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				l.h2conns.Add(1)
			case http.StateClosed, http.StateHijacked:
				l.h2conns.Add(-1)
			}
		},
	}
}

func (l *httpListener) logger() fasthttp.Logger {
	if l.srv.Logger != nil {
		return l.srv.Logger
	}
	return log.New(os.Stderr, "", log.LstdFlags)
}

// printfWriter writes net/http's log lines through a fasthttp.Logger.
type printfWriter struct{ log fasthttp.Logger }

func (w printfWriter) Write(p []byte) (int, error) {
	w.log.Printf("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

// withALPN returns a clone of cfg whose NextProtos start with protos, also
// for the configurations its GetConfigForClient returns.
func withALPN(cfg *tls.Config, protos ...string) *tls.Config {
	merge := func(have []string) []string {
		out := slices.Clone(protos)
		for _, p := range have {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
		return out
	}
	c := cfg.Clone()
	c.NextProtos = merge(cfg.NextProtos)
	if get := cfg.GetConfigForClient; get != nil {
		c.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			sub, err := get(hello)
			if sub == nil || err != nil {
				return sub, err
			}
			sub = sub.Clone()
			sub.NextProtos = merge(sub.NextProtos)
			return sub, nil
		}
	}
	return c
}

// h2Handler runs a fasthttp.RequestHandler for net/http's HTTP/2 requests:
// the request is copied into a RequestCtx, the handler runs, and its
// response (a body stream too) is copied out.
type h2Handler struct {
	srv *fasthttp.Server
	log fasthttp.Logger
}

// hopHeaders are connection-specific fields, which HTTP/2 forbids
// (RFC 9113 section 8.2.2); Content-Length is written from the body.
// Trailer goes too: trailers are not copied.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Content-Length", "Trailer"}

func (h *h2Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	srv := h.srv
	var ctx fasthttp.RequestCtx
	ctx.Init2(streamConn(r), h.log, true)
	req := &ctx.Request
	req.Header.SetMethod(r.Method)
	// The client's protocol, as fasthttp gives "HTTP/1.0" for 1.0 clients
	// and nginx logs "HTTP/2.0": whoever builds an upstream request sets
	// its own.
	req.Header.SetProtocol("HTTP/2.0")
	req.Header.SetRequestURI(r.RequestURI)
	req.Header.SetHost(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.TLS != nil {
		// fasthttp gives the scheme from the connection only to requests
		// it reads itself.
		req.URI().SetScheme("https")
	}
	if err := h.readBody(req, r); err != nil {
		h.errorResponse(&ctx, err)
	} else {
		srv.Handler(&ctx)
	}
	h.writeResponse(w, r, &ctx)
	ctx.Request.Reset()
	ctx.Response.Reset()
}

// readBody reads the request body into req, up to the server's
// MaxRequestBodySize, or streams it when the server streams bodies.
func (h *h2Handler) readBody(req *fasthttp.Request, r *http.Request) error {
	limit := h.srv.MaxRequestBodySize
	if limit <= 0 {
		limit = fasthttp.DefaultMaxRequestBodySize
	}
	if r.ContentLength > int64(limit) {
		return fasthttp.ErrBodyTooLarge
	}
	if h.srv.StreamRequestBody {
		req.SetBodyStream(&limitedBody{r: r.Body, left: int64(limit)}, int(r.ContentLength))
		return nil
	}
	n, err := io.Copy(req.BodyWriter(), io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return err
	}
	if n > int64(limit) {
		return fasthttp.ErrBodyTooLarge
	}
	if n > 0 || r.ContentLength >= 0 {
		req.Header.SetContentLength(int(n))
	}
	return nil
}

// limitedBody fails a streamed body past the size limit, as fasthttp does.
type limitedBody struct {
	r    io.Reader
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, fasthttp.ErrBodyTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n - 1, fasthttp.ErrBodyTooLarge
	}
	return n, err
}

// errorResponse answers a request whose body could not be read as fasthttp
// answers one on HTTP/1.x: through the server's ErrorHandler, else with
// its default error.
func (h *h2Handler) errorResponse(ctx *fasthttp.RequestCtx, err error) {
	if h.srv.ErrorHandler != nil {
		h.srv.ErrorHandler(ctx, err)
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		ctx.Error("Request timeout", fasthttp.StatusRequestTimeout)
		return
	}
	ctx.Error("Error when parsing request", fasthttp.StatusBadRequest)
}

func (h *h2Handler) writeResponse(w http.ResponseWriter, r *http.Request, ctx *fasthttp.RequestCtx) {
	resp := &ctx.Response
	out := w.Header()
	for k, v := range resp.Header.All() {
		key := http.CanonicalHeaderKey(string(k))
		if slices.Contains(hopHeaders, key) {
			continue
		}
		out.Add(key, string(v))
	}
	if len(resp.Header.Server()) == 0 && !h.srv.NoDefaultServerHeader {
		name := h.srv.Name
		if name == "" {
			name = "fasthttp"
		}
		out.Set("Server", name)
	}
	if h.srv.NoDefaultDate {
		out["Date"] = nil // net/http adds one otherwise
	}
	status := resp.StatusCode()
	// 1xx, 204 and 304 have no body (RFC 9110 section 6.4.1), and a HEAD
	// response only the headers of its GET.
	bodyless := status < 200 || status == http.StatusNoContent || status == http.StatusNotModified
	sendBody := !bodyless && r.Method != http.MethodHead
	if resp.IsBodyStream() {
		defer resp.CloseBodyStream()
		if cl := resp.Header.ContentLength(); cl >= 0 && !bodyless {
			out.Set("Content-Length", strconv.Itoa(cl))
		}
		w.WriteHeader(status)
		if sendBody {
			copyFlushing(w, resp.BodyStream())
		}
		return
	}
	body := resp.Body()
	if !bodyless {
		out.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(status)
	if sendBody {
		w.Write(body)
	}
}

// copyFlushing copies a streamed body, sending each piece as it comes: a
// stream writer's Flush reaches the client.
func copyFlushing(w http.ResponseWriter, r io.Reader) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// streamConn is what a RequestCtx is told of an HTTP/2 request's
// connection: its addresses (the PROXY protocol's included) and, over TLS,
// its state, so that IsTLS and TLSConnectionState answer as on HTTP/1.x.
func streamConn(r *http.Request) net.Conn {
	c, _ := r.Context().Value(connKey{}).(net.Conn)
	sc := h2StreamConn{}
	if c != nil {
		sc.local, sc.remote = c.LocalAddr(), c.RemoteAddr()
	}
	if r.TLS != nil {
		return &h2TLSConn{h2StreamConn: sc, state: *r.TLS}
	}
	return &sc
}

// errStreamConn: the bytes of an HTTP/2 stream go through h2Handler.
var errStreamConn = errors.New("an HTTP/2 request's connection cannot be read or written directly")

type h2StreamConn struct{ local, remote net.Addr }

func (c *h2StreamConn) Read([]byte) (int, error)         { return 0, errStreamConn }
func (c *h2StreamConn) Write([]byte) (int, error)        { return 0, errStreamConn }
func (c *h2StreamConn) Close() error                     { return nil }
func (c *h2StreamConn) LocalAddr() net.Addr              { return c.local }
func (c *h2StreamConn) RemoteAddr() net.Addr             { return c.remote }
func (c *h2StreamConn) SetDeadline(time.Time) error      { return nil }
func (c *h2StreamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *h2StreamConn) SetWriteDeadline(time.Time) error { return nil }

type h2TLSConn struct {
	h2StreamConn
	state tls.ConnectionState
}

func (c *h2TLSConn) Handshake() error                     { return nil }
func (c *h2TLSConn) ConnectionState() tls.ConnectionState { return c.state }
