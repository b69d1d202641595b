package bundled

import (
	"errors"
	"fmt"

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
//
// Kong still accepts the pre-3.6 flat redis_* options as deprecated
// shorthands of config.redis.*; the schema engine has no shorthand fields
// inside records, so they are refused as unknown for now.
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
	return info("rate-limiting", 910, []*schema.Field{
		protocolsHTTP(),
		withValidator(config(fields...), validateRateLimitingConfig),
	}, checks...)
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
