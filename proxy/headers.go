package proxy

import (
	"bytes"
	"iter"
	"strings"

	"github.com/valyala/fasthttp"
)

// headerSet is the set of Kong headers a `headers` or `headers_upstream`
// setting turns on.
type headerSet uint16

const (
	hdrServer headerSet = 1 << iota
	hdrVia
	hdrProxyLatency
	hdrResponseLatency
	hdrUpstreamLatency
	hdrUpstreamStatus
	hdrRequestID
)

// parseHeaders reads Kong's header tokens (already in canonical case):
// server_tokens is Server and Via, latency_tokens the three latencies.
func parseHeaders(tokens []string) headerSet {
	var s headerSet
	for _, t := range tokens {
		switch strings.ToLower(t) {
		case "server_tokens":
			s |= hdrServer | hdrVia
		case "latency_tokens":
			s |= hdrProxyLatency | hdrResponseLatency | hdrUpstreamLatency
		case "server":
			s |= hdrServer
		case "via":
			s |= hdrVia
		case "x-kong-proxy-latency":
			s |= hdrProxyLatency
		case "x-kong-response-latency":
			s |= hdrResponseLatency
		case "x-kong-upstream-latency":
			s |= hdrUpstreamLatency
		case "x-kong-upstream-status":
			s |= hdrUpstreamStatus
		case "x-kong-request-id":
			s |= hdrRequestID
		}
	}
	return s
}

func (s headerSet) has(h headerSet) bool { return s&h != 0 }

// headerKind is what the proxy does with a header name. Names are
// classified by one table lookup on their length, so a header the proxy
// passes through untouched costs a comparison or two.
type headerKind uint8

const (
	kindOther headerKind = iota
	// The client headers Kong sets itself on the upstream request
	// (proxy_set_header in Kong's nginx template); Content-Length is written
	// with the body's framing.
	kindHost
	kindContentLength
	kindXForwardedFor
	kindXForwardedProto
	kindXForwardedHost
	kindXForwardedPort
	kindXForwardedPath
	kindXForwardedPrefix
	kindXRealIP
	kindVia
	kindRequestID
	// The headers that describe one connection, never forwarded (RFC 9110
	// §7.6.1); every kind from kindConnection on is one.
	kindConnection
	kindUpgrade
	kindTransferEncoding
	kindHopByHop
)

// replaced reports the headers Kong replaces on the upstream request.
func (k headerKind) replaced() bool { return k >= kindHost && k <= kindVia }

func (k headerKind) hopByHop() bool { return k >= kindConnection }

var headerKinds = map[string]headerKind{
	"host": kindHost, "content-length": kindContentLength, "x-forwarded-for": kindXForwardedFor,
	"x-forwarded-proto": kindXForwardedProto, "x-forwarded-host": kindXForwardedHost,
	"x-forwarded-port": kindXForwardedPort, "x-forwarded-path": kindXForwardedPath,
	"x-forwarded-prefix": kindXForwardedPrefix, "x-real-ip": kindXRealIP, "via": kindVia,
	"x-kong-request-id": kindRequestID, "connection": kindConnection, "upgrade": kindUpgrade,
	"transfer-encoding": kindTransferEncoding, "keep-alive": kindHopByHop, "proxy-connection": kindHopByHop,
	"proxy-authenticate": kindHopByHop, "proxy-authorization": kindHopByHop, "te": kindHopByHop,
	"trailer": kindHopByHop,
}

type namedKind struct {
	name string
	kind headerKind
}

// kindsByLength indexes headerKinds by name length.
var kindsByLength = func() (t [20][]namedKind) {
	for name, k := range headerKinds {
		t[len(name)] = append(t[len(name)], namedKind{name, k})
	}
	return t
}()

func classify(name []byte) headerKind {
	if len(name) >= len(kindsByLength) {
		return kindOther
	}
	for _, c := range kindsByLength[len(name)] {
		if equalFold(name, c.name) {
			return c.kind
		}
	}
	return kindOther
}

// hopScan finds the hop-by-hop headers of a message, and those its
// Connection header names, in one pass over the headers: most messages
// carry none but Connection, and deleting by name scans them each time.
type hopScan struct {
	names [16][]byte
	n     int
	buf   [512]byte
	used  int
	found hopFound
}

// hopFound is what a scan found besides the names.
type hopFound struct {
	// upgrade: Upgrade: websocket; connUpgrade: Connection names upgrade.
	upgrade, connUpgrade bool
	// connection and via are the first Connection and Via values.
	connection, via []byte
}

// websocket reports a WebSocket upgrade request.
func (s *hopScan) websocket() bool { return s.found.upgrade && s.found.connUpgrade }

func (s *hopScan) add(name []byte) {
	if s.n == len(s.names) || s.used+len(name) > len(s.buf) {
		return
	}
	b := s.buf[s.used : s.used+len(name)]
	copy(b, name)
	s.used += len(name)
	s.names[s.n] = b
	s.n++
}

// named reports whether the scan's Connection header named this header.
func (s *hopScan) named(name []byte) bool {
	for _, n := range s.names[:s.n] {
		if bytes.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// scan is small enough to be inlined, so the header iterator stays on
// the stack.
func (s *hopScan) scan(all iter.Seq2[[]byte, []byte]) {
	s.n, s.used, s.found = 0, 0, hopFound{}
	for k, v := range all {
		s.visit(k, v)
	}
}

func (s *hopScan) visit(k, v []byte) {
	kind := classify(k)
	if kind == kindVia && s.found.via == nil {
		s.found.via = v
	}
	if !kind.hopByHop() {
		return
	}
	s.add(k)
	switch kind {
	case kindUpgrade:
		if bytes.EqualFold(bytes.TrimSpace(v), []byte("websocket")) {
			s.found.upgrade = true
		}
	case kindConnection:
		if s.found.connection == nil {
			s.found.connection = v
		}
		for len(v) > 0 {
			var name []byte
			name, v, _ = bytes.Cut(v, []byte{','})
			name = bytes.TrimSpace(name)
			if equalFold(name, "upgrade") {
				s.found.connUpgrade = true
			}
			if len(name) > 0 && !equalFold(name, "close") && !equalFold(name, "keep-alive") {
				s.add(name)
			}
		}
	}
}

// stripResponseHop removes an answer's hop-by-hop headers; its framing
// (Transfer-Encoding) is the server's to write.
func stripResponseHop(h *fasthttp.ResponseHeader, s *hopScan) {
	s.scan(h.All())
	for _, name := range s.names[:s.n] {
		switch {
		case equalFold(name, "transfer-encoding"):
		case equalFold(name, "connection") && equalFold(s.found.connection, "keep-alive"):
			// What the server says to the client anyway (as nginx does).
		default:
			h.DelBytes(name)
		}
	}
	h.ResetConnectionClose()
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
