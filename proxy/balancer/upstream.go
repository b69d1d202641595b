package balancer

import (
	"strconv"
	"strings"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/schema"
)

// Algorithms of the upstreams entity's algorithm field.
const (
	AlgorithmRoundRobin        = "round-robin"
	AlgorithmConsistentHashing = "consistent-hashing"
	AlgorithmLeastConnections  = "least-connections"
	AlgorithmLatency           = "latency"
)

// defaultTargetPort is the port Kong gives a target stored without one
// (kong/db/dao/targets.lua; the targets entity stores "host:8000").
const defaultTargetPort = 8000

// Upstream is the configuration of one balancer: an upstreams row and its
// targets. FromRows builds it from stored rows.
type Upstream struct {
	ID, Name, WorkspaceID string
	// Algorithm is "round-robin" (default), "consistent-hashing",
	// "least-connections" or "latency".
	Algorithm string
	// Hashing inputs of consistent-hashing: HashOn and HashFallback are
	// "none", "consumer", "ip", "header", "cookie", "path", "query_arg" or
	// "uri_capture"; the other fields name the header, cookie, query
	// argument or URI capture to read.
	HashOn, HashFallback, HashOnHeader, HashFallbackHeader, HashOnCookie, HashOnCookiePath,
	HashOnQueryArg, HashFallbackQueryArg, HashOnURICapture, HashFallbackURICapture string
	// Slots is the size of the consistent-hashing continuum (Kong: at
	// least 1000 points are used whatever the value; default 10000).
	Slots int
	// HostHeader overrides the Host header sent upstream and in HTTP
	// health probes (host_header).
	HostHeader string
	// UseSRVName makes the SRV record's target name the peer's host name
	// (use_srv_name).
	UseSRVName bool
	// Healthchecks is the row's healthchecks record as stored (Kong's
	// shape: active, passive, threshold). Missing fields take Kong's
	// defaults.
	Healthchecks map[string]any
	// Targets are the upstream's targets.
	Targets []Target
}

// Target is one target of an upstream.
type Target struct {
	ID string
	// Target is "host:port" as stored (IPv6 in brackets); a missing port
	// is Kong's default 8000.
	Target string
	// Weight is the target's weight (0 to 65535; 0 takes no traffic).
	Weight    int
	CreatedAt float64
}

// FromRows builds an Upstream from a stored upstreams row and its targets
// rows, so that callers need not know their shapes.
func FromRows(upstream map[string]any, targets []map[string]any) Upstream {
	u := Upstream{
		ID:                     row.String(upstream, schema.FieldID),
		Name:                   row.String(upstream, "name"),
		WorkspaceID:            row.String(upstream, schema.FieldWorkspace),
		Algorithm:              row.String(upstream, "algorithm"),
		HashOn:                 row.String(upstream, "hash_on"),
		HashFallback:           row.String(upstream, "hash_fallback"),
		HashOnHeader:           row.String(upstream, "hash_on_header"),
		HashFallbackHeader:     row.String(upstream, "hash_fallback_header"),
		HashOnCookie:           row.String(upstream, "hash_on_cookie"),
		HashOnCookiePath:       row.String(upstream, "hash_on_cookie_path"),
		HashOnQueryArg:         row.String(upstream, "hash_on_query_arg"),
		HashFallbackQueryArg:   row.String(upstream, "hash_fallback_query_arg"),
		HashOnURICapture:       row.String(upstream, "hash_on_uri_capture"),
		HashFallbackURICapture: row.String(upstream, "hash_fallback_uri_capture"),
		Slots:                  row.Int(upstream, "slots", 10000),
		HostHeader:             row.String(upstream, "host_header"),
		UseSRVName:             upstream["use_srv_name"] == true,
	}
	u.Healthchecks, _ = upstream["healthchecks"].(map[string]any)
	for _, t := range targets {
		u.Targets = append(u.Targets, Target{
			ID:        row.String(t, schema.FieldID),
			Target:    row.String(t, "target"),
			Weight:    row.Int(t, "weight", 100),
			CreatedAt: row.Number(t["created_at"], 0),
		})
	}
	return u
}

// splitTarget splits a stored target into its host (IPv6 without
// brackets), its port (8000 when absent) and the host's type: "ipv4",
// "ipv6" or "name".
func splitTarget(target string) (host string, port int, typ string) {
	host, port = target, defaultTargetPort
	if strings.HasPrefix(target, "[") {
		if end := strings.IndexByte(target, ']'); end > 0 {
			host = target[1:end]
			if rest := target[end+1:]; strings.HasPrefix(rest, ":") {
				port = atoiOr(rest[1:], defaultTargetPort)
			}
		}
		return host, port, "ipv6"
	}
	if i := strings.LastIndexByte(target, ':'); i >= 0 && strings.IndexByte(target, ':') == i {
		host, port = target[:i], atoiOr(target[i+1:], defaultTargetPort)
	} else if i >= 0 {
		return target, defaultTargetPort, "ipv6" // bare IPv6 without port
	}
	return host, port, hostType(host)
}

func atoiOr(s string, dflt int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 {
		return dflt
	}
	return n
}
