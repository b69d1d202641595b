package proxy

import (
	"bytes"
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
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
}

// stripConnectionHeaders removes the hop-by-hop headers and those the
// Connection header names.
func stripRequestHop(h *fasthttp.RequestHeader, scratch []byte) []byte {
	if conn := h.Peek(fasthttp.HeaderConnection); len(conn) > 0 {
		scratch = append(scratch[:0], conn...)
		for len(scratch) > 0 {
			var name []byte
			name, scratch, _ = bytes.Cut(scratch, []byte{','})
			name = bytes.TrimSpace(name)
			if len(name) > 0 && !equalFold(name, "close") && !equalFold(name, "keep-alive") {
				h.DelBytes(name)
			}
		}
	}
	for _, k := range hopByHop {
		h.Del(k)
	}
	return scratch
}

func stripResponseHop(h *fasthttp.ResponseHeader) {
	if conn := h.Peek(fasthttp.HeaderConnection); len(conn) > 0 {
		var buf [128]byte
		list := append(buf[:0], conn...)
		for len(list) > 0 {
			var name []byte
			name, list, _ = bytes.Cut(list, []byte{','})
			name = bytes.TrimSpace(name)
			if len(name) > 0 && !equalFold(name, "close") && !equalFold(name, "keep-alive") {
				h.DelBytes(name)
			}
		}
	}
	h.ResetConnectionClose()
	for _, k := range hopByHop {
		if k != "Transfer-Encoding" {
			h.Del(k)
		}
	}
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
