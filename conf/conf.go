// Package conf reads Portico's configuration with Kong's names and rules, so
// that an existing kong.conf and its KONG_* environment variables work as
// they are.
//
// # Model
//
// A configuration is a set of keys, each with a value written as text. The
// text comes from four layers, each overriding the one before it:
//
//  1. the built-in defaults, defaults.conf, embedded in the binary (the single
//     place where a default is written down);
//  2. the configuration file, in kong.conf syntax;
//  3. KONG_<KEY> environment variables, as Kong reads them;
//  4. PORTICO_<KEY> environment variables, so that Portico can be steered
//     differently from a Kong running on the same host.
//
// Every key is declared once, in the keys table: its name, its kind (which
// decides how the text is parsed, checked and printed back), whether its
// value is a secret, and the Config field it fills. Load parses every layer's
// text with the same code, so a default, a file line and an environment
// variable can never be read differently.
//
// Load only turns text into typed values and reports what it could not
// understand. Whether this build can run with those values (the database
// engine, for instance) is decided by Validate, so that `portico config` can
// still print a configuration that `portico start` would refuse.
//
// Keys that Portico does not know never stop it: a Kong configuration carries
// many nginx- and Lua-specific settings that have no meaning here. They
// produce warnings (Notice) and are otherwise ignored.
package conf

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is the effective configuration. Each exported field is one
// configuration key; its doc comment gives the key's name, meaning and
// default. The defaults themselves live only in defaults.conf.
//
// A Config is built by Load and then only read; it is safe to share between
// goroutines as long as nobody writes to it.
type Config struct {
	// Prefix (prefix) is the working directory of the node: logs, the PID
	// file and the badger data live under it. Default ".portico", relative to
	// the directory Portico is started in, so that it runs without root; Load
	// makes it absolute.
	Prefix string

	// ProxyListen (proxy_listen) lists the addresses that serve proxied
	// traffic. Default "0.0.0.0:8000 reuseport backlog=16384, 0.0.0.0:8443
	// http2 ssl reuseport backlog=16384". "off" leaves it empty.
	ProxyListen []Listener
	// AdminListen (admin_listen) lists the addresses that serve the Admin
	// API. Default "127.0.0.1:8001 reuseport backlog=16384, 127.0.0.1:8444
	// http2 ssl reuseport backlog=16384": loopback only, as in Kong, because
	// the Admin API has no authentication of its own.
	AdminListen []Listener
	// StatusListen (status_listen) lists the addresses of the Status API
	// (GET /status, /status/ready, /metrics; no authentication, as in Kong).
	// Default "127.0.0.1:8007 reuseport backlog=16384", Kong's; "off" leaves
	// it empty.
	StatusListen []Listener
	// AdminGUIListen (admin_gui_listen) lists the addresses that serve
	// Portico Manager, the web UI (Kong Manager's place). Default
	// "0.0.0.0:8002, 0.0.0.0:8445 ssl", Kong's; "off" leaves it empty.
	AdminGUIListen []Listener
	// AdminGUIPath (admin_gui_path) is the path prefix the UI is served
	// under: it starts with "/", does not end with one (except "/" itself),
	// and holds letters, digits, '-', '_' and single '/'. Default "/".
	AdminGUIPath string
	// AdminGUIURL (admin_gui_url) lists the URLs the UI is reached at
	// (scheme://host[:port][/path]); their origins are the ones the Admin
	// API lets use a session cookie. Default empty: any origin on an
	// admin_gui_listen port.
	AdminGUIURL []string
	// AdminGUIAPIURL (admin_gui_api_url) is where the UI finds the Admin API
	// ([scheme://]host[:port][/path]). Default empty: the page's host with
	// the port of an admin_listen listener of the page's scheme, as Kong
	// Manager does.
	AdminGUIAPIURL string
	// AdminGUIAuth (admin_gui_auth) is how admins log in to the UI when
	// enforce_rbac is on: "basic-auth" (an admin's username and password,
	// the password being their RBAC token) or empty (default: no login).
	// Kong's ldap-auth-advanced and openid-connect are refused by Validate.
	AdminGUIAuth string
	// AdminGUIAuthHeader (admin_gui_auth_header) is the header naming the
	// admin on /auth and on requests carrying a session cookie. Default
	// "Kong-Admin-User".
	AdminGUIAuthHeader string
	// AdminGUISessionConf (admin_gui_session_conf) is the UI session's
	// settings as a JSON object, Kong's session plugin's names (secret,
	// cookie_name, cookie_secure, cookie_same_site, rolling_timeout,
	// idling_timeout, absolute_timeout...; see SessionConf). Default empty:
	// Kong's defaults with a random secret. A secret: printed as "******".
	AdminGUISessionConf string

	// Database (database) names the storage engine: "badger" (default, an
	// embedded store under the prefix), "postgres" or "off" (Kong's DB-less
	// mode: the configuration lives in memory, loaded from
	// declarative_config or POST /config). Validate refuses postgres.
	Database string
	// DeclarativeConfig (declarative_config) is the declarative
	// configuration file (YAML or JSON) a DB-less node loads at start.
	// Default none: the node starts empty. A path relative to the directory
	// Portico starts in.
	DeclarativeConfig string
	// DeclarativeConfigString (declarative_config_string) is a declarative
	// configuration given as text, loaded at start like declarative_config
	// (at most one of the two). A secret: printed as "******".
	DeclarativeConfigString string
	// LMDBEnvironmentPath (lmdb_environment_path) and LMDBMapSize
	// (lmdb_map_size) are accepted so that Kong files load, and ignored: a
	// DB-less configuration lives in Portico's memory, not in LMDB.
	LMDBEnvironmentPath string
	LMDBMapSize         string
	// PGHost (pg_host) is the PostgreSQL host. Default "127.0.0.1". Read and
	// kept for the PostgreSQL engine to come; unused by badger.
	PGHost string
	// PGPort (pg_port) is the PostgreSQL port. Default 5432.
	PGPort int
	// PGUser (pg_user) is the PostgreSQL user. Default "kong".
	PGUser string
	// PGPassword (pg_password) is the PostgreSQL password. Default empty.
	// A secret: printed as "******".
	PGPassword string
	// PGDatabase (pg_database) is the PostgreSQL database. Default "kong".
	PGDatabase string

	// LogLevel (log_level) is the lowest severity written to the error logs:
	// debug, info, notice, warn, error, crit, alert or emerg. Default
	// "notice".
	LogLevel string
	// ProxyAccessLog (proxy_access_log) is where proxied requests are logged
	// in the combined format. Default "logs/access.log". Relative paths are
	// resolved under Prefix by Load; "off" disables the log; /dev/stdout and
	// /dev/stderr name those streams.
	ProxyAccessLog string
	// ProxyErrorLog (proxy_error_log) is where the proxy's errors are logged.
	// Default "logs/error.log"; paths as for ProxyAccessLog.
	ProxyErrorLog string
	// AdminAccessLog (admin_access_log) is where Admin API requests are
	// logged. Default "logs/admin_access.log"; paths as for ProxyAccessLog.
	AdminAccessLog string
	// AdminErrorLog (admin_error_log) is where the Admin API's errors are
	// logged. Default "logs/error.log" (the same file as the proxy's, as in
	// Kong); paths as for ProxyAccessLog.
	AdminErrorLog string

	// NginxWorkerProcesses (nginx_worker_processes) is accepted so that Kong
	// files load, and ignored: Portico is one process and spreads work over
	// all CPUs with the Go scheduler. Default "auto". Kept as written.
	NginxWorkerProcesses string

	// Plugins (plugins) lists the plugins this node may run, by name;
	// "bundled" stands for every plugin shipped with Portico and "off" for
	// none. Default ["bundled"].
	Plugins []string
	// LuaPackagePath (lua_package_path) is where Lua plugins and the modules
	// they require are found: ';'-separated templates in which '?' stands
	// for a module name with dots turned into '/' (a plugin is the module
	// kong.plugins.<name>.handler). Relative templates are relative to the
	// directory Portico starts in. Default "./?.lua;./?/init.lua;", as in
	// Kong.
	LuaPackagePath string
	// AnonymousReports (anonymous_reports) is accepted for compatibility.
	// Default off, unlike Kong: Portico never sends usage reports, whatever
	// the value.
	AnonymousReports bool
	// Headers (headers) lists the headers Portico adds to responses, with
	// Kong's tokens (server_tokens, latency_tokens, Via, Server,
	// X-Kong-Proxy-Latency, X-Kong-Request-Id, ..., or off). Default
	// ["server_tokens", "latency_tokens", "X-Kong-Request-Id"]. Load writes
	// each token in Kong's canonical case.
	Headers []string
	// HeadersUpstream (headers_upstream) lists the headers Portico adds to
	// proxied requests: X-Kong-Request-Id or off. Default
	// ["X-Kong-Request-Id"].
	HeadersUpstream []string
	// RealIPRecursive (real_ip_recursive): with real_ip_header listing
	// several addresses, take the last one that is not trusted (on) rather
	// than the last one (off, default), as nginx's realip module.
	RealIPRecursive bool
	// LargeClientHeaderBuffers (large_client_header_buffers) is nginx's
	// "number size" limit on request headers: the request line and each
	// header fit in one buffer of size, all of them in number buffers.
	// Portico applies number × size as the bound on a request's head.
	// Default "4 8k".
	LargeClientHeaderBuffers string
	// AllowDebugHeader (allow_debug_header): answer a request carrying
	// Kong-Debug: 1 with Kong-Route-Id, Kong-Route-Name, Kong-Service-Id and
	// Kong-Service-Name. Default off.
	AllowDebugHeader bool
	// UpstreamKeepalivePoolSize (upstream_keepalive_pool_size) is how many
	// idle connections are kept per upstream address; 0 turns upstream
	// keep-alive off. Default 512.
	UpstreamKeepalivePoolSize int
	// UpstreamKeepaliveMaxRequests (upstream_keepalive_max_requests)
	// closes an upstream connection after this many requests; 0 means no
	// limit. Default 10000.
	UpstreamKeepaliveMaxRequests int
	// SSLProtocols (ssl_protocols) lists the TLS versions the ssl
	// listeners accept: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3. Default
	// "TLSv1.2 TLSv1.3"; it narrows what ssl_cipher_suite allows.
	SSLProtocols string
	// UpstreamKeepaliveIdleTimeout (upstream_keepalive_idle_timeout) closes
	// upstream connections idle this many seconds; 0 keeps them. Default 60.
	UpstreamKeepaliveIdleTimeout int
	// SSLCert and SSLCertKey (ssl_cert, ssl_cert_key) are the default
	// certificates of the proxy's ssl listeners, as PEM file paths, for
	// clients whose SNI matches no certificate entity. Empty (default):
	// Portico generates one under <prefix>/ssl.
	SSLCert    []string
	SSLCertKey []string
	// AdminSSLCert, StatusSSLCert and AdminGUISSLCert, with their keys
	// (admin_ssl_cert, status_ssl_cert, admin_gui_ssl_cert, *_key), are the
	// certificates of the Admin API's, the Status API's and Portico
	// Manager's ssl listeners, as ssl_cert is the proxy's. Empty (default):
	// generated under <prefix>/ssl.
	AdminSSLCert       []string
	AdminSSLCertKey    []string
	StatusSSLCert      []string
	StatusSSLCertKey   []string
	AdminGUISSLCert    []string
	AdminGUISSLCertKey []string
	// MemCacheSize (mem_cache_size) is the size of the in-memory entity
	// cache, in bytes. Default 128m.
	MemCacheSize int64
	// SSLCipherSuite (ssl_cipher_suite) selects a Mozilla TLS profile:
	// modern, intermediate, old, fips or custom. Default "intermediate".
	SSLCipherSuite string
	// TrustedIPs (trusted_ips) lists the addresses (IP or CIDR, or "unix:")
	// whose forwarding headers (X-Forwarded-*, real_ip_header) are believed.
	// Default empty: nobody is trusted. Every entry has been checked to parse
	// with net/netip (or to be "unix:").
	TrustedIPs []string
	// RealIPHeader (real_ip_header) is the request header that carries the
	// client address when the peer is trusted, or "proxy_protocol". Default
	// "X-Real-IP".
	RealIPHeader string
	// ClientMaxBodySize (client_max_body_size) caps proxied request bodies,
	// in bytes; 0 means no limit. Default 0.
	ClientMaxBodySize int64
	// ClientBodyBufferSize (client_body_buffer_size) is how much of a
	// proxied request body is held in memory, in bytes. Default 8k.
	ClientBodyBufferSize int64

	// KongVersion (kong_version) is the Kong version Portico reports to Admin
	// API clients (GET / "version", the Server header), because tools such as
	// decK decide what they may send from it. Default "3.9.1.0", Kong
	// Enterprise's shape, so that clients use the Enterprise features Portico
	// has; "3.9.1" reports Kong OSS (kongversion.go).
	KongVersion string
	// AdminMaxBodySize (admin_max_body_size) caps Admin API request bodies,
	// in bytes; 0 means no limit. Default 10m: large enough for a declarative
	// configuration, small enough that a stray upload cannot exhaust memory.
	AdminMaxBodySize int64
	// EventHooksEnabled (event_hooks_enabled) turns the /event-hooks Admin
	// API and its delivery on or off. Default on.
	EventHooksEnabled bool
	// EventHooksWorkers (event_hooks_workers) is the number of workers that
	// deliver events to hooks, shared by all hooks. From 1 to 1000; default
	// 16. A Portico key: Kong has no delivery settings.
	EventHooksWorkers int
	// EventHooksConnectTimeout (event_hooks_connect_timeout) bounds the
	// connection to a hook's receiver (TCP and TLS handshake) in one
	// delivery attempt. Greater than 0; default 10s.
	EventHooksConnectTimeout time.Duration
	// EventHooksReadTimeout (event_hooks_read_timeout) bounds the wait for
	// the receiver's answer once the request is sent. Greater than 0;
	// default 10s.
	EventHooksReadTimeout time.Duration
	// EventHooksRetrySchedule (event_hooks_retry_schedule) is when delivery
	// attempts are made: value i (counting from 0) is the delay before
	// attempt i+1, counted from the previous attempt (from the event for
	// the first). Non-empty, not negative and non-decreasing. Default "0s,
	// 5s, 5m, 30m, 2h, 5h, 10h, 10h", Standard Webhooks' schedule.
	EventHooksRetrySchedule []time.Duration
	// EventHooksMaxAttempts (event_hooks_max_attempts) is how many attempts
	// a delivery gets before it is given up and kept as failed; attempts
	// beyond the schedule wait its last step. From 1 to 1000; default 8.
	EventHooksMaxAttempts int
	// EventHooksMaxAge (event_hooks_max_age) gives up a delivery that is
	// still failing this long after its event (it is kept as failed), even
	// if attempts remain. Greater than 0; default 72h.
	EventHooksMaxAge time.Duration
	// EventHooksMaxInFlight (event_hooks_max_in_flight) is how many
	// deliveries to one hook may run at once, so that a slow receiver cannot
	// take every worker. From 1 to 1000; default 4.
	EventHooksMaxInFlight int
	// EventHooksRetention (event_hooks_retention) is how long finished
	// delivery records (delivered or failed) are kept before they are
	// trimmed. Greater than 0; default 72h.
	EventHooksRetention time.Duration
	// EventHooksDenyPrivate (event_hooks_deny_private) refuses webhook
	// deliveries (webhook, webhook-custom, /test, /ping) to loopback,
	// private, link-local, carrier-grade NAT, unique-local and cloud
	// metadata addresses, checked on the address connected to. Default off.
	EventHooksDenyPrivate bool

	// UntrustedLua (untrusted_lua) is Kong's control over Lua code supplied
	// through the Admin API (lambda event hooks, serverless functions): "off"
	// refuses it, "sandbox" (default) runs it in a restricted environment,
	// "on" gives it the whole global environment (lambda event hooks and
	// webhook-custom templates).
	UntrustedLua string
	// EnforceRBAC (enforce_rbac) makes every Admin API request carry a
	// valid RBAC token in RBACAuthHeader: "off" (default) or "on" (Kong's
	// "both" and "entity" are accepted and mean "on" here).
	EnforceRBAC string
	// RBACAuthHeader (rbac_auth_header) is the request header that carries
	// the RBAC token. Default "Kong-Admin-Token".
	RBACAuthHeader string
	// UntrustedLuaSandboxRequires (untrusted_lua_sandbox_requires) lists the
	// modules sandboxed code may require, such as resty.template. Ignored
	// unless UntrustedLua is "sandbox". Default empty.
	UntrustedLuaSandboxRequires []string
	// UntrustedLuaSandboxEnvironment (untrusted_lua_sandbox_environment)
	// lists the global variables (dotted names such as kong.log allowed)
	// made visible, read-only, to sandboxed code. Ignored unless UntrustedLua
	// is "sandbox". Default empty.
	UntrustedLuaSandboxEnvironment []string

	file    string            // the configuration file read, absolute; "" if none
	sources map[string]string // key → where its value came from
}

// Notice is something Load wants the operator to know without refusing the
// configuration: an unknown key, an ignored setting.
type Notice struct {
	Level   string // "warn" or "notice", as in the error log
	Message string
}

func (n Notice) String() string { return "[" + n.Level + "] " + n.Message }

// KV is one key of the effective configuration, printable.
type KV struct {
	Key    string
	Value  string // secrets are "******"
	Source string // "default", "<file>:<line>", or "env KONG_X" / "env PORTICO_X"
}

// Masked is what a secret's value prints as, as in Kong.
const Masked = "******"

// File returns the absolute path of the configuration file Load read, or ""
// if there was none.
func (c *Config) File() string { return c.file }

// Path resolves p against the prefix: an absolute p is returned cleaned, a
// relative one joined under Prefix. Kong's relative paths are all relative to
// the prefix, never to the working directory.
func (c *Config) Path(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(c.Prefix, p)
}

// PIDFile is <prefix>/pids/portico.pid. Kong's is pids/nginx.pid; Portico
// runs no nginx, so its own name avoids tools mistaking it for one.
func (c *Config) PIDFile() string { return c.Path(filepath.Join("pids", "portico.pid")) }

// DataDir is <prefix>/data, where the badger engine keeps its files.
func (c *Config) DataDir() string { return c.Path("data") }

// Effective returns every key with its value as it would be written in a
// configuration file, secrets masked, sorted by key: what `portico config`
// prints.
func (c *Config) Effective() []KV {
	out := make([]KV, 0, len(keys))
	for i := range keys {
		k := &keys[i]
		v := k.format(c)
		if k.isSecret() && v != "" {
			v = Masked
		}
		src := c.sources[k.name]
		if src == "" {
			src = "default"
		}
		out = append(out, KV{Key: k.name, Value: v, Source: src})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// KongConfiguration returns every key with its value typed the way Kong's
// Admin API shows it in the "configuration" field of GET /: booleans as
// bool, numbers as int, lists and listeners as []string, sizes and
// durations as their text ("128m", "10s"), duration lists as []string,
// secrets as "******".
func (c *Config) KongConfiguration() map[string]any {
	out := make(map[string]any, len(keys))
	for i := range keys {
		k := &keys[i]
		v := k.kongValue(c)
		if s, ok := v.(string); ok && k.isSecret() && s != "" {
			v = Masked
		}
		out[k.name] = v
	}
	// What Kong's loader derives from the keys.
	out["router_flavor"] = "traditional_compatible"
	for _, l := range []struct {
		name string
		ls   []Listener
	}{{"proxy", c.ProxyListen}, {"admin", c.AdminListen}, {"status", c.StatusListen}, {"admin_gui", c.AdminGUIListen}} {
		out[l.name+"_listeners"] = KongListeners(l.ls)
		ssl := false
		for _, x := range l.ls {
			ssl = ssl || x.SSL
		}
		out[l.name+"_ssl_enabled"] = ssl
	}
	return out
}

// Validate reports the settings this build cannot run with. Load accepts
// them so that they can be inspected; starting a node must call Validate
// and stop on its error.
func (c *Config) Validate() error {
	var errs []error
	switch c.Database {
	case "badger":
	case "postgres":
		errs = append(errs, errors.New("database: 'postgres' is not available in this build of Portico yet "+
			"(the pg_* settings are read but unused); set database = badger"))
	case "off":
		if c.DeclarativeConfig != "" && c.DeclarativeConfigString != "" {
			errs = append(errs, errors.New("declarative_config: declarative_config and declarative_config_string "+
				"are both set; set one of them"))
		}
	default:
		errs = append(errs, fmt.Errorf("database: invalid value '%s' (accepted: badger, postgres, off)", c.Database))
	}
	if !filepath.IsAbs(c.Prefix) {
		errs = append(errs, fmt.Errorf("prefix: '%s' is not an absolute path", c.Prefix))
	}
	if c.SSLCipherSuite == "fips" || c.SSLCipherSuite == "custom" {
		// custom needs ssl_ciphers (an OpenSSL cipher string) and fips a
		// FIPS build; serving another profile instead would mislead.
		errs = append(errs, fmt.Errorf("ssl_cipher_suite: '%s' is not supported by Portico; use modern, intermediate or old",
			c.SSLCipherSuite))
	}
	switch c.AdminGUIAuth {
	case "", "basic-auth":
	case "ldap-auth-advanced", "openid-connect":
		errs = append(errs, fmt.Errorf("admin_gui_auth: '%s' is not supported by Portico yet; use basic-auth", c.AdminGUIAuth))
	default:
		errs = append(errs, fmt.Errorf("admin_gui_auth: invalid value '%s' (accepted: basic-auth, or empty for none)", c.AdminGUIAuth))
	}
	if c.EnforceRBAC == "entity" || c.EnforceRBAC == "both" {
		// Running these as 'on' would quietly skip the entity checks asked for.
		errs = append(errs, fmt.Errorf("enforce_rbac: '%s' (entity-level RBAC) is not supported by Portico yet; "+
			"set enforce_rbac = on for endpoint-level RBAC", c.EnforceRBAC))
	}
	// Two listeners on one address would make the second bind fail at
	// start with a less helpful message; say which keys collide instead.
	seen := map[string]string{}
	for _, g := range []struct {
		key string
		ls  []Listener
	}{{"proxy_listen", c.ProxyListen}, {"admin_listen", c.AdminListen}, {"status_listen", c.StatusListen},
		{"admin_gui_listen", c.AdminGUIListen}} {
		for _, l := range g.ls {
			if l.Port == 0 {
				continue // the OS picks a free port: no collision possible
			}
			a := l.Addr()
			if prev, dup := seen[a]; dup {
				errs = append(errs, fmt.Errorf("%s: address %s is already used by %s", g.key, a, prev))
				continue
			}
			seen[a] = g.key
		}
	}
	return errors.Join(errs...)
}

// kind says how a key's text is parsed, checked and printed.
type kind int

const (
	kindString    kind = iota // any text; *string
	kindPath                  // a file path, "off", /dev/stdout or /dev/stderr; *string
	kindBool                  // on/off/true/false; *bool
	kindInt                   // a decimal integer within [min, max]; *int
	kindSize                  // a size such as 8k, 10m, 1g; *int64
	kindEnum                  // one of enum; *string
	kindList                  // comma-separated items; *[]string
	kindListen                // Kong listen syntax; *[]Listener
	kindDuration              // a Go duration (10s, 1m30s) or whole seconds; *time.Duration
	kindDurations             // comma-separated durations; *[]time.Duration
)

// key declares one configuration key. The keys table is the only place a
// key is described; defaults.conf holds its default.
type key struct {
	name   string
	kind   kind
	field  func(c *Config) any // a pointer to the Config field the key fills
	secret bool                // mask the value when printing
	enum   []string            // kindEnum: accepted values, canonical spelling
	// min is the smallest accepted value of a kindInt or kindSize, or of a
	// kindDuration or each kindDurations item in nanoseconds (never below
	// 0: durations are not negative).
	min int64
	max int64 // kindInt: largest accepted value
	// schedule makes a kindDurations value a schedule: not empty, and each
	// item at least the one before it.
	schedule bool
	// check validates (and may canonicalize) a kindString value or each item
	// of a kindList; accepted describes the accepted form for error messages.
	check    func(string) (string, error)
	accepted string
	// ignored, when set, is why the key has no effect; Load reports it when
	// the key is set by the file or the environment.
	ignored string
}

// keys is the table of supported keys.
var keys = []key{
	{name: "prefix", kind: kindString, field: func(c *Config) any { return &c.Prefix }, check: nonEmpty, accepted: "a directory path"},

	{name: "proxy_listen", kind: kindListen, field: func(c *Config) any { return &c.ProxyListen }},
	{name: "admin_listen", kind: kindListen, field: func(c *Config) any { return &c.AdminListen }},
	{name: "status_listen", kind: kindListen, field: func(c *Config) any { return &c.StatusListen }},
	{name: "admin_gui_listen", kind: kindListen, field: func(c *Config) any { return &c.AdminGUIListen }},
	{name: "admin_gui_path", kind: kindString, field: func(c *Config) any { return &c.AdminGUIPath }, check: guiPath,
		accepted: "a path starting with /, not ending with / (except /), of letters, digits, -, _ and single /"},
	{name: "admin_gui_url", kind: kindList, field: func(c *Config) any { return &c.AdminGUIURL }, check: guiURL,
		accepted: "a comma-separated list of http:// or https:// URLs"},
	{name: "admin_gui_api_url", kind: kindString, field: func(c *Config) any { return &c.AdminGUIAPIURL }, check: apiURL,
		accepted: "[http:// or https://]host[:port][/path]"},
	{name: "admin_gui_auth", kind: kindString, field: func(c *Config) any { return &c.AdminGUIAuth }},
	{name: "admin_gui_auth_header", kind: kindString, field: func(c *Config) any { return &c.AdminGUIAuthHeader }, check: headerName},
	{name: "admin_gui_session_conf", kind: kindString, field: func(c *Config) any { return &c.AdminGUISessionConf }, secret: true,
		check: sessionConf, accepted: "a JSON object of Kong's session settings"},

	{name: "database", kind: kindEnum, field: func(c *Config) any { return &c.Database }, enum: []string{"badger", "postgres", "off"}},
	{name: "declarative_config", kind: kindString, field: func(c *Config) any { return &c.DeclarativeConfig }},
	{name: "declarative_config_string", kind: kindString, field: func(c *Config) any { return &c.DeclarativeConfigString }, secret: true},
	{name: "lmdb_environment_path", kind: kindString, field: func(c *Config) any { return &c.LMDBEnvironmentPath },
		ignored: "lmdb_environment_path is ignored: Portico keeps a DB-less configuration in memory, not in LMDB"},
	{name: "lmdb_map_size", kind: kindString, field: func(c *Config) any { return &c.LMDBMapSize },
		ignored: "lmdb_map_size is ignored: Portico keeps a DB-less configuration in memory, not in LMDB"},
	{name: "pg_host", kind: kindString, field: func(c *Config) any { return &c.PGHost }, ignored: pgIgnored("pg_host")},
	{name: "pg_port", kind: kindInt, field: func(c *Config) any { return &c.PGPort }, min: 1, max: 65535, ignored: pgIgnored("pg_port")},
	{name: "pg_user", kind: kindString, field: func(c *Config) any { return &c.PGUser }, ignored: pgIgnored("pg_user")},
	{name: "pg_password", kind: kindString, field: func(c *Config) any { return &c.PGPassword }, secret: true, ignored: pgIgnored("pg_password")},
	{name: "pg_database", kind: kindString, field: func(c *Config) any { return &c.PGDatabase }, ignored: pgIgnored("pg_database")},

	{name: "log_level", kind: kindEnum, field: func(c *Config) any { return &c.LogLevel },
		enum: []string{"debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"}},
	{name: "proxy_access_log", kind: kindPath, field: func(c *Config) any { return &c.ProxyAccessLog }},
	{name: "proxy_error_log", kind: kindPath, field: func(c *Config) any { return &c.ProxyErrorLog }},
	{name: "admin_access_log", kind: kindPath, field: func(c *Config) any { return &c.AdminAccessLog }},
	{name: "admin_error_log", kind: kindPath, field: func(c *Config) any { return &c.AdminErrorLog }},

	{name: "nginx_worker_processes", kind: kindString, field: func(c *Config) any { return &c.NginxWorkerProcesses },
		ignored: "nginx_worker_processes is ignored: Portico is a single process that uses every CPU through the Go scheduler; GOMAXPROCS limits it"},

	{name: "plugins", kind: kindList, field: func(c *Config) any { return &c.Plugins }, check: pluginName,
		accepted: "a comma-separated list of plugin names, bundled or off"},
	{name: "lua_package_path", kind: kindString, field: func(c *Config) any { return &c.LuaPackagePath }},
	{name: "anonymous_reports", kind: kindBool, field: func(c *Config) any { return &c.AnonymousReports },
		ignored: "anonymous_reports is ignored: Portico never sends usage reports"},
	{name: "headers", kind: kindList, field: func(c *Config) any { return &c.Headers }, check: headerToken,
		accepted: "a comma-separated list of " + strings.Join(headerTokens, ", ") + " or off"},
	{name: "headers_upstream", kind: kindList, field: func(c *Config) any { return &c.HeadersUpstream }, check: upstreamHeaderToken,
		accepted: "X-Kong-Request-Id or off"},
	{name: "real_ip_recursive", kind: kindBool, field: func(c *Config) any { return &c.RealIPRecursive }},
	{name: "large_client_header_buffers", kind: kindString, field: func(c *Config) any { return &c.LargeClientHeaderBuffers },
		check: headerBuffers, accepted: "a number and a size, such as 4 8k"},
	{name: "allow_debug_header", kind: kindBool, field: func(c *Config) any { return &c.AllowDebugHeader }},
	{name: "upstream_keepalive_pool_size", kind: kindInt, field: func(c *Config) any { return &c.UpstreamKeepalivePoolSize }, min: 0, max: 1 << 20},
	{name: "upstream_keepalive_max_requests", kind: kindInt, field: func(c *Config) any { return &c.UpstreamKeepaliveMaxRequests }, min: 0, max: 1 << 31},
	{name: "ssl_protocols", kind: kindString, field: func(c *Config) any { return &c.SSLProtocols }, check: sslProtocols,
		accepted: "space-separated TLSv1, TLSv1.1, TLSv1.2, TLSv1.3"},
	{name: "upstream_keepalive_idle_timeout", kind: kindInt, field: func(c *Config) any { return &c.UpstreamKeepaliveIdleTimeout }, min: 0, max: 1 << 31},
	{name: "ssl_cert", kind: kindList, field: func(c *Config) any { return &c.SSLCert }, check: readableFile, accepted: "readable PEM files"},
	{name: "ssl_cert_key", kind: kindList, field: func(c *Config) any { return &c.SSLCertKey }, check: readableFile, accepted: "readable PEM files"},
	{name: "admin_ssl_cert", kind: kindList, field: func(c *Config) any { return &c.AdminSSLCert }, check: readableFile, accepted: "readable PEM files"},
	{name: "admin_ssl_cert_key", kind: kindList, field: func(c *Config) any { return &c.AdminSSLCertKey }, check: readableFile, accepted: "readable PEM files"},
	{name: "status_ssl_cert", kind: kindList, field: func(c *Config) any { return &c.StatusSSLCert }, check: readableFile, accepted: "readable PEM files"},
	{name: "status_ssl_cert_key", kind: kindList, field: func(c *Config) any { return &c.StatusSSLCertKey }, check: readableFile, accepted: "readable PEM files"},
	{name: "admin_gui_ssl_cert", kind: kindList, field: func(c *Config) any { return &c.AdminGUISSLCert }, check: readableFile, accepted: "readable PEM files"},
	{name: "admin_gui_ssl_cert_key", kind: kindList, field: func(c *Config) any { return &c.AdminGUISSLCertKey }, check: readableFile, accepted: "readable PEM files"},
	{name: "mem_cache_size", kind: kindSize, field: func(c *Config) any { return &c.MemCacheSize }, min: 1},
	{name: "ssl_cipher_suite", kind: kindEnum, field: func(c *Config) any { return &c.SSLCipherSuite },
		enum: []string{"modern", "intermediate", "old", "fips", "custom"}},
	{name: "trusted_ips", kind: kindList, field: func(c *Config) any { return &c.TrustedIPs }, check: trustedIP,
		accepted: "a comma-separated list of IP addresses or CIDR ranges, or unix:"},
	{name: "real_ip_header", kind: kindString, field: func(c *Config) any { return &c.RealIPHeader }, check: headerName,
		accepted: "a header name or proxy_protocol"},
	{name: "client_max_body_size", kind: kindSize, field: func(c *Config) any { return &c.ClientMaxBodySize }},
	{name: "client_body_buffer_size", kind: kindSize, field: func(c *Config) any { return &c.ClientBodyBufferSize }, min: 1},

	{name: "kong_version", kind: kindString, field: func(c *Config) any { return &c.KongVersion }, check: version,
		accepted: "a version such as 3.9.1.0 or 3.9.1"},
	{name: "admin_max_body_size", kind: kindSize, field: func(c *Config) any { return &c.AdminMaxBodySize }},
	{name: "event_hooks_enabled", kind: kindBool, field: func(c *Config) any { return &c.EventHooksEnabled }},
	{name: "event_hooks_workers", kind: kindInt, field: func(c *Config) any { return &c.EventHooksWorkers }, min: 1, max: 1000},
	{name: "event_hooks_connect_timeout", kind: kindDuration, field: func(c *Config) any { return &c.EventHooksConnectTimeout }, min: 1},
	{name: "event_hooks_read_timeout", kind: kindDuration, field: func(c *Config) any { return &c.EventHooksReadTimeout }, min: 1},
	{name: "event_hooks_retry_schedule", kind: kindDurations, field: func(c *Config) any { return &c.EventHooksRetrySchedule }, schedule: true},
	{name: "event_hooks_max_attempts", kind: kindInt, field: func(c *Config) any { return &c.EventHooksMaxAttempts }, min: 1, max: 1000},
	{name: "event_hooks_max_age", kind: kindDuration, field: func(c *Config) any { return &c.EventHooksMaxAge }, min: 1},
	{name: "event_hooks_max_in_flight", kind: kindInt, field: func(c *Config) any { return &c.EventHooksMaxInFlight }, min: 1, max: 1000},
	{name: "event_hooks_retention", kind: kindDuration, field: func(c *Config) any { return &c.EventHooksRetention }, min: 1},
	{name: "event_hooks_deny_private", kind: kindBool, field: func(c *Config) any { return &c.EventHooksDenyPrivate }},

	{name: "enforce_rbac", kind: kindEnum, field: func(c *Config) any { return &c.EnforceRBAC }, enum: []string{"off", "on", "both", "entity"}},
	{name: "rbac_auth_header", kind: kindString, field: func(c *Config) any { return &c.RBACAuthHeader }, check: headerName},
	{name: "untrusted_lua", kind: kindEnum, field: func(c *Config) any { return &c.UntrustedLua }, enum: []string{"off", "sandbox", "on"}},
	{name: "untrusted_lua_sandbox_requires", kind: kindList, field: func(c *Config) any { return &c.UntrustedLuaSandboxRequires },
		check: luaModule, accepted: "a comma-separated list of Lua module names such as resty.template"},
	{name: "untrusted_lua_sandbox_environment", kind: kindList, field: func(c *Config) any { return &c.UntrustedLuaSandboxEnvironment },
		check: luaGlobal, accepted: "a comma-separated list of Lua global variable names, dotted names such as kong.log allowed"},
}

// pgIgnored is the notice of a pg_* key: only database = postgres would use
// it, and Validate refuses that engine in this build.
func pgIgnored(name string) string {
	return name + " is ignored: it is used only by database = postgres, which this build of Portico does not have"
}

// keyIndex maps a key name to its entry in keys.
var keyIndex = func() map[string]*key {
	m := make(map[string]*key, len(keys))
	for i := range keys {
		m[keys[i].name] = &keys[i]
	}
	return m
}()

// isSecret reports whether the key's value must be masked: flagged in the
// table, or named like a credential. The name rule is a safety net for keys
// added later without the flag; it errs on the side of hiding.
func (k *key) isSecret() bool {
	if k.secret {
		return true
	}
	for _, suf := range []string{"password", "secret", "token", "_key"} {
		if strings.HasSuffix(k.name, suf) {
			return true
		}
	}
	return false
}

// set parses raw as this key's kind and stores it in c. note is something
// worth telling the operator about a value that was accepted.
func (k *key) set(c *Config, raw string) (note string, err error) {
	switch p := k.field(c).(type) {
	case *string:
		switch k.kind {
		case kindEnum:
			for _, e := range k.enum {
				if strings.EqualFold(raw, e) {
					*p = e
					return "", nil
				}
			}
			return "", &ValueError{Key: k.name, Value: raw, Accepted: strings.Join(k.enum, ", ")}
		case kindPath:
			v, note, err := checkPath(raw)
			if err != nil {
				return "", &ValueError{Key: k.name, Value: raw, Reason: err.Error(), Accepted: pathForm}
			}
			if note != "" {
				note = k.name + ": " + note
			}
			*p = v
			return note, nil
		default:
			v := raw
			if k.check != nil {
				if v, err = k.check(raw); err != nil {
					shown := raw
					if k.isSecret() {
						shown = Masked // an error is printed and logged: never a secret
					}
					return "", &ValueError{Key: k.name, Value: shown, Reason: reason(err), Accepted: k.accepted}
				}
			}
			*p = v
			return "", nil
		}
	case *bool:
		b, ok := parseBool(raw)
		if !ok {
			return "", &ValueError{Key: k.name, Value: raw, Accepted: "on, off, true, false"}
		}
		*p = b
		return "", nil
	case *int:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < k.min || n > k.max {
			return "", &ValueError{Key: k.name, Value: raw, Accepted: fmt.Sprintf("an integer from %d to %d", k.min, k.max)}
		}
		*p = int(n)
		return "", nil
	case *int64:
		n, err := ParseSize(raw)
		if err != nil || n < k.min {
			acc := "a size in bytes, or with a k, m or g suffix, such as 8k or 10m"
			if k.min > 0 {
				acc += ", greater than 0"
			}
			return "", &ValueError{Key: k.name, Value: raw, Accepted: acc}
		}
		*p = n
		return "", nil
	case *[]string:
		items := splitList(raw)
		out := make([]string, 0, len(items))
		for _, it := range items {
			v := it
			if k.check != nil {
				if v, err = k.check(it); err != nil {
					return "", &ValueError{Key: k.name, Value: it, Reason: reason(err), Accepted: k.accepted}
				}
			}
			out = append(out, v)
		}
		*p = out
		return "", nil
	case *[]Listener:
		ls, err := ParseListen(raw)
		if err != nil {
			var le *ListenError
			if errors.As(err, &le) {
				return "", &ValueError{Key: k.name, Value: le.Entry, Reason: le.Reason, Accepted: listenForm}
			}
			return "", &ValueError{Key: k.name, Value: raw, Reason: err.Error(), Accepted: listenForm}
		}
		*p = ls
		return "", nil
	case *time.Duration:
		d, err := k.duration(raw)
		if err != nil {
			return "", err
		}
		*p = d
		return "", nil
	case *[]time.Duration:
		items := splitList(raw)
		if len(items) == 0 && k.schedule {
			return "", &ValueError{Key: k.name, Value: raw, Reason: "no durations given", Accepted: k.durationsForm()}
		}
		out := make([]time.Duration, 0, len(items))
		for i, it := range items {
			d, err := k.duration(it)
			if err != nil {
				err.Accepted = k.durationsForm()
				return "", err
			}
			if k.schedule && i > 0 && d < out[i-1] {
				return "", &ValueError{Key: k.name, Value: it, Accepted: k.durationsForm(),
					Reason: "shorter than the step before it (" + FormatDuration(out[i-1]) + ")"}
			}
			out = append(out, d)
		}
		*p = out
		return "", nil
	}
	panic("conf: key " + k.name + " has a field of an unsupported type")
}

// durationForm is the accepted form quoted in duration errors.
const durationForm = "a duration such as 10s, 1m30s or 500ms, or a whole number of seconds"

// duration parses one kindDuration value or kindDurations item and checks
// it against k.min.
func (k *key) duration(raw string) (time.Duration, *ValueError) {
	acc := durationForm
	switch {
	case k.min == 1:
		acc += ", greater than 0"
	case k.min > 1:
		acc += ", at least " + FormatDuration(time.Duration(k.min))
	}
	d, err := ParseDuration(raw)
	switch {
	case err != nil:
		return 0, &ValueError{Key: k.name, Value: raw, Accepted: acc}
	case d < 0:
		return 0, &ValueError{Key: k.name, Value: raw, Reason: "negative duration", Accepted: acc}
	case d < time.Duration(k.min):
		return 0, &ValueError{Key: k.name, Value: raw, Accepted: acc}
	}
	return d, nil
}

// durationsForm is the accepted form of a kindDurations key.
func (k *key) durationsForm() string {
	if k.schedule {
		return "a comma-separated list of durations such as 0s, 5s, 5m (" + durationForm +
			"), each at least the one before it"
	}
	return "a comma-separated list of durations (" + durationForm + ")"
}

// format prints the key's current value the way it would be written in a
// configuration file.
func (k *key) format(c *Config) string {
	switch p := k.field(c).(type) {
	case *string:
		return *p
	case *bool:
		if *p {
			return "on"
		}
		return "off"
	case *int:
		return strconv.Itoa(*p)
	case *int64:
		return FormatSize(*p)
	case *[]string:
		return strings.Join(*p, ", ")
	case *[]Listener:
		return FormatListen(*p)
	case *time.Duration:
		return FormatDuration(*p)
	case *[]time.Duration:
		return strings.Join(formatDurations(*p), ", ")
	}
	panic("conf: key " + k.name + " has a field of an unsupported type")
}

// kongValue returns the key's value typed as Kong's Admin API shows it.
func (k *key) kongValue(c *Config) any {
	switch p := k.field(c).(type) {
	case *string:
		return *p
	case *bool:
		return *p
	case *int:
		return *p
	case *int64:
		return FormatSize(*p)
	case *[]string:
		return append([]string{}, *p...)
	case *[]Listener:
		out := make([]string, 0, len(*p))
		for _, l := range *p {
			out = append(out, l.String())
		}
		return out
	case *time.Duration:
		return FormatDuration(*p)
	case *[]time.Duration:
		return formatDurations(*p)
	}
	panic("conf: key " + k.name + " has a field of an unsupported type")
}

// ValueError is a value Load could not accept. It names the key, the bad
// value (or the bad part of a list), why, and what would have been accepted.
type ValueError struct {
	Key      string
	Value    string
	Reason   string // optional detail
	Accepted string // the accepted values or form
	Source   string // where the value came from, set by Load
}

func (e *ValueError) Error() string {
	var b strings.Builder
	b.WriteString(e.Key)
	b.WriteString(": invalid value '")
	b.WriteString(e.Value)
	b.WriteString("'")
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	if e.Accepted != "" {
		b.WriteString(" (accepted: ")
		b.WriteString(e.Accepted)
		b.WriteString(")")
	}
	if e.Source != "" {
		b.WriteString(", ")
		b.WriteString(e.Source)
	}
	return b.String()
}

// reason turns a check's error into ValueError.Reason; errBadValue means
// "nothing more to say than the accepted form".
func reason(err error) string {
	if errors.Is(err, errBadValue) {
		return ""
	}
	return err.Error()
}

var errBadValue = errors.New("bad value")
