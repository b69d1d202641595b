package proxy

import (
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// transportKey is what distinguishes two services' connections to the same
// address: services that agree on all of it share a keep-alive pool.
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

// transport holds keep-alive connection pools to upstream addresses, one
// fasthttp.HostClient per address. It outlives snapshots, so a
// configuration change does not drop warm connections. Lookups are a map
// read through an atomic pointer; a new address copies the map (rare).
type transport struct {
	key transportKey
	// tls is the base TLS configuration of https upstreams (server name
	// set per address).
	tls     *tls.Config
	pool    poolSettings
	clients atomic.Pointer[map[string]*fasthttp.HostClient]
	mu      sync.Mutex // serialises adding clients
	// lastUsed is the snapshot version that last referenced this transport;
	// transports no snapshot uses are closed.
	lastUsed atomic.Uint64
}

// poolSettings are Kong's upstream keep-alive settings.
type poolSettings struct {
	// size bounds the connections kept per address
	// (upstream_keepalive_pool_size); 0 disables keep-alive.
	size int
	// maxRequests closes a connection after this many requests
	// (upstream_keepalive_max_requests); 0 means no limit.
	maxRequests int
	// idleTimeout closes connections idle this long
	// (upstream_keepalive_idle_timeout); 0 means no limit.
	idleTimeout time.Duration
	// bufferSize is the read and write buffer of each connection.
	bufferSize int
}

// client returns the pooled client for addr (ip:port), creating it on first
// use. hostname is the peer's name, used as TLS server name.
func (t *transport) client(addr, hostname string) *fasthttp.HostClient {
	if m := t.clients.Load(); m != nil {
		if c := (*m)[addr]; c != nil {
			return c
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.clients.Load()
	if old != nil {
		if c := (*old)[addr]; c != nil {
			return c
		}
	}
	c := t.newClient(addr, hostname)
	next := make(map[string]*fasthttp.HostClient, 1)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[addr] = c
	t.clients.Store(&next)
	return c
}

func (t *transport) newClient(addr, hostname string) *fasthttp.HostClient {
	connect := t.key.timeouts.connect
	c := &fasthttp.HostClient{
		Addr:                          addr,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		// The proxy decides about retries (service retries, next peer).
		MaxIdemponentCallAttempts: 1,
		RetryIfErr:                func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		ReadTimeout:               t.key.timeouts.read,
		WriteTimeout:              t.key.timeouts.write,
		MaxIdleConnDuration:       t.pool.idleTimeout,
		MaxConns:                  1 << 20, // Kong does not cap upstream connections
		ReadBufferSize:            t.pool.bufferSize,
		WriteBufferSize:           t.pool.bufferSize,
		StreamResponseBody:        true,
		Dial: func(addr string) (net.Conn, error) {
			return (&net.Dialer{Timeout: connect}).Dial("tcp", addr)
		},
	}
	if t.pool.idleTimeout == 0 {
		c.MaxIdleConnDuration = 24 * time.Hour
	}
	if t.key.scheme == "https" {
		c.IsTLS = true
		c.TLSConfig = t.tlsConfig(hostname)
	}
	return c
}

// tlsConfig is the TLS configuration for one upstream host: the service's
// verification settings, trusted CAs and client certificate, with the
// host as server name (SNI and the name verified).
func (t *transport) tlsConfig(hostname string) *tls.Config {
	cfg := t.tls.Clone()
	cfg.ServerName = hostname
	return cfg
}

// close drops idle connections; in-flight requests finish on their own.
func (t *transport) close() {
	if m := t.clients.Load(); m != nil {
		for _, c := range *m {
			c.CloseIdleConnections()
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

// closeAll drops every idle connection (shutdown).
func (ts *transports) closeAll() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, t := range ts.all {
		t.close()
	}
}
