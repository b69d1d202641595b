package bundled

import "github.com/portico-gw/portico/schema"

// redisConfig is Kong 3.9's shared redis record (kong/tools/redis/schema.lua
// config_schema), used by rate-limiting and response-ratelimiting.
//
// Kong declares password with len_min = 0 so that "" is accepted; the schema
// engine cannot express an explicit zero minimum yet (a zero LenMin means
// "unset" and empty strings are refused).
func redisConfig() *schema.Field {
	return record("redis",
		host("host"),
		withDefault(port("port"), float64(6379)),
		withDefault(timeout("timeout"), float64(2000)),
		&schema.Field{Name: "username", Type: schema.String, Referenceable: true},
		&schema.Field{Name: "password", Type: schema.String, Encrypted: true, Referenceable: true},
		&schema.Field{Name: "database", Type: schema.Integer, Default: float64(0)},
		&schema.Field{Name: "ssl", Type: schema.Boolean, Default: false},
		&schema.Field{Name: "ssl_verify", Type: schema.Boolean, Default: false},
		sni("server_name"),
	)
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

// rateLimitPolicy is the policy field of both rate limiting plugins. Kong
// drops "cluster" in DB-less mode and on control planes; Portico always has a
// database. Kong's rate-limiting declares len_min = 0 (see redisConfig).
func rateLimitPolicy() *schema.Field {
	return &schema.Field{Name: "policy", Type: schema.String, Default: "local", OneOf: schema.Strings("local", "cluster", "redis")}
}
