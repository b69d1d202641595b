package conf

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/logger"
)

// mustLoad loads file content (written to a temp file when not empty) with
// environ, failing the test on error.
func mustLoad(t *testing.T, content string, environ ...string) (*Config, []Notice) {
	t.Helper()
	c, notices, err := loadContent(t, content, environ...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c, notices
}

func loadContent(t *testing.T, content string, environ ...string) (*Config, []Notice, error) {
	t.Helper()
	path := ""
	if content != "" {
		path = filepath.Join(t.TempDir(), "kong.conf")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return Load(path, environ)
}

func TestDefaults(t *testing.T) {
	c, notices := mustLoad(t, "")
	if len(notices) != 0 {
		t.Errorf("notices from defaults: %v", notices)
	}
	wd, _ := os.Getwd()
	prefix := filepath.Join(wd, ".portico")
	want := &Config{
		Prefix: prefix,
		ProxyListen: []Listener{
			{Host: "0.0.0.0", Port: 8000, ReusePort: true, Backlog: 16384},
			{Host: "0.0.0.0", Port: 8443, SSL: true, HTTP2: true, ReusePort: true, Backlog: 16384},
		},
		AdminListen: []Listener{
			{Host: "127.0.0.1", Port: 8001, ReusePort: true, Backlog: 16384},
			{Host: "127.0.0.1", Port: 8444, SSL: true, HTTP2: true, ReusePort: true, Backlog: 16384},
		},
		StatusListen:                 []Listener{{Host: "127.0.0.1", Port: 8007, ReusePort: true, Backlog: 16384}},
		AdminGUIListen:               []Listener{{Host: "0.0.0.0", Port: 8002}, {Host: "0.0.0.0", Port: 8445, SSL: true}},
		AdminGUIPath:                 "/",
		AdminGUIAuthHeader:           "Kong-Admin-User",
		AdminGUIURL:                  []string{},
		Database:                     "badger",
		LMDBEnvironmentPath:          "dbless.lmdb",
		LMDBMapSize:                  "2048m",
		PGHost:                       "127.0.0.1",
		PGPort:                       5432,
		PGUser:                       "kong",
		PGPassword:                   "",
		PGDatabase:                   "kong",
		LogLevel:                     "notice",
		ProxyAccessLog:               filepath.Join(prefix, "logs/access.log"),
		ProxyErrorLog:                filepath.Join(prefix, "logs/error.log"),
		AdminAccessLog:               filepath.Join(prefix, "logs/admin_access.log"),
		AdminErrorLog:                filepath.Join(prefix, "logs/error.log"),
		NginxWorkerProcesses:         "auto",
		Plugins:                      []string{"bundled"},
		LuaPackagePath:               "./?.lua;./?/init.lua;",
		AnonymousReports:             false,
		Headers:                      []string{"server_tokens", "latency_tokens", "X-Kong-Request-Id"},
		HeadersUpstream:              []string{"X-Kong-Request-Id"},
		LargeClientHeaderBuffers:     "4 8k",
		UpstreamKeepaliveIdleTimeout: 60,
		UpstreamKeepalivePoolSize:    512,
		UpstreamKeepaliveMaxRequests: 10000,
		SSLProtocols:                 "TLSv1.2 TLSv1.3",
		SSLCert:                      []string{},
		SSLCertKey:                   []string{},
		AdminSSLCert:                 []string{},
		AdminSSLCertKey:              []string{},
		StatusSSLCert:                []string{},
		StatusSSLCertKey:             []string{},
		AdminGUISSLCert:              []string{},
		AdminGUISSLCertKey:           []string{},
		MemCacheSize:                 128 << 20,
		SSLCipherSuite:               "intermediate",
		TrustedIPs:                   []string{},
		RealIPHeader:                 "X-Real-IP",
		ClientMaxBodySize:            0,
		ClientBodyBufferSize:         8 << 10,
		KongVersion:                  "3.9.1.0",
		AdminMaxBodySize:             10 << 20,
		EventHooksEnabled:            true,

		EventHooksWorkers:        16,
		EventHooksConnectTimeout: 10 * time.Second,
		EventHooksReadTimeout:    10 * time.Second,
		EventHooksRetrySchedule: []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
			2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour},
		EventHooksMaxAttempts:          8,
		EventHooksMaxAge:               72 * time.Hour,
		EventHooksMaxInFlight:          4,
		EventHooksRetention:            72 * time.Hour,
		UntrustedLua:                   "sandbox",
		EnforceRBAC:                    "off",
		RBACAuthHeader:                 "Kong-Admin-Token",
		UntrustedLuaSandboxRequires:    []string{},
		UntrustedLuaSandboxEnvironment: []string{},
	}
	c.sources, c.file = nil, ""
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate(defaults): %v", err)
	}
	if got, want := c.PIDFile(), filepath.Join(prefix, "pids", "portico.pid"); got != want {
		t.Errorf("PIDFile = %q, want %q", got, want)
	}
	if got, want := c.DataDir(), filepath.Join(prefix, "data"); got != want {
		t.Errorf("DataDir = %q, want %q", got, want)
	}
}

// TestDefaultsFileMatchesTable: defaults.conf is the single source of
// defaults, so every key must be there exactly once, and nothing else.
func TestDefaultsFileMatchesTable(t *testing.T) {
	settings, errs := parseFile("", defaultsConf)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	count := map[string]int{}
	for _, s := range settings {
		count[s.key]++
		if keyIndex[s.key] == nil {
			t.Errorf("defaults.conf sets unknown key %q", s.key)
		}
	}
	for _, k := range keys {
		if count[k.name] != 1 {
			t.Errorf("key %q is set %d times in defaults.conf, want 1", k.name, count[k.name])
		}
		if isKongKey(k.name) {
			t.Errorf("key %q is both supported and listed as unsupported Kong key", k.name)
		}
	}
	if DefaultConf() != string(defaultsConf) {
		t.Error("DefaultConf differs from the embedded file")
	}
}

func TestParseFileSyntax(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string
	}{
		{"basic", "log_level = debug\n", map[string]string{"log_level": "debug"}},
		{"no spaces", "log_level=debug", map[string]string{"log_level": "debug"}},
		{"blanks and comments", "\n# a comment\n   \n  # indented comment\nlog_level = info # trailing\n\n",
			map[string]string{"log_level": "info"}},
		{"escaped hash", `pg_password = a\#b\#c # real comment`, map[string]string{"pg_password": "a#b#c"}},
		{"hash with no space", "pg_password = ab#cd", map[string]string{"pg_password": "ab"}},
		{"other backslashes kept", `pg_password = a\b\\c`, map[string]string{"pg_password": `a\b\\c`}},
		{"equals in value", "proxy_listen = 0.0.0.0:80 backlog=5", map[string]string{"proxy_listen": "0.0.0.0:80 backlog=5"}},
		{"uppercase key", "LOG_LEVEL = warn", map[string]string{"log_level": "warn"}},
		{"quotes kept", `pg_user = "kong"`, map[string]string{"pg_user": `"kong"`}},
		{"crlf", "log_level = crit\r\npg_user = x\r\n", map[string]string{"log_level": "crit", "pg_user": "x"}},
		{"bom", "\xef\xbb\xbflog_level = error", map[string]string{"log_level": "error"}},
		{"empty value", "trusted_ips =", map[string]string{"trusted_ips": ""}},
		{"tabs", "\tlog_level\t=\tdebug\t", map[string]string{"log_level": "debug"}},
		{"no final newline", "log_level = debug", map[string]string{"log_level": "debug"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings, errs := parseFile("f.conf", []byte(tt.in))
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			got := map[string]string{}
			for _, s := range settings {
				got[s.key] = s.value
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseFileErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"log_level debug", "f.conf:1: expected 'key = value', got 'log_level debug'"},
		{"\n\nlog_level = debug\njust words\n", "f.conf:4: expected 'key = value'"},
		{"= debug", "f.conf:1: invalid key ''"},
		{"log level = debug", "f.conf:1: invalid key 'log level'"},
		{"log-level = debug", "f.conf:1: invalid key 'log-level'"},
	}
	for _, tt := range tests {
		_, errs := parseFile("f.conf", []byte(tt.in))
		if len(errs) == 0 || !strings.Contains(errs[0].Error(), tt.want) {
			t.Errorf("parseFile(%q): %v, want %q", tt.in, errs, tt.want)
		}
	}
	// Every bad line is reported, not only the first.
	_, errs := parseFile("f.conf", []byte("a\nb\nlog_level = info\nc"))
	if len(errs) != 3 {
		t.Errorf("got %d errors, want 3: %v", len(errs), errs)
	}
	// Load reports them too.
	_, _, err := loadContent(t, "log_level = info\noops\n")
	if err == nil || !strings.Contains(err.Error(), "kong.conf:2: expected 'key = value'") {
		t.Errorf("Load: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, _, err := Load(filepath.Join(t.TempDir(), "nope.conf"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want ErrNotExist", err)
	}
}

func TestPrecedence(t *testing.T) {
	file := "log_level = info\npg_user = file\npg_host = file\nmem_cache_size = 1m\n"
	env := []string{
		"KONG_PG_USER=kong-env",
		"KONG_PG_HOST=kong-env",
		"PORTICO_PG_HOST=portico-env",
		"PORTICO_PG_DATABASE=portico-env", // PORTICO_ alone wins over the default
		"KONG_LOG_LEVEL=bad-but-overridden",
		"PORTICO_LOG_LEVEL=debug",
		"PATH=/usr/bin", // unrelated: ignored silently
	}
	c, notices := mustLoad(t, file, env...)
	// The pg_* keys are read (and printed by portico config) but only a
	// postgres database would use them: each set one gets its notice.
	for _, n := range notices {
		if !strings.Contains(n.Message, "is used only by database = postgres") {
			t.Errorf("notice: %v", n)
		}
	}
	checks := []struct{ key, got, want, src string }{
		{"ssl_cipher_suite", c.SSLCipherSuite, "intermediate", "default"},
		{"mem_cache_size", FormatSize(c.MemCacheSize), "1m", "kong.conf:4"},
		{"pg_user", c.PGUser, "kong-env", "env KONG_PG_USER"},
		{"pg_host", c.PGHost, "portico-env", "env PORTICO_PG_HOST"},
		{"pg_database", c.PGDatabase, "portico-env", "env PORTICO_PG_DATABASE"},
		{"log_level", c.LogLevel, "debug", "env PORTICO_LOG_LEVEL"},
	}
	eff := map[string]KV{}
	for _, kv := range c.Effective() {
		eff[kv.Key] = kv
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %q, want %q", ck.key, ck.got, ck.want)
		}
		if src := eff[ck.key].Source; !strings.HasSuffix(src, ck.src) {
			t.Errorf("%s source = %q, want suffix %q", ck.key, src, ck.src)
		}
	}

	// The order of environ does not matter: PORTICO_ wins either way; a
	// variable repeated counts with its last value.
	c, _ = mustLoad(t, "", "PORTICO_PG_USER=p", "KONG_PG_USER=k", "KONG_PG_USER=k2")
	if c.PGUser != "p" {
		t.Errorf("pg_user = %q, want p", c.PGUser)
	}
	c, _ = mustLoad(t, "", "KONG_PG_USER=k", "KONG_PG_USER=k2")
	if c.PGUser != "k2" {
		t.Errorf("pg_user = %q, want k2", c.PGUser)
	}
	// Environment values are literal: '#' is no comment there.
	c, _ = mustLoad(t, "", "KONG_PG_PASSWORD= se#cret ")
	if c.PGPassword != "se#cret" {
		t.Errorf("pg_password = %q, want se#cret", c.PGPassword)
	}
}

func TestNotices(t *testing.T) {
	file := "foo_bar = 1\ndns_resolver = 8.8.8.8\nlog_level = info\nlog_level = debug\nnginx_http_foo = x\n"
	env := []string{"KONG_FOO_BAR=1", "PORTICO_NOPE=1", "KONG_PASSWORD=admin", "KONG_VERSION=3.9.1", "KONG_NGINX_DAEMON=off", "KONG_=x"}
	c, notices := mustLoad(t, file, env...)
	path := c.File()
	want := []Notice{
		{"warn", "configuration key 'log_level' is set twice: " + path + ":3 is overridden by " + path + ":4"},
		{"warn", "unknown configuration key 'foo_bar' in " + path + ":1"},
		{"warn", "unsupported Kong configuration key 'dns_resolver' in " + path + ":2 is ignored"},
		{"warn", "unsupported Kong configuration key 'nginx_http_foo' in " + path + ":5 is ignored"},
		{"warn", "unknown configuration key 'foo_bar' from environment variable KONG_FOO_BAR"},
		{"warn", "unsupported Kong configuration key 'nginx_daemon' from environment variable KONG_NGINX_DAEMON is ignored"},
		{"warn", "unknown configuration key 'nope' from environment variable PORTICO_NOPE"},
	}
	if !reflect.DeepEqual(notices, want) {
		t.Errorf("notices:\n got %q\nwant %q", notices, want)
	}
	if c.LogLevel != "debug" {
		t.Errorf("log_level = %q, want debug (last line wins)", c.LogLevel)
	}
}

func TestIgnoredKeys(t *testing.T) {
	_, notices := mustLoad(t, "nginx_worker_processes = 4\n", "KONG_PG_HOST=db", "KONG_ANONYMOUS_REPORTS=on")
	var msgs []string
	for _, n := range notices {
		if n.Level != "notice" {
			t.Errorf("notice level %q, want notice: %s", n.Level, n.Message)
		}
		msgs = append(msgs, n.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		"nginx_worker_processes is ignored: ",
		"pg_host is ignored: ",
		"(set from environment variable KONG_PG_HOST)",
		"anonymous_reports is ignored",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("notices %q lack %q", msgs, want)
		}
	}
	for _, m := range msgs {
		if strings.Contains(m, "nginx_worker_processes") && !strings.HasPrefix(m, "nginx_worker_processes is ignored: ") {
			t.Errorf("notice %q", m)
		}
	}
	// Set by the defaults only, ignored keys say nothing.
	if _, notices := mustLoad(t, ""); len(notices) != 0 {
		t.Errorf("notices from defaults: %v", notices)
	}
}

// TestInvalidValues covers every key's kind: each error names the key, the
// bad value, and what would have been accepted.
func TestInvalidValues(t *testing.T) {
	tests := []struct{ key, value, want string }{
		{"prefix", "", "prefix: invalid value '' (accepted: a directory path)"},
		{"proxy_listen", "0.0.0.0:abc", "proxy_listen: invalid value '0.0.0.0:abc': port 'abc' is not a number"},
		{"proxy_listen", "0.0.0.0:8000, 1.2.3.4", "proxy_listen: invalid value '1.2.3.4': missing port in '1.2.3.4' (accepted: off, or"},
		{"admin_listen", "127.0.0.1:8001 sll", "admin_listen: invalid value '127.0.0.1:8001 sll': unknown flag 'sll'"},
		{"admin_listen", "", "admin_listen: invalid value '': no address given"},
		{"status_listen", "::1:80", "status_listen: invalid value '::1:80': IPv6 addresses must be in brackets"},
		{"database", "cassandra", "database: invalid value 'cassandra' (accepted: badger, postgres, off)"},
		{"database", "", "database: invalid value '' (accepted: badger, postgres, off)"},
		{"pg_port", "abc", "pg_port: invalid value 'abc' (accepted: an integer from 1 to 65535)"},
		{"pg_port", "0", "pg_port: invalid value '0'"},
		{"pg_port", "65536", "pg_port: invalid value '65536'"},
		{"pg_port", "5432.0", "pg_port: invalid value '5432.0'"},
		{"log_level", "loud", "log_level: invalid value 'loud' (accepted: debug, info, notice, warn, error, crit, alert, emerg)"},
		{"proxy_access_log", "", "proxy_access_log: invalid value '': empty path (accepted: a file path"},
		{"proxy_error_log", "syslog:server=1.2.3.4", "proxy_error_log: invalid value 'syslog:server=1.2.3.4': syslog targets are not supported"},
		{"admin_access_log", "", "admin_access_log: invalid value ''"},
		{"admin_error_log", "", "admin_error_log: invalid value ''"},
		{"plugins", "cors rate-limiting", "plugins: invalid value 'cors rate-limiting': plugin names contain no blanks (missing comma?)"},
		{"anonymous_reports", "yes", "anonymous_reports: invalid value 'yes' (accepted: on, off, true, false)"},
		{"event_hooks_enabled", "1", "event_hooks_enabled: invalid value '1' (accepted: on, off, true, false)"},
		{"event_hooks_deny_private", "yes", "event_hooks_deny_private: invalid value 'yes' (accepted: on, off, true, false)"},
		{"headers", "server_tokens, X-Foo", "headers: invalid value 'X-Foo' (accepted: a comma-separated list of server_tokens, "},
		{"mem_cache_size", "128mb", "mem_cache_size: invalid value '128mb' (accepted: a size in bytes, or with a k, m or g suffix, such as 8k or 10m, greater than 0)"},
		{"mem_cache_size", "0", "mem_cache_size: invalid value '0'"},
		{"client_max_body_size", "-1", "client_max_body_size: invalid value '-1' (accepted: a size"},
		{"client_max_body_size", "1.5m", "client_max_body_size: invalid value '1.5m'"},
		{"client_body_buffer_size", "0", "client_body_buffer_size: invalid value '0'"},
		{"admin_max_body_size", "10 m", "admin_max_body_size: invalid value '10 m'"},
		{"admin_max_body_size", "99999999999g", "admin_max_body_size: invalid value '99999999999g'"},
		{"ssl_cipher_suite", "strong", "ssl_cipher_suite: invalid value 'strong' (accepted: modern, intermediate, old, fips, custom)"},
		{"trusted_ips", "10.0.0.0/8, 10.0.0.300", "trusted_ips: invalid value '10.0.0.300' (accepted: a comma-separated list of IP addresses or CIDR ranges, or unix:)"},
		{"trusted_ips", "10.0.0.0/33", "trusted_ips: invalid value '10.0.0.0/33'"},
		{"real_ip_header", "X Real IP", "real_ip_header: invalid value 'X Real IP' (accepted: a header name or proxy_protocol)"},
		{"real_ip_header", "", "real_ip_header: invalid value ''"},
		{"kong_version", "3.9", "kong_version: invalid value '3.9' (accepted: a version such as 3.9.1.0 or 3.9.1)"},
		{"kong_version", "latest", "kong_version: invalid value 'latest'"},
		{"kong_version", "3.9.1-", "kong_version: invalid value '3.9.1-'"},

		{"event_hooks_workers", "0", "event_hooks_workers: invalid value '0' (accepted: an integer from 1 to 1000)"},
		{"event_hooks_workers", "1001", "event_hooks_workers: invalid value '1001'"},
		{"event_hooks_workers", "many", "event_hooks_workers: invalid value 'many'"},
		{"event_hooks_connect_timeout", "0", "event_hooks_connect_timeout: invalid value '0' (accepted: a duration such as 10s, 1m30s or 500ms, or a whole number of seconds, greater than 0)"},
		{"event_hooks_connect_timeout", "10 s", "event_hooks_connect_timeout: invalid value '10 s' (accepted: a duration such as"},
		{"event_hooks_connect_timeout", "-1s", "event_hooks_connect_timeout: invalid value '-1s': negative duration (accepted: a duration"},
		{"event_hooks_connect_timeout", "", "event_hooks_connect_timeout: invalid value ''"},
		{"event_hooks_read_timeout", "1.5", "event_hooks_read_timeout: invalid value '1.5' (accepted: a duration"},
		{"event_hooks_read_timeout", "10sec", "event_hooks_read_timeout: invalid value '10sec'"},
		{"event_hooks_read_timeout", "99999999999999999", "event_hooks_read_timeout: invalid value '99999999999999999'"},
		{"event_hooks_retry_schedule", "", "event_hooks_retry_schedule: invalid value '': no durations given (accepted: a comma-separated list of durations such as 0s, 5s, 5m"},
		{"event_hooks_retry_schedule", " , ", "event_hooks_retry_schedule: invalid value ',': no durations given"},
		{"event_hooks_retry_schedule", "0s, 5m, 30s", "event_hooks_retry_schedule: invalid value '30s': shorter than the step before it (5m) (accepted: "},
		{"event_hooks_retry_schedule", "0s, -5s", "event_hooks_retry_schedule: invalid value '-5s': negative duration (accepted: a comma-separated list"},
		{"event_hooks_retry_schedule", "0s, 5x", "event_hooks_retry_schedule: invalid value '5x' (accepted: a comma-separated list of durations such as 0s, 5s, 5m (a duration such as 10s, 1m30s or 500ms, or a whole number of seconds), each at least the one before it)"},
		{"event_hooks_max_attempts", "0", "event_hooks_max_attempts: invalid value '0' (accepted: an integer from 1 to 1000)"},
		{"event_hooks_max_attempts", "8.0", "event_hooks_max_attempts: invalid value '8.0'"},
		{"event_hooks_max_age", "0s", "event_hooks_max_age: invalid value '0s' (accepted: a duration such as 10s, 1m30s or 500ms, or a whole number of seconds, greater than 0)"},
		{"event_hooks_max_age", "3d", "event_hooks_max_age: invalid value '3d'"},
		{"event_hooks_max_in_flight", "0", "event_hooks_max_in_flight: invalid value '0' (accepted: an integer from 1 to 1000)"},
		{"event_hooks_max_in_flight", "-4", "event_hooks_max_in_flight: invalid value '-4'"},
		{"event_hooks_retention", "0", "event_hooks_retention: invalid value '0' (accepted: a duration"},
		{"event_hooks_retention", "forever", "event_hooks_retention: invalid value 'forever'"},
		{"untrusted_lua", "yes", "untrusted_lua: invalid value 'yes' (accepted: off, sandbox, on)"},
		{"enforce_rbac", "maybe", "enforce_rbac: invalid value 'maybe' (accepted: off, on, both, entity)"},
		{"rbac_auth_header", "bad header", "rbac_auth_header: invalid value 'bad header'"},
		{"untrusted_lua", "", "untrusted_lua: invalid value '' (accepted: off, sandbox, on)"},
		{"untrusted_lua_sandbox_requires", "resty.template kong.tools.utils", "untrusted_lua_sandbox_requires: invalid value 'resty.template kong.tools.utils' (accepted: a comma-separated list of Lua module names such as resty.template)"},
		{"untrusted_lua_sandbox_requires", "resty..template", "untrusted_lua_sandbox_requires: invalid value 'resty..template'"},
		{"untrusted_lua_sandbox_requires", "os, /etc/passwd", "untrusted_lua_sandbox_requires: invalid value '/etc/passwd'"},
		{"untrusted_lua_sandbox_environment", "kong.log, 1x", "untrusted_lua_sandbox_environment: invalid value '1x' (accepted: a comma-separated list of Lua global variable names, dotted names such as kong.log allowed)"},
		{"untrusted_lua_sandbox_environment", "kong.", "untrusted_lua_sandbox_environment: invalid value 'kong.'"},
		{"headers_upstream", "Via", "headers_upstream: invalid value 'Via' (accepted: X-Kong-Request-Id or off)"},
		{"real_ip_recursive", "maybe", "real_ip_recursive: invalid value 'maybe'"},
		{"large_client_header_buffers", "4", "large_client_header_buffers: invalid value '4' (accepted: a number and a size, such as 4 8k)"},
		{"large_client_header_buffers", "0 8k", "large_client_header_buffers: invalid value '0 8k'"},
		{"allow_debug_header", "2", "allow_debug_header: invalid value '2'"},
		{"upstream_keepalive_pool_size", "-1", "upstream_keepalive_pool_size: invalid value '-1'"},
		{"upstream_keepalive_max_requests", "x", "upstream_keepalive_max_requests: invalid value 'x'"},
		{"ssl_protocols", "TLSv1 TLSv1.3", "ssl_protocols: invalid value 'TLSv1 TLSv1.3' (accepted: space-separated TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)"},
		{"ssl_protocols", "SSLv3", "ssl_protocols: invalid value 'SSLv3'"},
		{"upstream_keepalive_idle_timeout", "-1", "upstream_keepalive_idle_timeout: invalid value '-1'"},
		{"ssl_cert", "/nonexistent/cert.pem", "ssl_cert: invalid value '/nonexistent/cert.pem' (accepted: readable PEM files)"},
		{"ssl_cert_key", "/nonexistent/key.pem", "ssl_cert_key: invalid value '******' (accepted: readable PEM files)"},
		{"admin_ssl_cert", "/nonexistent/cert.pem", "admin_ssl_cert: invalid value '/nonexistent/cert.pem' (accepted: readable PEM files)"},
		{"admin_ssl_cert_key", "/nonexistent/key.pem", "admin_ssl_cert_key: invalid value '******' (accepted: readable PEM files)"},
		{"status_ssl_cert", "/nonexistent/cert.pem", "status_ssl_cert: invalid value '/nonexistent/cert.pem' (accepted: readable PEM files)"},
		{"status_ssl_cert_key", "/nonexistent/key.pem", "status_ssl_cert_key: invalid value '******' (accepted: readable PEM files)"},
		{"admin_gui_ssl_cert", "/nonexistent/cert.pem", "admin_gui_ssl_cert: invalid value '/nonexistent/cert.pem' (accepted: readable PEM files)"},
		{"admin_gui_ssl_cert_key", "/nonexistent/key.pem", "admin_gui_ssl_cert_key: invalid value '******' (accepted: readable PEM files)"},
		{"untrusted_lua_sandbox_environment", "kong-log", "untrusted_lua_sandbox_environment: invalid value 'kong-log'"},
		{"admin_gui_listen", "0.0.0.0:99999", "admin_gui_listen: invalid value '0.0.0.0:99999'"},
		{"admin_gui_path", "/manager/", "admin_gui_path: invalid value '/manager/': must not end with /"},
		{"admin_gui_path", "/a//b", "admin_gui_path: invalid value '/a//b': must not contain //"},
		{"admin_gui_path", "manager", "admin_gui_path: invalid value 'manager': must start with /"},
		{"admin_gui_url", "http://ok.test, ftp://x", "admin_gui_url: invalid value 'ftp://x' (accepted: a comma-separated list of http:// or https:// URLs)"},
		{"admin_gui_api_url", "ftp://x", "admin_gui_api_url: invalid value 'ftp://x': the scheme must be http or https"},
		{"admin_gui_auth_header", "bad header", "admin_gui_auth_header: invalid value 'bad header'"},
		{"admin_gui_session_conf", `{"secret": "s3cr3t", "cookie_secure": "yes"}`, "admin_gui_session_conf: invalid value '******': cookie_secure must be true or false"},
		{"admin_gui_session_conf", `{"secret": "s3cr3t", "cookie_http_only": false}`, "admin_gui_session_conf: invalid value '******': cookie_http_only: only true is supported"},
	}
	tested := map[string]bool{}
	for _, tt := range tests {
		tested[tt.key] = true
		_, _, err := loadContent(t, tt.key+" = "+tt.value+"\n")
		if err == nil {
			t.Errorf("%s = %q: no error", tt.key, tt.value)
			continue
		}
		var ve *ValueError
		if !errors.As(err, &ve) || ve.Key != tt.key {
			t.Errorf("%s = %q: %v is not a *ValueError for the key", tt.key, tt.value, err)
		}
		if !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s = %q:\n got %s\nwant %s...", tt.key, tt.value, err, tt.want)
		}
		if !strings.Contains(err.Error(), "set in ") || !strings.Contains(err.Error(), "kong.conf:1") {
			t.Errorf("%s = %q: error %q does not say where the value was set", tt.key, tt.value, err)
		}
	}
	// Every key whose kind can fail has a case above.
	for _, k := range keys {
		canFail := k.kind != kindString || k.check != nil
		if canFail && !tested[k.name] {
			t.Errorf("no invalid-value case for %s", k.name)
		}
	}

	// From the environment, the error names the variable.
	_, _, err := loadContent(t, "", "KONG_LOG_LEVEL=loud")
	if err == nil || !strings.HasSuffix(err.Error(), ", set from environment variable KONG_LOG_LEVEL") {
		t.Errorf("env error: %v", err)
	}
	// All bad values are reported at once.
	_, _, err = loadContent(t, "log_level = loud\npg_port = x\n")
	if err == nil || !strings.Contains(err.Error(), "log_level:") || !strings.Contains(err.Error(), "pg_port:") {
		t.Errorf("joined errors: %v", err)
	}
}

func TestValidValues(t *testing.T) {
	c, notices := mustLoad(t, strings.Join([]string{
		"database = POSTGRES",
		"log_level = Debug",
		"anonymous_reports = TRUE",
		"event_hooks_enabled = false",
		"headers = off",
		"plugins = bundled, my-plugin,, ",
		"trusted_ips = 10.0.0.0/8, ::1, 2001:db8::/32, unix:, 0.0.0.0/0",
		"real_ip_header = proxy_protocol",
		"mem_cache_size = 1G",
		"client_max_body_size = 1024",
		"client_body_buffer_size = 16K",
		"admin_max_body_size = 0",
		"kong_version = 3.9.1.0-enterprise-edition",
		"ssl_cipher_suite = modern",
		"pg_port = 6543",
		"proxy_access_log = /dev/stdout",
		"proxy_error_log = /dev/stderr",
		"admin_access_log = off",
		"admin_error_log = logs/admin.log custom_format",
		"status_listen = 127.0.0.1:8100",
		"trusted_ips =",
	}, "\n"))
	if c.Database != "postgres" || c.LogLevel != "debug" || !c.AnonymousReports || c.EventHooksEnabled {
		t.Errorf("enums/bools: %q %q %v %v", c.Database, c.LogLevel, c.AnonymousReports, c.EventHooksEnabled)
	}
	if !reflect.DeepEqual(c.Headers, []string{"off"}) {
		t.Errorf("headers = %q", c.Headers)
	}
	if !reflect.DeepEqual(c.Plugins, []string{"bundled", "my-plugin"}) {
		t.Errorf("plugins = %q", c.Plugins)
	}
	if len(c.TrustedIPs) != 0 {
		t.Errorf("trusted_ips = %q, want empty (last line wins)", c.TrustedIPs)
	}
	if c.MemCacheSize != 1<<30 || c.ClientMaxBodySize != 1024 || c.ClientBodyBufferSize != 16<<10 || c.AdminMaxBodySize != 0 {
		t.Errorf("sizes: %d %d %d %d", c.MemCacheSize, c.ClientMaxBodySize, c.ClientBodyBufferSize, c.AdminMaxBodySize)
	}
	if c.ProxyAccessLog != "/dev/stdout" || c.ProxyErrorLog != "/dev/stderr" || c.AdminAccessLog != "off" {
		t.Errorf("logs: %q %q %q", c.ProxyAccessLog, c.ProxyErrorLog, c.AdminAccessLog)
	}
	if c.AdminErrorLog != filepath.Join(c.Prefix, "logs", "admin.log") {
		t.Errorf("admin_error_log = %q", c.AdminErrorLog)
	}
	found := false
	for _, n := range notices {
		if strings.Contains(n.Message, "admin_error_log: log options 'custom_format' after the path are ignored") {
			found = true
		}
	}
	if !found {
		t.Errorf("no notice for log options: %v", notices)
	}
	c, _ = mustLoad(t, "headers = SERVER_TOKENS, via, x-kong-request-id\ntrusted_ips = 10.0.0.0/8, ::1, unix:\n")
	if !reflect.DeepEqual(c.Headers, []string{"server_tokens", "Via", "X-Kong-Request-Id"}) {
		t.Errorf("headers = %q", c.Headers)
	}
	if !reflect.DeepEqual(c.TrustedIPs, []string{"10.0.0.0/8", "::1", "unix:"}) {
		t.Errorf("trusted_ips = %q", c.TrustedIPs)
	}
}

// TestEventHookValues covers valid values of the event-hook and untrusted
// Lua keys, from the file and the environment.
func TestEventHookValues(t *testing.T) {
	sched := func(ds ...time.Duration) []time.Duration { return ds }
	tests := []struct {
		key, value string
		get        func(*Config) any
		want       any
		print      string // Effective; "" = value as given
	}{
		{"event_hooks_workers", "1", func(c *Config) any { return c.EventHooksWorkers }, 1, ""},
		{"event_hooks_workers", "1000", func(c *Config) any { return c.EventHooksWorkers }, 1000, ""},
		{"event_hooks_connect_timeout", "500ms", func(c *Config) any { return c.EventHooksConnectTimeout }, 500 * time.Millisecond, ""},
		{"event_hooks_connect_timeout", "30", func(c *Config) any { return c.EventHooksConnectTimeout }, 30 * time.Second, "30s"},
		{"event_hooks_connect_timeout", "1ns", func(c *Config) any { return c.EventHooksConnectTimeout }, time.Nanosecond, ""},
		{"event_hooks_read_timeout", "1m30s", func(c *Config) any { return c.EventHooksReadTimeout }, 90 * time.Second, ""},
		{"event_hooks_read_timeout", "1.5s", func(c *Config) any { return c.EventHooksReadTimeout }, 1500 * time.Millisecond, ""},
		{"event_hooks_read_timeout", "120s", func(c *Config) any { return c.EventHooksReadTimeout }, 2 * time.Minute, "2m"},
		{"event_hooks_retry_schedule", "0", func(c *Config) any { return c.EventHooksRetrySchedule }, sched(0), "0s"},
		{"event_hooks_retry_schedule", "1s,1s, 60 ,1h0m0s", func(c *Config) any { return c.EventHooksRetrySchedule },
			sched(time.Second, time.Second, time.Minute, time.Hour), "1s, 1s, 1m, 1h"},
		{"event_hooks_retry_schedule", "5s, 1h30m, 25h", func(c *Config) any { return c.EventHooksRetrySchedule },
			sched(5*time.Second, 90*time.Minute, 25*time.Hour), "5s, 1h30m, 25h"},
		{"event_hooks_max_attempts", "1", func(c *Config) any { return c.EventHooksMaxAttempts }, 1, ""},
		{"event_hooks_max_attempts", "20", func(c *Config) any { return c.EventHooksMaxAttempts }, 20, ""},
		{"event_hooks_max_age", "168h", func(c *Config) any { return c.EventHooksMaxAge }, 7 * 24 * time.Hour, ""},
		{"event_hooks_max_age", "3600", func(c *Config) any { return c.EventHooksMaxAge }, time.Hour, "1h"},
		{"event_hooks_max_in_flight", "1", func(c *Config) any { return c.EventHooksMaxInFlight }, 1, ""},
		{"event_hooks_retention", "24h", func(c *Config) any { return c.EventHooksRetention }, 24 * time.Hour, ""},
		{"event_hooks_retention", "1h0m1s", func(c *Config) any { return c.EventHooksRetention }, time.Hour + time.Second, ""},
		{"untrusted_lua", "off", func(c *Config) any { return c.UntrustedLua }, "off", ""},
		{"untrusted_lua", "ON", func(c *Config) any { return c.UntrustedLua }, "on", "on"},
		{"untrusted_lua", "Sandbox", func(c *Config) any { return c.UntrustedLua }, "sandbox", "sandbox"},
		{"untrusted_lua_sandbox_requires", "resty.template, kong.tools.utils, kong.plugins.rate-limiting.handler",
			func(c *Config) any { return c.UntrustedLuaSandboxRequires },
			[]string{"resty.template", "kong.tools.utils", "kong.plugins.rate-limiting.handler"}, ""},
		{"untrusted_lua_sandbox_requires", "cjson", func(c *Config) any { return c.UntrustedLuaSandboxRequires }, []string{"cjson"}, ""},
		{"untrusted_lua_sandbox_environment", "kong.log, ngx, _G2, kong.configuration.prefix",
			func(c *Config) any { return c.UntrustedLuaSandboxEnvironment },
			[]string{"kong.log", "ngx", "_G2", "kong.configuration.prefix"}, ""},
	}
	for _, tt := range tests {
		for _, src := range []string{"file", "env"} {
			var c *Config
			if src == "file" {
				c, _ = mustLoad(t, tt.key+" = "+tt.value+"\n")
			} else {
				c, _ = mustLoad(t, "", "KONG_"+strings.ToUpper(tt.key)+"="+tt.value)
			}
			if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s %s = %q: got %v, want %v", src, tt.key, tt.value, got, tt.want)
			}
			want := tt.print
			if want == "" {
				want = tt.value
			}
			for _, kv := range c.Effective() {
				if kv.Key == tt.key && kv.Value != want {
					t.Errorf("%s %s = %q: Effective prints %q, want %q", src, tt.key, tt.value, kv.Value, want)
				}
			}
		}
	}
}

func TestDurations(t *testing.T) {
	good := []struct {
		in   string
		want time.Duration
		text string
	}{
		{"0", 0, "0s"}, {"0s", 0, "0s"}, {"1", time.Second, "1s"}, {"90", 90 * time.Second, "1m30s"},
		{"10s", 10 * time.Second, "10s"}, {"500ms", 500 * time.Millisecond, "500ms"}, {"1.5s", 1500 * time.Millisecond, "1.5s"},
		{"5m", 5 * time.Minute, "5m"}, {"5m0s", 5 * time.Minute, "5m"}, {"2h", 2 * time.Hour, "2h"},
		{"72h", 72 * time.Hour, "72h"}, {"1h30m", 90 * time.Minute, "1h30m"}, {"1h0m5s", time.Hour + 5*time.Second, "1h0m5s"},
		{"1m0.5s", 60500 * time.Millisecond, "1m0.5s"}, {"-5s", -5 * time.Second, "-5s"}, {"250us", 250 * time.Microsecond, "250µs"},
		{"9223372036", 9223372036 * time.Second, "2562047h47m16s"},
	}
	for _, tt := range good {
		d, err := ParseDuration(tt.in)
		if err != nil || d != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, d, err, tt.want)
		}
		text := FormatDuration(d)
		if text != tt.text {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, text, tt.text)
		}
		if back, err := ParseDuration(text); err != nil || back != d {
			t.Errorf("ParseDuration(FormatDuration(%v)) = %v, %v", d, back, err)
		}
	}
	for _, in := range []string{"", " 10s", "10 s", "s", "1.5", "1e3", "0x10", "+5", "10sec", "3d", "9223372037", "99999999999999999999h"} {
		if d, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, d)
		}
	}
}

func TestPaths(t *testing.T) {
	dir := t.TempDir()
	// A prefix from the environment moves the relative log paths set by the
	// file: paths resolve against the final prefix.
	c, _ := mustLoad(t, "proxy_access_log = my/access.log\nadmin_access_log = /var/log/a.log\nprefix = /ignored\n",
		"KONG_PREFIX="+dir)
	if c.Prefix != dir {
		t.Errorf("prefix = %q, want %q", c.Prefix, dir)
	}
	if want := filepath.Join(dir, "my", "access.log"); c.ProxyAccessLog != want {
		t.Errorf("proxy_access_log = %q, want %q", c.ProxyAccessLog, want)
	}
	if c.AdminAccessLog != "/var/log/a.log" {
		t.Errorf("admin_access_log = %q", c.AdminAccessLog)
	}
	if got := c.Path("x/../y"); got != filepath.Join(dir, "y") {
		t.Errorf("Path = %q", got)
	}
	if got := c.Path("/a//b"); got != "/a/b" {
		t.Errorf("Path(abs) = %q", got)
	}
	// A relative prefix is made absolute against the working directory.
	c, _ = mustLoad(t, "", "PORTICO_PREFIX=rel/dir")
	wd, _ := os.Getwd()
	if c.Prefix != filepath.Join(wd, "rel", "dir") {
		t.Errorf("prefix = %q", c.Prefix)
	}
	if c.File() != "" {
		t.Errorf("File() = %q without a file", c.File())
	}
}

func TestMasking(t *testing.T) {
	c, _ := mustLoad(t, "pg_password = hunter2\n")
	found := false
	for _, kv := range c.Effective() {
		if strings.Contains(kv.Value, "hunter2") {
			t.Errorf("Effective leaks the password in %s", kv.Key)
		}
		if kv.Key == "pg_password" {
			found = true
			if kv.Value != Masked {
				t.Errorf("pg_password printed as %q", kv.Value)
			}
		}
	}
	if !found {
		t.Error("pg_password missing from Effective")
	}
	kc := c.KongConfiguration()
	if kc["pg_password"] != Masked {
		t.Errorf("KongConfiguration pg_password = %v", kc["pg_password"])
	}
	if c.PGPassword != "hunter2" {
		t.Errorf("the field itself must keep the secret, got %q", c.PGPassword)
	}
	// An unset secret prints as empty: nothing to hide.
	c, _ = mustLoad(t, "")
	if v := c.KongConfiguration()["pg_password"]; v != "" {
		t.Errorf("unset pg_password = %v", v)
	}
	// A bad value of a secret key is not echoed in the error.
	k := &key{name: "api_token", kind: kindString, field: func(c *Config) any { return &c.PGPassword },
		check: func(string) (string, error) { return "", errBadValue }}
	_, err := k.apply(&Config{}, setting{key: k.name, value: "hunter2", at: origin{env: "KONG_API_TOKEN"}})
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "'"+Masked+"'") {
		t.Errorf("secret error: %v", err)
	}
	for _, name := range []string{"pg_password", "x_secret", "admin_token", "ssl_cert_key"} {
		if !(&key{name: name}).isSecret() {
			t.Errorf("%s is not a secret", name)
		}
	}
	for _, name := range []string{"pg_user", "keys", "log_level"} {
		if (&key{name: name}).isSecret() {
			t.Errorf("%s is a secret", name)
		}
	}
}

func TestEffectiveAndKongConfiguration(t *testing.T) {
	c, _ := mustLoad(t, "")
	eff := c.Effective()
	if len(eff) != len(keys) {
		t.Fatalf("Effective has %d keys, want %d", len(eff), len(keys))
	}
	got := map[string]string{}
	for i, kv := range eff {
		if i > 0 && eff[i-1].Key >= kv.Key {
			t.Errorf("Effective not sorted at %s", kv.Key)
		}
		if kv.Source != "default" {
			t.Errorf("%s source %q", kv.Key, kv.Source)
		}
		got[kv.Key] = kv.Value
	}
	// Printed values read back as the same configuration.
	var lines []string
	for k, v := range got {
		lines = append(lines, k+" = "+strings.ReplaceAll(v, "#", `\#`))
	}
	c2, _ := mustLoad(t, strings.Join(lines, "\n"))
	c.sources, c2.sources, c2.file = nil, nil, ""
	if !reflect.DeepEqual(c, c2) {
		t.Errorf("Effective does not round-trip:\n%+v\n%+v", c, c2)
	}
	for k, want := range map[string]string{
		"proxy_listen":         "0.0.0.0:8000 reuseport backlog=16384, 0.0.0.0:8443 ssl http2 reuseport backlog=16384",
		"status_listen":        "127.0.0.1:8007 reuseport backlog=16384",
		"mem_cache_size":       "128m",
		"client_max_body_size": "0",
		"anonymous_reports":    "off",
		"event_hooks_enabled":  "on",
		"headers":              "server_tokens, latency_tokens, X-Kong-Request-Id",
		"trusted_ips":          "",
		"pg_port":              "5432",

		"event_hooks_workers":               "16",
		"event_hooks_connect_timeout":       "10s",
		"event_hooks_read_timeout":          "10s",
		"event_hooks_retry_schedule":        "0s, 5s, 5m, 30m, 2h, 5h, 10h, 10h",
		"event_hooks_max_attempts":          "8",
		"event_hooks_max_age":               "72h",
		"event_hooks_max_in_flight":         "4",
		"event_hooks_retention":             "72h",
		"event_hooks_deny_private":          "off",
		"untrusted_lua":                     "sandbox",
		"untrusted_lua_sandbox_requires":    "",
		"untrusted_lua_sandbox_environment": "",
	} {
		if got[k] != want {
			t.Errorf("Effective %s = %q, want %q", k, got[k], want)
		}
	}

	kc := c.KongConfiguration()
	// Every key, plus router_flavor and four (listeners, ssl_enabled) pairs.
	if len(kc) != len(keys)+9 {
		t.Errorf("KongConfiguration has %d keys", len(kc))
	}
	if kc["router_flavor"] != "traditional_compatible" || kc["admin_ssl_enabled"] != true || kc["status_ssl_enabled"] != false {
		t.Errorf("derived keys: router_flavor %v, admin_ssl_enabled %v, status_ssl_enabled %v",
			kc["router_flavor"], kc["admin_ssl_enabled"], kc["status_ssl_enabled"])
	}
	admin := kc["admin_listeners"].([]map[string]any)
	if len(admin) != 2 || admin[1]["ip"] != "127.0.0.1" || admin[1]["port"] != 8444 || admin[1]["ssl"] != true ||
		admin[1]["http2"] != true || admin[1]["backlog=16384"] != true || admin[1]["proxy_protocol"] != false ||
		admin[1]["listener"] != "127.0.0.1:8444 ssl reuseport backlog=16384" || admin[0]["ssl"] != false {
		t.Errorf("admin_listeners = %v", admin)
	}
	for k, want := range map[string]any{
		"pg_port":             5432,
		"anonymous_reports":   false,
		"event_hooks_enabled": true,
		"plugins":             []string{"bundled"},
		"trusted_ips":         []string{},
		"status_listen":       []string{"127.0.0.1:8007 reuseport backlog=16384"},
		"admin_listen":        []string{"127.0.0.1:8001 reuseport backlog=16384", "127.0.0.1:8444 ssl http2 reuseport backlog=16384"},
		"mem_cache_size":      "128m",
		"database":            "badger",
		"kong_version":        "3.9.1.0",

		"event_hooks_workers":               16,
		"event_hooks_connect_timeout":       "10s",
		"event_hooks_retry_schedule":        []string{"0s", "5s", "5m", "30m", "2h", "5h", "10h", "10h"},
		"event_hooks_max_age":               "72h",
		"untrusted_lua":                     "sandbox",
		"untrusted_lua_sandbox_requires":    []string{},
		"untrusted_lua_sandbox_environment": []string{},
	} {
		if !reflect.DeepEqual(kc[k], want) {
			t.Errorf("KongConfiguration %s = %#v, want %#v", k, kc[k], want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		env  []string
		want string
	}{
		{nil, ""},
		{[]string{"KONG_DATABASE=postgres"}, "database: 'postgres' is not available in this build of Portico yet"},
		{[]string{"KONG_DATABASE=off"}, ""},
		{[]string{"KONG_DATABASE=off", "KONG_DECLARATIVE_CONFIG=kong.yml"}, ""},
		{[]string{"KONG_DATABASE=off", "KONG_DECLARATIVE_CONFIG_STRING={}"}, ""},
		{[]string{"KONG_DATABASE=off", "KONG_DECLARATIVE_CONFIG=kong.yml", "KONG_DECLARATIVE_CONFIG_STRING={}"},
			"declarative_config: declarative_config and declarative_config_string are both set; set one of them"},
		{[]string{"KONG_ADMIN_LISTEN=0.0.0.0:8000"}, "admin_listen: address 0.0.0.0:8000 is already used by proxy_listen"},
		{[]string{"KONG_PROXY_LISTEN=127.0.0.1:0, 127.0.0.1:0", "KONG_ADMIN_LISTEN=127.0.0.1:0"}, ""},
		{[]string{"KONG_STATUS_LISTEN=[::1]:9000, [::1]:9000"}, "status_listen: address [::1]:9000 is already used by status_listen"},
		{[]string{"KONG_ENFORCE_RBAC=on"}, ""},
		{[]string{"KONG_ENFORCE_RBAC=both"}, "enforce_rbac: 'both' (entity-level RBAC) is not supported by Portico yet"},
		{[]string{"KONG_ENFORCE_RBAC=entity"}, "enforce_rbac: 'entity' (entity-level RBAC) is not supported"},
		{[]string{"KONG_SSL_CIPHER_SUITE=custom"}, "ssl_cipher_suite: 'custom' is not supported by Portico"},
		{[]string{"KONG_SSL_CIPHER_SUITE=fips"}, "ssl_cipher_suite: 'fips' is not supported by Portico"},
		{[]string{"KONG_SSL_CIPHER_SUITE=modern"}, ""},
	}
	for _, tt := range tests {
		c, _ := mustLoad(t, "", tt.env...)
		err := c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%v: Validate: %v", tt.env, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%v: Validate = %v, want %q", tt.env, err, tt.want)
		}
	}
}

// TestLogLevelsMatchLogger: every log_level Load accepts must open a logger.
func TestLogLevelsMatchLogger(t *testing.T) {
	for _, lv := range keyIndex["log_level"].enum {
		l, err := logger.ParseLevel(lv)
		if err != nil {
			t.Errorf("logger.ParseLevel(%q): %v", lv, err)
		} else if l.String() != lv {
			t.Errorf("logger level %q prints as %q", lv, l.String())
		}
	}
}

func TestSizes(t *testing.T) {
	good := []struct {
		in   string
		want int64
		text string
	}{
		{"0", 0, "0"}, {"1", 1, "1"}, {"1000", 1000, "1000"}, {"1024", 1024, "1k"},
		{"8k", 8 << 10, "8k"}, {"8K", 8 << 10, "8k"}, {"10m", 10 << 20, "10m"}, {"10M", 10 << 20, "10m"},
		{"1g", 1 << 30, "1g"}, {"2G", 2 << 30, "2g"}, {"1536k", 1536 << 10, "1536k"}, {"1024m", 1 << 30, "1g"},
		{"8589934591g", 8589934591 << 30, "8589934591g"},
	}
	for _, tt := range good {
		n, err := ParseSize(tt.in)
		if err != nil || n != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, n, err, tt.want)
		}
		if got := FormatSize(n); got != tt.text {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, tt.text)
		}
	}
	for _, in := range []string{"", "k", "-1", "+1", "1.5m", "10 m", " 10m", "10mb", "10t", "0x10", "8589934592g", "99999999999999999999"} {
		if n, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, n)
		}
	}
}

// FuzzLoadFile checks that no file content or environment panics Load,
// and that errors and notices are never empty.
func FuzzLoadFile(f *testing.F) {
	f.Add([]byte(DefaultConf()), "")
	for _, s := range []string{
		"log_level = debug\n", "a\\#b = c # d", "= =", "\xef\xbb\xbf#x\r\n", "proxy_listen = [::1]:80 ssl, off",
		"pg_port = 99999999999999999999", "headers = ,,,", "prefix =", "mem_cache_size = 9223372036854775807",
		"LOG_LEVEL=INFO\nlog_level=alert\nnginx_main_x=1",
		"event_hooks_retry_schedule = 1s, 0s", "event_hooks_max_age = 9223372036", "untrusted_lua_sandbox_environment = a..b",
	} {
		f.Add([]byte(s), "")
	}
	f.Add([]byte("log_level = info"), "KONG_LOG_LEVEL=debug\nPORTICO_LOG_LEVEL=x\nKONG_=\nKONG_FOO\nPORTICO_PROXY_LISTEN=off")
	f.Fuzz(func(t *testing.T, data []byte, env string) {
		c, notices, err := load("fuzz.conf", data, strings.Split(env, "\n"))
		for _, n := range notices {
			if n.Message == "" || (n.Level != "warn" && n.Level != "notice") {
				t.Fatalf("bad notice %+v", n)
			}
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		_ = c.Effective()
		_ = c.KongConfiguration()
		_ = c.Validate()
	})
}

// TestKongVersionShapes: kong_version chooses the edition clients see and the
// server tokens, as Kong Enterprise and Kong OSS print them.
func TestKongVersionShapes(t *testing.T) {
	for _, c := range []struct {
		version, edition, tokens string
	}{
		{"3.9.1.0", "enterprise", "kong/3.9.1.0-enterprise-edition"},
		{"3.9.1", "community", "kong/3.9.1"},
		{"3.9.1.0-enterprise-edition", "enterprise", "kong/3.9.1.0-enterprise-edition"},
		{"3.9.1-rc.1", "community", "kong/3.9.1-rc.1"},
		{"3.9.1.2-rc.1", "enterprise", "kong/3.9.1.2-rc.1-enterprise-edition"},
	} {
		cfg := &Config{KongVersion: c.version}
		if got := cfg.KongEdition(); got != c.edition {
			t.Errorf("%s: edition %q, want %q", c.version, got, c.edition)
		}
		if got := cfg.KongServerTokens(); got != c.tokens {
			t.Errorf("%s: server tokens %q, want %q", c.version, got, c.tokens)
		}
	}
}

func TestSessionConf(t *testing.T) {
	sc, notes, err := ParseSessionConf(`{"secret":"x","cookie_secure":false,"cookie_lifetime":60,"cookie_samesite":"lax","storage":"kong","remember":true}`)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Secret != "x" || sc.CookieSecure || sc.RollingTimeout != 60*time.Second || sc.CookieSameSite != "Lax" ||
		sc.CookieName != "session" || sc.IdlingTimeout != 900*time.Second || sc.AbsoluteTimeout != 86400*time.Second {
		t.Errorf("parsed %+v", sc)
	}
	if len(notes) != 1 || !strings.HasPrefix(notes[0], "remember is ignored") {
		t.Errorf("notes %q", notes)
	}
	if sc, _, _ := ParseSessionConf(""); !sc.CookieSecure || sc.CookieSameSite != "Strict" {
		t.Errorf("defaults %+v", sc)
	}
}
