package conf

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Listener is one entry of a *_listen key: an address and the nginx listen
// flags Kong accepts after it.
type Listener struct {
	// Host is an IP address (IPv6 without brackets, in canonical form) or a
	// lower-cased host name. nginx's "*" is stored as "0.0.0.0".
	Host string
	// Port is 0–65535; 0 asks the operating system for a free port, which
	// tests use to run nodes side by side.
	Port int

	SSL           bool // serve TLS
	HTTP2         bool // offer HTTP/2 (ALPN h2 with ssl)
	ProxyProtocol bool // expect a PROXY protocol header before the request
	Deferred      bool // TCP_DEFER_ACCEPT
	Bind          bool // bind this address separately (nginx "bind")
	ReusePort     bool // SO_REUSEPORT
	// Backlog is the listen queue length; 0 leaves the system default.
	Backlog int
	// IPv6Only is "on" or "off" for IPV6_V6ONLY, "" when not given.
	IPv6Only string
	// SoKeepalive is "on", "off" or "[keepidle]:[keepintvl]:[keepcnt]" for
	// the socket's TCP keepalive, "" when not given.
	SoKeepalive string
}

// Addr is the address to pass to net.Listen: host:port, IPv6 in brackets.
func (l Listener) Addr() string {
	return net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
}

// String writes the listener back in Kong's syntax, flags in Kong's order,
// so that ParseListen(l.String()) gives l again.
func (l Listener) String() string {
	var b strings.Builder
	b.WriteString(l.Addr())
	flag := func(on bool, name string) {
		if on {
			b.WriteByte(' ')
			b.WriteString(name)
		}
	}
	flag(l.SSL, "ssl")
	flag(l.HTTP2, "http2")
	flag(l.ProxyProtocol, "proxy_protocol")
	flag(l.Deferred, "deferred")
	flag(l.Bind, "bind")
	flag(l.ReusePort, "reuseport")
	if l.Backlog > 0 {
		b.WriteString(" backlog=")
		b.WriteString(strconv.Itoa(l.Backlog))
	}
	if l.IPv6Only != "" {
		b.WriteString(" ipv6only=")
		b.WriteString(l.IPv6Only)
	}
	if l.SoKeepalive != "" {
		b.WriteString(" so_keepalive=")
		b.WriteString(l.SoKeepalive)
	}
	return b.String()
}

// listenForm is the accepted form quoted in listen errors.
const listenForm = "off, or a comma-separated list of <host>:<port> [ssl] [http2] [proxy_protocol] " +
	"[deferred] [bind] [reuseport] [backlog=N] [ipv6only=on|off] [so_keepalive=on|off|idle:intvl:cnt], " +
	"IPv6 hosts in brackets as [::1]:8001"

// ListenError is one listen entry ParseListen could not read.
type ListenError struct {
	Entry  string // the whole entry, trimmed
	Reason string
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("invalid listen entry '%s': %s", e.Entry, e.Reason)
}

// ParseListen reads a *_listen value: "off" (no listener), or comma-separated
// entries "<host>:<port> [flags...]". As in Kong, flags may come in any
// order, even before the address; unlike Kong, an unknown flag, a missing
// port or "off" mixed with addresses is an error rather than being dropped
// or half-read, because a listener silently missing is worse than refusing
// to start. Empty entries (a trailing comma) are skipped.
func ParseListen(value string) ([]Listener, error) {
	v := strings.TrimSpace(value)
	if strings.EqualFold(v, "off") {
		return []Listener{}, nil
	}
	var out []Listener
	for _, entry := range strings.Split(v, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if strings.EqualFold(entry, "off") {
			return nil, &ListenError{Entry: entry, Reason: "'off' cannot be combined with other entries"}
		}
		l, reason := parseListenEntry(entry)
		if reason != "" {
			return nil, &ListenError{Entry: entry, Reason: reason}
		}
		out = append(out, l)
	}
	if out == nil {
		return nil, &ListenError{Entry: v, Reason: "no address given (use off for none)"}
	}
	return out, nil
}

// FormatListen writes listeners back as a *_listen value; none is "off".
func FormatListen(ls []Listener) string {
	if len(ls) == 0 {
		return "off"
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.String()
	}
	return strings.Join(parts, ", ")
}

// parseListenEntry reads one entry; a non-empty reason says what is wrong.
func parseListenEntry(entry string) (l Listener, reason string) {
	var addr, stray string
	for _, f := range strings.Fields(entry) {
		ok, bad := l.setFlag(f)
		if bad != "" {
			return l, bad
		}
		if ok {
			continue
		}
		switch {
		case addr == "" && strings.ContainsAny(f, ":["):
			addr = f
		case stray == "":
			stray = f
		}
	}
	if addr == "" {
		if stray != "" {
			return l, "missing port in '" + stray + "'"
		}
		return l, "missing address"
	}
	if stray != "" {
		return l, "unknown flag '" + stray + "'"
	}
	host, port, bad := splitAddr(addr)
	if bad != "" {
		return l, bad
	}
	l.Host, l.Port = host, port
	return l, ""
}

// setFlag applies f if it is a listen flag. ok reports whether it was one;
// bad explains a flag with a malformed value.
func (l *Listener) setFlag(f string) (ok bool, bad string) {
	name, val, hasVal := strings.Cut(f, "=")
	name = strings.ToLower(name)
	if !hasVal {
		switch name {
		case "ssl":
			l.SSL = true
		case "http2":
			l.HTTP2 = true
		case "proxy_protocol":
			l.ProxyProtocol = true
		case "deferred":
			l.Deferred = true
		case "bind":
			l.Bind = true
		case "reuseport":
			l.ReusePort = true
		default:
			return false, ""
		}
		return true, ""
	}
	switch name {
	case "backlog":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < 1 || n > math.MaxInt32 || !allDigits(val) {
			return false, "backlog '" + val + "' is not a positive number"
		}
		l.Backlog = int(n)
	case "ipv6only":
		switch strings.ToLower(val) {
		case "on", "off":
			l.IPv6Only = strings.ToLower(val)
		default:
			return false, "ipv6only '" + val + "' is not on or off"
		}
	case "so_keepalive":
		v, okv := keepalive(val)
		if !okv {
			return false, "so_keepalive '" + val + "' is not on, off or [keepidle]:[keepintvl]:[keepcnt]"
		}
		l.SoKeepalive = v
	default:
		return false, "unknown flag '" + f + "'"
	}
	return true, ""
}

// keepalive checks nginx's so_keepalive value: on, off, or three
// colon-separated optional parts, the first two times (digits with an
// optional unit such as 30s or 1m), the last a count.
func keepalive(v string) (string, bool) {
	switch lv := strings.ToLower(v); lv {
	case "on", "off":
		return lv, true
	}
	parts := strings.Split(v, ":")
	if len(parts) != 3 {
		return "", false
	}
	for i, p := range parts {
		if p == "" {
			continue
		}
		j := 0
		for j < len(p) && p[j] >= '0' && p[j] <= '9' {
			j++
		}
		if j == 0 || j < len(p) && (i == 2 || !validTimeUnit(p[j:])) {
			return "", false
		}
	}
	return v, true
}

func validTimeUnit(u string) bool {
	switch u {
	case "ms", "s", "m", "h", "d", "w", "y":
		return true
	}
	return false
}

// splitAddr reads "host:port" or "[ipv6]:port".
func splitAddr(a string) (host string, port int, bad string) {
	var p string
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", 0, "missing ']' after IPv6 address"
		}
		host, p = a[1:end], a[end+1:]
		if p == "" {
			return "", 0, "missing port after '" + a + "'"
		}
		if p[0] != ':' {
			return "", 0, "expected ':' and a port after '" + a[:end+1] + "'"
		}
		p = p[1:]
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() {
			return "", 0, "'" + host + "' is not an IPv6 address"
		}
		host = ip.String()
	} else {
		i := strings.LastIndexByte(a, ':')
		if i < 0 {
			return "", 0, "missing port in '" + a + "'"
		}
		host, p = a[:i], a[i+1:]
		if strings.Contains(host, ":") {
			return "", 0, "IPv6 addresses must be in brackets, as [::1]:8001"
		}
		switch {
		case host == "":
			return "", 0, "missing host before ':" + p + "'"
		case host == "*":
			host = "0.0.0.0"
		default:
			if ip, err := netip.ParseAddr(host); err == nil {
				host = ip.String()
			} else if validHostname(host) {
				host = strings.ToLower(host)
			} else {
				return "", 0, "'" + host + "' is not an IP address or host name"
			}
		}
	}
	if p == "" {
		return "", 0, "missing port in '" + a + "'"
	}
	if !allDigits(p) || len(p) > 5 {
		return "", 0, "port '" + p + "' is not a number from 0 to 65535"
	}
	n, _ := strconv.Atoi(p)
	if n > 65535 {
		return "", 0, "port '" + p + "' is not a number from 0 to 65535"
	}
	return host, n, ""
}

// validHostname accepts DNS names: dot-separated labels of letters, digits,
// '-' and '_' (some internal names use it), none empty.
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// kongListenFlags are the flags Kong's configuration loader looks for in an
// http listener, in its order; a pattern flag absent from the entry is
// reported under its pattern, as Kong does.
var kongListenFlags = []string{"ssl", "http2", "proxy_protocol", "deferred", "bind", "reuseport",
	"backlog=%d+", "ipv6only=on", "ipv6only=off", "so_keepalive=on", "so_keepalive=off", "so_keepalive=%w*:%w*:%d*"}

// KongListeners renders listeners as Kong's GET / shows them in
// configuration.proxy_listeners (and admin_, status_): ip, port, the
// normalised listener text, and one boolean per flag. Clients such as
// Kong's own tests read them to learn which ports speak TLS.
func KongListeners(ls []Listener) []map[string]any {
	out := make([]map[string]any, 0, len(ls))
	for _, l := range ls {
		host := l.Host
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		m := map[string]any{"ip": host, "port": l.Port, "listener": strings.TrimSpace(strings.Replace(l.String(), " http2", "", 1))}
		for _, f := range kongListenFlags {
			m[f] = false
		}
		m["ssl"], m["http2"], m["proxy_protocol"] = l.SSL, l.HTTP2, l.ProxyProtocol
		m["deferred"], m["bind"], m["reuseport"] = l.Deferred, l.Bind, l.ReusePort
		if l.Backlog > 0 {
			delete(m, "backlog=%d+")
			m["backlog="+strconv.Itoa(l.Backlog)] = true
		}
		switch l.IPv6Only {
		case "on":
			m["ipv6only=on"] = true
		case "off":
			m["ipv6only=off"] = true
		}
		switch l.SoKeepalive {
		case "":
		case "on", "off":
			m["so_keepalive="+l.SoKeepalive] = true
		default:
			delete(m, "so_keepalive=%w*:%w*:%d*")
			m["so_keepalive="+l.SoKeepalive] = true
		}
		out = append(out, m)
	}
	return out
}
