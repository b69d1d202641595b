package bundled

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins/ratelimit"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// msgLimitOrder is response-ratelimiting's period order message (lower-case,
// unlike rate-limiting's).
const msgLimitOrder = "the limit for %s(%.1f) cannot be lower than the limit for %s(%.1f)"

// responseRateLimiting is Kong's response-ratelimiting
// (kong/plugins/response-ratelimiting/schema.lua), with the deprecated flat
// redis_* shorthands as for rate-limiting.
func responseRateLimiting() plugins.Info {
	limit := []*schema.Field{}
	for _, p := range ratePeriods {
		limit = append(limit, &schema.Field{Name: p, Type: schema.Number, Gt: schema.Float(0)})
	}
	local, clients := ratelimit.NewLocal(unixNow), ratelimit.NewClients()
	return runs(func(conf map[string]any) (plugins.Handler, error) {
		return newResponseLimiter(conf, local, clients, unixNow)
	}, info("response-ratelimiting", 900, []*schema.Field{
		protocolsHTTP(),
		withShorthands(config(
			// Response header the upstream uses to increment the counters.
			&schema.Field{Name: "header_name", Type: schema.String, Default: "x-kong-limit"},
			&schema.Field{Name: "limit_by", Type: schema.String, Default: "consumer", OneOf: schema.Strings("consumer", "credential", "ip")},
			rateLimitPolicy(),
			&schema.Field{Name: "fault_tolerant", Type: schema.Boolean, Required: true, Default: true},
			redisConfig(),
			&schema.Field{Name: "block_on_first_violation", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "hide_client_headers", Type: schema.Boolean, Required: true, Default: false},
			// Limits per named counter, e.g. {"videos": {"minute": 10}}.
			&schema.Field{Name: "limits", Type: schema.Map, Required: true, LenMin: 1,
				Keys: &schema.Field{Type: schema.String},
				Values: &schema.Field{Type: schema.Record, Required: true, Fields: limit,
					Validator: validateResponseLimit}},
		), redisShorthands("response-ratelimiting")),
	}, redisPolicyChecks()...))
}

// validateResponseLimit checks one counter's limits: Kong's record-level
// at_least_one_of over the periods, then the period order. Kong reports the
// first as the record's own entity error; the engine has no entity checks on
// nested records, so it becomes the counter's message.
func validateResponseLimit(v any) error {
	limits, _ := v.(map[string]any)
	set := false
	for _, p := range ratePeriods {
		if limits[p] != nil {
			set = true
		}
	}
	if !set {
		quoted := make([]string, len(ratePeriods))
		for i, p := range ratePeriods {
			quoted[i] = "'" + p + "'"
		}
		return errors.New("at least one of these fields must be non-empty: " + strings.Join(quoted, ", "))
	}
	return periodOrder(limits, msgLimitOrder)
}

// Kong's response-ratelimiting headers
// (kong/plugins/response-ratelimiting/access.lua, header_filter.lua).
const (
	hdrXRemainingPrefix = "X-RateLimit-Remaining-"
	hdrXLimitPrefix     = "X-RateLimit-Limit-"
	msgLimitExceededFor = "API rate limit exceeded for '%s'"
)

// responseLimit is one named limit of config.limits.
type responseLimit struct {
	name    string
	limits  [ratelimit.NumPeriods]float64
	periods []ratelimit.Period
	// Headers: X-RateLimit-Remaining-<name>, and per period
	// X-RateLimit-Limit-<name>-<period> and X-RateLimit-Remaining-<name>-<period>.
	hdrRemaining          []byte
	hdrLimitP, hdrRemainP [ratelimit.NumPeriods][]byte
	counters              [ratelimit.NumPeriods]*ratelimit.Counter
}

// responseLimiter is one response-ratelimiting instance: the upstream
// says in a response header how much each answer consumes of named
// limits; requests are refused once a limit is used up.
type responseLimiter struct {
	headerName                 []byte
	limitBy                    string
	faultTolerant, block, hide bool
	// limits, sorted by name.
	limits []responseLimit
	// slots is how many (limit, period) counts a request has.
	slots int

	local  *ratelimit.Local
	client *redis.Client
	// inflight bounds the Redis increments in flight.
	inflight chan struct{}
	scope    string // "response-ratelimit:<route>:<service>"
	now      func() int64
}

func newResponseLimiter(conf map[string]any, local *ratelimit.Local, clients *ratelimit.Clients, now func() int64) (plugins.Handler, error) {
	r := &responseLimiter{
		headerName:    []byte(row.StringOr(conf, "header_name", "x-kong-limit")),
		limitBy:       row.StringOr(conf, "limit_by", limitByConsumer),
		faultTolerant: row.Bool(conf, "fault_tolerant", true),
		block:         row.Bool(conf, "block_on_first_violation", false),
		hide:          row.Bool(conf, "hide_client_headers", false),
		local:         local,
		now:           now,
	}
	limits := row.Map(conf, "limits")
	for _, name := range slices.Sorted(maps.Keys(limits)) {
		l := responseLimit{name: name, hdrRemaining: headerKey(hdrXRemainingPrefix + name)}
		periods, _ := limits[name].(map[string]any)
		for p := range ratelimit.NumPeriods {
			if v := row.Number(periods[p.String()], 0); v > 0 {
				l.limits[p] = v
				l.periods = append(l.periods, p)
				l.hdrLimitP[p] = headerKey(hdrXLimitPrefix + name + "-" + p.String())
				l.hdrRemainP[p] = headerKey(hdrXRemainingPrefix + name + "-" + p.String())
			}
		}
		if len(l.periods) == 0 {
			return nil, fmt.Errorf("limit %q has no period", name)
		}
		r.limits = append(r.limits, l)
		r.slots += len(l.periods)
	}
	if len(r.limits) == 0 {
		return nil, errors.New("no limit configured")
	}
	switch policy := row.StringOr(conf, "policy", policyLocal); policy {
	case policyLocal:
	case policyRedis:
		r.client = clients.Client(redisOptions(conf))
		r.inflight = make(chan struct{}, 256)
	default:
		return nil, fmt.Errorf("policy %q is not supported", policy)
	}
	r.SetScope(plugins.Scope{})
	return r, nil
}

// SetScope keys the counters by the plugin row's route and service, as
// Kong does.
func (r *responseLimiter) SetScope(s plugins.Scope) {
	route, service := scopeIDs(s)
	r.scope = "response-ratelimit:" + route + ":" + service
	if r.client == nil {
		for i := range r.limits {
			l := &r.limits[i]
			for _, p := range l.periods {
				l.counters[p] = r.local.Counter(r.scope+":"+l.name, p)
			}
		}
	}
}

// rrlState is what a request's access phase leaves for its header
// filter: who is counted, when, and each (limit, period)'s usage in
// config order. States are pooled.
type rrlState struct {
	key   []byte
	buf   []byte
	now   int64
	usage []int64
	incr  []int64
	keys  []string
}

var rrlStates = sync.Pool{New: func() any { return &rrlState{key: make([]byte, 0, 64), buf: make([]byte, 0, 32)} }}

// rrlStateKey is where the state waits in the request's shared values.
const rrlStateKey = "\x00response-ratelimiting"

func (st *rrlState) release() {
	st.key, st.usage, st.incr, st.keys = st.key[:0], st.usage[:0], st.incr[:0], st.keys[:0]
	rrlStates.Put(st)
}

// redisKey is Kong's key of a named limit's counter in one period.
func (r *responseLimiter) redisKey(ident string, now int64, name string, p ratelimit.Period) string {
	return r.scope + ":" + ident + ":" + strconv.FormatInt(p.Start(now)*1000, 10) + ":" + name + ":" + p.String()
}

func (r *responseLimiter) Access(c *plugins.Context) error {
	st := rrlStates.Get().(*rrlState)
	st.key = identifier(st.key[:0], c, r.limitBy, "", "")
	st.now = r.now()
	st.usage = slices.Grow(st.usage[:0], r.slots)[:r.slots]
	if err := r.usage(st); err != nil {
		st.release()
		if !r.faultTolerant {
			return err
		}
		logf(c, "error", "[response-ratelimiting] failed to get usage: %v", err)
		return nil
	}
	if r.block {
		// block_on_first_violation: a limit already used up refuses the
		// request before it goes upstream.
		slot := 0
		for i := range r.limits {
			l := &r.limits[i]
			for _, p := range l.periods {
				if l.limits[p]-float64(st.usage[slot]) <= 0 {
					st.release()
					c.Error(fasthttp.StatusTooManyRequests, fmt.Sprintf(msgLimitExceededFor, l.name))
					return nil
				}
				slot++
			}
		}
	}
	c.Shared[rrlStateKey] = st
	return nil
}

// usage fills st.usage with each (limit, period)'s count.
func (r *responseLimiter) usage(st *rrlState) error {
	if r.client == nil {
		slot := 0
		for i := range r.limits {
			l := &r.limits[i]
			for _, p := range l.periods {
				st.usage[slot] = l.counters[p].Get(st.key, st.now)
				slot++
			}
		}
		return nil
	}
	ident := string(st.key)
	st.keys = st.keys[:0]
	for i := range r.limits {
		l := &r.limits[i]
		for _, p := range l.periods {
			st.keys = append(st.keys, r.redisKey(ident, st.now, l.name, p))
		}
	}
	vals, err := ratelimit.Get(context.Background(), r.client, st.keys)
	if err != nil {
		return err
	}
	copy(st.usage, vals)
	return nil
}

func (r *responseLimiter) HeaderFilter(c *plugins.Context) error {
	st, ok := c.Shared[rrlStateKey].(*rrlState)
	if !ok {
		return nil
	}
	delete(c.Shared, rrlStateKey)
	defer st.release()
	h := &c.Response.Header
	st.incr = r.increments(st.incr[:0], h)
	stop := false
	slot := 0
	for i := range r.limits {
		l := &r.limits[i]
		var remaining float64
		for j, p := range l.periods {
			rem := l.limits[p] - float64(st.usage[slot])
			slot++
			if j == 0 || rem < remaining {
				remaining = rem
			}
			if !r.hide {
				st.setHeader(h, l.hdrLimitP[p], l.limits[p])
				st.setHeader(h, l.hdrRemainP[p], max(0, rem-float64(st.incr[i])))
			}
			if st.incr[i] > 0 && rem <= 0 {
				stop = true
			}
		}
		// Set in Kong's access phase, whatever hide_client_headers says.
		st.setHeader(h, l.hdrRemaining, remaining)
	}
	h.DelBytes(r.headerName)
	if stop {
		// Kong's kong.response.exit(429) in header_filter: no body, and
		// nothing is counted.
		c.Response.ResetBody()
		c.Response.SetStatusCode(fasthttp.StatusTooManyRequests)
		h.SetContentLength(0)
		return nil
	}
	r.count(c, st)
	return nil
}

// setHeader sets a header whose name was made with headerKey (nil: a
// limit name that cannot be a header name, not sent).
func (st *rrlState) setHeader(h *fasthttp.ResponseHeader, name []byte, v float64) {
	if name == nil {
		return
	}
	st.buf = appendNumber(st.buf[:0], v)
	h.SetCanonical(name, st.buf)
}

// increments reads the upstream's header_name values ("video=2, image=1",
// in one header or several) into one increment per limit (config order).
// Names that are not limits, and values that are not numbers, count 0.
func (r *responseLimiter) increments(out []int64, h *fasthttp.ResponseHeader) []int64 {
	out = slices.Grow(out, len(r.limits))[:len(r.limits)]
	clear(out)
	for k, v := range h.All() {
		if !bytes.EqualFold(k, r.headerName) {
			continue
		}
		for len(v) > 0 {
			var part []byte
			part, v, _ = bytes.Cut(v, []byte{','})
			name, value, ok := bytes.Cut(part, []byte{'='})
			if !ok || bytes.IndexByte(value, '=') >= 0 {
				continue
			}
			name, value = bytes.TrimSpace(name), bytes.TrimSpace(value)
			for i := range r.limits {
				if string(name) == r.limits[i].name {
					if n, err := strconv.ParseInt(string(value), 10, 64); err == nil {
						out[i] = n
					}
				}
			}
		}
	}
	return out
}

// count adds the answer's increments to the counters (Kong does it in the
// log phase, after the answer; the counts are the same). Redis increments
// run off the request's path, a bounded number at a time.
func (r *responseLimiter) count(c *plugins.Context, st *rrlState) {
	if r.client == nil {
		for i := range r.limits {
			if n := st.incr[i]; n != 0 {
				l := &r.limits[i]
				for _, p := range l.periods {
					l.counters[p].Add(st.key, st.now, n)
				}
			}
		}
		return
	}
	var keys []string
	var ttls, deltas []int64
	ident := string(st.key)
	for i := range r.limits {
		if n := st.incr[i]; n != 0 {
			l := &r.limits[i]
			for _, p := range l.periods {
				keys = append(keys, r.redisKey(ident, st.now, l.name, p))
				ttls, deltas = append(ttls, p.Seconds()), append(deltas, n)
			}
		}
	}
	if len(keys) == 0 {
		return
	}
	select {
	case r.inflight <- struct{}{}:
	default:
		logf(c, "error", "[response-ratelimiting] too many counter increments waiting for redis: one answer was not counted")
		return
	}
	log := c.Log
	go func() {
		defer func() { <-r.inflight }()
		if err := ratelimit.IncrEach(context.Background(), r.client, keys, ttls, deltas); err != nil && log != nil {
			log("error", "[response-ratelimiting] failed to increment counters: %v", err)
		}
	}()
}

var (
	_ plugins.Accessor       = (*responseLimiter)(nil)
	_ plugins.HeaderFilterer = (*responseLimiter)(nil)
	_ plugins.Scoped         = (*responseLimiter)(nil)
)
