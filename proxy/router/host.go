package router

import (
	"bytes"
	"strings"
)

// nameKind says how a host or SNI pattern compares with a request's name.
type nameKind uint8

const (
	nameExact  nameKind = iota // "example.com"
	nameSuffix                 // "*.example.com": the value is ".example.com"
	namePrefix                 // "example.*": the value is "example."
)

// namePattern is one compiled entry of a route's hosts or snis. Names are
// compared case-insensitively (RFC 9110 section 4.2.3): both sides are
// lowercased.
type namePattern struct {
	kind  nameKind
	value string
	port  int // 0: any port (hosts only)
}

func (p *namePattern) matchName(name []byte) bool {
	switch p.kind {
	case nameSuffix:
		return len(name) >= len(p.value) && string(name[len(name)-len(p.value):]) == p.value
	case namePrefix:
		return len(name) >= len(p.value) && string(name[:len(p.value)]) == p.value
	}
	return string(name) == p.value
}

// wildcard reports whether the pattern is a wildcard (Kong's plain-host bit
// is lost by any of them).
func (p *namePattern) wildcard() bool { return p.kind != nameExact }

// compileHost reads a route's host: "name", "*.suffix" or "prefix.*", with an
// optional ":port". Kong: kong/router/transform.lua get_expression, where a
// port adds `net.dst.port == port`.
func compileHost(h string) namePattern {
	name, port := splitHostPort([]byte(h))
	return compileName(string(name), port)
}

// compileSNI reads a route's SNI. Kong drops a trailing dot of a fully
// qualified name (sni_val_transform), except in "prefix.*" patterns.
func compileSNI(s string) namePattern {
	if len(s) > 1 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return compileName(s, 0)
}

func compileName(name string, port int) namePattern {
	name = strings.ToLower(name)
	switch {
	case strings.HasPrefix(name, "*"):
		return namePattern{kind: nameSuffix, value: name[1:], port: port}
	case strings.HasSuffix(name, "*"):
		return namePattern{kind: namePrefix, value: name[:len(name)-1], port: port}
	}
	return namePattern{kind: nameExact, value: name, port: port}
}

// splitHostPort splits "host:port" at the first colon when everything after
// it is a port number; otherwise the whole value is the host and port is 0.
// It follows Kong's split_host_port (kong/router/transform.lua), which does
// not special-case IPv6 literals either: "[::1]:80" stays whole.
func splitHostPort(b []byte) (host []byte, port int) {
	i := bytes.IndexByte(b, ':')
	if i < 0 || i == len(b)-1 {
		return b, 0
	}
	n := 0
	for _, c := range b[i+1:] {
		if c < '0' || c > '9' {
			return b, 0
		}
		if n < 1<<20 { // past any port: stays a number no route can name
			n = n*10 + int(c-'0')
		}
	}
	return b[:i], n
}

// appendLower appends b lowercased (ASCII; host names and SNIs are ASCII or
// punycode).
func appendLower[T string | []byte](dst []byte, b T) []byte {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
