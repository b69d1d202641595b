package proxy

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/internal/deadline"
)

// transportKey is what distinguishes two services' connections to the same
// address: services that agree on all of it share keep-alive pools.
type transportKey struct {
	scheme   string
	timeouts timeouts
	verify   bool
	// verifyDepth is tls_verify_depth: the longest chain accepted, not
	// counting the peer's own certificate.
	verifyDepth int
	// caIDs are the service's ca_certificates ids, joined; "" trusts the
	// system's roots.
	caIDs string
	// clientCert is the id of the service's client_certificate.
	clientCert string
}

// poolSettings are Kong's upstream keep-alive settings.
type poolSettings struct {
	// size is how many idle connections are kept per address
	// (upstream_keepalive_pool_size); 0 disables keep-alive.
	size int
	// maxRequests closes a connection after this many requests
	// (upstream_keepalive_max_requests); 0 means no limit.
	maxRequests int
	// idleTimeout closes connections idle this long
	// (upstream_keepalive_idle_timeout); 0 means no limit.
	idleTimeout time.Duration
	// bufferSize is the read and write buffer of each connection, and the
	// largest response body read whole rather than streamed.
	bufferSize int
}

// transport sends requests to upstream addresses over pooled keep-alive
// connections. It outlives snapshots, so a configuration change does not
// drop warm connections. Pools are found through a map behind an atomic
// pointer (copied when an address is added, which is rare); a pool is a
// buffered channel of idle connections.
type transport struct {
	key transportKey
	// tls is the base TLS configuration of https upstreams (server name
	// set per address).
	tls   *tls.Config
	pool  poolSettings
	pools atomic.Pointer[map[string]*connPool]
	mu    sync.Mutex // serialises adding pools
	// lastUsed is the snapshot version that last referenced this transport;
	// transports no snapshot uses are closed.
	lastUsed atomic.Uint64
}

// connPool is one address's idle connections, a stack: the connection
// used last is used first (as nginx's keepalive cache), so a few hot
// connections carry the traffic and the rest age out.
type connPool struct {
	t        *transport
	addr     string
	hostname string
	tls      *tls.Config

	mu   sync.Mutex
	idle []*upstreamConn
}

// upstreamConn is one connection to an upstream with its buffers.
type upstreamConn struct {
	net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	requests  int
	idleSince time.Time
	// The deadlines in force, moved coarsely (each move is a timer update).
	readDeadline, writeDeadline deadline.Coarse
}

func (c *upstreamConn) readWithin(now time.Time, d time.Duration) {
	c.readDeadline.Move(now.Add(d), c.Conn.SetReadDeadline)
}

func (c *upstreamConn) writeWithin(now time.Time, d time.Duration) {
	c.writeDeadline.Move(now.Add(d), c.Conn.SetWriteDeadline)
}

// errStale is a pooled connection the upstream had closed before our
// request reached it.
var errStale = errors.New("upstream closed an idle connection")

func (t *transport) connPool(addr, hostname string) *connPool {
	if m := t.pools.Load(); m != nil {
		if p := (*m)[addr]; p != nil {
			return p
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.pools.Load()
	if old != nil {
		if p := (*old)[addr]; p != nil {
			return p
		}
	}
	p := &connPool{t: t, addr: addr, hostname: hostname, idle: make([]*upstreamConn, 0, min(max(t.pool.size, 0), 64))}
	if t.key.scheme == "https" {
		p.tls = t.tlsConfig(hostname)
	}
	next := make(map[string]*connPool, 1)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[addr] = p
	t.pools.Store(&next)
	return p
}

// tlsConfig is the TLS configuration for one upstream host: the service's
// verification settings, trusted CAs and client certificate, with the
// host as server name (SNI and the name verified).
func (t *transport) tlsConfig(hostname string) *tls.Config {
	cfg := t.tls.Clone()
	cfg.ServerName = hostname
	return cfg
}

// get returns an idle connection, or dials a new one.
func (p *connPool) get() (*upstreamConn, bool, error) {
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			c, err := p.dial()
			return c, false, err
		}
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if p.t.pool.idleTimeout > 0 && time.Since(c.idleSince) > p.t.pool.idleTimeout {
			c.Close()
			continue
		}
		return c, true, nil
	}
}

func (p *connPool) dial() (*upstreamConn, error) {
	d := net.Dialer{Timeout: p.t.key.timeouts.connect}
	conn, err := d.Dial("tcp", p.addr)
	if err != nil {
		return nil, err
	}
	if p.tls != nil {
		tc := tls.Client(conn, p.tls)
		tc.SetDeadline(time.Now().Add(p.t.key.timeouts.connect))
		if err := tc.Handshake(); err != nil {
			conn.Close()
			return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: conn.RemoteAddr(), Err: err}
		}
		tc.SetDeadline(time.Time{})
		conn = tc
	}
	size := p.t.pool.bufferSize
	return &upstreamConn{Conn: conn, br: bufio.NewReaderSize(conn, size), bw: bufio.NewWriterSize(conn, size)}, nil
}

// put keeps a connection for the next request, or closes it when the pool
// is full.
func (p *connPool) put(c *upstreamConn) {
	c.idleSince = time.Now()
	p.keep(c)
}

// keep pushes an idle connection, or closes it when the pool is full.
func (p *connPool) keep(c *upstreamConn) {
	p.mu.Lock()
	if len(p.idle) < p.t.pool.size {
		p.idle = append(p.idle, c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	c.Close()
}

// closeIdle closes the idle connections: all of them, or with expiredOnly
// those idle longer than upstream_keepalive_idle_timeout. The oldest are
// at the bottom of the stack.
func (p *connPool) closeIdle(expiredOnly bool, now time.Time) {
	if expiredOnly && p.t.pool.idleTimeout == 0 {
		return
	}
	p.mu.Lock()
	var closing []*upstreamConn
	kept := p.idle[:0]
	for _, c := range p.idle {
		if expiredOnly && now.Sub(c.idleSince) <= p.t.pool.idleTimeout {
			kept = append(kept, c)
			continue
		}
		closing = append(closing, c)
	}
	clear(p.idle[len(kept):])
	p.idle = kept
	p.mu.Unlock()
	for _, c := range closing {
		c.Close()
	}
}

// roundTrip sends req to addr and reads the answer's head into resp. A
// body of known size up to the buffer size is read whole and the
// connection goes back to the pool at once; larger, chunked or unframed
// bodies become resp's body stream, which gives the connection back (or
// closes it) when the server has written it out. A pooled connection that
// turns out to be closed is replaced by a new one once, when the request
// can be sent again (its body is not a stream).
func (t *transport) roundTrip(addr, hostname string, req *upstreamRequest, resp *fasthttp.Response, head bool, now time.Time) error {
	p := t.connPool(addr, hostname)
	for attempt := 0; ; attempt++ {
		c, reused, err := p.get()
		if err != nil {
			return err
		}
		err = t.exchange(p, c, req, resp, head, now)
		if err == errStale && reused && attempt == 0 && req.replayable() {
			continue
		}
		if err == errStale {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
}

func (t *transport) exchange(p *connPool, c *upstreamConn, req *upstreamRequest, resp *fasthttp.Response, head bool, now time.Time) error {
	c.requests++
	last := t.pool.size == 0 || (t.pool.maxRequests > 0 && c.requests >= t.pool.maxRequests)
	c.writeWithin(now, t.key.timeouts.write)
	if err := req.writeTo(c.bw, last); err != nil {
		c.Close()
		if c.requests > 1 && isReset(err) {
			return errStale
		}
		return err
	}
	c.readWithin(now, t.key.timeouts.read)
	if err := readHead(c.br, resp); err != nil {
		c.Close()
		if c.requests > 1 && (err == io.EOF || isReset(err)) {
			return errStale
		}
		return err
	}
	reuse := !last && !resp.ConnectionClose()
	if head || noBody(resp.StatusCode()) {
		return p.done(c, reuse)
	}
	n := resp.Header.ContentLength()
	if n >= 0 && n <= t.pool.bufferSize {
		if err := resp.ReadBody(c.br, 0); err != nil {
			c.Close()
			return err
		}
		return p.done(c, reuse)
	}
	body := &bodyStream{pool: p, conn: c, reuse: reuse, timeout: t.key.timeouts.read}
	switch {
	case n >= 0:
		body.r = io.LimitReader(c.br, int64(n))
	case n == -1:
		body.r = httputil.NewChunkedReader(c.br)
		body.chunked = true
	default: // no framing: the body ends when the upstream closes
		body.r = c.br
		body.reuse = false
	}
	resp.SetBodyStream(body, n)
	return nil
}

// readHead reads a response head, skipping interim 1xx answers (but not
// 101, which ends the exchange).
func readHead(br *bufio.Reader, resp *fasthttp.Response) error {
	for i := 0; ; i++ {
		if err := resp.Header.Read(br); err != nil {
			return err
		}
		s := resp.StatusCode()
		if s < 100 || s > 199 || s == fasthttp.StatusSwitchingProtocols {
			return nil
		}
		if i > 10 {
			return fmt.Errorf("upstream sent too many interim responses")
		}
	}
}

// noBody reports the statuses whose answers have no body (RFC 9112 §6.3).
func noBody(status int) bool {
	return status < 200 || status == fasthttp.StatusNoContent || status == fasthttp.StatusNotModified
}

func (p *connPool) done(c *upstreamConn, reuse bool) error {
	if reuse {
		p.put(c)
	} else {
		c.Close()
	}
	return nil
}

// isReset reports a connection the upstream closed or reset; a timeout is
// not one (the upstream is slow, and trying again would double the wait).
func isReset(err error) bool {
	if isTimeout(err) {
		return false
	}
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, io.ErrUnexpectedEOF)
}

// bodyStream is a streamed upstream response body. The server reads it to
// the client and closes it: a body read to its end gives its connection
// back to the pool, anything else closes the connection.
type bodyStream struct {
	pool    *connPool
	conn    *upstreamConn
	r       io.Reader
	chunked bool
	reuse   bool
	timeout time.Duration
	eof     bool
	closed  bool
}

func (b *bodyStream) Read(p []byte) (int, error) {
	if b.eof {
		return 0, io.EOF
	}
	// read_timeout is the longest wait between two reads, as nginx's
	// proxy_read_timeout.
	b.conn.readWithin(time.Now(), b.timeout)
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.eof = true
		if b.chunked && skipTrailers(b.conn.br) != nil {
			b.reuse = false
		}
	}
	return n, err
}

// skipTrailers reads the trailer section after the last chunk.
func skipTrailers(br *bufio.Reader) error {
	for i := 0; i < 100; i++ {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			return nil
		}
	}
	return errors.New("too many trailers")
}

func (b *bodyStream) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	if b.eof && b.reuse {
		b.pool.put(b.conn)
		return nil
	}
	return b.conn.Close()
}

// close drops idle connections; requests in flight finish on their own.
func (t *transport) close() { t.closeIdle(false, time.Now()) }

func (t *transport) closeIdle(expiredOnly bool, now time.Time) {
	if m := t.pools.Load(); m != nil {
		for _, p := range *m {
			p.closeIdle(expiredOnly, now)
		}
	}
}

// transports keeps one transport per key across snapshots.
type transports struct {
	pool poolSettings
	mu   sync.Mutex
	all  map[transportKey]*transport
	// version is the snapshot being built; get marks transports with it.
	version uint64
}

func (ts *transports) get(k transportKey, tlsBase func() *tls.Config) *transport {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.all == nil {
		ts.all = map[transportKey]*transport{}
	}
	t := ts.all[k]
	if t == nil {
		t = &transport{key: k, pool: ts.pool}
		if k.scheme == "https" {
			t.tls = tlsBase()
		}
		ts.all[k] = t
	}
	t.lastUsed.Store(ts.version)
	return t
}

// begin starts marking transports for snapshot version v.
func (ts *transports) begin(v uint64) {
	ts.mu.Lock()
	ts.version = v
	ts.mu.Unlock()
}

// sweep closes the transports that snapshot v no longer uses.
func (ts *transports) sweep(v uint64) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for k, t := range ts.all {
		if t.lastUsed.Load() < v {
			delete(ts.all, k)
			t.close()
		}
	}
}

// expire closes connections idle longer than upstream_keepalive_idle_timeout.
func (ts *transports) expire(now time.Time) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, t := range ts.all {
		t.closeIdle(true, now)
	}
}

// closeAll drops every idle connection (shutdown).
func (ts *transports) closeAll() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, t := range ts.all {
		t.close()
	}
}
