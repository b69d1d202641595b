package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/proxy/balancer"
	"github.com/portico-gw/portico/proxy/router"
	"github.com/portico-gw/portico/store"
)

// snapshot is one immutable view of the configuration: the router, the
// services routes point to, the balancers and the certificates. Requests
// read it through an atomic pointer and never lock; a change builds a new
// one off the hot path.
type snapshot struct {
	router    *router.Router
	balancers *balancer.Set
	certs     *certStore
	// rewrite are the global plugins with a rewrite phase, run before
	// routing.
	rewrite []*instance
	// certificate are the global plugins with a certificate phase, run in
	// the TLS handshake.
	certificate []*instance
	// upstreams name the balancers' upstreams (health metrics).
	upstreams []balancer.Upstream
	// unrouted are the default workspace's global plugins, whose log
	// phase sees requests no route matched (nil without any).
	unrouted *chain
}

// protocols a route accepts, as a bit set.
type protoSet uint8

const (
	protoHTTP protoSet = 1 << iota
	protoHTTPS
	protoGRPC
	protoGRPCS
)

func parseProtocols(list []string) protoSet {
	var p protoSet
	for _, s := range list {
		switch s {
		case "http":
			p |= protoHTTP
		case "https":
			p |= protoHTTPS
		case "grpc":
			p |= protoGRPC
		case "grpcs":
			p |= protoGRPCS
		}
	}
	return p
}

// route is what a matched route carries to the handler (router.Route.Value).
type route struct {
	id, name, workspace string
	row                 store.Row
	protocols           protoSet
	stripPath           bool
	preserveHost        bool
	redirectStatus      int
	service             *service // nil: Kong's 503 no Service found
	plugins             *chain   // nil: no plugin applies
	// For log entries: the workspace's name and the row as JSON.
	workspaceName string
	encoded       lazyJSON
}

// service is a service as the forwarder needs it, with everything derived
// once per snapshot.
type service struct {
	id, name, workspace string
	row                 store.Row
	enabled             bool
	scheme              string // http or https
	host                string
	port                int
	path                string // "" when the service has none
	// hostHeader is the upstream Host when preserve_host is off: the host,
	// with the port unless it is the scheme's default, or the upstream's
	// host_header.
	hostHeader string
	retries    int
	timeouts   timeouts
	tlsVerify  bool
	// upstream is the balancer of the upstream the host names, nil when the
	// host is a plain name or address.
	upstream *balancer.Balancer
	// dns balances over a host name's addresses; nil for IP literals.
	dns *balancer.Balancer
	// dialAddr is host:port for IP literals (no balancer).
	dialAddr  string
	transport *transport
	// otherScheme is the transport for the other of http and https, for
	// plugins that change the scheme (kong.service.request.set_scheme).
	otherScheme *transport
	// encoded is the row as JSON, for log entries.
	encoded lazyJSON
}

type timeouts struct {
	connect, write, read time.Duration
}

func millis(r store.Row, field string, dflt int) time.Duration {
	return time.Duration(row.Int(r, field, dflt)) * time.Millisecond
}

// build turns stored rows into a snapshot. Routes that cannot be compiled
// are left out and reported; the rest route.
func (p *Proxy) build(c *config) (*snapshot, []error) {
	var errs []error
	var upList []balancer.Upstream
	targets := map[string][]store.Row{}
	for _, t := range c.rows("targets") {
		targets[ref(t, "upstream")] = append(targets[ref(t, "upstream")], t)
	}
	hostHeaders := map[string]string{} // workspace + "\x00" + upstream name → host_header
	for _, u := range c.rows("upstreams") {
		up := balancer.FromRows(u, targets[id(u)])
		upList = append(upList, up)
		hostHeaders[up.WorkspaceID+"\x00"+up.Name] = up.HostHeader
	}
	var hosts []string
	services := map[string]*service{}
	for _, s := range c.rows("services") {
		svc := p.newService(s, c, &errs)
		services[svc.id] = svc
		if _, isUpstream := hostHeaders[svc.workspace+"\x00"+svc.host]; !isUpstream && net.ParseIP(svc.host) == nil {
			hosts = append(hosts, net.JoinHostPort(svc.host, strconv.Itoa(svc.port)))
		}
	}
	set := p.balancers.Update(upList, hosts)
	for _, svc := range services {
		if b := set.Upstream(svc.workspace, svc.host); b != nil {
			svc.upstream = b
			if h := hostHeaders[svc.workspace+"\x00"+svc.host]; h != "" {
				svc.hostHeader = h
			}
		} else if ip := net.ParseIP(svc.host); ip != nil {
			svc.dialAddr = net.JoinHostPort(svc.host, strconv.Itoa(svc.port))
		} else {
			svc.dns = set.Host(net.JoinHostPort(svc.host, strconv.Itoa(svc.port)))
		}
	}
	chainFor, rewrite, certificate := p.buildPlugins(c, &errs)
	var routes []router.Route
	wsNames := workspaceNames(c)
	for _, r := range c.rows("routes") {
		rt := &route{
			row:            r,
			id:             id(r),
			name:           row.String(r, "name"),
			workspace:      workspace(r),
			protocols:      parseProtocols(row.Strings(r["protocols"])),
			stripPath:      row.Bool(r, "strip_path", true),
			preserveHost:   row.Bool(r, "preserve_host", false),
			redirectStatus: row.Int(r, "https_redirect_status_code", 426),
		}
		rt.workspaceName = wsNames[rt.workspace]
		if sid := ref(r, "service"); sid != "" {
			rt.service = services[sid]
		}
		rt.plugins = chainFor(rt)
		routes = append(routes, router.Route{
			ID:            rt.id,
			Name:          rt.name,
			WorkspaceID:   rt.workspace,
			Protocols:     row.Strings(r["protocols"]),
			Methods:       row.Strings(r["methods"]),
			Hosts:         row.Strings(r["hosts"]),
			Paths:         row.Strings(r["paths"]),
			Headers:       headerMap(r["headers"]),
			SNIs:          row.Strings(r["snis"]),
			RegexPriority: row.Int(r, "regex_priority", 0),
			CreatedAt:     int64(row.Number(r["created_at"], 0)),
			Value:         rt,
		})
	}
	rtr, rerrs := router.Build(routes)
	errs = append(errs, rerrs...)
	certs, cerrs := p.certs.build(c)
	errs = append(errs, cerrs...)
	snap := &snapshot{router: rtr, balancers: set, certs: certs, rewrite: rewrite, certificate: certificate, upstreams: upList}
	if ch := chainFor(&route{workspace: defaultWorkspace(wsNames)}); ch != nil && ch.hasLog {
		snap.unrouted = ch
	}
	return snap, errs
}

func headerMap(v any) map[string][]string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, vals := range m {
		out[k] = row.Strings(vals)
	}
	return out
}

// newService derives a service's forwarding settings from its row.
func (p *Proxy) newService(s store.Row, c *config, errs *[]error) *service {
	svc := &service{
		row:       s,
		id:        id(s),
		name:      row.String(s, "name"),
		workspace: workspace(s),
		enabled:   row.Bool(s, "enabled", true),
		scheme:    row.String(s, "protocol"),
		host:      row.String(s, "host"),
		port:      row.Int(s, "port", 80),
		path:      row.String(s, "path"),
		retries:   row.Int(s, "retries", 5),
		timeouts: timeouts{
			connect: millis(s, "connect_timeout", 60000),
			write:   millis(s, "write_timeout", 60000),
			read:    millis(s, "read_timeout", 60000),
		},
		tlsVerify: row.Bool(s, "tls_verify", false),
	}
	if svc.scheme != "https" && svc.scheme != "grpcs" {
		svc.scheme = "http"
	} else {
		svc.scheme = "https"
	}
	svc.hostHeader = svc.host
	if !(svc.scheme == "http" && svc.port == 80) && !(svc.scheme == "https" && svc.port == 443) {
		svc.hostHeader = net.JoinHostPort(svc.host, strconv.Itoa(svc.port))
	}
	cas := row.Strings(s["ca_certificates"])
	key := transportKey{
		scheme:      svc.scheme,
		timeouts:    svc.timeouts,
		verify:      svc.tlsVerify,
		verifyDepth: row.Int(s, "tls_verify_depth", defaultVerifyDepth),
		caIDs:       strings.Join(cas, ","),
		clientCert:  ref(s, "client_certificate"),
	}
	svc.transport = p.transports.get(key, func() *tls.Config { return upstreamTLS(key, cas, c, errs) })
	other := key
	other.scheme = map[string]string{"http": "https", "https": "http"}[key.scheme]
	svc.otherScheme = p.transports.get(other, func() *tls.Config { return upstreamTLS(other, cas, c, errs) })
	return svc
}

// describe names a route for logs.
func (r *route) describe() string {
	if r.name != "" {
		return fmt.Sprintf("route %s (%s)", r.name, r.id)
	}
	return "route " + r.id
}

// defaultVerifyDepth is nginx's proxy_ssl_verify_depth, which Kong uses
// when a service sets no tls_verify_depth.
const defaultVerifyDepth = 1

// upstreamTLS builds the TLS client configuration of a service's
// connections: verification (tls_verify, tls_verify_depth) against its
// ca_certificates or the system's roots, and its client_certificate.
// Problems are reported; the service then fails its TLS handshakes rather
// than silently trusting anything.
func upstreamTLS(k transportKey, caIDs []string, c *config, errs *[]error) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}
	var roots *x509.CertPool
	if len(caIDs) > 0 {
		roots = x509.NewCertPool()
		byID := map[string]store.Row{}
		for _, r := range c.rows("ca_certificates") {
			byID[id(r)] = r
		}
		for _, caID := range caIDs {
			r, ok := byID[caID]
			if !ok || !roots.AppendCertsFromPEM([]byte(row.String(r, "cert"))) {
				*errs = append(*errs, fmt.Errorf("ca_certificate %s: missing or unreadable", caID))
			}
		}
	}
	if k.clientCert != "" {
		for _, r := range c.rows("certificates") {
			if id(r) != k.clientCert {
				continue
			}
			pair, err := tls.X509KeyPair([]byte(row.String(r, "cert")), []byte(row.String(r, "key")))
			if err != nil {
				*errs = append(*errs, fmt.Errorf("client_certificate %s: %w", k.clientCert, err))
				continue
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
	}
	if k.verify {
		// Verification is done here rather than by crypto/tls so that the
		// depth limit applies; the server name is checked too.
		depth := k.verifyDepth
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyChain(cs, roots, depth)
		}
	}
	return cfg
}

// verifyChain checks the peer's chain against roots (nil: the system's)
// and the server name, and refuses chains longer than depth intermediate
// and root certificates above the peer's, as nginx's verify depth.
func verifyChain(cs tls.ConnectionState, roots *x509.CertPool, depth int) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("upstream sent no certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, DNSName: cs.ServerName, Intermediates: x509.NewCertPool()}
	for _, ic := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(ic)
	}
	chains, err := cs.PeerCertificates[0].Verify(opts)
	if err != nil {
		return err
	}
	for _, chain := range chains {
		if len(chain)-1 <= depth {
			return nil
		}
	}
	return fmt.Errorf("upstream certificate chain is longer than tls_verify_depth %d", depth)
}
