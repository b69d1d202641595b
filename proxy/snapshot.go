package proxy

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

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
	version   uint64
	builtAt   time.Time
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
	protocols           protoSet
	stripPath           bool
	preserveHost        bool
	redirectStatus      int
	service             *service // nil: Kong's 503 no Service found
}

// service is a service as the forwarder needs it, with everything derived
// once per snapshot.
type service struct {
	id, name, workspace string
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
}

type timeouts struct {
	connect, write, read time.Duration
}

func millis(r store.Row, field string, dflt int) time.Duration {
	return time.Duration(integer(r, field, dflt)) * time.Millisecond
}

// build turns stored rows into a snapshot. Routes that cannot be compiled
// are left out and reported; the rest route.
func (p *Proxy) build(c *config, version uint64) (*snapshot, []error) {
	var errs []error
	ups := map[string]*balancer.Upstream{} // by id
	var upList []balancer.Upstream
	targets := map[string][]store.Row{}
	for _, t := range c.rows("targets") {
		targets[ref(t, "upstream")] = append(targets[ref(t, "upstream")], t)
	}
	upByName := map[string]string{} // workspace + "\x00" + name → id
	for _, u := range c.rows("upstreams") {
		upList = append(upList, balancer.FromRows(u, targets[id(u)]))
		upByName[workspace(u)+"\x00"+str(u, "name")] = id(u)
	}
	var hosts []string
	services := map[string]*service{}
	for _, s := range c.rows("services") {
		svc := p.newService(s)
		services[svc.id] = svc
		if _, isUpstream := upByName[svc.workspace+"\x00"+svc.host]; !isUpstream && net.ParseIP(svc.host) == nil {
			hosts = append(hosts, net.JoinHostPort(svc.host, strconv.Itoa(svc.port)))
		}
	}
	set := p.balancers.Update(upList, hosts)
	for _, svc := range services {
		if b := set.Upstream(svc.workspace, svc.host); b != nil {
			svc.upstream = b
			for _, u := range upList {
				if u.WorkspaceID == svc.workspace && u.Name == svc.host && u.HostHeader != "" {
					svc.hostHeader = u.HostHeader
				}
			}
		} else if ip := net.ParseIP(svc.host); ip != nil {
			svc.dialAddr = net.JoinHostPort(svc.host, strconv.Itoa(svc.port))
		} else {
			svc.dns = set.Host(net.JoinHostPort(svc.host, strconv.Itoa(svc.port)))
		}
	}
	_ = ups

	var routes []router.Route
	for _, r := range c.rows("routes") {
		rt := &route{
			id:             id(r),
			name:           str(r, "name"),
			workspace:      workspace(r),
			protocols:      parseProtocols(stringList(r, "protocols")),
			stripPath:      boolean(r, "strip_path", true),
			preserveHost:   boolean(r, "preserve_host", false),
			redirectStatus: integer(r, "https_redirect_status_code", 426),
		}
		if sid := ref(r, "service"); sid != "" {
			rt.service = services[sid]
		}
		routes = append(routes, router.Route{
			ID:            rt.id,
			Name:          rt.name,
			WorkspaceID:   rt.workspace,
			Protocols:     stringList(r, "protocols"),
			Methods:       stringList(r, "methods"),
			Hosts:         stringList(r, "hosts"),
			Paths:         stringList(r, "paths"),
			Headers:       headerMap(r["headers"]),
			SNIs:          stringList(r, "snis"),
			RegexPriority: integer(r, "regex_priority", 0),
			CreatedAt:     int64(number(r, "created_at")),
			Value:         rt,
		})
	}
	rtr, rerrs := router.Build(routes)
	errs = append(errs, rerrs...)
	certs, cerrs := p.certs.build(c)
	errs = append(errs, cerrs...)
	return &snapshot{router: rtr, balancers: set, certs: certs, version: version, builtAt: time.Now()}, errs
}

func headerMap(v any) map[string][]string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, vals := range m {
		out[k] = stringList(map[string]any{"v": vals}, "v")
	}
	return out
}

// newService derives a service's forwarding settings from its row.
func (p *Proxy) newService(s store.Row) *service {
	svc := &service{
		id:        id(s),
		name:      str(s, "name"),
		workspace: workspace(s),
		enabled:   boolean(s, "enabled", true),
		scheme:    str(s, "protocol"),
		host:      str(s, "host"),
		port:      integer(s, "port", 80),
		path:      str(s, "path"),
		retries:   integer(s, "retries", 5),
		timeouts: timeouts{
			connect: millis(s, "connect_timeout", 60000),
			write:   millis(s, "write_timeout", 60000),
			read:    millis(s, "read_timeout", 60000),
		},
		tlsVerify: boolean(s, "tls_verify", false),
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
	svc.transport = p.transports.get(transportKey{
		scheme:   svc.scheme,
		timeouts: svc.timeouts,
		verify:   svc.tlsVerify,
		sni:      strings.ToLower(svc.host),
	})
	return svc
}

// describe names a route for logs.
func (r *route) describe() string {
	if r.name != "" {
		return fmt.Sprintf("route %s (%s)", r.name, r.id)
	}
	return "route " + r.id
}
