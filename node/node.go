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
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/admin"
	"github.com/portico-gw/portico/conf"
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/eventhooks"
	"github.com/portico-gw/portico/eventhooks/delivery"
	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/logger"
	"github.com/portico-gw/portico/luavm"
	"github.com/portico-gw/portico/plugins"
	luaplugins "github.com/portico-gw/portico/plugins/lua"
	"github.com/portico-gw/portico/proxy"
	"github.com/portico-gw/portico/proxy/balancer"
	"github.com/portico-gw/portico/rbac"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/status"
	"github.com/portico-gw/portico/store"
	"github.com/portico-gw/portico/store/badger"
)

// Version is Portico's own version.
const Version = "0.1.0"

// shutdownTimeout bounds how long in-flight requests may take to finish.
const shutdownTimeout = 10 * time.Second

// Node is a running gateway.
type Node struct {
	lookups *db.Lookups
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
	// luaPlugins runs Lua plugins, pre-function and post-function.
	luaPlugins *luaplugins.Host
	// webhookCustom renders webhook-custom templates; closed after the
	// hooks stop.
	webhookCustom *handler.WebhookCustom
	pluginEvents  *pluginEvents // events plugins emit; nil with event hooks off
	metrics       *prometheus.Registry
	status        *status.API
	// routing is set once every listener serves: the node is ready.
	routing atomic.Bool
	// logs are the node's open log files, reopened by ReopenLogs.
	logs []reopener
	// dbless is Kong's DB-less mode (database = off).
	dbless bool
	// sessions are Portico Manager's login sessions, kept in the store
	// (swept of expired ones while serving); nil without a login.
	sessions *rbac.Sessions
	// forced ends a graceful shutdown at once (ForceStop).
	forced     chan struct{}
	forcedOnce sync.Once
}

type server struct {
	kind  string // "admin", "proxy", "status" or "admin_gui"
	spec  conf.Listener
	srv   *fasthttp.Server
	hl    *httpListener // bound by listen: HTTP/1.x to srv, HTTP/2 beside it
	conns *status.Connections
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
	case "off":
		return nil, errors.New("database = off keeps the configuration in memory: there is no database to open")
	}
	return nil, fmt.Errorf("database %q is not available in this build", cfg.Database)
}

// openDatabase opens and, when new, bootstraps the configured database.
func openDatabase(ctx context.Context, cfg *conf.Config, reg *schema.Registry, log *logger.Logger) (store.Store, error) {
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
	return st, nil
}

// Bootstrap prepares the store (`portico migrations bootstrap`).
func Bootstrap(ctx context.Context, cfg *conf.Config, _ []conf.Notice) error {
	return withStore(ctx, cfg, func(_ *db.DB, log *logger.Logger) error {
		log.Noticef("database bootstrapped in %s", cfg.DataDir())
		return nil
	})
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
	if pid, alive := readPID(cfg.PIDFile()); alive {
		return fmt.Errorf("Portico is already running in %s (pid %d)", cfg.Prefix, pid)
	}
	if err := Prepare(cfg, nil); err != nil {
		return fmt.Errorf("preparing the prefix %s: %w", cfg.Prefix, err)
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
	// The pid file goes last, once the store is closed: `portico restart`
	// and `portico stop` take its removal as the sign that a new node may
	// open the store.
	pidWritten := false
	defer func() {
		n.close()
		if pidWritten {
			os.Remove(cfg.PIDFile())
		}
	}()
	if err := n.listen(); err != nil {
		log.Errorf("%v", err)
		return err
	}
	if err := writePID(cfg.PIDFile()); err != nil {
		return err
	}
	pidWritten = true
	if n.hooks != nil {
		if err := n.hooks.Start(ctx); err != nil {
			log.Errorf("starting event hooks: %v", err)
			return err
		}
		// serve stops them, within the shutdown's deadline.
	}
	log.Noticef("Portico %s started (admin %s, proxy %s, status %s, manager %s)", Version, n.AdminAddrs(), n.ProxyAddrs(),
		n.StatusAddrs(), n.ManagerAddrs())
	if ready != nil {
		ready(n)
	}
	return n.serve(ctx)
}

func open(ctx context.Context, cfg *conf.Config, log, adminLog *logger.Logger) (*Node, error) {
	reg, enabled, luaHost, err := buildCatalog(cfg, log)
	if err != nil {
		return nil, err
	}
	dbless := cfg.Database == "off"
	var st store.Store
	var config *dblessConfig
	if dbless {
		noticeDBless(cfg, log)
		if config, err = openDBless(ctx, cfg, reg, log); err != nil {
			return nil, err
		}
		st = config.store
	} else {
		noticeDeclarative(cfg, log)
		if st, err = openDatabase(ctx, cfg, reg, log); err != nil {
			return nil, err
		}
	}
	n := &Node{cfg: cfg, log: log, store: st, luaPlugins: luaHost, bus: &events.Bus{}, metrics: prometheus.NewRegistry(), forced: make(chan struct{})}
	// DB-less: the Admin API reads the configuration; it changes only as a
	// whole, through POST /config.
	n.db = db.New(reg, st, db.Options{Bus: n.bus, CacheSize: cfg.MemCacheSize, ReadOnly: dbless})
	// What plugins read at request time (credentials, consumers): one
	// entry per kilobyte of mem_cache_size.
	n.lookups = db.NewLookups(n.db, int(cfg.MemCacheSize/1024))
	registerCacheMetrics(n.metrics, n.db)
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
	handler.InstallValidation(reg, vm)
	// Event hooks need a database (Kong documents them for traditional
	// deployments): a DB-less node runs none (noticeDBless).
	if cfg.EventHooksEnabled && !dbless {
		webhook := handler.NewWebhook(handler.WebhookOptions{
			ConnectTimeout: cfg.EventHooksConnectTimeout,
			ReadTimeout:    cfg.EventHooksReadTimeout,
			UserAgent:      "Portico/" + Version + " (event hooks)",
			DenyPrivate:    cfg.EventHooksDenyPrivate,
		})
		n.webhookCustom = handler.NewWebhookCustom(vm, webhook)
		n.hooks = eventhooks.New(eventhooks.Options{
			DB:  n.db,
			Bus: n.bus,
			Handlers: map[string]handler.Handler{
				"webhook":        webhook,
				"webhook-custom": n.webhookCustom,
				"log":            handler.NewLog(log, os.Getpid()),
				"lambda":         handler.NewLambda(vm, log, os.Getpid()),
			},
			Policy: delivery.Policy{
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
		n.pluginEvents = publishPluginEvents(n.hooks, enabled, log)
	}
	var pluginEvents plugins.Events
	if n.pluginEvents != nil {
		pluginEvents = n.pluginEvents
	}
	nodeID, err := loadNodeID(cfg.Path("node_id"))
	if err != nil {
		st.Close()
		return nil, err
	}
	if !dbless {
		if err := seed(ctx, n.db); err != nil {
			st.Close()
			return nil, err
		}
	}
	var guard *rbac.Authenticator
	// Kong disables RBAC in DB-less mode (noticeDBless).
	if cfg.EnforceRBAC != "off" && !dbless {
		guard = rbac.New(n.db, n.bus)
	}
	session, err := n.managerSession(ctx, cfg, log, guard)
	if err != nil {
		st.Close()
		return nil, err
	}
	px, err := proxy.New(proxy.Options{
		ServerTokens:         cfg.KongServerTokens(),
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
		Plugins:              enabled,
		Data:                 n.lookups,
		Metrics:              n.metrics,
		NodeID:               nodeID,
		Hostname:             hostname(),
		Events:               pluginEvents,
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
	var configHash func() string
	if dbless {
		config.serve(n.db, n.lookups, px)
		configHash = config.Hash
		n.dbless = true
	}
	reporter := status.NewReporter(status.Options{
		ConfigurationHash: configHash,
		Servers:           n.connections,
		Reachable: func(ctx context.Context) error {
			return st.View(ctx, func(store.Tx) error { return nil })
		},
		PID: os.Getpid(),
		Lua: vm,
	})
	if err := n.metrics.Register(status.NewCollector(reporter, nodeID, cfg.KongVersion)); err != nil {
		st.Close()
		return nil, fmt.Errorf("registering the status metrics: %w", err)
	}
	metrics := promhttp.HandlerFor(n.metrics, promhttp.HandlerOpts{})
	n.status = status.NewAPI(status.APIOptions{
		Reporter: reporter,
		Routing:  n.routing.Load,
		Metrics:  metrics,
		Log:      log.Noticef,
	})
	hostname, _ := os.Hostname()
	var infos []admin.PluginInfo
	for _, p := range enabled.All() {
		// Kong's own plugins report the node's version (VERSION =
		// kong_meta.version), four numbers in Kong Enterprise.
		v := p.Version
		if v == "" {
			v = cfg.KongVersion
		}
		infos = append(infos, admin.PluginInfo{Name: p.Name, Version: v, Priority: p.Priority})
	}
	api := admin.New(admin.Options{
		DB:      n.db,
		Plugins: infos,
		Log:     adminLog,
		Node: admin.NodeInfo{
			KongVersion:    cfg.KongVersion,
			Edition:        cfg.KongEdition(),
			ServerTokens:   cfg.KongServerTokens(),
			PorticoVersion: Version,
			Hostname:       hostname,
			NodeID:         nodeID,
			PID:            os.Getpid(),
			Configuration:  cfg.KongConfiguration(),
		},
		Status:     reporter.Body,
		Balancers:  px.Balancers(),
		EventHooks: n.hooks,
		RBAC:       guard,
		RBACHeader: cfg.RBACAuthHeader,
		Session:    session,
		Metrics:    metrics,
		Registry:   enabled,
		Config:     config.manager(),
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
		s := n.newServer("admin", l, withAccessLog(api.Handler(), adminAccess, cfg.RBACAuthHeader), readBuffer)
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
		s := n.newServer("proxy", l, withAccessLog(px.Handler(), proxyAccess), readBuffer)
		// Bodies are streamed to the upstream: client_body_buffer_size is
		// read ahead, the rest flows through (client_max_body_size is
		// enforced by the proxy with Kong's 413).
		s.srv.StreamRequestBody = true
		s.srv.MaxRequestBodySize = int(cfg.ClientBodyBufferSize)
		s.srv.DisablePreParseMultipartForm = true
		n.servers = append(n.servers, s)
	}
	if len(cfg.AdminGUIListen) > 0 {
		ui := n.newManager(cfg, session.Sessions != nil)
		for _, l := range cfg.AdminGUIListen {
			// Kong's admin_gui_access_log is not supported: the UI serves
			// only static files; what it does shows in the Admin API's log.
			s := n.newServer("admin_gui", l, ui.Handler, readBuffer)
			s.srv.MaxRequestBodySize = 64 << 10
			n.servers = append(n.servers, s)
		}
	}
	for _, l := range cfg.StatusListen {
		// Kong's status_access_log is off by default: no access log here.
		s := n.newServer("status", l, n.status.Handler, readBuffer)
		s.srv.MaxRequestBodySize = 64 << 10
		n.servers = append(n.servers, s)
	}
	n.logs = []reopener{log, adminAccess, proxyAccess}
	if adminLog != log {
		n.logs = append(n.logs, adminLog)
	}
	return n, nil
}

// publishHealth turns a target's health transition into Kong's balancer
// health event for event hooks. It runs off the health checker's goroutine:
// recording the event is a durable write.
func (n *Node) publishHealth(ev balancer.HealthEvent) {
	n.log.Noticef("[healthcheck] (%s) %s target %s:%d (%s)", ev.UpstreamName, ev.Health, ev.IP, ev.Port, ev.Hostname)
	if n.pluginEvents == nil {
		return
	}
	n.pluginEvents.Emit(eventhooks.SourceBalancer, eventhooks.EventHealth, map[string]any{
		"upstream_id": ev.UpstreamID,
		"ip":          ev.IP,
		"port":        ev.Port,
		"hostname":    ev.Hostname,
		"health":      ev.Health,
	})
}

// newServer prepares a server whose connections and requests are counted
// for GET /status.
func (n *Node) newServer(kind string, l conf.Listener, h fasthttp.RequestHandler, readBuffer int) *server {
	conns := &status.Connections{}
	srv := &fasthttp.Server{
		Handler:               conns.Handler(h),
		ConnState:             conns.ConnState,
		Name:                  n.cfg.KongServerTokens(),
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
	return &server{kind: kind, spec: l, srv: srv, conns: conns}
}

// connections lists every server's counters.
func (n *Node) connections() []*status.Connections {
	out := make([]*status.Connections, len(n.servers))
	for i, s := range n.servers {
		out[i] = s.conns
	}
	return out
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
		s.srv.ErrorHandler = s.conns.ErrorHandler(s.srv.ErrorHandler)
		s.hl = newHTTPListener(coarseDeadlines{s.conns.Listener(ln)}, cfg, l.HTTP2, s.srv)
		s.conns.H2Conns = s.hl.H2Conns
	}
	return nil
}

// listenerCertificates are the default certificates of a kind of ssl
// listener: its setting's files when set (ssl_cert for the proxy,
// admin_ssl_cert, status_ssl_cert, admin_gui_ssl_cert), else one generated
// into the prefix, as Kong does.
func (n *Node) listenerCertificates(kind string) ([]tls.Certificate, error) {
	if certs, keys, setting := listenerCertFiles(n.cfg, kind); len(certs) > 0 {
		if len(certs) != len(keys) {
			return nil, fmt.Errorf("%s lists %d certificates and %s_key %d keys", setting, len(certs), setting, len(keys))
		}
		var out []tls.Certificate
		for i := range certs {
			c, err := tls.LoadX509KeyPair(certs[i], keys[i])
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", setting, certs[i], err)
			}
			out = append(out, c)
		}
		return out, nil
	}
	cert, err := defaultCertificate(n.cfg.Path("ssl"), defaultCertName(kind))
	if err != nil {
		return nil, err
	}
	return []tls.Certificate{cert}, nil
}

// listenerCertFiles are the certificate and key files configured for a
// kind of listener ("proxy", "admin", "status", "admin_gui"), with the
// name of the setting, or none when Portico generates them.
func listenerCertFiles(cfg *conf.Config, kind string) (certs, keys []string, setting string) {
	switch kind {
	case "proxy":
		return cfg.SSLCert, cfg.SSLCertKey, "ssl_cert"
	case "admin":
		return cfg.AdminSSLCert, cfg.AdminSSLCertKey, "admin_ssl_cert"
	case "status":
		return cfg.StatusSSLCert, cfg.StatusSSLCertKey, "status_ssl_cert"
	case "admin_gui":
		return cfg.AdminGUISSLCert, cfg.AdminGUISSLCertKey, "admin_gui_ssl_cert"
	}
	return nil, nil, ""
}

// defaultCertName is Kong's file name, under ssl/, of a kind of listener's
// generated certificate: kong-default, admin-kong-default,
// status-kong-default.
func defaultCertName(kind string) string {
	switch kind {
	case "proxy":
		return "kong-default"
	case "admin_gui":
		return "admin-gui-kong-default"
	}
	return kind + "-kong-default"
}

func (n *Node) closeListeners() {
	for _, s := range n.servers {
		if s.hl != nil {
			s.hl.Close()
		}
	}
}

// expirySweepInterval is how often expired rows of TTL entities are deleted.
const expirySweepInterval = time.Minute

// serve runs every server until ctx is done or one fails.
func (n *Node) serve(ctx context.Context) error {
	errc := make(chan error, len(n.servers))
	for _, s := range n.servers {
		go func(s *server) {
			errc <- s.hl.Serve()
		}(s)
	}
	n.routing.Store(true)
	// Expired credentials (key-auth ttl) are deleted as Kong's ttl cleanup does.
	sweep, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	// DB-less: expired rows are never served, and nothing is written.
	if !n.dbless {
		go n.db.ExpirySweeper(sweep, expirySweepInterval, func(format string, args ...any) { n.log.Warnf(format, args...) })
		if n.sessions != nil {
			go n.sessions.Sweeper(sweep, expirySweepInterval, func(format string, args ...any) { n.log.Warnf(format, args...) })
		}
	}
	var err error
	select {
	case <-ctx.Done():
		n.log.Noticef("exiting: shutting down gracefully")
	case err = <-errc:
		n.log.Errorf("server failed: %v", err)
	}
	n.routing.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	go func() {
		select {
		case <-n.forced:
			n.log.Noticef("exiting: forced, requests in flight are cut")
			cancel()
		case <-sctx.Done():
		}
	}()
	// Every server stops at once, so that the slowest request bounds the
	// shutdown, not the sum of them.
	var wg sync.WaitGroup
	for _, s := range n.servers {
		wg.Add(1)
		go func(s *server) {
			defer wg.Done()
			if e := s.hl.Shutdown(sctx); e != nil && !errors.Is(e, context.DeadlineExceeded) && !errors.Is(e, context.Canceled) {
				n.log.Warnf("shutting down %s listener: %v", s.kind, e)
			}
		}(s)
	}
	wg.Wait()
	n.stopHooks(sctx)
	return err
}

// hooksGrace is the least time event hooks get to finish their attempts in
// flight, even when the servers used the whole shutdown deadline.
const hooksGrace = time.Second

// stopHooks stops event hook delivery once no request can emit events any
// more. An attempt in flight may run for event_hooks_connect_timeout +
// event_hooks_read_timeout (21 s by default): waiting for it after the
// servers' own 10 s is what made a stop take 30 s. It is given what is left
// of the shutdown deadline (at least hooksGrace); a delivery still running
// then stays pending in the store and is made again at the next start.
func (n *Node) stopHooks(sctx context.Context) {
	if n.hooks == nil {
		return
	}
	n.pluginEvents.close()
	done := make(chan struct{})
	go func() {
		n.hooks.Stop()
		close(done)
	}()
	grace := time.NewTimer(hooksGrace)
	defer grace.Stop()
	select {
	case <-done:
		return
	case <-n.forced:
	case <-sctx.Done():
		select {
		case <-done:
			return
		case <-n.forced:
		case <-grace.C:
		}
	}
	n.log.Warnf("event hooks: deliveries still in flight at the shutdown deadline stay pending; they are made again at the next start")
}

// ForceStop ends a graceful shutdown at once: requests still in flight are
// cut. It may be called more than once, before or during the shutdown.
func (n *Node) ForceStop() { n.forcedOnce.Do(func() { close(n.forced) }) }

func (n *Node) close() {
	if n.proxy != nil {
		n.proxy.Close()
	}
	if n.webhookCustom != nil {
		n.webhookCustom.Close()
	}
	if n.lua != nil {
		n.lua.Close()
	}
	if n.luaPlugins != nil {
		n.luaPlugins.Close()
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

// ManagerAddrs lists the bound Portico Manager (admin_gui_listen) addresses.
func (n *Node) ManagerAddrs() string { return n.addrs("admin_gui") }

// StatusAddrs lists the bound Status API addresses.
func (n *Node) StatusAddrs() string { return n.addrs("status") }

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

// hostname is the machine's name for kong.node.get_hostname ("" when the
// system cannot tell).
func hostname() string {
	h, _ := os.Hostname()
	return h
}

// registerCacheMetrics exports the entity cache's figures (mem_cache_size).
func registerCacheMetrics(reg *prometheus.Registry, d *db.DB) {
	counter := func(name, help string, v func(db.CacheStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v(d.CacheStats())) })
	}
	reg.MustRegister(
		counter("portico_entity_cache_hits_total", "Entity reads answered by the cache (mem_cache_size).",
			func(s db.CacheStats) uint64 { return s.Hits }),
		counter("portico_entity_cache_misses_total", "Entity reads that went to the store.",
			func(s db.CacheStats) uint64 { return s.Misses }),
		counter("portico_entity_cache_evictions_total", "Cached entities dropped to stay within mem_cache_size.",
			func(s db.CacheStats) uint64 { return s.Evictions }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "portico_entity_cache_bytes", Help: "Bytes held by the entity cache."},
			func() float64 { return float64(d.CacheStats().Bytes) }),
	)
}
