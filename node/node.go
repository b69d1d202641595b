// Package node wires Portico's rooms into a running gateway: configuration,
// logs, the store, the DAO, the Admin API and proxy listeners, the pid file,
// and graceful shutdown. It holds no business logic of its own.
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/admin"
	"github.com/portico-gw/portico/catalog"
	"github.com/portico-gw/portico/conf"
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/eventhooks"
	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/logger"
	"github.com/portico-gw/portico/luavm"
	"github.com/portico-gw/portico/proxy"
	"github.com/portico-gw/portico/proxy/balancer"
	"github.com/portico-gw/portico/rbac"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
	"github.com/portico-gw/portico/store/badger"
)

// Version is Portico's own version.
const Version = "0.1.0"

// shutdownTimeout bounds how long in-flight requests may take to finish.
const shutdownTimeout = 10 * time.Second

// Node is a running gateway.
type Node struct {
	cfg     *conf.Config
	log     *logger.Logger
	store   store.Store
	db      *db.DB
	bus     *events.Bus
	servers []*server
	access  []*logger.AccessLog
	hooks   *eventhooks.Service
	proxy   *proxy.Proxy
	lua     *luavm.VM
	metrics *prometheus.Registry
	// requests counts every request served, for GET /status.
	requests atomic.Uint64
}

type server struct {
	kind string // "admin" or "proxy"
	spec conf.Listener
	srv  *fasthttp.Server
	hl   *httpListener // bound by listen: HTTP/1.x to srv, HTTP/2 beside it
}

// openStore opens the configured storage engine.
func openStore(cfg *conf.Config, reg *schema.Registry, log *logger.Logger) (store.Store, error) {
	switch cfg.Database {
	case "badger", "":
		st, err := badger.Open(cfg.DataDir(), db.Tables(reg), badger.Options{
			Logger: func(level, msg string) { log.Warnf("[badger] %s: %s", level, strings.TrimSpace(msg)) },
		})
		if err != nil {
			return nil, fmt.Errorf("opening badger store in %s: %w", cfg.DataDir(), err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("database %q is not available in this build", cfg.Database)
}

// Bootstrap prepares the store (`portico migrations bootstrap`).
func Bootstrap(ctx context.Context, cfg *conf.Config, notices []conf.Notice) error {
	log, err := openErrorLog(cfg)
	if err != nil {
		return err
	}
	defer log.Close()
	reg, _, err := catalog.Build(cfg.Plugins)
	if err != nil {
		return err
	}
	if pid, alive := readPID(cfg.PIDFile()); alive {
		return fmt.Errorf("Portico is running in %s (pid %d): stop it first", cfg.Prefix, pid)
	}
	st, err := openStore(cfg, reg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Bootstrap(ctx); err != nil {
		return fmt.Errorf("bootstrapping the database: %w", err)
	}
	if err := seed(ctx, db.New(reg, st, db.Options{})); err != nil {
		return fmt.Errorf("bootstrapping the database: %w", err)
	}
	log.Noticef("database bootstrapped in %s", cfg.DataDir())
	return nil
}

// seed creates the entities a bootstrapped store starts with: the default
// workspace, and the super admin when KONG_PASSWORD is set. It is
// idempotent.
func seed(ctx context.Context, d *db.DB) error {
	if err := d.Bootstrap(ctx); err != nil {
		return err
	}
	return rbac.Bootstrap(ctx, d)
}

// openErrorLog opens the node's error log (proxy_error_log).
func openErrorLog(cfg *conf.Config) (*logger.Logger, error) {
	return openLog(cfg.ProxyErrorLog, cfg.LogLevel)
}

func openLog(path, level string) (*logger.Logger, error) {
	lvl, err := logger.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log_level: %w", err)
	}
	log, err := logger.Open(path, lvl)
	if err != nil {
		return nil, fmt.Errorf("opening error log %s: %w", path, err)
	}
	return log, nil
}

// Run starts a node and serves until ctx is done, then shuts down
// gracefully. ready is called once every listener is bound.
func Run(ctx context.Context, cfg *conf.Config, notices []conf.Notice, ready func(*Node)) error {
	if err := os.MkdirAll(cfg.Prefix, 0o755); err != nil {
		return fmt.Errorf("creating prefix %s: %w", cfg.Prefix, err)
	}
	if pid, alive := readPID(cfg.PIDFile()); alive {
		return fmt.Errorf("Portico is already running in %s (pid %d)", cfg.Prefix, pid)
	}
	log, err := openErrorLog(cfg)
	if err != nil {
		return err
	}
	defer log.Close()
	for _, n := range notices {
		if n.Level == "warn" {
			log.Warnf("%s", n.Message)
		} else {
			log.Noticef("%s", n.Message)
		}
	}
	adminLog := log
	if cfg.AdminErrorLog != cfg.ProxyErrorLog {
		if adminLog, err = openLog(cfg.AdminErrorLog, cfg.LogLevel); err != nil {
			return err
		}
		defer adminLog.Close()
	}
	n, err := open(ctx, cfg, log, adminLog)
	if err != nil {
		log.Errorf("%v", err)
		return err
	}
	defer n.close()
	if err := n.listen(); err != nil {
		log.Errorf("%v", err)
		return err
	}
	if err := writePID(cfg.PIDFile()); err != nil {
		return err
	}
	defer os.Remove(cfg.PIDFile())
	if n.hooks != nil {
		if err := n.hooks.Start(ctx); err != nil {
			log.Errorf("starting event hooks: %v", err)
			return err
		}
		defer n.hooks.Stop()
	}
	log.Noticef("Portico %s started (admin %s, proxy %s)", Version, n.AdminAddrs(), n.ProxyAddrs())
	if ready != nil {
		ready(n)
	}
	return n.serve(ctx)
}

func open(ctx context.Context, cfg *conf.Config, log, adminLog *logger.Logger) (*Node, error) {
	reg, enabled, err := catalog.Build(cfg.Plugins)
	if err != nil {
		return nil, err
	}
	st, err := openStore(cfg, reg, log)
	if err != nil {
		return nil, err
	}
	ok, err := st.Bootstrapped(ctx)
	if err == nil && !ok {
		log.Noticef("bootstrapping a new database in %s", cfg.DataDir())
		err = st.Bootstrap(ctx)
	}
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("preparing the database: %w", err)
	}
	n := &Node{cfg: cfg, log: log, store: st, bus: &events.Bus{}, metrics: prometheus.NewRegistry()}
	n.db = db.New(reg, st, db.Options{Bus: n.bus})
	// One sandboxed Lua room for lambda hooks and webhook-custom templates,
	// with Kong's untrusted_lua settings; hooks are checked against it when
	// written.
	vm, err := luavm.New(luavm.Options{
		Mode:        luavm.Mode(cfg.UntrustedLua),
		Requires:    cfg.UntrustedLuaSandboxRequires,
		Environment: cfg.UntrustedLuaSandboxEnvironment,
	})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("preparing the Lua sandbox: %w", err)
	}
	n.lua = vm
	eventhooks.InstallValidation(reg, vm)
	if cfg.EventHooksEnabled {
		webhook := eventhooks.NewWebhook(eventhooks.WebhookOptions{
			ConnectTimeout: cfg.EventHooksConnectTimeout,
			ReadTimeout:    cfg.EventHooksReadTimeout,
			UserAgent:      "Portico/" + Version + " (event hooks)",
		})
		n.hooks = eventhooks.New(eventhooks.Options{
			DB:  n.db,
			Bus: n.bus,
			Handlers: map[string]eventhooks.Handler{
				"webhook":        webhook,
				"webhook-custom": eventhooks.NewWebhookCustom(vm, webhook),
				"log":            eventhooks.NewLog(log, os.Getpid()),
				"lambda":         eventhooks.NewLambda(vm, log, os.Getpid()),
			},
			Policy: eventhooks.Policy{
				Schedule:      cfg.EventHooksRetrySchedule,
				MaxAttempts:   cfg.EventHooksMaxAttempts,
				MaxAge:        cfg.EventHooksMaxAge,
				MaxRetryAfter: 24 * time.Hour,
			},
			Workers:        cfg.EventHooksWorkers,
			MaxInFlight:    cfg.EventHooksMaxInFlight,
			AttemptTimeout: cfg.EventHooksConnectTimeout + cfg.EventHooksReadTimeout + time.Second,
			Retention:      cfg.EventHooksRetention,
			Metrics:        n.metrics,
			Log:            log,
		})
	}
	nodeID, err := loadNodeID(cfg.Path("node_id"))
	if err != nil {
		st.Close()
		return nil, err
	}
	if err := seed(ctx, n.db); err != nil {
		st.Close()
		return nil, err
	}
	var guard *rbac.Authenticator
	if cfg.EnforceRBAC != "off" {
		guard = rbac.New(n.db, n.bus)
	}
	px, err := proxy.New(proxy.Options{
		KongVersion:          cfg.KongVersion,
		Store:                st,
		Bus:                  n.bus,
		Log:                  log,
		Headers:              cfg.Headers,
		HeadersUpstream:      cfg.HeadersUpstream,
		TrustedIPs:           cfg.TrustedIPs,
		RealIPHeader:         cfg.RealIPHeader,
		RealIPRecursive:      cfg.RealIPRecursive,
		ClientMaxBodySize:    cfg.ClientMaxBodySize,
		KeepalivePoolSize:    cfg.UpstreamKeepalivePoolSize,
		KeepaliveMaxRequests: cfg.UpstreamKeepaliveMaxRequests,
		KeepaliveIdleTimeout: time.Duration(cfg.UpstreamKeepaliveIdleTimeout) * time.Second,
		AllowDebugHeader:     cfg.AllowDebugHeader,
		OnHealth:             n.publishHealth,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	if err := px.Start(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("building the router: %w", err)
	}
	n.proxy = px
	hostname, _ := os.Hostname()
	var infos []admin.PluginInfo
	for _, p := range enabled.All() {
		infos = append(infos, admin.PluginInfo{Name: p.Name, Version: p.Version, Priority: p.Priority})
	}
	api := admin.New(admin.Options{
		DB:      n.db,
		Plugins: infos,
		Log:     adminLog,
		Node: admin.NodeInfo{
			KongVersion:    cfg.KongVersion,
			PorticoVersion: Version,
			Hostname:       hostname,
			NodeID:         nodeID,
			PID:            os.Getpid(),
			Configuration:  cfg.KongConfiguration(),
		},
		ServerStats: n.serverStats,
		Balancers:   px.Balancers(),
		EventHooks:  n.hooks,
		RBAC:        guard,
		RBACHeader:  cfg.RBACAuthHeader,
		Metrics:     promhttp.HandlerFor(n.metrics, promhttp.HandlerOpts{}),
	})

	adminAccess, err := openAccessLog(cfg.AdminAccessLog)
	if err != nil {
		st.Close()
		return nil, err
	}
	proxyAccess, err := openAccessLog(cfg.ProxyAccessLog)
	if err != nil {
		adminAccess.Close()
		st.Close()
		return nil, err
	}
	n.access = []*logger.AccessLog{adminAccess, proxyAccess}
	headBuffers, headBufferSize, err := conf.ParseHeaderBuffers(cfg.LargeClientHeaderBuffers)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("large_client_header_buffers: %w", err)
	}
	readBuffer := headBuffers * int(headBufferSize)
	for _, l := range cfg.AdminListen {
		s := n.newServer("admin", l, n.count(withAccessLog(api.Handler(), adminAccess, cfg.RBACAuthHeader)), readBuffer)
		if cfg.AdminMaxBodySize > 0 {
			// The whole body is needed, and its size is checked against
			// Content-Length before anything is allocated.
			s.srv.MaxRequestBodySize = int(cfg.AdminMaxBodySize)
		} else {
			// No limit: the body is read as it arrives, so memory follows
			// the bytes actually sent, never a Content-Length claim.
			s.srv.StreamRequestBody = true
			s.srv.MaxRequestBodySize = 64 << 10
		}
		s.srv.ErrorHandler = api.ErrorHandler
		n.servers = append(n.servers, s)
	}
	for _, l := range cfg.ProxyListen {
		s := n.newServer("proxy", l, n.count(withAccessLog(px.Handler(), proxyAccess)), readBuffer)
		// Bodies are streamed to the upstream: client_body_buffer_size is
		// read ahead, the rest flows through (client_max_body_size is
		// enforced by the proxy with Kong's 413).
		s.srv.StreamRequestBody = true
		s.srv.MaxRequestBodySize = int(cfg.ClientBodyBufferSize)
		s.srv.DisablePreParseMultipartForm = true
		n.servers = append(n.servers, s)
	}
	return n, nil
}

// publishHealth turns a target's health transition into Kong's balancer
// health event for event hooks. It runs off the health checker's goroutine:
// recording the event is a durable write.
func (n *Node) publishHealth(ev balancer.HealthEvent) {
	n.log.Noticef("[healthcheck] (%s) %s target %s:%d (%s)", ev.UpstreamName, ev.Health, ev.IP, ev.Port, ev.Hostname)
	if n.hooks == nil {
		return
	}
	go func() {
		err := n.hooks.Emit(context.Background(), eventhooks.SourceBalancer, eventhooks.EventHealth, map[string]any{
			"upstream_id": ev.UpstreamID,
			"ip":          ev.IP,
			"port":        ev.Port,
			"hostname":    ev.Hostname,
			"health":      ev.Health,
		})
		if err != nil {
			n.log.Errorf("%v", err)
		}
	}()
}

func (n *Node) count(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		n.requests.Add(1)
		h(ctx)
	}
}

func (n *Node) newServer(kind string, l conf.Listener, h fasthttp.RequestHandler, readBuffer int) *server {
	srv := &fasthttp.Server{
		Handler:               h,
		Name:                  "kong/" + n.cfg.KongVersion,
		NoDefaultServerHeader: true,
		NoDefaultDate:         false,
		ReadTimeout:           60 * time.Second,
		IdleTimeout:           60 * time.Second,
		DisableKeepalive:      false,
		Logger:                fasthttpLogger{n.log},
		CloseOnShutdown:       true,
		// The request line and headers must fit (431 otherwise).
		ReadBufferSize: readBuffer,
	}
	return &server{kind: kind, spec: l, srv: srv}
}

type fasthttpLogger struct{ log *logger.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) { f.log.Infof(format, args...) }

// listen binds every configured address with its flags; any failure stops
// the start.
func (n *Node) listen() error {
	for _, s := range n.servers {
		l := s.spec
		ln, err := bindListener(l)
		if err != nil {
			n.closeListeners()
			return fmt.Errorf("binding %s listener: %w", s.kind, err)
		}
		for _, w := range listenWarnings(l) {
			n.log.Noticef("%s_listen: %s", s.kind, w)
		}
		var cfg *tls.Config
		if l.SSL {
			certs, err := n.listenerCertificates(s.kind)
			if err != nil {
				ln.Close()
				n.closeListeners()
				return fmt.Errorf("preparing TLS for %s: %w", l.Addr(), err)
			}
			cfg = &tls.Config{Certificates: certs}
			if err := tlsProfile(n.cfg.SSLCipherSuite, n.cfg.SSLProtocols, cfg); err != nil {
				ln.Close()
				n.closeListeners()
				return err
			}
			if s.kind == "proxy" {
				// Certificates and SNIs from the Admin API first.
				cfg = n.proxy.TLSConfig(cfg, certs)
			}
		}
		s.hl = newHTTPListener(coarseDeadlines{ln}, cfg, l.HTTP2, s.srv)
	}
	return nil
}

// listenerCertificates are the default certificates of a kind of ssl
// listener: ssl_cert/ssl_cert_key for the proxy when set, else one
// generated into the prefix, as Kong does.
func (n *Node) listenerCertificates(kind string) ([]tls.Certificate, error) {
	if kind == "proxy" && len(n.cfg.SSLCert) > 0 {
		if len(n.cfg.SSLCert) != len(n.cfg.SSLCertKey) {
			return nil, fmt.Errorf("ssl_cert lists %d certificates and ssl_cert_key %d keys", len(n.cfg.SSLCert), len(n.cfg.SSLCertKey))
		}
		var out []tls.Certificate
		for i := range n.cfg.SSLCert {
			c, err := tls.LoadX509KeyPair(n.cfg.SSLCert[i], n.cfg.SSLCertKey[i])
			if err != nil {
				return nil, fmt.Errorf("ssl_cert %s: %w", n.cfg.SSLCert[i], err)
			}
			out = append(out, c)
		}
		return out, nil
	}
	name := "kong-default"
	if kind == "admin" {
		name = "admin-kong-default"
	}
	cert, err := defaultCertificate(n.cfg.Path("ssl"), name)
	if err != nil {
		return nil, err
	}
	return []tls.Certificate{cert}, nil
}

func (n *Node) closeListeners() {
	for _, s := range n.servers {
		if s.hl != nil {
			s.hl.Close()
		}
	}
}

// serve runs every server until ctx is done or one fails.
func (n *Node) serve(ctx context.Context) error {
	errc := make(chan error, len(n.servers))
	for _, s := range n.servers {
		go func(s *server) {
			errc <- s.hl.Serve()
		}(s)
	}
	var err error
	select {
	case <-ctx.Done():
		n.log.Noticef("exiting: shutting down gracefully")
	case err = <-errc:
		n.log.Errorf("server failed: %v", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for _, s := range n.servers {
		if e := s.hl.Shutdown(sctx); e != nil && !errors.Is(e, context.DeadlineExceeded) {
			n.log.Warnf("shutting down %s listener: %v", s.kind, e)
		}
	}
	return err
}

func (n *Node) close() {
	if n.proxy != nil {
		n.proxy.Close()
	}
	if n.lua != nil {
		n.lua.Close()
	}
	for _, l := range n.access {
		if err := l.Close(); err != nil {
			n.log.Errorf("closing access log: %v", err)
		}
	}
	if err := n.store.Close(); err != nil {
		n.log.Errorf("closing the database: %v", err)
	}
}

func (n *Node) addrs(kind string) string {
	var out []string
	for _, s := range n.servers {
		if s.kind == kind && s.hl != nil {
			out = append(out, s.hl.Addr().String())
		}
	}
	if len(out) == 0 {
		return "off"
	}
	return strings.Join(out, ", ")
}

// AdminAddrs lists the bound Admin API addresses.
func (n *Node) AdminAddrs() string { return n.addrs("admin") }

// ProxyAddrs lists the bound proxy addresses.
func (n *Node) ProxyAddrs() string { return n.addrs("proxy") }

// serverStats reports Kong's /status server counters.
func (n *Node) serverStats() map[string]any {
	var open int32
	for _, s := range n.servers {
		open += s.srv.GetOpenConnectionsCount()
		if s.hl != nil {
			open += s.hl.H2Conns()
		}
	}
	total := n.requests.Load()
	return map[string]any{
		"connections_accepted": total,
		"connections_handled":  total,
		"connections_active":   open,
		"connections_reading":  0,
		"connections_writing":  open,
		"connections_waiting":  0,
		"total_requests":       total,
	}
}

// loadNodeID returns the node's persistent id, creating it on first start.
func loadNodeID(path string) (string, error) {
	if raw, err := os.ReadFile(path); err == nil {
		id := strings.TrimSpace(string(raw))
		if _, err := uuid.Parse(id); err == nil {
			return id, nil
		}
	}
	id := uuid.NewString()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("writing node id: %w", err)
	}
	return id, nil
}

// network binds IPv4 literals (Kong's 0.0.0.0) to IPv4 only, as nginx does,
// and lets names resolve to either family.
func network(host string) string {
	if ip := net.ParseIP(host); ip != nil {
		if ip.To4() != nil {
			return "tcp4"
		}
		return "tcp6"
	}
	return "tcp"
}
