// Package proxy is the data plane: it matches requests to Routes with Kong's
// router, and forwards them to Services through pooled keep-alive
// connections, balancing over Upstream targets with health checks. Requests
// read an immutable snapshot of the configuration and take no lock; a change
// to any entity the snapshot is built from rebuilds it off the hot path.
package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/logger"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/proxy/balancer"
	"github.com/portico-gw/portico/proxy/router"
	"github.com/portico-gw/portico/store"
)

// Options configure the proxy.
type Options struct {
	// ServerTokens goes into the Server and Via headers (Kong's
	// _SERVER_TOKENS: "kong/3.9.1.0-enterprise-edition", "kong/3.9.1").
	ServerTokens string
	// Store is read for routes, services, upstreams, targets and
	// certificates; Bus tells which writes change them.
	Store store.Store
	Bus   *events.Bus
	Log   *logger.Logger
	// Headers are the downstream header tokens (headers) and
	// HeadersUpstream the upstream ones (headers_upstream), in Kong's
	// canonical case.
	Headers         []string
	HeadersUpstream []string
	// TrustedIPs (trusted_ips): addresses whose X-Forwarded-* and real IP
	// headers are believed.
	TrustedIPs []string
	// RealIPHeader (real_ip_header) and RealIPRecursive
	// (real_ip_recursive): where a trusted peer's client address is read.
	RealIPHeader    string
	RealIPRecursive bool
	// ClientMaxBodySize (client_max_body_size) refuses larger request
	// bodies with 413; 0 means no limit.
	ClientMaxBodySize int64
	// Keep-alive to upstreams: idle connections kept per address
	// (upstream_keepalive_pool_size, 0 = no keep-alive), requests per
	// connection (upstream_keepalive_max_requests, 0 = no limit), idle time
	// before closing (upstream_keepalive_idle_timeout, 0 = no limit).
	KeepalivePoolSize    int
	KeepaliveMaxRequests int
	KeepaliveIdleTimeout time.Duration
	// BufferSize is each upstream connection's read and write buffer, and
	// the largest answer read whole rather than streamed. Default 8 KiB.
	BufferSize int
	// AllowDebugHeader (allow_debug_header) answers Kong-Debug: 1 with the
	// matched route and service.
	AllowDebugHeader bool
	// RebuildDelay groups bursts of writes into one rebuild.
	RebuildDelay time.Duration
	// OnHealth receives target health transitions (the balancer source of
	// event hooks).
	OnHealth func(balancer.HealthEvent)
	// Plugins are the enabled plugin types; rows of those that run are
	// executed on the requests they apply to.
	Plugins *plugins.Registry
	// Data is what plugins read of stored entities at request time
	// (credentials, consumers).
	Data plugins.Data
	// NodeID and Hostname identify the node to plugins (kong.node).
	NodeID, Hostname string
	// Metrics is the registry served on /metrics, where plugins (prometheus)
	// register their collectors; nil for none.
	Metrics prometheus.Registerer
	// Events is where plugins emit the events they publish (event hooks);
	// nil when event hooks are off.
	Events plugins.Events
	// BodyBufferLimit bounds, in bytes, an answer's body read whole for
	// plugins (the response and body_filter phases); larger answers go to
	// the client unmodified. Default 8 MiB.
	BodyBufferLimit int
	// LogQueueSize bounds the entries waiting for log plugins (default
	// 10,000); past it entries are dropped and counted.
	LogQueueSize int
}

// Proxy is the proxy's request handler. It is safe for concurrent use.
type Proxy struct {
	opts       Options
	serverName string // Kong's server tokens
	headers    headerSet
	upHeaders  headerSet
	trusted    []netip.Prefix
	trustUnix  bool
	realIP     []byte // real_ip_header, "" for proxy_protocol

	snap       atomic.Pointer[snapshot]
	balancers  *balancer.Manager
	transports transports
	certs      certCache

	// rebuild requests; the watcher goroutine coalesces them.
	dirty     chan struct{}
	rebuildMu sync.Mutex
	// skipped are the plugin rows already reported as not running
	// (guarded by rebuildMu).
	skipped map[string]bool
	version atomic.Uint64
	stop    context.CancelFunc
	done    sync.WaitGroup

	exchanges sync.Pool
	logs      logQueue
	// host is what plugins get of the node (plugins.Provisioner).
	host *plugins.Host
}

// New returns a proxy. Start loads the configuration and keeps it current.
func New(opts Options) (*Proxy, error) {
	p := &Proxy{
		opts:       opts,
		serverName: opts.ServerTokens,
		headers:    parseHeaders(opts.Headers),
		upHeaders:  parseHeaders(opts.HeadersUpstream),
		realIP:     []byte(opts.RealIPHeader),
		dirty:      make(chan struct{}, 1),
		skipped:    map[string]bool{},
	}
	if opts.RealIPHeader == "proxy_protocol" {
		p.realIP = nil
	}
	for _, s := range opts.TrustedIPs {
		if s == "unix:" {
			p.trustUnix = true
			continue
		}
		pfx, err := parsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted_ips: %w", err)
		}
		p.trusted = append(p.trusted, pfx)
	}
	if p.opts.RebuildDelay <= 0 {
		p.opts.RebuildDelay = 50 * time.Millisecond
	}
	bufSize := opts.BufferSize
	if bufSize <= 0 {
		bufSize = 8192
	}
	p.transports.pool = poolSettings{
		size:        opts.KeepalivePoolSize,
		maxRequests: opts.KeepaliveMaxRequests,
		idleTimeout: opts.KeepaliveIdleTimeout,
		bufferSize:  bufSize,
	}
	p.balancers = balancer.NewManager(balancer.Options{
		OnHealth: opts.OnHealth,
		Logf: func(level, format string, args ...any) {
			p.logf(level, "[balancer] "+format, args...)
		},
	})
	node := plugins.Node{ID: opts.NodeID, Hostname: opts.Hostname}
	p.exchanges.New = func() any {
		return &exchange{plugin: plugins.Context{Shared: map[string]any{}, Node: node, Data: opts.Data, Events: opts.Events, Log: p.logf}}
	}
	p.logs.init(opts.LogQueueSize, p.logf)
	p.host = &plugins.Host{Logf: p.logf, Metrics: opts.Metrics, UpstreamHealth: p.upstreamHealth}
	return p, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if pfx, err := netip.ParsePrefix(s); err == nil {
		return pfx.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("'%s' is neither an IP address nor a CIDR range", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// Start builds the first snapshot and rebuilds it after every change to
// the entities it is made of, until Close.
func (p *Proxy) Start(ctx context.Context) error {
	if err := p.rebuild(ctx); err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	p.logs.start(&p.done, wctx)
	if p.opts.Bus != nil {
		unsubscribe := p.opts.Bus.Subscribe("crud", func(ev events.Event) {
			if watched(ev.Name) {
				p.markDirty()
			}
		})
		p.done.Add(1)
		go func() {
			defer p.done.Done()
			defer unsubscribe()
			p.watch(wctx)
		}()
	}
	return nil
}

// Close stops rebuilding, stops health checks and drops idle upstream
// connections.
func (p *Proxy) Close() {
	if p.stop != nil {
		p.stop()
	}
	p.done.Wait()
	p.balancers.Close()
	p.transports.closeAll()
}

// Balancers gives the Admin API the upstreams' health.
func (p *Proxy) Balancers() *balancer.Manager { return p.balancers }

// Router returns the current router (tests, benchmarks).
func (p *Proxy) Router() *router.Router {
	if s := p.snap.Load(); s != nil {
		return s.router
	}
	return nil
}

// certificatePhase runs the global plugins' certificate phase in a TLS
// handshake: the certificate one of them chose, or an error that fails
// the handshake (logged, as Kong logs a failing plugin).
func (p *Proxy) certificatePhase(list []*instance, hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	cc := &plugins.CertContext{ServerName: hello.ServerName, Node: plugins.Node{ID: p.opts.NodeID, Hostname: p.opts.Hostname}}
	if a, ok := hello.Conn.RemoteAddr().(*net.TCPAddr); ok {
		cc.ClientIP = a.AddrPort().Addr().Unmap()
	}
	for _, in := range list {
		if in.protocols&protoHTTPS == 0 {
			continue
		}
		if err := runCertificate(in, cc); err != nil {
			p.logf("error", "plugin %s (%s) failed in the certificate phase: %v", in.name, in.id, err)
			return nil, fmt.Errorf("plugin %s failed in the certificate phase", in.name)
		}
	}
	return cc.Certificate, nil
}

// runCertificate calls one instance's certificate phase, a panic included.
func runCertificate(in *instance, cc *plugins.CertContext) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return in.cert.Certificate(cc)
}

// TLSConfig returns a server TLS configuration that picks the certificate
// by SNI from the snapshot (exact name, then wildcard), falling back to
// the listener's default certificates (the first the client supports).
func (p *Proxy) TLSConfig(base *tls.Config, fallback []tls.Certificate) *tls.Config {
	cfg := base.Clone()
	cfg.Certificates = nil
	cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if s := p.snap.Load(); s != nil {
			if len(s.certificate) > 0 {
				c, err := p.certificatePhase(s.certificate, hello)
				if c != nil || err != nil {
					return c, err
				}
			}
			if c := s.certs.getCertificate(hello); c != nil {
				return c, nil
			}
		}
		for i := range fallback {
			if hello.SupportsCertificate(&fallback[i]) == nil {
				return &fallback[i], nil
			}
		}
		return &fallback[0], nil
	}
	return cfg
}
