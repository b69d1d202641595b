package router

import (
	"regexp"
	"unicode"
	"unicode/utf8"
)

// Match is the result of Router.Match and the scratch space behind it. It is
// reused from request to request (Reset is implied by Match) and must not be
// shared between goroutines. Slices it hands out are valid until its next
// Match or Reset.
type Match struct {
	// Route is the winning route: a pointer into the Router's copy.
	Route *Route
	// Path is the normalised request path (see Normalize), set whenever the
	// path could be normalised, matched or not.
	Path []byte
	// Prefix is what the route's path matched: its plain prefix, or the
	// whole regex match (Kong's matched path, what strip_path removes); nil
	// when the route has no paths. It aliases Path.
	Prefix []byte

	badPath bool

	// The winner's regex and its submatch indexes into Path.
	re   *regexp.Regexp
	caps []int

	// Buffers and per-request state, valid during Match only.
	pathBuf []byte
	hostBuf []byte
	sniBuf  []byte
	valBuf  []byte
	req     *Request
	all     peekAller
	port    int
	best    int32
	// What the candidate under test matched, and the best one's.
	candPrefix, bestPrefix int
	candRegex, bestRegex   int
}

// peekAller is the optional side of HeaderSource that gives every value of
// a repeated header (fasthttp's *RequestHeader has it); Kong matches any.
type peekAller interface {
	PeekAll(key string) [][]byte
}

const noMatch = int32(1<<31 - 1)

// Reset forgets the last result, keeping the buffers.
func (m *Match) Reset() {
	m.Route, m.Path, m.Prefix = nil, nil, nil
	m.badPath, m.re, m.caps = false, nil, m.caps[:0]
	m.req, m.all = nil, nil
}

// BadPath reports whether the last Match failed because the request path
// could not be normalised: Kong (nginx in front of it) answers 400 then,
// rather than 404.
func (m *Match) BadPath() bool { return m.badPath }

// Match finds the route Kong would pick for req and fills m. It takes no
// lock and, for all but regex routes, allocates nothing once m's buffers
// have grown; a winning regex path costs regexp's index slice.
//
// The request Host is split from its port; the port of a "host:port" route
// is compared with the Host header's port, or when there is none with
// req.Port (Kong's net.dst.port). SNIs are only considered on https. Like
// Kong's ATC router, no route matches a path (or Host) that is not valid
// UTF-8 once normalised, as long as some route reads that field.
func (r *Router) Match(req *Request, m *Match) bool {
	if !r.prepare(req, m) {
		return false
	}
	if len(m.hostBuf) > 0 {
		r.scanHosts(m)
	}
	r.scanBucket(&r.noHost, m)
	if m.best == noMatch {
		return false
	}
	r.fill(m)
	return true
}

// prepare resets m and reads what matchers compare from req.
func (r *Router) prepare(req *Request, m *Match) bool {
	m.Reset()
	var ok bool
	if m.pathBuf, ok = Normalize(m.pathBuf[:0], req.Path); !ok {
		m.badPath = true
		return false
	}
	m.Path = m.pathBuf
	if r.usesPaths && !utf8.Valid(m.Path) {
		return false
	}
	host, port := splitHostPort(req.Host)
	if r.usesHosts && !utf8.Valid(host) {
		return false
	}
	if port == 0 {
		port = req.Port
	}
	m.hostBuf = appendLower(m.hostBuf[:0], host)
	m.sniBuf = appendLower(m.sniBuf[:0], req.SNI)
	m.req, m.port, m.best = req, port, noMatch
	m.all, _ = req.Headers.(peekAller)
	return true
}

// scanHosts tries the buckets of the request's host: exact, then every
// suffix after a dot ("*.example.com"), then every prefix up to a dot
// ("example.*").
func (r *Router) scanHosts(m *Match) {
	host := m.hostBuf
	if b := r.exact[string(host)]; b != nil {
		r.scanBucket(b, m)
	}
	if len(r.suffix) == 0 && len(r.prefix) == 0 {
		return
	}
	for i, c := range host {
		if c != '.' {
			continue
		}
		if b := r.suffix[string(host[i:])]; b != nil {
			r.scanBucket(b, m)
		}
		if b := r.prefix[string(host[:i+1])]; b != nil {
			r.scanBucket(b, m)
		}
	}
}

// scanBucket tries the matchers filed under every path key that prefixes
// the request path, then the bucket's others.
func (r *Router) scanBucket(b *bucket, m *Match) {
	n, path := &b.paths.root, m.Path
	for {
		r.scanList(n.ranks, m)
		if len(path) == 0 {
			break
		}
		i := indexByte(n.first, path[0])
		if i < 0 {
			break
		}
		n = n.children[i]
		if len(path) < len(n.label) || string(path[:len(n.label)]) != n.label {
			break
		}
		path = path[len(n.label):]
	}
	r.scanList(b.other, m)
}

// scanList tries matchers in rank order, stopping at the first that matches
// or at one no better than the best so far.
func (r *Router) scanList(ranks []int32, m *Match) {
	for _, rank := range ranks {
		if rank >= m.best {
			return
		}
		if r.entries[rank].matches(m) {
			m.best, m.bestPrefix, m.bestRegex = rank, m.candPrefix, m.candRegex
			return
		}
	}
}

// matches tests every condition of the matcher, cheapest first.
func (e *entry) matches(m *Match) bool {
	req := m.req
	if len(e.methods) > 0 && !containsBytes(e.methods, req.Method) {
		return false
	}
	if len(e.hosts) > 0 && !e.matchHost(m) {
		return false
	}
	// Kong: `net.protocol != "https" || tls.sni == ...` (transform.lua).
	if len(e.snis) > 0 && req.Scheme == "https" && !matchAnyName(e.snis, m.sniBuf) {
		return false
	}
	m.candPrefix, m.candRegex = -1, -1
	if e.prefixes != nil {
		for _, p := range e.prefixes {
			if len(m.Path) >= len(p) && string(m.Path[:len(p)]) == p {
				m.candPrefix = len(p)
				break
			}
		}
		if m.candPrefix < 0 {
			return false
		}
	}
	for i := range e.headers {
		if !m.matchHeader(&e.headers[i]) {
			return false
		}
	}
	if e.regexes != nil {
		for i, re := range e.regexes {
			if re.Match(m.Path) {
				m.candRegex = i
				return true
			}
		}
		return false
	}
	return true
}

func (e *entry) matchHost(m *Match) bool {
	for i := range e.hosts {
		h := &e.hosts[i]
		if (h.port == 0 || h.port == m.port) && h.matchName(m.hostBuf) {
			return true
		}
	}
	return false
}

func matchAnyName(patterns []namePattern, name []byte) bool {
	for i := range patterns {
		if patterns[i].matchName(name) {
			return true
		}
	}
	return false
}

func containsBytes(set []string, b []byte) bool {
	for _, s := range set {
		if s == string(b) {
			return true
		}
	}
	return false
}

// matchHeader reports whether any value of the header matches any of the
// condition's values (Kong: any(lower(http.headers.name)) == "value").
func (m *Match) matchHeader(c *headerCond) bool {
	h := m.req.Headers
	if h == nil {
		return false
	}
	if m.all != nil {
		for _, v := range m.all.PeekAll(c.name) {
			if m.matchHeaderValue(c, v) {
				return true
			}
		}
		return false
	}
	v := h.Peek(c.name)
	return v != nil && m.matchHeaderValue(c, v)
}

func (m *Match) matchHeaderValue(c *headerCond, v []byte) bool {
	var ok bool
	if m.valBuf, ok = appendUnicodeLower(m.valBuf[:0], v); !ok {
		return false
	}
	for _, want := range c.values {
		if string(m.valBuf) == want {
			return true
		}
	}
	for _, re := range c.regexes {
		if re.Match(m.valBuf) {
			return true
		}
	}
	return false
}

// appendUnicodeLower lowercases a header value as Rust's str::to_lowercase
// does in Kong's ATC router; a value that is not UTF-8 is refused there.
func appendUnicodeLower(dst, v []byte) ([]byte, bool) {
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(v[i:])
		if r == utf8.RuneError && size == 1 {
			return dst, false
		}
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
		i += size
	}
	return dst, true
}

// fill records the winner: its route, prefix and captures.
func (r *Router) fill(m *Match) {
	e := &r.entries[m.best]
	m.Route = e.route
	switch {
	case m.bestPrefix >= 0:
		m.Prefix = m.Path[:m.bestPrefix]
	case m.bestRegex >= 0:
		re := e.regexes[m.bestRegex]
		var idx []int
		if re.NumSubexp() == 0 {
			idx = re.FindIndex(m.Path)
		} else {
			idx = re.FindSubmatchIndex(m.Path)
		}
		m.re, m.caps = re, append(m.caps[:0], idx...)
		m.Prefix = m.Path[idx[0]:idx[1]]
	}
}
