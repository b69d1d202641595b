package balancer

import (
	"strconv"

	"github.com/google/uuid"
)

// Continuum sizes of Kong's consistent hashing (consistent_hashing.lua):
// slots outside [1000, 2^32] fall back to 1000 points, and each target
// gets 160 points when all weigh the same.
const (
	minContinuum  = 1000
	serverPoints  = 160
	cookieOptions = "; Same-Site=Lax; HttpOnly"
)

func continuumSize(slots int) int {
	if slots < minContinuum {
		return minContinuum
	}
	return slots
}

// hashSource is a hash_on / hash_fallback value.
type hashSource uint8

const (
	hashNone hashSource = iota
	hashConsumer
	hashIP
	hashHeader
	hashCookie
	hashPath
	hashQueryArg
	hashURICapture
)

var hashSources = map[string]hashSource{
	"consumer": hashConsumer, "ip": hashIP, "header": hashHeader, "cookie": hashCookie,
	"path": hashPath, "query_arg": hashQueryArg, "uri_capture": hashURICapture,
}

// hashSpec is what consistent hashing hashes: the primary source and its
// fallback, each with the name it reads (header, query argument or URI
// capture), and the cookie's name and path.
type hashSpec struct {
	on, fallback         hashSource
	onName, fallbackName string
	cookie, cookiePath   string
}

func newHashSpec(u *Upstream) hashSpec {
	h := hashSpec{on: hashSources[u.HashOn], fallback: hashSources[u.HashFallback],
		cookie: u.HashOnCookie, cookiePath: u.HashOnCookiePath}
	if h.cookiePath == "" {
		h.cookiePath = "/"
	}
	h.onName = map[hashSource]string{hashHeader: u.HashOnHeader, hashQueryArg: u.HashOnQueryArg,
		hashURICapture: u.HashOnURICapture}[h.on]
	h.fallbackName = map[hashSource]string{hashHeader: u.HashFallbackHeader,
		hashQueryArg: u.HashFallbackQueryArg, hashURICapture: u.HashFallbackURICapture}[h.fallback]
	if h.on == hashNone {
		h.fallback = hashNone // Kong: no fallback without a primary
	}
	return h
}

// hashValue hashes the request's key: the primary source's value, else
// the fallback's, else the empty string (Kong init.lua get_value_to_hash).
func (b *Balancer) hashValue(in HashInput, p *Peer, retry bool) uint32 {
	if h, ok := b.hashOf(in, b.hash.on, b.hash.onName, p, retry); ok {
		return h
	}
	if h, ok := b.hashOf(in, b.hash.fallback, b.hash.fallbackName, p, retry); ok {
		return h
	}
	return xxh32("")
}

func (b *Balancer) hashOf(in HashInput, src hashSource, name string, p *Peer, retry bool) (uint32, bool) {
	var v []byte
	switch src {
	case hashConsumer:
		s := in.ConsumerID()
		return xxh32(s), s != ""
	case hashIP:
		s := in.ClientIP()
		return xxh32(s), s != ""
	case hashHeader:
		v = in.Header(name)
	case hashCookie:
		if v = in.Cookie(b.hash.cookie); len(v) == 0 {
			return xxh32(b.newCookie(p, retry)), true
		}
	case hashPath:
		v = in.Path()
	case hashQueryArg:
		v = in.QueryArg(name)
	case hashURICapture:
		v = in.URICapture(name)
	}
	return xxh32(v), len(v) > 0
}

// newCookie makes the hash cookie of a client that has none: a random
// value the response sets (Kong init.lua set_cookie), reused by the
// request's retries so they hash alike.
func (b *Balancer) newCookie(p *Peer, retry bool) string {
	if retry && p.cookie != "" {
		return p.cookie
	}
	p.cookie = uuid.NewString()
	p.SetCookie = b.hash.cookie + "=" + p.cookie + "; Path=" + b.hash.cookiePath + cookieOptions
	return p.cookie
}

// buildContinuum places the peers on a continuum of points: each gets a
// share of targets×160 points proportional to its weight (at least one),
// at xxh32("ip::port i") modulo the size; a taken point moves that entry
// further (Kong's ketama variant, consistent_hashing.lua afterHostUpdate).
// Adding a target moves only the keys that land on its points.
func buildContinuum(peers []*peer, total int64, targets, points int) []int32 {
	c := make([]int32, points)
	for i := range c {
		c[i] = -1
	}
	if total == 0 {
		return c
	}
	var key []byte
	for pi, pe := range peers {
		entries := int(float64(pe.weight) / float64(total) * float64(targets) * serverPoints)
		if entries == 0 {
			entries = 1
		}
		prefix := pe.ip + "::" + strconv.Itoa(pe.port) + " "
		for i := 1; i <= entries; i++ {
			key = strconv.AppendInt(append(key[:0], prefix...), int64(i), 10)
			at := xxh32(key) % uint32(points)
			if c[at] < 0 {
				c[at] = int32(pi)
			} else {
				entries++
			}
			if i >= points {
				return c // more entries than points; Kong logs and gives up too
			}
		}
	}
	return c
}

// pickHash walks the continuum from the key's point towards lower points
// until it meets a usable peer.
func (b *Balancer) pickHash(r *ring, h uint32, tried []string) *peer {
	n := len(r.continuum)
	if n == 0 {
		return nil
	}
	start := int(h % uint32(n))
	for pass := 0; pass < 2; pass++ {
		for i, at := 0, start; i < n; i++ {
			if e := r.continuum[at]; e >= 0 {
				pe := r.peers[e]
				if r.usable(pe) && (pass == 1 || !wasTried(tried, pe.addr)) {
					return pe
				}
			}
			if at--; at < 0 {
				at = n - 1
			}
		}
		if len(tried) == 0 {
			break
		}
	}
	return nil
}
