// Package router is Kong's HTTP router (the traditional_compatible flavor of
// Kong 3.9): routes compiled once into an immutable Router, matched per
// request without locks or allocations, and Kong's upstream URI rules.
//
// Lifecycle: Build compiles a snapshot of the routes into a Router, which is
// never changed afterwards; a new snapshot means a new Router, swapped in by
// the caller. Many goroutines may call Router.Match at once, each with its
// own Match, which owns the buffers a request needs (the path, captures), so
// that steady-state matching allocates nothing.
//
// Kong: kong/router/transform.lua (expressions and priorities),
// kong/router/atc.lua (matching, captures, upstream URI),
// kong/router/utils.lua (path handling v0), kong/tools/uri.lua
// (normalisation and escaping).
package router

import (
	"fmt"
	"slices"
)

// Route is one route's matching rules, read from a routes row. Only routes
// with an HTTP-family protocol (http, https, grpc, grpcs) are routed here.
type Route struct {
	ID          string
	Name        string
	WorkspaceID string
	// Protocols as stored; the proxy checks them after a match (Kong's 426
	// and redirects), the router does not filter on them except that routes
	// with none of http, https, grpc, grpcs are left out.
	Protocols []string
	Methods   []string
	Hosts     []string // exact, "*.example.com", "example.*", optional ":port"
	Paths     []string // prefix, or "~regex"
	// Headers: name (any case, "_" read as "-") → values; a value "~*re" is
	// a case-insensitive regex, unanchored.
	Headers       map[string][]string
	SNIs          []string // as hosts, without ports; ignored on http
	RegexPriority int
	// CreatedAt is not used for ordering: Kong 3.9's traditional_compatible
	// flavor breaks priority ties by route id (see before).
	CreatedAt int64
	// Value is the caller's own data (service, flags), handed back by Match.
	Value any
}

// HeaderSource gives request header values by name (fasthttp's
// *RequestHeader satisfies it). Peek returns nil when absent. A source that
// also has PeekAll(key string) [][]byte, as fasthttp's does, lets every value
// of a repeated header match, as in Kong; otherwise only the first does.
type HeaderSource interface {
	Peek(key string) []byte
}

// Request is what the router looks at.
type Request struct {
	Method []byte
	Host   []byte // the Host header as sent, port included if any
	Path   []byte // the raw path, without the query string
	Scheme string // "http" or "https" (grpcs is "https", as nginx's $scheme)
	SNI    string // TLS server name ("" on plain connections)
	// Port is the port the client connected to (Kong: after port_maps); a
	// host:port route compares it when the Host header carries no port.
	Port    int
	Headers HeaderSource
}

// Router is a compiled, immutable set of routes. It is safe for concurrent
// use.
type Router struct {
	routes  []Route
	n       int     // routes compiled
	entries []entry // matchers in the order Kong tries them
	exact   map[string]*bucket
	suffix  map[string]*bucket // key ".example.com" for "*.example.com"
	prefix  map[string]*bucket // key "example." for "example.*"
	noHost  bucket
	// Kong's ATC router refuses a request whose path or host is not UTF-8
	// when some route reads that field (see Match).
	usesPaths, usesHosts bool
}

// Build compiles routes into an immutable Router. A route that cannot be
// compiled (a bad regex, no matching field) is left out and reported in
// errs, wrapped with the route's id; the others still route. Routes whose
// protocols include none of http, https, grpc, grpcs are skipped silently.
// Build copies the Route values; Match hands back pointers to the copies.
func Build(routes []Route) (r *Router, errs []error) {
	r = &Router{
		routes: append([]Route(nil), routes...),
		exact:  map[string]*bucket{},
		suffix: map[string]*bucket{},
		prefix: map[string]*bucket{},
	}
	for i := range r.routes {
		route := &r.routes[i]
		if !routable(route) {
			continue
		}
		entries, err := compileRoute(route)
		if err != nil {
			errs = append(errs, fmt.Errorf("building route %s: %w", route.ID, err))
			continue
		}
		r.n++
		r.entries = append(r.entries, entries...)
		r.usesPaths = r.usesPaths || len(route.Paths) > 0
		r.usesHosts = r.usesHosts || len(route.Hosts) > 0
	}
	r.entries = inKongOrder(r.entries)
	for i := range r.entries {
		r.index(int32(i), &r.entries[i])
	}
	return r, errs
}

// inKongOrder returns the matchers sorted by before (an index sort: entries
// are large to move).
func inKongOrder(entries []entry) []entry {
	order := make([]int32, len(entries))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int {
		switch {
		case before(&entries[a], &entries[b]):
			return -1
		case before(&entries[b], &entries[a]):
			return 1
		}
		return 0
	})
	sorted := make([]entry, len(entries))
	for i, j := range order {
		sorted[i] = entries[j]
	}
	return sorted
}

// index files a matcher under its host keys.
func (r *Router) index(rank int32, e *entry) {
	if len(e.hosts) == 0 {
		r.noHost.add(rank, e)
		return
	}
	for _, h := range e.hosts {
		buckets := r.exact
		switch h.kind {
		case nameSuffix:
			buckets = r.suffix
		case namePrefix:
			buckets = r.prefix
		}
		b := buckets[h.value]
		if b == nil {
			b = &bucket{}
			buckets[h.value] = b
		}
		b.add(rank, e)
	}
}

// Len returns how many routes the Router matches.
func (r *Router) Len() int { return r.n }
