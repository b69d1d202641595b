package bundled

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

var (
	httpDefault = schema.Strings("grpc", "grpcs", "http", "https")
	allDefault  = httpDefault
)

// bad is one invalid input for a plugin and Kong's messages, flattened as
// schema.Errors.Flatten prints them (entity errors first, then fields).
type bad struct {
	name   string
	config map[string]any
	want   []string
}

// pluginCase describes one bundled plugin's schema as Kong 3.9 behaves.
type pluginCase struct {
	name      string
	priority  int
	protocols []any
	// noConsumer: typedefs.no_consumer.
	noConsumer bool
	// bare lists the errors of {"name": X}; nil means Kong accepts it.
	bare []string
	// valid is a config Kong accepts, used when bare fails.
	valid map[string]any
	// defaults are values expected in the prepared row (dotted paths).
	defaults map[string]any
	invalid  []bad
}

func obj(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func list(v ...any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

const (
	periodsRequired = "at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'"
	phasesRequired  = "at least one of these fields must be non-empty: 'config.certificate', 'config.rewrite', 'config.access', 'config.header_filter', 'config.body_filter', 'config.log'"
	allowOrDeny     = "at least one of these fields must be non-empty: 'config.allow', 'config.deny'"
	onlyAllowOrDeny = "exactly one of these fields must be non-empty: 'config.allow', 'config.deny'"
)

var pluginCases = []pluginCase{
	{
		name: "key-auth", priority: 1250, protocols: httpDefault, noConsumer: true,
		defaults: obj(
			"config.key_names", list("apikey"), "config.hide_credentials", false, "config.anonymous", nil,
			"config.key_in_header", true, "config.key_in_query", true, "config.key_in_body", false,
			"config.run_on_preflight", true, "config.realm", nil,
		),
		invalid: []bad{
			{"bad key name", obj("key_names", list("api key")), []string{"config.key_names.1: bad header name 'api key', allowed characters are A-Z, a-z, 0-9, '_', and '-'"}},
			{"unknown field", obj("foo", "bar"), []string{"config.foo: unknown field"}},
			{"not a boolean", obj("hide_credentials", "yes"), []string{"config.hide_credentials: expected a boolean"}},
		},
	},
	{
		name: "basic-auth", priority: 1100, protocols: httpDefault, noConsumer: true,
		defaults: obj("config.realm", "service", "config.hide_credentials", false, "config.anonymous", nil),
		invalid: []bad{
			{"null realm", obj("realm", nil), []string{"config.realm: required field missing"}},
		},
	},
	{
		name: "hmac-auth", priority: 1030, protocols: httpDefault, noConsumer: true,
		defaults: obj(
			"config.clock_skew", float64(300), "config.validate_request_body", false, "config.enforce_headers", list(),
			"config.algorithms", list("hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"), "config.realm", nil,
		),
		invalid: []bad{
			{"unknown algorithm", obj("algorithms", list("md5")), []string{"config.algorithms.1: expected one of: hmac-sha1, hmac-sha256, hmac-sha384, hmac-sha512"}},
			{"zero clock skew", obj("clock_skew", 0.0), []string{"config.clock_skew: value must be greater than 0"}},
		},
	},
	{
		name: "jwt", priority: 1450, protocols: httpDefault, noConsumer: true,
		defaults: obj(
			"config.uri_param_names", list("jwt"), "config.cookie_names", list(), "config.key_claim_name", "iss",
			"config.secret_is_base64", false, "config.claims_to_verify", nil, "config.run_on_preflight", true,
			"config.maximum_expiration", 0.0, "config.header_names", list("authorization"),
		),
		invalid: []bad{
			{"maximum expiration without exp", obj("maximum_expiration", 60.0, "claims_to_verify", list("nbf")), []string{
				"failed conditional validation given value of field 'config.maximum_expiration'",
				"config.claims_to_verify: expected to contain: exp",
			}},
			{"expiration too long", obj("maximum_expiration", 31536001.0), []string{"config.maximum_expiration: value should be between 0 and 31536000"}},
			{"unknown claim", obj("claims_to_verify", list("iat")), []string{"config.claims_to_verify.1: expected one of: exp, nbf"}},
		},
	},
	{
		name: "acl", priority: 950, protocols: httpDefault, noConsumer: true,
		bare:  []string{onlyAllowOrDeny, allowOrDeny},
		valid: obj("allow", list("admins")),
		defaults: obj(
			"config.allow", list("admins"), "config.deny", nil, "config.hide_groups_header", false,
			"config.always_use_authenticated_groups", false,
		),
		invalid: []bad{
			{"allow and deny", obj("allow", list("a"), "deny", list("b")), []string{onlyAllowOrDeny}},
			{"empty allow", obj("allow", list()), []string{onlyAllowOrDeny, allowOrDeny}},
		},
	},
	{
		name: "cors", priority: 2000, protocols: httpDefault, noConsumer: true,
		defaults: obj(
			"config.origins", nil, "config.headers", nil, "config.exposed_headers", nil, "config.max_age", nil,
			"config.methods", list("GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"),
			"config.credentials", false, "config.private_network", false, "config.preflight_continue", false,
		),
		invalid: []bad{
			{"bad origin regex", obj("origins", list("(bad")), []string{"config.origins.1: '(bad' is not a valid regex"}},
			{"unknown method", obj("methods", list("FOO")), []string{"config.methods.1: expected one of: GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT"}},
		},
	},
	{
		name: "rate-limiting", priority: 910, protocols: httpDefault,
		bare:  []string{periodsRequired},
		valid: obj("minute", 5.0),
		defaults: obj(
			"config.minute", 5.0, "config.second", nil, "config.limit_by", "consumer", "config.policy", "local",
			"config.fault_tolerant", true, "config.hide_client_headers", false, "config.error_code", 429.0,
			"config.error_message", "API rate limit exceeded", "config.sync_rate", -1.0, "config.header_name", nil,
			"config.path", nil, "config.redis.host", nil, "config.redis.port", 6379.0, "config.redis.timeout", 2000.0,
			"config.redis.database", 0.0, "config.redis.ssl", false, "config.redis.ssl_verify", false,
			"config.redis.username", nil, "config.redis.password", nil, "config.redis.server_name", nil,
		),
		invalid: []bad{
			{"not a number", obj("minute", "x"), []string{"config.minute: expected a number"}},
			{"zero limit", obj("minute", 0.0), []string{"config.minute: value must be greater than 0"}},
			{"unknown field", obj("minute", 5.0, "foo", 1.0), []string{"config.foo: unknown field"}},
			{"redis without host", obj("minute", 5.0, "policy", "redis"), []string{
				"failed conditional validation given value of field 'config.policy'",
				"config.redis.host: required field missing",
			}},
			{"period order", obj("second", 10.0, "minute", 5.0), []string{"config: The limit for minute(5.0) cannot be lower than the limit for second(10.0)"}},
			{"sync rate without redis", obj("minute", 5.0, "sync_rate", 10.0), []string{"config: sync_rate can only be used with the redis policy"}},
			{"sync rate too small", obj("minute", 5.0, "sync_rate", 0.01, "policy", "redis", "redis", obj("host", "redis.local")), []string{"config: sync_rate must be greater than 0.02, or -1 to disable"}},
			{"header without name", obj("minute", 5.0, "limit_by", "header"), []string{
				"failed conditional validation given value of field 'config.limit_by'",
				"config.header_name: required field missing",
			}},
			{"path with empty segment", obj("minute", 5.0, "limit_by", "path", "path", "/a//b"), []string{"config.path: must not have empty segments"}},
			{"redis host with port", obj("minute", 5.0, "redis", obj("host", "redis.local:6379")), []string{"config.redis.host: must not have a port"}},
			{"unknown policy", obj("minute", 5.0, "policy", "memcached"), []string{"config.policy: expected one of: local, cluster, redis"}},
		},
	},
	{
		name: "response-ratelimiting", priority: 900, protocols: httpDefault,
		bare:  []string{"config.limits: required field missing"},
		valid: obj("limits", obj("video", obj("minute", 10.0))),
		defaults: obj(
			"config.header_name", "x-kong-limit", "config.limit_by", "consumer", "config.policy", "local",
			"config.fault_tolerant", true, "config.block_on_first_violation", false, "config.hide_client_headers", false,
			"config.redis.port", 6379.0, "config.redis.timeout", 2000.0, "config.limits.video.minute", 10.0,
		),
		invalid: []bad{
			{"no limits", obj("limits", obj()), []string{"config.limits: length must be at least 1"}},
			{"empty limit", obj("limits", obj("video", obj())), []string{"config.limits: at least one of these fields must be non-empty: 'second', 'minute', 'hour', 'day', 'month', 'year'"}},
			{"period order", obj("limits", obj("video", obj("second", 10.0, "minute", 5.0))), []string{"config.limits: the limit for minute(5.0) cannot be lower than the limit for second(10.0)"}},
			{"redis without host", obj("limits", obj("video", obj("minute", 10.0)), "policy", "redis"), []string{
				"failed conditional validation given value of field 'config.policy'",
				"config.redis.host: required field missing",
			}},
			{"limit by path", obj("limits", obj("video", obj("minute", 10.0)), "limit_by", "path"), []string{"config.limit_by: expected one of: consumer, credential, ip"}},
		},
	},
	{
		name: "request-size-limiting", priority: 951, protocols: httpDefault,
		defaults: obj("config.allowed_payload_size", 128.0, "config.size_unit", "megabytes", "config.require_content_length", false),
		invalid: []bad{
			{"unknown unit", obj("size_unit", "gigabytes"), []string{"config.size_unit: expected one of: megabytes, kilobytes, bytes"}},
			{"fractional size", obj("allowed_payload_size", 1.5), []string{"config.allowed_payload_size: expected an integer"}},
		},
	},
	{
		name: "request-termination", priority: 2, protocols: httpDefault,
		defaults: obj(
			"config.status_code", 503.0, "config.message", nil, "config.content_type", nil, "config.body", nil,
			"config.echo", false, "config.trigger", nil,
		),
		invalid: []bad{
			{"message and body", obj("message", "x", "body", "y"), []string{"config: message cannot be used with content_type or body"}},
			{"content type without body", obj("content_type", "text/plain"), []string{"config: content_type requires a body"}},
			{"echo and body", obj("echo", true, "body", "x"), []string{"config: echo cannot be used with content_type and body"}},
			{"status out of range", obj("status_code", 99.0), []string{"config.status_code: value should be between 100 and 599"}},
			{"bad trigger", obj("trigger", "x y"), []string{"config.trigger: bad header name 'x y', allowed characters are A-Z, a-z, 0-9, '_', and '-'"}},
		},
	},
	{
		name: "request-transformer", priority: 801, protocols: allDefault,
		defaults: obj(
			"config.http_method", nil, "config.remove.body", list(), "config.remove.headers", list(),
			"config.remove.querystring", list(), "config.rename.headers", list(), "config.replace.uri", nil,
			"config.replace.body", list(), "config.add.headers", list(), "config.append.querystring", list(),
		),
		invalid: []bad{
			{"header without value", obj("add", obj("headers", list("x-foo"))), []string{"config.add.headers.1: invalid value: x-foo"}},
			{"body without value", obj("add", obj("body", list("foo"))), []string{"config.add.body.1: key 'foo' has no value"}},
			{"rename to bad header", obj("rename", obj("headers", list("a:b c"))), []string{"config.rename.headers.1: 'b c' is not a valid header"}},
			{"remove bad header", obj("remove", obj("headers", list("bad header"))), []string{"config.remove.headers.1: 'bad header' is not a valid header"}},
			{"lower-case method", obj("http_method", "get"), []string{"config.http_method: invalid value: get"}},
		},
	},
	{
		name: "response-transformer", priority: 800, protocols: httpDefault,
		defaults: obj(
			"config.remove.json", list(), "config.remove.headers", list(), "config.rename.json", list(),
			"config.rename.headers", list(), "config.replace.json_types", list(), "config.add.json", list(),
			"config.append.headers", list(),
		),
		invalid: []bad{
			{"unknown json type", obj("add", obj("json_types", list("object"))), []string{"config.add.json_types.1: expected one of: boolean, number, string"}},
			{"json without value", obj("add", obj("json", list("foo"))), []string{"config.add.json.1: invalid value: foo"}},
			{"remove uri", obj("remove", obj("uri", "x")), []string{"config.remove.uri: unknown field"}},
		},
	},
	{
		name: "ip-restriction", priority: 990, protocols: schema.Strings("http", "https", "tcp", "tls", "grpc", "grpcs"),
		bare:     []string{allowOrDeny},
		valid:    obj("allow", list("10.0.0.0/8", "192.168.1.1", "::1")),
		defaults: obj("config.deny", nil, "config.status", nil, "config.message", nil),
		invalid: []bad{
			{"bad address", obj("allow", list("10.0.0.300")), []string{"config.allow.1: invalid ip or cidr range: '10.0.0.300'"}},
			{"empty lists", obj("allow", list(), "deny", list()), []string{allowOrDeny}},
		},
	},
	{
		name: "bot-detection", priority: 2500, protocols: httpDefault, noConsumer: true,
		defaults: obj("config.allow", list(), "config.deny", list()),
		invalid: []bad{
			{"bad regex", obj("deny", list("(x")), []string{"config.deny.1: not a valid regex: (x"}},
		},
	},
	{
		name: "correlation-id", priority: 100001, protocols: httpDefault,
		defaults: obj("config.header_name", "Kong-Request-ID", "config.generator", "uuid#counter", "config.echo_downstream", false),
		invalid: []bad{
			{"unknown generator", obj("generator", "random"), []string{"config.generator: expected one of: uuid, uuid#counter, tracker"}},
			{"null generator", obj("generator", nil), []string{"config.generator: required field missing"}},
		},
	},
	{
		name: "file-log", priority: 9, protocols: allDefault,
		bare:     []string{"config.path: required field missing"},
		valid:    obj("path", "/tmp/file.log"),
		defaults: obj("config.reopen", false, "config.custom_fields_by_lua", nil),
		invalid: []bad{
			{"wildcard path", obj("path", "/tmp/*.log"), []string{"config.path: not a valid filename"}},
			{"empty lua", obj("path", "/tmp/file.log", "custom_fields_by_lua", obj("route", "")), []string{"config.custom_fields_by_lua: length must be at least 1"}},
			{"lua code", obj("path", "/tmp/file.log", "custom_fields_by_lua", obj("route", "return 1")), []string{"config.custom_fields_by_lua: " + msgNoLua}},
		},
	},
	{
		name: "http-log", priority: 12, protocols: allDefault,
		bare:  []string{"config.http_endpoint: required field missing"},
		valid: obj("http_endpoint", "http://example.com/logs"),
		defaults: obj(
			"config.method", "POST", "config.content_type", "application/json", "config.timeout", 10000.0,
			"config.keepalive", 60000.0, "config.retry_count", nil, "config.queue_size", nil, "config.flush_timeout", nil,
			"config.headers", nil, "config.custom_fields_by_lua", nil,
			"config.queue.max_batch_size", 1.0, "config.queue.max_coalescing_delay", 1.0,
			"config.queue.max_entries", 10000.0, "config.queue.max_bytes", nil, "config.queue.max_retry_time", 60.0,
			"config.queue.initial_retry_delay", 0.01, "config.queue.max_retry_delay", 60.0,
			"config.queue.concurrency_limit", 1.0,
		),
		invalid: []bad{
			{"no scheme or host", obj("http_endpoint", "example.com"), []string{"config.http_endpoint: missing host in url"}},
			{"host header", obj("http_endpoint", "http://example.com", "headers", obj("Host", "x")), []string{"config.headers: cannot contain 'Host' header"}},
			{"userinfo and authorization", obj("http_endpoint", "http://u:p@example.com", "headers", obj("Authorization", "x")), []string{
				"config: specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed",
			}},
			{"get method", obj("http_endpoint", "http://example.com", "method", "GET"), []string{"config.method: expected one of: POST, PUT, PATCH"}},
			{"queue batch too large", obj("http_endpoint", "http://example.com", "queue", obj("max_batch_size", 0.0)), []string{"config.queue.max_batch_size: value should be between 1 and 1000000"}},
			{"queue concurrency", obj("http_endpoint", "http://example.com", "queue", obj("concurrency_limit", 2.0)), []string{"config.queue.concurrency_limit: expected one of: -1, 1"}},
			{"lua code", obj("http_endpoint", "http://example.com", "custom_fields_by_lua", obj("a", "return 1")), []string{"config.custom_fields_by_lua: " + msgNoLua}},
		},
	},
	{
		name: "tcp-log", priority: 7, protocols: allDefault,
		bare:     []string{"config.host: required field missing", "config.port: required field missing"},
		valid:    obj("host", "logs.example.com", "port", 5000.0),
		defaults: obj("config.timeout", 10000.0, "config.keepalive", 60000.0, "config.tls", false, "config.tls_sni", nil),
		invalid: []bad{
			{"host with port", obj("host", "logs.example.com:5000", "port", 5000.0), []string{"config.host: must not have a port"}},
			{"port out of range", obj("host", "logs.example.com", "port", 70000.0), []string{"config.port: value should be between 0 and 65535"}},
			{"lua code", obj("host", "logs.example.com", "port", 5000.0, "custom_fields_by_lua", obj("a", "return 1")), []string{"config.custom_fields_by_lua: " + msgNoLua}},
		},
	},
	{
		name: "udp-log", priority: 8, protocols: allDefault,
		bare:     []string{"config.host: required field missing", "config.port: required field missing"},
		valid:    obj("host", "10.0.0.1", "port", 514.0),
		defaults: obj("config.timeout", 10000.0, "config.custom_fields_by_lua", nil),
		invalid: []bad{
			{"bad host", obj("host", "bad host", "port", 514.0), []string{"config.host: invalid value: bad host"}},
			{"lua code", obj("host", "10.0.0.1", "port", 514.0, "custom_fields_by_lua", obj("a", "return 1")), []string{"config.custom_fields_by_lua: " + msgNoLua}},
		},
	},
	{
		name: "syslog", priority: 4, protocols: allDefault,
		defaults: obj(
			"config.log_level", "info", "config.successful_severity", "info", "config.client_errors_severity", "info",
			"config.server_errors_severity", "info", "config.facility", "user", "config.custom_fields_by_lua", nil,
		),
		invalid: []bad{
			{"lua code", obj("custom_fields_by_lua", obj("a", "return 1")), []string{"config.custom_fields_by_lua: " + msgNoLua}},
			{"unknown level", obj("log_level", "trace"), []string{"config.log_level: expected one of: debug, info, notice, warning, err, crit, alert, emerg"}},
			{"unknown facility", obj("facility", "local8"), []string{"config.facility: expected one of: auth, authpriv, cron, daemon, ftp, kern, lpr, mail, news, syslog, user, uucp, local0, local1, local2, local3, local4, local5, local6, local7"}},
		},
	},
	{
		name: "prometheus", priority: 13, protocols: allDefault,
		defaults: obj(
			"config.per_consumer", false, "config.status_code_metrics", false, "config.ai_metrics", false,
			"config.latency_metrics", false, "config.bandwidth_metrics", false, "config.upstream_health_metrics", false,
		),
		invalid: []bad{
			{"not a boolean", obj("per_consumer", "yes"), []string{"config.per_consumer: expected a boolean"}},
		},
	},
	{
		name: "proxy-cache", priority: 100, protocols: allDefault,
		bare:  []string{"config.strategy: required field missing"},
		valid: obj("strategy", "memory"),
		defaults: obj(
			"config.response_code", list(200.0, 301.0, 404.0), "config.request_method", list("GET", "HEAD"),
			"config.content_type", list("text/plain", "application/json"), "config.cache_ttl", 300.0,
			"config.cache_control", false, "config.ignore_uri_case", false, "config.storage_ttl", nil,
			"config.memory.dictionary_name", "kong_db_cache", "config.vary_query_params", nil, "config.vary_headers", nil,
			"config.response_headers.age", true, "config.response_headers.X-Cache-Status", true,
			"config.response_headers.X-Cache-Key", true,
		),
		invalid: []bad{
			{"unknown strategy", obj("strategy", "redis"), []string{"config.strategy: expected one of: memory"}},
			{"no response codes", obj("strategy", "memory", "response_code", list()), []string{"config.response_code: length must be at least 1"}},
			{"bad response code", obj("strategy", "memory", "response_code", list(99.0)), []string{"config.response_code.1: value should be between 100 and 900"}},
		},
	},
	{
		name: "pre-function", priority: 1000000, protocols: allDefault, noConsumer: true,
		bare:  []string{phasesRequired},
		valid: obj("access", list("kong.log.err('hi')")),
		defaults: obj(
			"config.certificate", list(), "config.rewrite", list(), "config.header_filter", list(),
			"config.body_filter", list(), "config.log", list(),
		),
		invalid: []bad{
			{"empty chunk", obj("access", list("")), []string{"config.access.1: length must be at least 1"}},
			{"not an array", obj("access", "x"), []string{"config.access: expected an array"}},
			{"removed functions field", obj("functions", list("x")), []string{phasesRequired, "config.functions: unknown field"}},
		},
	},
	{
		name: "post-function", priority: -1000, protocols: allDefault, noConsumer: true,
		bare:     []string{phasesRequired},
		valid:    obj("log", list("kong.log.err('bye')")),
		defaults: obj("config.access", list(), "config.log", list("kong.log.err('bye')")),
	},
	{
		name: "redirect", priority: 779, protocols: httpDefault,
		bare:     []string{"config.location: required field missing"},
		valid:    obj("location", "https://example.com/new"),
		defaults: obj("config.status_code", 301.0, "config.keep_incoming_path", false),
		invalid: []bad{
			{"relative location", obj("location", "/new"), []string{"config.location: missing host in url"}},
			{"status out of range", obj("location", "https://example.com", "status_code", 600.0), []string{"config.status_code: value should be between 100 and 599"}},
		},
	},
	{
		name: "session", priority: 1900, protocols: allDefault, noConsumer: true,
		defaults: obj(
			"config.storage", "cookie", "config.audience", "default", "config.idling_timeout", 900.0,
			"config.rolling_timeout", 3600.0, "config.absolute_timeout", 86400.0, "config.stale_ttl", 10.0,
			"config.cookie_name", "session", "config.cookie_path", "/", "config.cookie_domain", nil,
			"config.cookie_same_site", "Strict", "config.cookie_http_only", true, "config.cookie_secure", true,
			"config.remember", false, "config.remember_cookie_name", "remember",
			"config.remember_rolling_timeout", 604800.0, "config.remember_absolute_timeout", 2592000.0,
			"config.response_headers", nil, "config.request_headers", nil, "config.logout_methods", list("POST", "DELETE"),
			"config.logout_query_arg", "session_logout", "config.logout_post_arg", "session_logout",
			"config.read_body_for_logout", false,
		),
		invalid: []bad{
			{"same site case", obj("cookie_same_site", "strict"), []string{"config.cookie_same_site: expected one of: Strict, Lax, None, Default"}},
			{"legacy cookie_lifetime", obj("cookie_lifetime", 60.0), []string{"config.cookie_lifetime: unknown field"}},
		},
	},
	{
		name: "oauth2", priority: 1400, protocols: httpDefault, noConsumer: true,
		bare:  []string{"config: at least one of these fields must be true: enable_authorization_code, enable_implicit_grant, enable_client_credentials, enable_password_grant"},
		valid: obj("enable_password_grant", true),
		defaults: obj(
			"config.scopes", nil, "config.mandatory_scope", false, "config.token_expiration", 7200.0,
			"config.enable_authorization_code", false, "config.enable_password_grant", true,
			"config.hide_credentials", false, "config.accept_http_if_already_terminated", false,
			"config.global_credentials", false, "config.auth_header_name", "authorization",
			"config.refresh_token_ttl", 1209600.0, "config.reuse_refresh_token", false,
			"config.persistent_refresh_token", false, "config.pkce", "lax", "config.realm", nil,
		),
		invalid: []bad{
			{"mandatory scope without scopes", obj("enable_password_grant", true, "mandatory_scope", true), []string{
				"failed conditional validation given value of field 'config.mandatory_scope'",
				"config.scopes: required field missing",
			}},
			{"unknown pkce", obj("enable_password_grant", true, "pkce", "always"), []string{"config.pkce: expected one of: none, lax, strict"}},
			{"refresh ttl too long", obj("enable_password_grant", true, "refresh_token_ttl", 1e9), []string{"config.refresh_token_ttl: value should be between 0 and 100000000"}},
		},
	},
	{
		name: "ldap-auth", priority: 1200, protocols: httpDefault, noConsumer: true,
		bare: []string{
			"config.attribute: required field missing", "config.base_dn: required field missing",
			"config.ldap_host: required field missing",
		},
		valid: obj("ldap_host", "ldap.example.com", "base_dn", "dc=example,dc=com", "attribute", "cn"),
		defaults: obj(
			"config.ldap_port", 389.0, "config.ldaps", false, "config.start_tls", false, "config.verify_ldap_host", false,
			"config.cache_ttl", 60.0, "config.hide_credentials", false, "config.timeout", 10000.0,
			"config.keepalive", 60000.0, "config.anonymous", nil, "config.header_type", "ldap", "config.realm", nil,
		),
		invalid: []bad{
			{"ldaps and start_tls", obj("ldap_host", "ldap.example.com", "base_dn", "dc=x", "attribute", "cn", "ldaps", true, "start_tls", true), []string{
				"'ldaps' and 'start_tls' cannot be enabled simultaneously",
				"config.start_tls: value must be false",
			}},
		},
	},
	{
		name: "grpc-web", priority: 3, protocols: allDefault,
		defaults: obj("config.proto", nil, "config.pass_stripped_path", nil, "config.allow_origin_header", "*"),
	},
	{
		name: "grpc-gateway", priority: 998, protocols: allDefault,
		defaults: obj("config.proto", nil),
	},
	{
		name: "standard-webhooks", priority: 760, protocols: httpDefault, noConsumer: true,
		bare:     []string{"config.secret_v1: required field missing"},
		valid:    obj("secret_v1", "whsec_abc"),
		defaults: obj("config.tolerance_second", 300.0),
		invalid: []bad{
			{"negative tolerance", obj("secret_v1", "x", "tolerance_second", -1.0), []string{"config.tolerance_second: value must be greater than -1"}},
		},
	},
	{
		name: "loggly", priority: 6, protocols: allDefault,
		bare:  []string{"config.key: required field missing"},
		valid: obj("key", "token"),
		defaults: obj(
			"config.host", "logs-01.loggly.com", "config.port", 514.0, "config.tags", list("kong"),
			"config.log_level", "info", "config.successful_severity", "info", "config.client_errors_severity", "info",
			"config.server_errors_severity", "info", "config.timeout", 10000.0, "config.custom_fields_by_lua", nil,
		),
	},
}

func TestPluginCasesCoverRegistry(t *testing.T) {
	_, r := installed(t)
	covered := map[string]bool{}
	for _, c := range pluginCases {
		if covered[c.name] {
			t.Errorf("duplicate case %s", c.name)
		}
		covered[c.name] = true
	}
	for _, info := range r.All() {
		if !covered[info.Name] {
			t.Errorf("plugin %s has no test case", info.Name)
		}
		delete(covered, info.Name)
	}
	for name := range covered {
		t.Errorf("case %s names no registered plugin", name)
	}
}

func TestPluginSchemas(t *testing.T) {
	e, r := installed(t)
	for _, c := range pluginCases {
		t.Run(c.name, func(t *testing.T) {
			info, ok := r.Lookup(c.name)
			if !ok {
				t.Fatalf("plugin %s is not registered", c.name)
			}
			if info.Version != "" || info.Priority != c.priority {
				t.Errorf("version, priority = %q, %d; want the node's (empty), %d", info.Version, info.Priority, c.priority)
			}

			t.Run("bare", func(t *testing.T) {
				_, errs := insert(t, e, map[string]any{"name": c.name})
				if got := errs.Flatten(); !reflect.DeepEqual(got, c.bare) {
					t.Errorf("errors = %q; want %q", got, c.bare)
				}
			})

			input := map[string]any{"name": c.name}
			if c.valid != nil {
				input["config"] = c.valid
			}
			row, errs := insert(t, e, input)
			if errs != nil {
				t.Fatalf("valid config %v: %v", c.valid, errs)
			}

			t.Run("defaults", func(t *testing.T) {
				if got := row["protocols"]; !reflect.DeepEqual(got, c.protocols) {
					t.Errorf("protocols = %v; want %v", got, c.protocols)
				}
				if got := row["enabled"]; got != true {
					t.Errorf("enabled = %v; want true", got)
				}
				for path, want := range c.defaults {
					got, ok := at(row, path)
					if !ok {
						t.Errorf("%s is missing from %v", path, row["config"])
						continue
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s = %#v; want %#v", path, got, want)
					}
				}
			})

			t.Run("config is complete", func(t *testing.T) {
				// The Admin API prints every config field: each must be
				// present in the prepared row, null or not.
				conf, _ := row["config"].(map[string]any)
				for _, f := range info.Schema.Fields {
					if f.Name != "config" {
						continue
					}
					for _, sub := range f.Fields {
						if _, ok := conf[sub.Name]; !ok {
							t.Errorf("config.%s is missing", sub.Name)
						}
					}
				}
			})

			for _, b := range c.invalid {
				t.Run(b.name, func(t *testing.T) {
					_, errs := insert(t, e, map[string]any{"name": c.name, "config": b.config})
					if got := errs.Flatten(); !reflect.DeepEqual(got, b.want) {
						t.Errorf("errors = %q; want %q", got, b.want)
					}
				})
			}

			t.Run("consumer", func(t *testing.T) {
				input := map[string]any{"name": c.name, "consumer": map[string]any{"id": testID}}
				if c.valid != nil {
					input["config"] = c.valid
				}
				f := fieldOf(info.Schema, "consumer")
				if !c.noConsumer {
					if f != nil {
						t.Fatalf("consumer is restricted: %+v", f)
					}
					if _, errs := insert(t, e, input); errs != nil {
						t.Errorf("scoping to a consumer: %v", errs)
					}
					return
				}
				if f == nil || f.Type != schema.Foreign || f.Reference != "consumers" || f.Eq != schema.Null {
					t.Fatalf("consumer = %+v; want typedefs.no_consumer", f)
				}
				_, errs := insert(t, e, input)
				if got, want := errs.Flatten(), []string{"consumer: value must be null"}; !reflect.DeepEqual(got, want) {
					t.Errorf("errors = %q; want %q", got, want)
				}
			})
		})
	}
}

func fieldOf(s *schema.Subschema, name string) *schema.Field {
	for _, f := range s.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

func TestPluginEntity(t *testing.T) {
	e, _ := installed(t)
	tests := []struct {
		name  string
		input map[string]any
		want  []string
	}{
		{"unknown plugin", obj("name", "nope"), []string{"name: plugin 'nope' not enabled; add it to the 'plugins' configuration property"}},
		{"http plugin on tcp", obj("name", "key-auth", "protocols", list("tcp")), []string{"protocols.1: expected one of: grpc, grpcs, http, https"}},
		{"log plugin on tcp", obj("name", "tcp-log", "protocols", list("tcp", "tls"), "config", obj("host", "h", "port", 1.0)), nil},
		{"unknown protocol", obj("name", "file-log", "protocols", list("ws"), "config", obj("path", "/x")), []string{"protocols.1: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"}},
		{"route scoped", obj("name", "cors", "route", obj("id", testID)), nil},
		{"config not a record", obj("name", "cors", "config", "x"), []string{"config: expected a record"}},
		{"null config", obj("name", "cors", "config", nil), []string{"config: required field missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := insert(t, e, tt.input)
			if got := errs.Flatten(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestPriorities(t *testing.T) {
	// Kong 3.9 handler PRIORITY values (shared/reference §2.7).
	want := map[string]int{
		"pre-function": 1000000, "correlation-id": 100001, "bot-detection": 2500, "cors": 2000,
		"session": 1900, "jwt": 1450, "oauth2": 1400, "key-auth": 1250, "basic-auth": 1100,
		"hmac-auth": 1030, "ip-restriction": 990, "request-size-limiting": 951, "acl": 950,
		"rate-limiting": 910, "response-ratelimiting": 900, "request-transformer": 801,
		"response-transformer": 800, "redirect": 779, "proxy-cache": 100, "prometheus": 13,
		"http-log": 12, "file-log": 9, "udp-log": 8, "tcp-log": 7, "syslog": 4,
		"request-termination": 2, "post-function": -1000,
		"ldap-auth": 1200, "grpc-gateway": 998, "standard-webhooks": 760, "loggly": 6, "grpc-web": 3,
	}
	r := plugins.NewRegistry()
	Register(r)
	for _, info := range r.All() {
		t.Run(info.Name, func(t *testing.T) {
			if got, ok := want[info.Name]; !ok || got != info.Priority {
				t.Errorf("priority = %d; want %d", info.Priority, got)
			}
		})
	}
}

func TestSubschemaJSONable(t *testing.T) {
	e, r := installed(t)
	for _, info := range r.All() {
		t.Run(info.Name, func(t *testing.T) {
			got, ok := e.SubschemaJSONable(info.Name)
			if !ok {
				t.Fatalf("no subschema for %s", info.Name)
			}
			first, err := json.Marshal(got)
			if err != nil {
				t.Fatalf("encoding: %v", err)
			}
			var decoded map[string]any
			if err := json.Unmarshal(first, &decoded); err != nil {
				t.Fatalf("decoding: %v", err)
			}
			second, err := json.Marshal(decoded)
			if err != nil {
				t.Fatalf("re-encoding: %v", err)
			}
			if string(first) != string(second) {
				t.Errorf("round trip differs:\n%s\n%s", first, second)
			}
			fields, _ := decoded["fields"].([]any)
			var names []string
			for _, f := range fields {
				for name := range f.(map[string]any) {
					names = append(names, name)
				}
			}
			if len(names) == 0 || names[len(names)-1] != "config" {
				t.Errorf("fields = %v; want config last", names)
			}
			if _, ok := decoded["entity_checks"].([]any); !ok {
				t.Errorf("entity_checks = %v; want an array", decoded["entity_checks"])
			}
		})
	}
}

func TestJSONableKeyAuth(t *testing.T) {
	e, _ := installed(t)
	got, _ := e.SubschemaJSONable("key-auth")
	b, _ := json.Marshal(got)
	var decoded struct {
		Fields []map[string]struct {
			Type     string `json:"type"`
			Required bool   `json:"required"`
			Default  any    `json:"default"`
			Fields   []map[string]struct {
				Type     string `json:"type"`
				Required bool   `json:"required"`
				Default  any    `json:"default"`
			} `json:"fields"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	conf := decoded.Fields[2]["config"]
	if conf.Type != "record" || !conf.Required {
		t.Errorf("config = %+v; want a required record", conf)
	}
	keyNames := conf.Fields[0]["key_names"]
	if keyNames.Type != "array" || !keyNames.Required || !reflect.DeepEqual(keyNames.Default, []any{"apikey"}) {
		t.Errorf("key_names = %+v", keyNames)
	}
	if p := decoded.Fields[1]["protocols"]; p.Type != "set" || !reflect.DeepEqual(p.Default, httpDefault) {
		t.Errorf("protocols = %+v", p)
	}
}

func TestSessionSecret(t *testing.T) {
	secret := func() string {
		r := plugins.NewRegistry()
		Register(r)
		info, _ := r.Lookup("session")
		return fieldOf(info.Schema, "config").Field("secret").Default.(string)
	}
	a, b := secret(), secret()
	alnum := regexp.MustCompile(`^[A-Za-z0-9]{44}$`)
	if !alnum.MatchString(a) || !alnum.MatchString(b) {
		t.Errorf("secrets %q, %q; want 44 alphanumerics", a, b)
	}
	if a == b {
		t.Errorf("two registries share the secret %q", a)
	}
}

func TestRegistriesAreIndependent(t *testing.T) {
	// Fields are built per registry: installing into two entities is fine.
	installed(t)
	installed(t)
	r := plugins.NewRegistry()
	Register(r)
	defer func() {
		if recover() == nil {
			t.Error("registering the bundled plugins twice did not panic")
		}
	}()
	Register(r)
}
