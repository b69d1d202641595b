package bundled

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins/ratelimit"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// ratePeriods are the rate limiting windows, shortest first (Kong's
// constants.RATELIMIT.PERIODS).
var ratePeriods = []string{"second", "minute", "hour", "day", "month", "year"}

// Rate limiting messages (kong/plugins/rate-limiting/schema.lua).
const (
	msgPeriodOrder  = "The limit for %s(%.1f) cannot be lower than the limit for %s(%.1f)"
	msgSyncRateOnly = "sync_rate can only be used with the redis policy"
	msgSyncRateMin  = "sync_rate must be greater than 0.02, or -1 to disable"
)

// syncRateRealtime is sync_rate's default: count synchronously.
const syncRateRealtime = -1

// rateLimiting is Kong's rate-limiting (kong/plugins/rate-limiting/schema.lua).
// Kong still accepts the pre-3.6 flat redis_* options as deprecated
// shorthands of config.redis.* (redisShorthands).
func rateLimiting() plugins.Info {
	fields := []*schema.Field{}
	for _, p := range ratePeriods {
		fields = append(fields, &schema.Field{Name: p, Type: schema.Number, Gt: schema.Float(0)})
	}
	fields = append(fields,
		&schema.Field{Name: "limit_by", Type: schema.String, Default: "consumer",
			OneOf: schema.Strings("consumer", "credential", "ip", "service", "header", "path")},
		headerName("header_name"),
		path("path"),
		rateLimitPolicy(),
		&schema.Field{Name: "fault_tolerant", Type: schema.Boolean, Required: true, Default: true},
		redisConfig(),
		&schema.Field{Name: "hide_client_headers", Type: schema.Boolean, Required: true, Default: false},
		&schema.Field{Name: "error_code", Type: schema.Number, Default: float64(429), Gt: schema.Float(0)},
		&schema.Field{Name: "error_message", Type: schema.String, Default: "API rate limit exceeded"},
		// Seconds between counter syncs with redis; -1 syncs on every request.
		&schema.Field{Name: "sync_rate", Type: schema.Number, Required: true, Default: float64(syncRateRealtime)},
	)
	periods := make([]string, len(ratePeriods))
	for i, p := range ratePeriods {
		periods[i] = "config." + p
	}
	checks := []schema.Check{{AtLeastOneOf: periods}}
	checks = append(checks, redisPolicyChecks()...)
	checks = append(checks,
		schema.Check{Conditional: &schema.Conditional{
			IfField: "config.limit_by", IfMatch: &schema.Field{Eq: "header"},
			ThenField: "config.header_name", ThenMatch: &schema.Field{Required: true},
		}},
		schema.Check{Conditional: &schema.Conditional{
			IfField: "config.limit_by", IfMatch: &schema.Field{Eq: "path"},
			ThenField: "config.path", ThenMatch: &schema.Field{Required: true},
		}},
	)
	local, clients := ratelimit.NewLocal(unixNow), ratelimit.NewClients()
	i := runs(func(conf map[string]any) (plugins.Handler, error) {
		return newRateLimiter(conf, local, clients, unixNow)
	}, info("rate-limiting", 910, []*schema.Field{
		protocolsHTTP(),
		withShorthands(withValidator(config(fields...), validateRateLimitingConfig), redisShorthands("rate-limiting")),
	}, checks...))
	i.Events = []plugins.Event{{
		Source: eventSourceRateLimiting, Name: eventRateLimitExceeded,
		Description: "Run an event when a rate limit has been exceeded",
		Fields:      []string{"consumer", "ip", "service", "rate", "limit", "window"},
		Unique:      []string{"consumer", "ip", "service"},
	}}
	return i
}

// validateRateLimitingConfig is rate-limiting's config custom_validator:
// longer windows may not have lower limits, and sync_rate needs redis.
func validateRateLimitingConfig(v any) error {
	conf, _ := v.(map[string]any)
	if err := periodOrder(conf, msgPeriodOrder); err != nil {
		return err
	}
	rate, _ := conf["sync_rate"].(float64)
	if conf["policy"] != "redis" && rate != syncRateRealtime {
		return errors.New(msgSyncRateOnly)
	}
	if conf["policy"] == "redis" && rate != syncRateRealtime && rate < 0.02 {
		return errors.New(msgSyncRateMin)
	}
	return nil
}

// periodOrder reports the first longer period whose limit is below a shorter
// one's, in Kong's words (format takes upper, its limit, lower, its limit).
func periodOrder(limits map[string]any, format string) error {
	for i, lower := range ratePeriods {
		v1, ok := limits[lower].(float64)
		if !ok {
			continue
		}
		for _, upper := range ratePeriods[i+1:] {
			if v2, ok := limits[upper].(float64); ok && v2 < v1 {
				return fmt.Errorf(format, upper, v2, lower, v1)
			}
		}
	}
	return nil
}

// The event a rejected request emits (Kong Enterprise's rate limiting
// plugins publish the same event, fields and unique fields).
const (
	eventSourceRateLimiting = "rate-limiting"
	eventRateLimitExceeded  = "rate-limit-exceeded"
)

// Kong's rate limiting headers (kong/plugins/rate-limiting/handler.lua),
// in the form fasthttp keeps header names in (see headerKey).
var (
	hdrRateLimitLimit     = headerKey("RateLimit-Limit")
	hdrRateLimitRemaining = headerKey("RateLimit-Remaining")
	hdrRateLimitReset     = headerKey("RateLimit-Reset")
	hdrRetryAfter         = headerKey("Retry-After")
	hdrXLimit             [ratelimit.NumPeriods][]byte
	hdrXRemaining         [ratelimit.NumPeriods][]byte
)

func init() {
	for p := range ratelimit.NumPeriods {
		hdrXLimit[p] = headerKey("X-RateLimit-Limit-" + p.String())
		hdrXRemaining[p] = headerKey("X-RateLimit-Remaining-" + p.String())
	}
}

// headerKey is a header name normalized once as fasthttp normalizes the
// names it is given ("X-Ratelimit-Limit-Minute"), so that it can be set
// with SetCanonical (no normalization per request) and still be found by
// other plugins' Peek and Del. HTTP header names are case-insensitive;
// Kong writes "X-RateLimit-Limit-Minute". nil when name is not an HTTP
// token: such a header is not sent.
func headerKey(name string) []byte {
	if name == "" {
		return nil
	}
	for i := 0; i < len(name); i++ {
		if !isTokenByte(name[i]) {
			return nil
		}
	}
	return fasthttp.AppendNormalizedHeaderKey(nil, name)
}

// isTokenByte reports a byte allowed in a header name (RFC 9110 5.6.2
// tchar).
func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// The identifiers a limit counts by (config.limit_by).
const (
	limitByConsumer   = "consumer"
	limitByCredential = "credential"
	limitByIP         = "ip"
	limitByService    = "service"
	limitByHeader     = "header"
	limitByPath       = "path"
)

// rateLimiter is one rate-limiting instance
// (kong/plugins/rate-limiting/handler.lua and policies/init.lua).
type rateLimiter struct {
	// limits per period (0: none), and the periods limited, shortest
	// first.
	limits  [ratelimit.NumPeriods]float64
	periods []ratelimit.Period

	limitBy, headerName, path string
	faultTolerant, hide       bool
	errorCode                 int
	errorMessage              string

	// Policy local: the node's counters, found by scope.
	local    *ratelimit.Local
	counters [ratelimit.NumPeriods]*ratelimit.Counter
	// Policy redis: the shared client, and with a sync_rate the syncer
	// of its database and the interval (nil when every request goes to
	// Redis, sync_rate -1). ttls are the periods' expirations.
	client *redis.Client
	sync   *ratelimit.Syncer
	every  time.Duration
	ttls   []int64

	// scope is Kong's counter key prefix, "ratelimit:<route>:<service>".
	scope string
	now   func() int64
}

func newRateLimiter(conf map[string]any, local *ratelimit.Local, clients *ratelimit.Clients, now func() int64) (plugins.Handler, error) {
	r := &rateLimiter{
		limitBy:       row.StringOr(conf, "limit_by", limitByConsumer),
		headerName:    row.String(conf, "header_name"),
		path:          row.String(conf, "path"),
		faultTolerant: row.Bool(conf, "fault_tolerant", true),
		hide:          row.Bool(conf, "hide_client_headers", false),
		errorCode:     row.Int(conf, "error_code", 429),
		errorMessage:  row.StringOr(conf, "error_message", "API rate limit exceeded"),
		local:         local,
		now:           now,
	}
	for p := range ratelimit.NumPeriods {
		if v := row.Number(conf[p.String()], 0); v > 0 {
			r.limits[p] = v
			r.periods = append(r.periods, p)
		}
	}
	if len(r.periods) == 0 {
		return nil, errors.New("no limit configured")
	}
	switch policy := row.StringOr(conf, "policy", policyLocal); policy {
	case policyLocal:
	case policyRedis:
		r.client = clients.Client(redisOptions(conf))
		r.ttls = periodTTLs(r.periods)
		if rate := row.Number(conf["sync_rate"], syncRateRealtime); rate != syncRateRealtime {
			r.sync = clients.Syncer(redisOptions(conf))
			r.every = time.Duration(rate * float64(time.Second))
		}
	default:
		return nil, fmt.Errorf("policy %q is not supported", policy)
	}
	r.SetScope(plugins.Scope{})
	return r, nil
}

// SetScope keys the counters by the plugin row's route and service, as
// Kong does: rows with the same scope share their counts.
func (r *rateLimiter) SetScope(s plugins.Scope) {
	route, service := scopeIDs(s)
	r.scope = "ratelimit:" + route + ":" + service
	if r.client == nil {
		for _, p := range r.periods {
			r.counters[p] = r.local.Counter(r.scope, p)
		}
	}
}

// rlState is what a request's access phase leaves for its header filter:
// the headers to add to the upstream's answer. States are pooled.
type rlState struct {
	key    []byte
	buf    []byte
	n      int
	names  [2*ratelimit.NumPeriods + 3][]byte
	values [2*ratelimit.NumPeriods + 3]float64
	usage  [ratelimit.NumPeriods]int64
	// Policy redis: the counters' keys, their windows' ends, their
	// values.
	redisKV  []string
	expireAt []int64
	vals     [ratelimit.NumPeriods]int64
}

var rlStates = sync.Pool{New: func() any { return &rlState{key: make([]byte, 0, 64), buf: make([]byte, 0, 32)} }}

// rlStateKey is where the state waits in the request's shared values.
const rlStateKey = "\x00rate-limiting"

func (st *rlState) add(name []byte, v float64) {
	st.names[st.n], st.values[st.n] = name, v
	st.n++
}

// apply sets the headers on the answer, replacing any the upstream sent.
// Most answers have none, and then appending each header spares looking
// for an earlier one of its name.
func (st *rlState) apply(h *fasthttp.ResponseHeader) {
	replace := hasRateLimitHeaders(h)
	for i := range st.n {
		st.buf = appendNumber(st.buf[:0], st.values[i])
		if replace {
			h.SetCanonical(st.names[i], st.buf)
		} else {
			h.AddBytesKV(st.names[i], st.buf)
		}
	}
}

// hasRateLimitHeaders reports whether h holds a header that rate limiting
// plugins set: X-RateLimit-*, RateLimit-* or Retry-After, in any case.
func hasRateLimitHeaders(h *fasthttp.ResponseHeader) bool {
	for k := range h.All() {
		if hasPrefixFold(k, "x-ratelimit-") || hasPrefixFold(k, "ratelimit-") ||
			len(k) == len("retry-after") && hasPrefixFold(k, "retry-after") {
			return true
		}
	}
	return false
}

// hasPrefixFold is bytes.HasPrefix ignoring case.
func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(view(b[:len(prefix)]), prefix)
}

// appendNumber writes a header's number as Lua's tostring does: integers
// without a fraction.
func appendNumber(buf []byte, v float64) []byte {
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		return strconv.AppendInt(buf, int64(v), 10)
	}
	return strconv.AppendFloat(buf, v, 'f', -1, 64)
}

func (st *rlState) release() {
	st.n = 0
	st.key = st.key[:0]
	rlStates.Put(st)
}

func (r *rateLimiter) Access(c *plugins.Context) error {
	st := rlStates.Get().(*rlState)
	st.key = r.identifier(st.key[:0], c)
	now := r.now()
	if err := r.usage(c, st, now); err != nil {
		st.release()
		if !r.faultTolerant {
			return err
		}
		logf(c, "error", "[rate-limiting] failed to get usage: %v", err)
		return nil
	}
	// A period whose limit is reached stops the request (Kong: remaining
	// = limit - usage <= 0).
	var stop bool
	for _, p := range r.periods {
		if r.limits[p]-float64(st.usage[p]) <= 0 {
			stop = true
		}
	}
	if stop && r.client == nil {
		// Local counters count only requests let through, as Kong's
		// increment after the access phase does.
		for _, p := range r.periods {
			r.counters[p].Add(st.key, now, -1)
		}
	}
	var window ratelimit.Period
	if !r.hide || stop {
		window = r.headers(st, now, stop)
	}
	if !stop {
		if r.sync != nil {
			r.sync.Increment(st.redisKV, st.expireAt, r.every)
		}
		if st.n == 0 {
			st.release()
		} else {
			c.Shared[rlStateKey] = st
		}
		return nil
	}
	c.Error(r.errorCode, r.errorMessage)
	if !r.hide {
		st.apply(&c.Response.Header)
	}
	if c.Events != nil && c.Events.Wants(eventSourceRateLimiting, eventRateLimitExceeded) {
		c.Events.Emit(eventSourceRateLimiting, eventRateLimitExceeded, r.event(c, st, window))
	}
	st.release()
	return nil
}

func (r *rateLimiter) HeaderFilter(c *plugins.Context) error {
	st, ok := c.Shared[rlStateKey].(*rlState)
	if !ok {
		return nil
	}
	delete(c.Shared, rlStateKey)
	st.apply(&c.Response.Header)
	st.release()
	return nil
}

// identifier appends what the request is counted by to buf: Kong's
// get_identifier, falling back to the client's address when the consumer,
// credential, service, header or path is missing.
func (r *rateLimiter) identifier(buf []byte, c *plugins.Context) []byte {
	return identifier(buf, c, r.limitBy, r.headerName, r.path)
}

// identifier is Kong's get_identifier of both rate limiting plugins.
func identifier(buf []byte, c *plugins.Context, limitBy, headerName, path string) []byte {
	switch limitBy {
	case limitByService:
		buf = append(buf, c.Service.ID...)
	case limitByConsumer:
		id, _ := c.Consumer["id"].(string)
		if id == "" {
			id, _ = c.Credential["id"].(string)
		}
		buf = append(buf, id...)
	case limitByCredential:
		id, _ := c.Credential["id"].(string)
		buf = append(buf, id...)
	case limitByHeader:
		buf = append(buf, c.Request.Header.Peek(headerName)...)
	case limitByPath:
		if p := rawPath(c.Request.Header.RequestURI()); string(p) == path {
			buf = append(buf, p...)
		}
	}
	if len(buf) == 0 && c.ClientIP.IsValid() {
		buf = c.ClientIP.Unmap().AppendTo(buf)
	}
	return buf
}

// rawPath is the path of a request target as the client sent it, without
// the query string (kong.request.get_path).
func rawPath(uri []byte) []byte {
	if len(uri) > 0 && uri[0] != '/' {
		if i := bytes.Index(uri, []byte("://")); i >= 0 {
			uri = uri[i+3:]
			if j := bytes.IndexByte(uri, '/'); j >= 0 {
				uri = uri[j:]
			} else {
				uri = []byte("/")
			}
		}
	}
	if q := bytes.IndexByte(uri, '?'); q >= 0 {
		uri = uri[:q]
	}
	return uri
}

// usage fills st.usage with each period's count before this request.
// Local counters and Redis count the request at once; Redis keeps counting
// rejected requests, as Kong's redis policy does.
func (r *rateLimiter) usage(c *plugins.Context, st *rlState, now int64) error {
	if r.client == nil {
		for _, p := range r.periods {
			st.usage[p] = r.counters[p].Add(st.key, now, 1) - 1
		}
		return nil
	}
	st.redisKV = st.redisKV[:0]
	ident := string(st.key)
	for _, p := range r.periods {
		st.redisKV = append(st.redisKV, r.scope+":"+ident+":"+strconv.FormatInt(p.Start(now)*1000, 10)+":"+p.String())
	}
	if r.sync != nil {
		r.sync.SetLog(c.Log)
		st.expireAt = st.expireAt[:0]
		for _, p := range r.periods {
			st.expireAt = append(st.expireAt, p.Start(now)+p.Seconds())
		}
		vals := st.vals[:len(r.periods)]
		if err := r.sync.Usage(st.redisKV, st.expireAt, now, r.every, vals); err != nil {
			return err
		}
		for i, p := range r.periods {
			st.usage[p] = vals[i]
		}
		return nil
	}
	vals, err := ratelimit.IncrBy(context.Background(), r.client, st.redisKV, r.ttls, 1)
	if err != nil {
		return err
	}
	for i, p := range r.periods {
		st.usage[p] = vals[i] - 1
	}
	return nil
}

// periodTTLs are the periods' expirations, in seconds.
func periodTTLs(periods []ratelimit.Period) []int64 {
	out := make([]int64, len(periods))
	for i, p := range periods {
		out[i] = p.Seconds()
	}
	return out
}

// headers records Kong's headers in st: per period its limit and what
// remains, then RateLimit-* for the period with the least remaining (the
// longest such window on a tie), and Retry-After when the request stops.
// It returns that period.
func (r *rateLimiter) headers(st *rlState, now int64, stop bool) ratelimit.Period {
	var (
		chosen           ratelimit.Period
		limit, remaining float64
		reset            int64
		found            bool
	)
	for _, p := range r.periods {
		rem := r.limits[p] - float64(st.usage[p])
		// This request uses one more, unless another period stops it.
		if !stop || rem <= 0 {
			rem--
		}
		rem = max(0, rem)
		if !found || rem < remaining || (rem == remaining && p.Seconds() > chosen.Seconds()) {
			found, chosen, limit, remaining, reset = true, p, r.limits[p], rem, p.Reset(now)
		}
		st.add(hdrXLimit[p], r.limits[p])
		st.add(hdrXRemaining[p], rem)
	}
	st.add(hdrRateLimitLimit, limit)
	st.add(hdrRateLimitRemaining, remaining)
	st.add(hdrRateLimitReset, float64(reset))
	if stop {
		st.add(hdrRetryAfter, float64(reset))
	}
	if r.hide {
		st.n = 0
	}
	return chosen
}

// event is the rate-limit-exceeded event's data: the consumer and the
// service (their entities, or {}), the client's address, and the window
// that stopped the request with its limit and the request's count in it.
func (r *rateLimiter) event(c *plugins.Context, st *rlState, window ratelimit.Period) map[string]any {
	consumer, service := map[string]any{}, map[string]any{}
	if c.Consumer != nil {
		consumer = c.Consumer
	}
	if c.Service.Row != nil {
		service = c.Service.Row
	}
	ip := ""
	if c.ClientIP.IsValid() {
		ip = c.ClientIP.Unmap().String()
	}
	return map[string]any{
		"consumer": consumer, "ip": ip, "service": service,
		"rate": st.usage[window] + 1, "limit": r.limits[window], "window": window.String(),
	}
}

// logf writes to the node's error log when there is one.
func logf(c *plugins.Context, level, format string, args ...any) {
	if c.Log != nil {
		c.Log(level, format, args...)
	}
}

var (
	_ plugins.Accessor       = (*rateLimiter)(nil)
	_ plugins.HeaderFilterer = (*rateLimiter)(nil)
	_ plugins.Scoped         = (*rateLimiter)(nil)
)
