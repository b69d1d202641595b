package balancer

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/portico-gw/portico/internal/row"
)

// statusSet is a set of HTTP status codes (100 to 999, as the schema
// allows), tested without allocation on the request path.
type statusSet [16]uint64

func (s *statusSet) add(code int) {
	if code >= 0 && code < 1024 {
		s[code>>6] |= 1 << (code & 63)
	}
}

func (s *statusSet) has(code int) bool {
	return code >= 0 && code < 1024 && s[code>>6]&(1<<(code&63)) != 0
}

// thresholds are the counters' limits of one kind of check (active or
// passive) and the statuses that count as successes or failures. A zero
// limit disables its counter (lua-resty-healthcheck incr_counter).
type thresholds struct {
	successes, httpFailures, tcpFailures, timeouts int
	healthy, unhealthy                             statusSet
}

// activeConfig is healthchecks.active.
type activeConfig struct {
	typ         string // http, https, tcp (grpc probes as http, grpcs as https)
	timeout     time.Duration
	concurrency int
	httpPath    string
	httpsSNI    string
	verify      bool
	headers     string // "Name: value\r\n" lines, sorted by name
	// healthyInterval and unhealthyInterval are how often healthy and
	// unhealthy addresses are probed; 0 turns that half off.
	healthyInterval, unhealthyInterval time.Duration
	thresholds
}

// healthConfig is an upstream's healthchecks record, parsed once per
// configuration.
type healthConfig struct {
	active  activeConfig
	passive thresholds
	// threshold is the percentage of weight that must be healthy for the
	// balancer to serve at all.
	threshold float64
	// enabled is Kong's is_upstream_using_healthcheck: an active interval
	// or a passive failure limit is set. Without it every address is
	// available and reported HEALTHCHECKS_OFF.
	enabled bool
}

// Kong's defaults of the healthchecks record
// (kong/db/schema/entities/upstreams.lua).
var (
	defaultActiveHealthy    = []int{200, 302}
	defaultActiveUnhealthy  = []int{429, 404, 500, 501, 502, 503, 504, 505}
	defaultPassiveHealthy   = []int{200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308}
	defaultPassiveUnhealthy = []int{429, 500, 503}
)

// parseHealthchecks reads the stored record; absent fields take Kong's
// defaults, so a nil record is "health checks off".
func parseHealthchecks(hc map[string]any) *healthConfig {
	active := row.Map(hc, "active")
	passive := row.Map(hc, "passive")
	c := &healthConfig{
		active: activeConfig{
			typ:               strings.ToLower(row.StringOr(active, "type", "http")),
			timeout:           seconds(active, "timeout", 1),
			concurrency:       row.Int(active, "concurrency", 10),
			httpPath:          row.StringOr(active, "http_path", "/"),
			httpsSNI:          row.StringOr(active, "https_sni", ""),
			verify:            active["https_verify_certificate"] != false,
			headers:           renderHeaders(row.Map(active, "headers")),
			healthyInterval:   seconds(row.Map(active, "healthy"), "interval", 0),
			unhealthyInterval: seconds(row.Map(active, "unhealthy"), "interval", 0),
			thresholds:        parseThresholds(active, defaultActiveHealthy, defaultActiveUnhealthy),
		},
		passive:   parseThresholds(passive, defaultPassiveHealthy, defaultPassiveUnhealthy),
		threshold: row.Number(hc["threshold"], 0),
	}
	if c.active.concurrency < 1 {
		c.active.concurrency = 1
	}
	if c.active.timeout <= 0 {
		c.active.timeout = time.Second
	}
	p := c.passive
	c.enabled = c.active.healthyInterval > 0 || c.active.unhealthyInterval > 0 ||
		p.tcpFailures > 0 || p.timeouts > 0 || p.httpFailures > 0
	return c
}

func parseThresholds(check map[string]any, healthy, unhealthy []int) thresholds {
	h, u := row.Map(check, "healthy"), row.Map(check, "unhealthy")
	t := thresholds{
		successes:    row.Int(h, "successes", 0),
		httpFailures: row.Int(u, "http_failures", 0),
		tcpFailures:  row.Int(u, "tcp_failures", 0),
		timeouts:     row.Int(u, "timeouts", 0),
	}
	fillStatuses(&t.healthy, h["http_statuses"], healthy)
	fillStatuses(&t.unhealthy, u["http_statuses"], unhealthy)
	return t
}

func fillStatuses(s *statusSet, v any, dflt []int) {
	switch list := v.(type) {
	case []any:
		for _, x := range list {
			s.add(int(row.Number(x, -1)))
		}
	case []int:
		for _, x := range list {
			s.add(x)
		}
	default:
		for _, x := range dflt {
			s.add(x)
		}
	}
}

// renderHeaders turns the headers map (name → list of values) into request
// header lines, in name order so probes are reproducible.
func renderHeaders(h map[string]any) string {
	if len(h) == 0 {
		return ""
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		switch vals := h[k].(type) {
		case []any:
			for _, v := range vals {
				if s, ok := v.(string); ok {
					b.WriteString(k + ": " + s + "\r\n")
				}
			}
		case []string:
			for _, s := range vals {
				b.WriteString(k + ": " + s + "\r\n")
			}
		case string:
			b.WriteString(k + ": " + vals + "\r\n")
		}
	}
	return b.String()
}

// seconds reads a number of seconds; the schema allows fractions.
func seconds(m map[string]any, key string, dflt float64) time.Duration {
	v := row.Number(m[key], dflt)
	if v <= 0 || math.IsNaN(v) {
		return 0
	}
	return time.Duration(v * float64(time.Second))
}
