package conf

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

//go:embed defaults.conf
var defaultsConf []byte

// DefaultConf returns the built-in defaults file, for `portico config` to
// print as a starting point.
func DefaultConf() string { return string(defaultsConf) }

// NonConfigEnv lists environment variables that carry a KONG_ or PORTICO_
// prefix but are not configuration keys, so Load must not warn about them.
// KONG_PASSWORD is the bootstrap admin password of Kong's migrations;
// KONG_VERSION is set by Kong's container images. The command package may
// add its own names (for instance the variable naming the configuration
// file) before calling Load.
var NonConfigEnv = map[string]bool{
	"KONG_PASSWORD": true,
	"KONG_VERSION":  true,
}

// Load builds the effective configuration from the built-in defaults, the
// file at path ("" for none), and the KONG_* then PORTICO_* variables of
// environ (in os.Environ form). It returns every value it could not accept,
// joined in one error, and notices for what it accepted but will not use.
//
// Relative paths are resolved at the end, against the final prefix, so a
// prefix set by the environment moves log files set by the file. Load does
// not check that this build can run the configuration: call Validate.
func Load(path string, environ []string) (*Config, []Notice, error) {
	var data []byte
	name := ""
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, nil, fmt.Errorf("conf: reading configuration file: %w", err)
		}
		name = path
	}
	c, notices, err := load(name, data, environ)
	if err != nil {
		return nil, notices, err
	}
	if path != "" {
		if abs, err := filepath.Abs(path); err == nil {
			c.file = abs
		} else {
			c.file = path
		}
	}
	return c, notices, nil
}

// origin says where a value was set, for messages.
type origin struct {
	file string
	line int
	env  string // the environment variable's name
}

func (o origin) String() string { // short form, for KV.Source
	switch {
	case o.env != "":
		return "env " + o.env
	case o.file == "":
		return "default"
	default:
		return o.file + ":" + strconv.Itoa(o.line)
	}
}

func (o origin) where() string { // phrase, for notices and errors
	if o.env != "" {
		return "from environment variable " + o.env
	}
	if o.file == "" {
		return "in the built-in defaults"
	}
	return "in " + o.String()
}

// setting is one key = value read from a layer.
type setting struct {
	key   string
	value string
	at    origin
}

// load is Load on file content already read; name is the file's name for
// messages ("" when there is no file).
func load(name string, data []byte, environ []string) (*Config, []Notice, error) {
	c := &Config{sources: make(map[string]string, len(keys))}

	// Layer 1: the defaults. An error here is a bug in defaults.conf, which
	// the tests catch.
	defs, errs := parseFile("", defaultsConf)
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("conf: built-in defaults: %w", errors.Join(errs...))
	}
	for _, s := range defs {
		k := keyIndex[s.key]
		if k == nil {
			return nil, nil, fmt.Errorf("conf: built-in defaults: unknown key %q", s.key)
		}
		if _, err := k.set(c, s.value); err != nil {
			return nil, nil, fmt.Errorf("conf: built-in defaults: %w", err)
		}
	}

	var notices []Notice
	warn := func(format string, args ...any) {
		notices = append(notices, Notice{Level: "warn", Message: fmt.Sprintf(format, args...)})
	}

	// Layers 2–4, in increasing precedence.
	var layered []setting
	if name != "" {
		file, errs := parseFile(name, data)
		if len(errs) > 0 {
			return nil, nil, errors.Join(errs...)
		}
		last := map[string]origin{}
		for _, s := range file {
			if prev, dup := last[s.key]; dup {
				warn("configuration key '%s' is set twice: %s is overridden by %s", s.key, prev, s.at)
			}
			last[s.key] = s.at
		}
		layered = append(layered, file...)
	}
	kong, portico := readEnv(environ)
	layered = append(layered, kong...)
	layered = append(layered, portico...)

	for _, s := range layered {
		if keyIndex[s.key] == nil {
			if isKongKey(s.key) {
				warn("unsupported Kong configuration key '%s' %s is ignored", s.key, s.at.where())
			} else {
				warn("unknown configuration key '%s' %s", s.key, s.at.where())
			}
		}
	}

	// Apply the winning value of each key only, so that a bad value which is
	// overridden by a later layer does not fail the load.
	final := map[string]setting{}
	for _, s := range layered {
		if keyIndex[s.key] != nil {
			final[s.key] = s
		}
	}
	var bad []error
	for _, s := range layered { // in the order the operator wrote them
		k := keyIndex[s.key]
		if k == nil || final[s.key].at != s.at {
			continue
		}
		note, err := k.apply(c, s)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		c.sources[k.name] = s.at.String()
		if note != "" {
			notices = append(notices, Notice{Level: "notice", Message: note + " (set " + s.at.where() + ")"})
		}
		if k.ignored != "" {
			notices = append(notices, Notice{Level: "notice", Message: k.ignored + " (set " + s.at.where() + ")"})
		}
	}
	if len(bad) > 0 {
		return nil, notices, errors.Join(bad...)
	}

	// Resolve paths against the final prefix.
	abs, err := filepath.Abs(c.Prefix)
	if err != nil {
		return nil, notices, fmt.Errorf("prefix: cannot make '%s' absolute: %w", c.Prefix, err)
	}
	c.Prefix = abs
	for i := range keys {
		if keys[i].kind == kindPath {
			p := keys[i].field(c).(*string)
			if *p != "off" {
				*p = c.Path(*p)
			}
		}
	}
	return c, notices, nil
}

// apply sets one value read from a layer. Its error says where the value
// was set, and never repeats a secret's value.
func (k *key) apply(c *Config, s setting) (note string, err error) {
	note, err = k.set(c, s.value)
	var ve *ValueError
	if errors.As(err, &ve) {
		if k.isSecret() {
			ve.Value = Masked
		}
		ve.Source = "set " + s.at.where()
	}
	return note, err
}

// readEnv returns the KONG_ and PORTICO_ settings of environ. A variable
// listed twice counts once, with its last value, as os/exec treats a
// child's environment: appending to os.Environ() overrides. Unknown names
// are reported by the caller; names in NonConfigEnv are skipped.
func readEnv(environ []string) (kong, portico []setting) {
	seen := map[string]int{} // env name → index in its slice
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || NonConfigEnv[name] {
			continue
		}
		var rest string
		var dst *[]setting
		switch {
		case strings.HasPrefix(name, "PORTICO_"):
			rest, dst = name[len("PORTICO_"):], &portico
		case strings.HasPrefix(name, "KONG_"):
			rest, dst = name[len("KONG_"):], &kong
		default:
			continue
		}
		if rest == "" {
			continue
		}
		// Environment values are taken as they are, apart from surrounding
		// blanks: as in Kong, '#' is not a comment there.
		s := setting{key: strings.ToLower(rest), value: strings.TrimSpace(val), at: origin{env: name}}
		if i, dup := seen[name]; dup {
			(*dst)[i] = s
			continue
		}
		seen[name] = len(*dst)
		*dst = append(*dst, s)
	}
	return kong, portico
}

// parseFile reads kong.conf syntax: one "key = value" a line; blank lines
// and lines starting with '#' are skipped; '#' starts a comment anywhere
// unless written "\#", which stands for a literal '#' (a password, a color);
// blanks around keys and values are dropped; keys are case-insensitive.
// Quotes are not special, as in Kong: they stay part of the value. name is
// used in messages; "" marks the built-in defaults.
func parseFile(name string, data []byte) ([]setting, []error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a BOM from some editors
	var out []setting
	var errs []error
	where := name
	if where == "" {
		where = "defaults.conf"
	}
	lineNo := 0
	for len(data) > 0 {
		lineNo++
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		text := strings.TrimSpace(stripComment(string(bytes.TrimSuffix(line, []byte("\r")))))
		if text == "" {
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("%s:%d: expected 'key = value', got '%s'", where, lineNo, text))
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if !validKeyName(k) {
			errs = append(errs, fmt.Errorf("%s:%d: invalid key '%s' (keys are letters, digits and '_')", where, lineNo, k))
			continue
		}
		out = append(out, setting{key: k, value: strings.TrimSpace(v), at: origin{file: name, line: lineNo}})
	}
	return out, errs
}

// stripComment cuts line at the first unescaped '#' and turns "\#" into '#'.
// Other backslashes are kept: Windows paths and regular expressions pass.
func stripComment(line string) string {
	if strings.IndexByte(line, '#') < 0 {
		return line
	}
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '#':
			b.WriteByte('#')
			i++
		case line[i] == '#':
			return b.String()
		default:
			b.WriteByte(line[i])
		}
	}
	return b.String()
}

func validKeyName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ParseSize reads an nginx size: a number of bytes, or a number followed by
// k, m or g (either case) for KiB, MiB, GiB. No fractions, no spaces, no
// "kb": nginx accepts none of them, and Kong passes these values to nginx.
func ParseSize(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty size")
	}
	mult := int64(1)
	num := s
	switch s[len(s)-1] {
	case 'k', 'K':
		mult, num = 1<<10, s[:len(s)-1]
	case 'm', 'M':
		mult, num = 1<<20, s[:len(s)-1]
	case 'g', 'G':
		mult, num = 1<<30, s[:len(s)-1]
	}
	if !allDigits(num) {
		return 0, fmt.Errorf("invalid size '%s'", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size '%s' is too large", s)
	}
	return n * mult, nil
}

// FormatSize writes n with the largest unit that divides it exactly, so that
// ParseSize(FormatSize(n)) == n and defaults print as they are written.
func FormatSize(n int64) string {
	switch {
	case n == 0:
		return "0"
	case n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "g"
	case n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "m"
	case n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "k"
	}
	return strconv.FormatInt(n, 10)
}

// ParseDuration reads a duration in Go's syntax (time.ParseDuration: "10s",
// "1m30s", "500ms", "72h") or a whole number of seconds ("30"), as many of
// Kong's timeouts are written. Negative values parse; keys refuse them.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration")
	}
	if allDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > math.MaxInt64/int64(time.Second) {
			return 0, fmt.Errorf("duration '%s' is too large", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration '%s'", s)
	}
	return d, nil
}

// FormatDuration writes d as time.Duration.String does, without its zero
// trailing units ("5m", "2h", "1h30m" rather than "5m0s", "2h0m0s",
// "1h30m0s"), so that defaults print as they are written and
// ParseDuration(FormatDuration(d)) == d.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func formatDurations(ds []time.Duration) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = FormatDuration(d)
	}
	return out
}

// parseBool reads Kong's booleans: on/off, and true/false. Unlike Kong,
// which reads anything else as false, other words are refused, so that
// "yes" does not quietly mean off.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "on", "true":
		return true, true
	case "off", "false":
		return false, true
	}
	return false, false
}

// splitList reads a comma-separated list; blanks around items and empty
// items are dropped.
func splitList(s string) []string {
	var out []string
	for _, it := range strings.Split(s, ",") {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// pathForm is the accepted form quoted in path errors.
const pathForm = "a file path (relative to the prefix or absolute), /dev/stdout, /dev/stderr or off"

// checkPath validates a log path. Anything after the path (nginx's format
// name or buffer options, which Kong passes to nginx) is dropped with a note,
// because Portico always writes Kong's default format.
func checkPath(raw string) (v, note string, err error) {
	if raw == "" {
		return "", "", errors.New("empty path")
	}
	if strings.EqualFold(raw, "off") {
		return "off", "", nil
	}
	if strings.HasPrefix(raw, "syslog:") {
		return "", "", errors.New("syslog targets are not supported")
	}
	fields := strings.Fields(raw)
	if len(fields) > 1 {
		note = fmt.Sprintf("log options '%s' after the path are ignored: Portico writes Kong's default format",
			strings.Join(fields[1:], " "))
	}
	return fields[0], note, nil
}

// nonEmpty refuses an empty value.
func nonEmpty(s string) (string, error) {
	if s == "" {
		return "", errBadValue
	}
	return s, nil
}

// pluginName accepts one plugin name. Names never hold blanks, so a blank
// almost always means a missing comma.
func pluginName(s string) (string, error) {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return "", errors.New("plugin names contain no blanks (missing comma?)")
		}
	}
	return s, nil
}

// headerTokens are the values Kong accepts in headers, in canonical case.
// The *_Latency tokens after X-Kong-Request-Id arrived in Kong 3.11; they are
// accepted so that newer files load.
var headerTokens = []string{
	"server_tokens", "latency_tokens", "advanced_latency_tokens",
	"Server", "Via",
	"X-Kong-Proxy-Latency", "X-Kong-Response-Latency", "X-Kong-Admin-Latency",
	"X-Kong-Upstream-Latency", "X-Kong-Upstream-Status", "X-Kong-Request-Id",
	"X-Kong-Total-Latency", "X-Kong-Third-Party-Latency", "X-Kong-Client-Latency",
}

// headerToken canonicalizes one headers item (Kong compares them without
// case).
func headerToken(s string) (string, error) {
	if strings.EqualFold(s, "off") {
		return "off", nil
	}
	for _, t := range headerTokens {
		if strings.EqualFold(s, t) {
			return t, nil
		}
	}
	return "", errBadValue
}

// readableFile accepts the path of a file that can be read now, so that a
// typo in a certificate path stops the start rather than the first TLS
// handshake.
func readableFile(s string) (string, error) {
	f, err := os.Open(s)
	if err != nil {
		return "", errBadValue
	}
	f.Close()
	return s, nil
}

// sslProtocols checks ssl_protocols: TLS versions, separated by spaces.
func sslProtocols(s string) (string, error) {
	if _, _, err := ParseSSLProtocols(s); err != nil {
		return "", errBadValue
	}
	return strings.Join(strings.Fields(s), " "), nil
}

// ParseSSLProtocols reads ssl_protocols into the lowest and highest TLS
// versions (crypto/tls constants). The versions must be contiguous: Go
// cannot leave a gap between two accepted versions.
func ParseSSLProtocols(s string) (lo, hi uint16, err error) {
	versions := map[string]uint16{"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
	seen := map[uint16]bool{}
	for _, f := range strings.Fields(s) {
		v, ok := versions[f]
		if !ok {
			return 0, 0, errBadValue
		}
		seen[v] = true
		if lo == 0 || v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	if lo == 0 {
		return 0, 0, errBadValue
	}
	for v := lo; v <= hi; v++ {
		if !seen[v] {
			return 0, 0, errBadValue
		}
	}
	return lo, hi, nil
}

// upstreamHeaderToken canonicalizes one headers_upstream item.
func upstreamHeaderToken(s string) (string, error) {
	switch {
	case strings.EqualFold(s, "off"):
		return "off", nil
	case strings.EqualFold(s, "X-Kong-Request-Id"):
		return "X-Kong-Request-Id", nil
	}
	return "", errBadValue
}

// headerBuffers checks large_client_header_buffers: "number size".
func headerBuffers(s string) (string, error) {
	if _, _, err := ParseHeaderBuffers(s); err != nil {
		return "", errBadValue
	}
	return strings.Join(strings.Fields(s), " "), nil
}

// ParseHeaderBuffers reads large_client_header_buffers into the number of
// buffers and the size of each.
func ParseHeaderBuffers(s string) (number int, size int64, err error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, errBadValue
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 1 || n > 1024 {
		return 0, 0, errBadValue
	}
	sz, err := ParseSize(f[1])
	if err != nil || sz < 1 || sz > 1<<20 {
		return 0, 0, errBadValue
	}
	return n, sz, nil
}

// trustedIP accepts an IP address, a CIDR range or "unix:" (requests over a
// unix socket).
func trustedIP(s string) (string, error) {
	if s == "unix:" {
		return s, nil
	}
	if strings.Contains(s, "/") {
		if _, err := netip.ParsePrefix(s); err != nil {
			return "", errBadValue
		}
		return s, nil
	}
	if _, err := netip.ParseAddr(s); err != nil {
		return "", errBadValue
	}
	return s, nil
}

// headerName accepts an HTTP header name (RFC 9110 token) or
// proxy_protocol.
func headerName(s string) (string, error) {
	if s == "" {
		return "", errBadValue
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return "", errBadValue
		}
	}
	return s, nil
}

// luaModule accepts a Lua module name as require takes it: dot-separated
// names of letters, digits, '_' and '-' ("resty.template",
// "kong.plugins.rate-limiting.handler"). Kong does not check these; a name
// outside this form could never be found by require.
func luaModule(s string) (string, error) {
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return "", errBadValue
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return "", errBadValue
			}
		}
	}
	return s, nil
}

// luaGlobal accepts a Lua global variable name, or a dotted path into one
// ("kong.log"): each part a Lua identifier.
func luaGlobal(s string) (string, error) {
	for _, part := range strings.Split(s, ".") {
		if part == "" || part[0] >= '0' && part[0] <= '9' {
			return "", errBadValue
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				return "", errBadValue
			}
		}
	}
	return s, nil
}

// version accepts major.minor.patch with optional further numbers and an
// optional suffix ("3.9.1", "3.9.1.0-enterprise-edition"): clients such as
// decK parse it as a semantic version.
func version(s string) (string, error) {
	num := s
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		num = s[:i]
		if i == len(s)-1 {
			return "", errBadValue
		}
	}
	parts := strings.Split(num, ".")
	if len(parts) < 3 {
		return "", errBadValue
	}
	for _, p := range parts {
		if !allDigits(p) {
			return "", errBadValue
		}
	}
	return s, nil
}
