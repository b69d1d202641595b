package entities

import (
	"errors"
	"regexp"
	"unicode/utf8"

	"github.com/portico-gw/portico/schema"
)

// Upstreams is Kong's upstreams entity (kong/db/schema/entities/upstreams.lua).
func Upstreams() *schema.Entity {
	return &schema.Entity{
		Name:          "upstreams",
		Workspaceable: true,
		EndpointKey:   "name",
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			{Name: "name", Type: schema.String, Required: true, Unique: true, Validator: validateUpstreamName},
			schema.UpdatedAt(),
			{Name: "algorithm", Type: schema.String, Default: "round-robin",
				OneOf: schema.Strings("consistent-hashing", "least-connections", "round-robin", "latency")},
			hashOn("hash_on"),
			hashOn("hash_fallback"),
			schema.HeaderName("hash_on_header"),
			schema.HeaderName("hash_fallback_header"),
			schema.CookieName("hash_on_cookie"),
			with(schema.Path("hash_on_cookie_path"), def("/")),
			simpleParam("hash_on_query_arg"),
			simpleParam("hash_fallback_query_arg"),
			simpleParam("hash_on_uri_capture"),
			simpleParam("hash_fallback_uri_capture"),
			{Name: "slots", Type: schema.Integer, Default: num(10000), Between: schema.Range(10, 1<<16)},
			healthchecks(),
			schema.Tags(),
			schema.HostWithOptionalPort("host_header"),
			{Name: "client_certificate", Type: schema.Foreign, Reference: "certificates"},
			{Name: "use_srv_name", Type: schema.Boolean, Default: false},
		},
		Checks: []schema.Check{
			// hash_on_header must be present when hashing on header
			requiredWhen("hash_on", "header", "hash_on_header"),
			requiredWhen("hash_fallback", "header", "hash_fallback_header"),
			// hash_on_cookie must be present when hashing on cookie
			requiredWhen("hash_on", "cookie", "hash_on_cookie"),
			requiredWhen("hash_fallback", "cookie", "hash_on_cookie"),
			// hash_fallback must be "none" if hash_on is "none"
			fallbackOneOf("none", "none"),
			// when hashing on cookies, hash_fallback is ignored
			fallbackOneOf("cookie", "none"),
			// hash_fallback must not equal hash_on (headers and query args are allowed)
			fallbackOneOf("consumer", "none", "ip", "header", "cookie", "path", "query_arg", "uri_capture"),
			fallbackOneOf("ip", "none", "consumer", "header", "cookie", "path", "query_arg", "uri_capture"),
			fallbackOneOf("path", "none", "consumer", "header", "cookie", "query_arg", "ip", "uri_capture"),
			// different headers
			{Distinct: []string{"hash_on_header", "hash_fallback_header"}},
			// hash_on_query_arg must be present when hashing on query_arg
			requiredWhen("hash_on", "query_arg", "hash_on_query_arg"),
			requiredWhen("hash_fallback", "query_arg", "hash_fallback_query_arg"),
			// query arg and fallback must be different
			{Distinct: []string{"hash_on_query_arg", "hash_fallback_query_arg"}},
			// hash_on_uri_capture must be present when hashing on uri_capture
			requiredWhen("hash_on", "uri_capture", "hash_on_uri_capture"),
			requiredWhen("hash_fallback", "uri_capture", "hash_fallback_uri_capture"),
			// uri capture and fallback must be different
			{Distinct: []string{"hash_on_uri_capture", "hash_fallback_uri_capture"}},
		},
		// Kong's shorthand fields keep algorithm and hash_on consistent:
		// least-connections and latency reset hash_on; hashing on anything
		// selects consistent-hashing, hash_on "none" selects round-robin.
		Shorthands: []schema.Shorthand{
			{Name: "algorithm", Type: schema.String, Expand: expandAlgorithm},
			{Name: "hash_on", Type: schema.String, Expand: expandHashOn},
		},
		// Kong turns a null hash_on into "none" (the hash_on shorthand sees
		// the null the algorithm shorthand sets); the engine drops null
		// shorthand values, so the invariant is restored here.
		Derive: func(e map[string]any) {
			if alg := e["algorithm"]; alg == "least-connections" || alg == "latency" || e["hash_on"] == nil {
				e["hash_on"] = "none"
			}
		},
	}
}

func hashOn(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String, Default: "none",
		OneOf: schema.Strings("none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture")}
}

func simpleParam(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String, LenMin: 1}
}

func requiredWhen(ifField, value, thenField string) schema.Check {
	return schema.Check{Conditional: &schema.Conditional{
		IfField:   ifField,
		IfMatch:   &schema.Field{Match: regexp.MustCompile("^" + value + "$")},
		ThenField: thenField,
		ThenMatch: &schema.Field{Required: true},
	}}
}

func fallbackOneOf(hashOnValue string, allowed ...string) schema.Check {
	return schema.Check{Conditional: &schema.Conditional{
		IfField:   "hash_on",
		IfMatch:   &schema.Field{Match: regexp.MustCompile("^" + hashOnValue + "$")},
		ThenField: "hash_fallback",
		ThenMatch: &schema.Field{OneOf: schema.Strings(allowed...)},
	}}
}

func expandAlgorithm(v any) (map[string]any, error) {
	if _, ok := v.(string); !ok {
		return nil, errors.New("expected a string")
	}
	if v == "least-connections" || v == "latency" {
		return map[string]any{"algorithm": v, "hash_on": nil}, nil
	}
	return map[string]any{"algorithm": v}, nil
}

func expandHashOn(v any) (map[string]any, error) {
	if _, ok := v.(string); !ok {
		return nil, errors.New("expected a string")
	}
	if v == "none" {
		return map[string]any{"hash_on": v, "algorithm": "round-robin"}, nil
	}
	return map[string]any{"hash_on": v, "algorithm": "consistent-hashing"}, nil
}

// validateUpstreamName: upstream names are hostnames without port.
func validateUpstreamName(v any) error {
	s, _ := v.(string)
	prefix := "Invalid name ('" + s + "')"
	if !utf8.ValidString(s) {
		prefix = "Invalid name"
	}
	n, err := schema.NormalizeIP(s)
	switch {
	case err != nil:
		return errors.New(prefix + "; must be a valid hostname")
	case n.Type != "name":
		return errors.New(prefix + "; no ip addresses allowed")
	case n.Port >= 0:
		return errors.New(prefix + "; no port allowed")
	}
	return nil
}

// ---------------------------------------------------------------------------
// Health checks: a record of records, each level with its defaults.

func seconds(name string, dflt int) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Number, Between: schema.Range(0, 65535), Default: num(dflt)}
}

func oneByteInt(name string, dflt int) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Integer, Between: schema.Range(0, 255), Default: num(dflt)}
}

func httpStatuses(dflt ...int) *schema.Field {
	return &schema.Field{Name: "http_statuses", Type: schema.Array,
		Elements: &schema.Field{Type: schema.Integer, Between: schema.Range(100, 999)},
		Default:  schema.Ints(dflt...)}
}

func checkType() *schema.Field {
	return &schema.Field{Name: "type", Type: schema.String, Default: "http",
		OneOf: schema.Strings("tcp", "http", "https", "grpc", "grpcs")}
}

// record builds a record field whose default is the map of its sub-fields'
// defaults (null for those without one), as Kong's gen_fields does. Records
// of entities are required (Kong's entity.lua make_records_required), so
// that the full structure is always stored and printed.
func record(name string, fields ...*schema.Field) *schema.Field {
	d := make(map[string]any, len(fields))
	for _, f := range fields {
		d[f.Name] = schema.Copy(f.Default)
	}
	return &schema.Field{Name: name, Type: schema.Record, Required: true, Fields: fields, Default: d}
}

func healthchecks() *schema.Field {
	active := record("active",
		checkType(),
		seconds("timeout", 1),
		&schema.Field{Name: "concurrency", Type: schema.Integer, Between: schema.Range(1, 1<<31), Default: num(10)},
		with(schema.Path("http_path"), def("/")),
		schema.SNI("https_sni"),
		&schema.Field{Name: "https_verify_certificate", Type: schema.Boolean, Required: true, Default: true},
		schema.Headers("headers"),
		record("healthy",
			seconds("interval", 0),
			httpStatuses(200, 302),
			oneByteInt("successes", 0),
		),
		record("unhealthy",
			seconds("interval", 0),
			httpStatuses(429, 404, 500, 501, 502, 503, 504, 505),
			oneByteInt("tcp_failures", 0),
			oneByteInt("timeouts", 0),
			oneByteInt("http_failures", 0),
		),
	)
	passive := record("passive",
		checkType(),
		record("healthy",
			httpStatuses(200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
				300, 301, 302, 303, 304, 305, 306, 307, 308),
			oneByteInt("successes", 0),
		),
		record("unhealthy",
			httpStatuses(429, 500, 503),
			oneByteInt("tcp_failures", 0),
			oneByteInt("timeouts", 0),
			oneByteInt("http_failures", 0),
		),
	)
	threshold := &schema.Field{Name: "threshold", Type: schema.Number, Between: schema.Range(0, 100), Default: num(0)}
	return record("healthchecks", active, passive, threshold)
}
