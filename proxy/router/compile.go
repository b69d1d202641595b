package router

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// entry is one matcher: a route with one of its path groups (Kong splits a
// route whose paths have several priorities into several matchers).
type entry struct {
	route   *Route
	prio    uint64
	id      string // Kong's matcher id, lowercased: the tie-break
	methods []string
	hosts   []namePattern
	snis    []namePattern
	headers []headerCond
	// The path condition: plain prefixes of one length, or regexes with the
	// literal text each must start with (for the index). Both nil: no paths.
	prefixes []string
	regexes  []*regexp.Regexp
	literals []string
}

// headerCond is one header name of a route: any of its values matches.
type headerCond struct {
	name    string // canonical form for HeaderSource.Peek ("x-version")
	values  []string
	regexes []*regexp.Regexp
}

// routable reports whether the route belongs to the HTTP router: Kong's
// default protocols (none stored) are http and https.
func routable(r *Route) bool {
	if len(r.Protocols) == 0 {
		return true
	}
	for _, p := range r.Protocols {
		switch p {
		case "http", "https", "grpc", "grpcs":
			return true
		}
	}
	return false
}

var errNoFields = errors.New("none of methods, hosts, headers, snis, paths is set")

// compileRoute turns a route into its matchers, in no particular order.
func compileRoute(r *Route) ([]entry, error) {
	if len(r.Methods)+len(r.Hosts)+len(r.Headers)+len(r.SNIs)+len(r.Paths) == 0 {
		return nil, errNoFields
	}
	base := entry{route: r, methods: r.Methods}
	for _, h := range r.Hosts {
		base.hosts = append(base.hosts, compileHost(h))
	}
	for _, s := range r.SNIs {
		base.snis = append(base.snis, compileSNI(s))
	}
	var err error
	if base.headers, err = compileHeaders(r.Headers); err != nil {
		return nil, err
	}
	id := strings.ToLower(r.ID)
	groups := groupPaths(r.Paths)
	if len(groups) == 0 {
		base.prio, base.id = priority(r, base.hosts, nil), id
		return []entry{base}, nil
	}
	entries := make([]entry, 0, len(groups))
	for i := range groups {
		g := &groups[i]
		e := base
		e.prio, e.id = priority(r, e.hosts, g), matcherID(id, i, len(groups))
		if !g.regex {
			e.prefixes = g.paths
		} else {
			for _, p := range g.paths {
				re, lit, err := compilePathRegex(p)
				if err != nil {
					return nil, fmt.Errorf("compiling path %q: %w", "~"+p, err)
				}
				e.regexes = append(e.regexes, re)
				e.literals = append(e.literals, lit)
			}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// compileHeaders reads the headers map into conditions sorted by name, so
// that a Router does not depend on map order. Kong lowercases the values,
// and names are looked up with "_" as "-" (ngx.req.get_headers' lookup).
func compileHeaders(headers map[string][]string) ([]headerCond, error) {
	var conds []headerCond
	for name, values := range headers {
		if len(values) == 0 {
			return nil, fmt.Errorf("header %s has no values", name)
		}
		c := headerCond{name: strings.ReplaceAll(strings.ToLower(name), "_", "-")}
		for _, v := range values {
			if strings.HasPrefix(v, "~*") {
				re, err := compileHeaderRegex(v[2:])
				if err != nil {
					return nil, fmt.Errorf("compiling header %s value %q: %w", name, v, err)
				}
				c.regexes = append(c.regexes, re)
				continue
			}
			c.values = append(c.values, asciiLower(v))
		}
		conds = append(conds, c)
	}
	sort.Slice(conds, func(i, j int) bool { return conds[i].name < conds[j].name })
	return conds, nil
}
