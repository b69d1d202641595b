package bundled

import (
	"errors"
	"fmt"
	"time"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/plugins/ratelimit"
	"github.com/portico-gw/portico/schema"
)

// redisConfig is Kong 3.9's shared redis record (kong/tools/redis/schema.lua
// config_schema), used by rate-limiting and response-ratelimiting. Kong
// declares password with len_min = 0: "" is accepted.
func redisConfig() *schema.Field {
	return record("redis",
		host("host"),
		withDefault(port("port"), float64(6379)),
		withDefault(timeout("timeout"), float64(2000)),
		&schema.Field{Name: "username", Type: schema.String, Referenceable: true},
		&schema.Field{Name: "password", Type: schema.String, Encrypted: true, Referenceable: true, AllowEmpty: true},
		&schema.Field{Name: "database", Type: schema.Integer, Default: float64(0)},
		&schema.Field{Name: "ssl", Type: schema.Boolean, Default: false},
		&schema.Field{Name: "ssl_verify", Type: schema.Boolean, Default: false},
		sni("server_name"),
	)
}

// redisShorthands are the pre-3.6 flat redis_* options Kong 3.9 still
// accepts in rate-limiting's and response-ratelimiting's config, as
// deprecated shorthands of config.redis.* (shorthand_fields in their
// schema.lua): written into the record, echoed back on reads.
func redisShorthands(plugin string) []schema.Shorthand {
	var out []schema.Shorthand
	for _, f := range []struct {
		name       string
		typ        schema.Type
		allowEmpty bool
	}{
		{"host", schema.String, false}, {"port", schema.Integer, false}, {"password", schema.String, true},
		{"username", schema.String, false}, {"ssl", schema.Boolean, false}, {"ssl_verify", schema.Boolean, false},
		{"server_name", schema.String, false}, {"timeout", schema.Integer, false}, {"database", schema.Integer, false},
	} {
		out = append(out, schema.Shorthand{
			Name: "redis_" + f.name, Type: f.typ, AllowEmpty: f.allowEmpty,
			ReplacedWith: []string{"redis", f.name},
			Deprecation: &schema.Deprecation{
				Message:          fmt.Sprintf("%s: config.redis_%s is deprecated, please use config.redis.%s instead", plugin, f.name, f.name),
				RemovalInVersion: "4.0",
			},
		})
	}
	return out
}

// withShorthands gives a record its shorthand fields and returns it.
func withShorthands(f *schema.Field, shorthands []schema.Shorthand) *schema.Field {
	f.Shorthands = shorthands
	return f
}

// redisPolicyChecks are the entity checks both rate limiting plugins declare:
// with policy "redis", config.redis.host, port and timeout are required.
func redisPolicyChecks() []schema.Check {
	var checks []schema.Check
	for _, field := range []string{"host", "port", "timeout"} {
		checks = append(checks, schema.Check{Conditional: &schema.Conditional{
			IfField:   "config.policy",
			IfMatch:   &schema.Field{Eq: "redis"},
			ThenField: "config.redis." + field,
			ThenMatch: &schema.Field{Required: true},
		}})
	}
	return checks
}

// msgClusterPolicy refuses the cluster policy: Kong keeps its counters in
// the database, which Portico's embedded store is not shared for.
const msgClusterPolicy = "policy 'cluster' is not supported: use 'local' (counters in the node) or 'redis' (counters shared by every node)"

// rateLimitPolicy is the policy field of both rate limiting plugins. It
// lists Kong's values (GET /schemas shows them), but "cluster" is refused
// with a message naming it. Kong's rate-limiting declares len_min = 0 (see
// redisConfig).
func rateLimitPolicy() *schema.Field {
	return &schema.Field{Name: "policy", Type: schema.String, Default: "local", OneOf: schema.Strings("local", "cluster", "redis"),
		Validator: func(v any) error {
			if v == "cluster" {
				return errors.New(msgClusterPolicy)
			}
			return nil
		}}
}

// The policies that run.
const (
	policyLocal = "local"
	policyRedis = "redis"
)

// redisOptions reads a plugin's config.redis record.
func redisOptions(conf map[string]any) ratelimit.RedisConfig {
	r := row.Map(conf, "redis")
	return ratelimit.RedisConfig{
		Host:       row.String(r, "host"),
		Port:       row.Int(r, "port", 6379),
		Username:   row.String(r, "username"),
		Password:   row.String(r, "password"),
		Database:   row.Int(r, "database", 0),
		Timeout:    time.Duration(row.Int(r, "timeout", 2000)) * time.Millisecond,
		SSL:        row.Bool(r, "ssl", false),
		SSLVerify:  row.Bool(r, "ssl_verify", false),
		ServerName: row.String(r, "server_name"),
	}
}

// emptyUUID stands for a plugin row's missing route or service in Kong's
// counter keys.
const emptyUUID = "00000000-0000-0000-0000-000000000000"

// scopeIDs are a plugin row's route and service ids as Kong's counter keys
// name them.
func scopeIDs(s plugins.Scope) (route, service string) {
	route, service = s.Route, s.Service
	if route == "" {
		route = emptyUUID
	}
	if service == "" {
		service = emptyUUID
	}
	return route, service
}

// unixNow is the clock of the rate limiting plugins: Kong counts in whole
// seconds (ngx.time).
func unixNow() int64 { return time.Now().Unix() }
