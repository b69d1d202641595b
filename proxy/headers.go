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

// hopByHop are the headers that describe one connection, never forwarded
// (RFC 9110 §7.6.1). Host is set separately.
var hopByHop = []string{
	"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
	"proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
}

func isHopByHop(name []byte) bool { return oneOf(name, hopByHop) }

// oneOf reports whether name is in list (lower-case names), ignoring case.
func oneOf(name []byte, list []string) bool {
	for _, h := range list {
		if equalFold(name, h) {
			return true
		}
	}
	return false
}

// hopScan finds the hop-by-hop headers of a message, and those its
// Connection header names, in one pass over the headers: most messages
// carry none but Connection, and deleting by name scans them each time.
type hopScan struct {
	names [16][]byte
	n     int
	buf   [512]byte
	used  int
	// websocket: Upgrade: websocket with Connection naming upgrade.
	websocket bool
}

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

func (s *hopScan) scan(all iter.Seq2[[]byte, []byte]) {
	s.n, s.used, s.websocket = 0, 0, false
	upgrade, connUpgrade := false, false
	for k, v := range all {
		if !isHopByHop(k) {
			continue
		}
		s.add(k)
		if equalFold(k, "upgrade") && bytes.EqualFold(bytes.TrimSpace(v), []byte("websocket")) {
			upgrade = true
		}
		if equalFold(k, "connection") {
			for len(v) > 0 {
				var name []byte
				name, v, _ = bytes.Cut(v, []byte{','})
				name = bytes.TrimSpace(name)
				if equalFold(name, "upgrade") {
					connUpgrade = true
				}
				if len(name) > 0 && !equalFold(name, "close") && !equalFold(name, "keep-alive") {
					s.add(name)
				}
			}
		}
	}
	s.websocket = upgrade && connUpgrade
}

// stripResponseHop removes an answer's hop-by-hop headers; its framing
// (Transfer-Encoding) is the server's to write.
func stripResponseHop(h *fasthttp.ResponseHeader, s *hopScan) {
	s.scan(h.All())
	for _, name := range s.names[:s.n] {
		switch {
		case equalFold(name, "transfer-encoding"):
		case equalFold(name, "connection") && equalFold(h.Peek("Connection"), "keep-alive"):
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
