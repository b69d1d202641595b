package bundled

import (
	"errors"
	"strings"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// msgLimitOrder is response-ratelimiting's period order message (lower-case,
// unlike rate-limiting's).
const msgLimitOrder = "the limit for %s(%.1f) cannot be lower than the limit for %s(%.1f)"

// responseRateLimiting is Kong's response-ratelimiting
// (kong/plugins/response-ratelimiting/schema.lua). As for rate-limiting, the
// deprecated flat redis_* shorthands are not accepted yet.
func responseRateLimiting() plugins.Info {
	limit := []*schema.Field{}
	for _, p := range ratePeriods {
		limit = append(limit, &schema.Field{Name: p, Type: schema.Number, Gt: schema.Float(0)})
	}
	return info("response-ratelimiting", 900, []*schema.Field{
		protocolsHTTP(),
		config(
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
		),
	}, redisPolicyChecks()...)
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
