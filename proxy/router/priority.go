package router

import (
	"math"
	"slices"
	"strconv"

	"github.com/google/uuid"
)

// Priority bits, as kong/router/transform.lua get_priority lays them out
// (higher wins):
//
//	63-61 match weight: how many of methods, hosts, headers, snis, paths are set
//	60    hosts set, none of them a wildcard
//	59-52 header names (at most 255)
//	51    a regex path
//	50-19 regex_priority (regex paths only)
//	18-0  length of the plain prefix
//
// Kong's code means this layout, but in 3.9 its LuaJIT shifts of plain Lua
// numbers are 32-bit (bit.lshift(w, 61) is w<<29), which lets the plain-host
// and regex bits outrank the match weight and is build-dependent for weights
// of 4 and more; we keep the documented layout.
const (
	weightShift      = 61
	plainHostBit     = uint64(1) << 60
	headerCountShift = 52
	maxHeaderCount   = 255
	regexBit         = uint64(1) << 51
	regexPrioShift   = 19
	prefixLenMask    = 0x7FFFF
)

// pathGroup is one set of a route's paths sharing a priority: all its
// regexes, or its plain prefixes of one length.
type pathGroup struct {
	regex bool
	paths []string // as configured; regexes without their "~"
}

// groupPaths splits paths as Kong's group_by_regex_or_length does: one group
// for the regexes, one per prefix length, in order of first appearance.
func groupPaths(paths []string) []pathGroup {
	var groups []pathGroup
	var keys []int // per group: -1 for the regexes, else the prefix length
	for _, p := range paths {
		regex := isRegexPath(p)
		key := len(p)
		if regex {
			key, p = -1, p[1:]
		}
		i := slices.Index(keys, key)
		if i < 0 {
			i = len(groups)
			keys = append(keys, key)
			groups = append(groups, pathGroup{regex: regex})
		}
		groups[i].paths = append(groups[i].paths, p)
	}
	return groups
}

func isRegexPath(p string) bool { return len(p) > 0 && p[0] == '~' }

// priority computes one matcher's priority from the route's fields and the
// path group it carries (g is nil for a route without paths).
func priority(r *Route, hosts []namePattern, g *pathGroup) uint64 {
	weight := uint64(0)
	for _, set := range []bool{len(r.Methods) > 0, len(r.Hosts) > 0, len(r.Headers) > 0, len(r.SNIs) > 0, g != nil} {
		if set {
			weight++
		}
	}
	p := weight << weightShift
	if plainHostsOnly(hosts) {
		p |= plainHostBit
	}
	p |= uint64(min(len(r.Headers), maxHeaderCount)) << headerCountShift
	switch {
	case g == nil:
	case g.regex:
		p |= regexBit | regexPriority(r.RegexPriority)<<regexPrioShift
	default:
		p |= uint64(len(g.paths[0])) & prefixLenMask
	}
	return p
}

func plainHostsOnly(hosts []namePattern) bool {
	for i := range hosts {
		if hosts[i].wildcard() {
			return false
		}
	}
	return len(hosts) > 0
}

// regexPriority maps Kong's signed regex_priority onto its 32 bits keeping
// the order (Kong would shift a negative value into the bits above).
func regexPriority(rp int) uint64 {
	rp = max(min(rp, math.MaxInt32), math.MinInt32)
	return uint64(int64(rp) - math.MinInt32)
}

// splitNamespace names the matchers Kong makes of a route with several path
// groups (transform.lua split_routes_and_services_by_path).
var splitNamespace = uuid.MustParse("7f145bf9-0dce-4f91-98eb-debbce4b9f6b")

// matcherID is the id Kong's ATC router keeps a matcher under: the route's
// own id, or for the i-th (from 0) of several path groups, the UUID v5 of
// "<route id>#<i+1>".
func matcherID(routeID string, group, groups int) string {
	if groups <= 1 {
		return routeID
	}
	return uuid.NewSHA1(splitNamespace, []byte(routeID+"#"+strconv.Itoa(group+1))).String()
}

// before orders matchers as Kong's ATC router tries them: higher priority
// first, and on a tie the greater matcher id first (its matchers live in a
// BTreeMap keyed by (priority, uuid), walked in reverse). Kong 3.9's
// traditional_compatible flavor does not look at created_at.
func before(a, b *entry) bool {
	if a.prio != b.prio {
		return a.prio > b.prio
	}
	return a.id > b.id
}
