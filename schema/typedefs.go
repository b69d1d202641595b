package schema

// Typedefs: Kong's ready-made field types (kong/db/schema/typedefs.lua),
// each a constructor returning a fresh *Field so that callers may adjust it
// (Required, Default, Unique ...) without affecting anyone else. Validators
// reproduce Kong's checks and messages; Lua patterns are ported to Go
// regular expressions or to small hand-written matchers where a regexp
// would not say the same thing.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// protocolNames is Kong's constants.PROTOCOLS (OSS 3.9), sorted.
var protocolNames = []string{"grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp"}

// httpProtocolNames are the protocols of Kong's http subsystem, sorted: the
// default of typedefs.protocols and typedefs.protocols_http.
var httpProtocolNames = []string{"grpc", "grpcs", "http", "https"}

// ProtocolNames returns Kong's protocols (constants.PROTOCOLS), sorted.
func ProtocolNames() []string { return append([]string(nil), protocolNames...) }

// HTTPProtocolNames returns the protocols served by the http subsystem.
func HTTPProtocolNames() []string { return append([]string(nil), httpProtocolNames...) }

// maxTimeout is Kong's 2^31 - 2 upper bound for timeouts.
const maxTimeout = 1<<31 - 2

// ---------------------------------------------------------------------------
// Identity and timestamps.

// UUID is typedefs.uuid: an auto-generated UUID string.
func UUID(name string) *Field {
	return &Field{Name: name, Type: String, UUID: true, Auto: true}
}

// ID is the primary key field "id".
func ID() *Field { return UUID(FieldID) }

// AutoTimestampS is typedefs.auto_timestamp_s: Unix seconds, set by Kong.
func AutoTimestampS(name string) *Field {
	return &Field{Name: name, Type: Integer, Timestamp: true, Auto: true}
}

// AutoTimestampMS is typedefs.auto_timestamp_ms: Unix time as a number with
// millisecond precision (targets).
func AutoTimestampMS(name string) *Field {
	return &Field{Name: name, Type: Number, Timestamp: true, Auto: true}
}

// CreatedAt is the "created_at" field in seconds.
func CreatedAt() *Field { return AutoTimestampS(FieldCreatedAt) }

// UpdatedAt is the "updated_at" field in seconds.
func UpdatedAt() *Field { return AutoTimestampS(FieldUpdatedAt) }

// ---------------------------------------------------------------------------
// Names and tags.

// Name is typedefs.name: unique, alphanumerics and ". - _ ~" only.
func Name(name string) *Field {
	return &Field{Name: name, Type: String, Unique: true, Validator: validateName}
}

// UTF8Name is typedefs.utf8_name: unique, like Name but any non-ASCII UTF-8
// character is accepted too.
func UTF8Name(name string) *Field {
	return &Field{Name: name, Type: String, Unique: true, Validator: validateUTF8Name}
}

// Tag is typedefs.tag, the element of Tags.
func Tag(name string) *Field {
	return &Field{Name: name, Type: String, Required: true, Validator: validateTag}
}

// Tags is the "tags" field: a set of tags.
func Tags() *Field {
	return &Field{Name: "tags", Type: Set, Elements: Tag("")}
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '-' || c == '_' || c == '~'
}

func validateName(v any) error {
	s, _ := v.(string)
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return errors.New("invalid value '" + s + "': it must only contain alphanumeric and '., -, _, ~' characters")
		}
	}
	return nil
}

// utf8Error is Kong's validate_utf8_string message (1-based byte position).
func utf8Error(s string) error {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return fmt.Errorf("invalid utf-8 character sequence detected at position %d", i+1)
		}
		i += size
	}
	return nil
}

func validateUTF8Name(v any) error {
	s, _ := v.(string)
	if err := utf8Error(s); err != nil {
		return err
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isNameByte(c) && !(c >= 128 && c <= 244) {
			return errors.New("invalid value '" + s + "': the only accepted ascii characters are alphanumerics or ., -, _, and ~")
		}
	}
	return nil
}

func validateTag(v any) error {
	s, _ := v.(string)
	if err := utf8Error(s); err != nil {
		return err
	}
	// Printable ASCII (and space) except ',' and '/', plus UTF-8 bytes.
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c == ',' || c == '/' || c == 127 || c > 244 {
			return errors.New("invalid tag '" + s + "': expected printable ascii (except `,` and `/`) or valid utf-8 sequences")
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Hosts, addresses and ports.

// Host is typedefs.host: a hostname or IP address without a port.
func Host(name string) *Field {
	return &Field{Name: name, Type: String, Validator: validateHost}
}

// HostWithOptionalPort is typedefs.host_with_optional_port.
func HostWithOptionalPort(name string) *Field {
	return &Field{Name: name, Type: String, Validator: validateHostWithOptionalPort}
}

// WildcardHost is typedefs.wildcard_host: a hostname (not an IP, no port)
// with at most one leading or trailing wildcard.
func WildcardHost(name string) *Field {
	return &Field{Name: name, Type: String, Validator: validateWildcardHost}
}

// SNI is typedefs.sni: a hostname (not an IP) without a port.
func SNI(name string) *Field {
	return &Field{Name: name, Type: String, Validator: validateSNI}
}

// IP is typedefs.ip: an IPv4 or IPv6 address.
func IP(name string) *Field {
	return &Field{Name: name, Type: String, Validator: validateIP}
}

// IPOrCIDR is typedefs.ip_or_cidr.
func IPOrCIDR(name string) *Field {
	return &Field{Name: name, Type: String, Validator: validateIPOrCIDR}
}

// CIDRv4 is typedefs.cidr_v4 (like Kong, it accepts a bare IPv4 address too).
func CIDRv4(name string) *Field {
	return &Field{Name: name, Type: String, Validator: validateIPOrCIDRv4}
}

// Port is typedefs.port: an integer between 0 and 65535.
func Port(name string) *Field {
	return &Field{Name: name, Type: Integer, Between: Range(0, 65535)}
}

func validateHost(v any) error {
	s, _ := v.(string)
	res, err := NormalizeIP(s)
	if err != nil && err.Error() != errInvalidPort {
		return errors.New("invalid value: " + s)
	}
	if err != nil || res.Port >= 0 {
		return errors.New("must not have a port")
	}
	return nil
}

func validateHostWithOptionalPort(v any) error {
	s, _ := v.(string)
	_, err := NormalizeIP(s)
	return err
}

// hostNameOnly is validate_sni's logic (a name, not an IP, without port).
func hostNameOnly(host string) error {
	res, err := NormalizeIP(host)
	if err != nil && err.Error() != errInvalidPort {
		return errors.New("invalid value: " + host)
	}
	if res != nil && res.Type != "name" {
		return errors.New("must not be an IP")
	}
	if err != nil || res.Port >= 0 {
		return errors.New("must not have a port")
	}
	return nil
}

func validateSNI(v any) error {
	s, _ := v.(string)
	return hostNameOnly(s)
}

func validateWildcardHost(v any) error {
	s, _ := v.(string)
	if idx := strings.IndexByte(s, '*'); idx >= 0 {
		if idx != 0 && idx != len(s)-1 {
			return errors.New("wildcard must be leftmost or rightmost character")
		}
		if strings.Count(s, "*") > 1 {
			return errors.New("only one wildcard must be specified")
		}
		// Like Kong, the wildcard is replaced before the host is checked
		// (and the replacement shows in the "invalid value" message).
		s = strings.ReplaceAll(s, "*", "wildcard")
	}
	return hostNameOnly(s)
}

func validateIP(v any) error {
	s, _ := v.(string)
	if isValidIP(s) {
		return nil
	}
	return errors.New("not an ip address: " + s)
}

func validateIPOrCIDR(v any) error {
	s, _ := v.(string)
	if isValidIP(s) || isValidCIDR(s, 4) || isValidCIDR(s, 6) {
		return nil
	}
	return errors.New("invalid ip or cidr range: '" + s + "'")
}

func validateIPOrCIDRv4(v any) error {
	s, _ := v.(string)
	if isValidIPv4(s) || isValidCIDR(s, 4) {
		return nil
	}
	return errors.New("invalid ipv4 cidr range: '" + s + "'")
}

// isValidIPv4 and isValidIPv6 follow inet_pton (resty.ipmatcher): dotted quads
// without leading zeros; IPv6 without zone.
func isValidIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

func isValidIPv6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6() && a.Zone() == "" && strings.Contains(s, ":")
}

func isValidIP(s string) bool { return isValidIPv4(s) || isValidIPv6(s) }

// isValidCIDR is kong.tools.ip's is_valid_cidr_v4/v6: "address/prefix" with
// a canonical decimal prefix (0-32 or 0-128).
func isValidCIDR(s string, family int) bool {
	if len(s) < 3 {
		return false
	}
	p := strings.IndexByte(s[2:], '/')
	if p < 0 {
		return false
	}
	p += 2
	addr, prefix := s[:p], s[p+1:]
	n, err := strconv.Atoi(prefix)
	if err != nil || strconv.Itoa(n) != prefix || n < 0 {
		return false
	}
	if family == 4 {
		return n <= 32 && isValidIPv4(addr)
	}
	return n <= 128 && isValidIPv6(addr)
}

// ---------------------------------------------------------------------------
// Kong's address normalisation (kong/tools/ip.lua).

const errInvalidPort = "invalid port number"

// NormalizedIP is the result of NormalizeIP.
type NormalizedIP struct {
	// Type is "ipv4", "ipv6" or "name".
	Type string
	// Host is the normalised address: IPv4 without leading zeros, IPv6 fully
	// expanded in lower case without brackets, names unchanged.
	Host string
	// Port is -1 when the address has none.
	Port int
}

// HostnameType is Kong's hostname_type: "ipv6" when the string has more than
// one colon, "ipv4" when it is made of digits and dots (ignoring colons),
// "name" otherwise. It classifies; it does not validate.
func HostnameType(name string) string {
	if strings.Count(name, ":") > 1 {
		return "ipv6"
	}
	rest := strings.ReplaceAll(name, ":", "")
	if rest != "" && strings.Trim(rest, "0123456789.") == "" {
		return "ipv4"
	}
	return "name"
}

// NormalizeIP is Kong's normalize_ip: it validates and normalises an IPv4
// address, an IPv6 address or a hostname, each with an optional port
// ("1.2.3.4:80", "[::1]:80", "example.com:80"). Errors carry Kong's
// messages ("invalid port number", "invalid hostname: x", ...).
func NormalizeIP(address string) (*NormalizedIP, error) {
	var (
		host string
		port int
		msg  string
	)
	typ := HostnameType(address)
	switch typ {
	case "ipv4":
		host, port, msg = normalizeIPv4(address)
	case "ipv6":
		host, port, msg = normalizeIPv6(address)
	default:
		host, port, msg = checkHostname(address)
	}
	if msg != "" {
		return nil, errors.New(msg)
	}
	return &NormalizedIP{Type: typ, Host: host, Port: port}, nil
}

// FormatHost is Kong's format_host for a normalised address: IPv6 in
// brackets, and ":port" appended when port >= 0 (the address's own port
// wins over defaultPort).
func FormatHost(n *NormalizedIP, defaultPort int) string {
	port := n.Port
	if port < 0 {
		port = defaultPort
	}
	host := n.Host
	if n.Type == "ipv6" && !strings.Contains(host, "[") {
		host = "[" + host + "]"
	}
	if port >= 0 {
		return host + ":" + strconv.Itoa(port)
	}
	return host
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parsePort reads a run of digits as Lua's tonumber would and applies Kong's
// upper bound.
func parsePort(digits string) (int, string) {
	trimmed := strings.TrimLeft(digits, "0")
	if len(trimmed) > 5 {
		return 0, errInvalidPort
	}
	n, _ := strconv.Atoi("0" + trimmed)
	if n > 65535 {
		return 0, errInvalidPort
	}
	return n, ""
}

func normalizeIPv4(address string) (string, int, string) {
	bad := "invalid ipv4 address: " + address
	addr, portStr, hasPort := address, "", false
	if i := strings.IndexByte(address, ':'); i >= 0 {
		addr, portStr, hasPort = address[:i], address[i+1:], true
		if !isDigits(portStr) {
			return "", 0, bad
		}
	}
	parts := strings.Split(addr, ".")
	if len(parts) != 4 {
		return "", 0, bad
	}
	octets := make([]string, 4)
	for i, p := range parts {
		if !isDigits(p) || len(p) > 3 {
			return "", 0, bad
		}
		n, _ := strconv.Atoi(p)
		if n > 255 {
			return "", 0, bad
		}
		octets[i] = strconv.Itoa(n)
	}
	port := -1
	if hasPort {
		var msg string
		if port, msg = parsePort(portStr); msg != "" {
			return "", 0, msg
		}
	}
	return strings.Join(octets, "."), port, ""
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// balancedBracket returns the index of the ']' closing the '[' at s[0], as
// Lua's %b[] does, or -1.
func balancedBracket(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func normalizeIPv6(address string) (string, int, string) {
	check, port := address, -1
	if strings.HasPrefix(address, "[") {
		if end := balancedBracket(address); end > 0 {
			check = address[1:end]
			if rest := address[end+1:]; rest != "" {
				if !strings.HasPrefix(rest, ":") || !isDigits(rest[1:]) {
					return "", 0, "invalid ipv6 address"
				}
				var msg string
				if port, msg = parsePort(rest[1:]); msg != "" {
					return "", 0, msg
				}
			}
		}
	}
	if strings.HasPrefix(check, ":") {
		check = "0" + check
	}
	if strings.HasSuffix(check, ":") {
		check += "0"
	}
	if strings.Contains(check, "::") {
		ins := ":" + strings.Repeat("0:", max(0, 8-strings.Count(check, ":")))
		check = strings.Replace(check, "::", ins, 1)
	}
	groups := strings.Split(check, ":")
	bad := "invalid ipv6 address: " + address
	if len(groups) != 8 {
		return "", 0, bad
	}
	for i, g := range groups {
		if len(g) < 1 || len(g) > 4 {
			return "", 0, bad
		}
		for j := 0; j < len(g); j++ {
			if !isHexDigit(g[j]) {
				return "", 0, bad
			}
		}
		groups[i] = strings.Repeat("0", 4-len(g)) + strings.ToLower(g)
	}
	return strings.Join(groups, ":"), port, ""
}

func isHostnameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_'
}

func checkHostname(address string) (string, int, string) {
	name, port := address, -1
	if i := strings.LastIndexByte(address, ':'); i >= 0 && isDigits(address[i+1:]) {
		var msg string
		if port, msg = parsePort(address[i+1:]); msg != "" {
			return "", 0, msg
		}
		name = address[:i]
	}
	bad := "invalid hostname: " + address
	if name == "" {
		return "", 0, bad
	}
	for i := 0; i < len(name); i++ {
		if !isHostnameByte(name[i]) {
			return "", 0, bad
		}
	}
	if name == "." { // penlight's split yields a single empty, final segment
		return name, port, ""
	}
	segments := strings.Split(name, ".")
	for i, seg := range segments {
		if strings.HasSuffix(seg, "-") || seg == "" && i != len(segments)-1 {
			return "", 0, bad
		}
	}
	return name, port, ""
}

// ---------------------------------------------------------------------------
// Paths.

// Path is typedefs.path: an absolute, properly percent-encoded URI path.
func Path(name string) *Field {
	return &Field{Name: name, Type: String, StartsWith: "/",
		MatchNone: []PatternError{{Pattern: regexp.MustCompile(`//`), Err: "must not have empty segments"}},
		Validator: func(v any) error {
			s, _ := v.(string)
			if msg, _ := checkPath(s); msg != "" {
				return errors.New(msg)
			}
			return nil
		}}
}

var pathChars = regexp.MustCompile(`^/[A-Za-z0-9._~/%:@!$&'()*+,;=-]*$`)

// checkPath is Kong's validate_path; code is "rfc3986" or "percent" on error.
func checkPath(path string) (msg, code string) {
	if !pathChars.MatchString(path) {
		return "invalid path: '" + path + "' (characters outside of the reserved list of RFC 3986 found)", "rfc3986"
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '%' {
			continue
		}
		if i+2 < len(path) && isHexDigit(path[i+1]) && isHexDigit(path[i+2]) {
			i += 2
			continue
		}
		end := min(i+3, len(path))
		return "invalid url-encoded value: '" + path[i:end] + "'", "percent"
	}
	return "", ""
}

// RouterPath is typedefs.router_path: a plain prefix path ("/x", which must
// be in normalised form) or a regex path ("~/x").
func RouterPath(name string) *Field {
	return &Field{Name: name, Type: String,
		MatchAny: &PatternsError{
			Patterns: []*regexp.Regexp{regexp.MustCompile(`^/`), regexp.MustCompile(`^~/`)},
			Err:      "should start with: / (fixed path) or ~/ (regex path)",
		},
		MatchNone: []PatternError{{Pattern: regexp.MustCompile(`//`), Err: "must not have empty segments"}},
		Validator: validateRouterPath}
}

// RouterPaths is typedefs.router_paths.
func RouterPaths(name string) *Field {
	return &Field{Name: name, Type: Array, Elements: RouterPath("")}
}

func validateRouterPath(v any) error {
	path, _ := v.(string)
	if msg, code := checkPath(path); code == "percent" {
		return errors.New(msg)
	}
	if !strings.HasPrefix(path, "~") {
		if n := NormalizePath(path, true); n != path {
			return errors.New("non-normalized path, consider use '" + n + "' instead")
		}
		return nil
	}
	// Kong dry-runs the regex with PCRE; the router here uses Go's regexp
	// (RE2), so that is the syntax checked.
	re := path[1:]
	if _, err := regexp.Compile(re); err != nil {
		reason := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		return fmt.Errorf("invalid regex: '%s' (PCRE returned: %s)", re, reason)
	}
	return nil
}

const reservedURIChars = "!*'();:@&=+$,/?%#[]"

// NormalizePath is Kong's kong.tools.uri normalize: percent-decodes
// unreserved and "other" characters (reserved ones are kept, upper-cased),
// removes dot segments and, with mergeSlashes, merges "//".
func NormalizePath(uri string, mergeSlashes bool) string {
	if uri == "" || uri == "/" {
		return uri
	}
	if strings.Contains(uri, "%") {
		var b strings.Builder
		for i := 0; i < len(uri); i++ {
			if uri[i] == '%' && i+2 < len(uri) && isHexDigit(uri[i+1]) && isHexDigit(uri[i+2]) {
				n, _ := strconv.ParseUint(uri[i+1:i+3], 16, 8)
				if strings.IndexByte(reservedURIChars, byte(n)) >= 0 {
					b.WriteString(strings.ToUpper(uri[i : i+3]))
				} else {
					b.WriteByte(byte(n))
				}
				i += 2
				continue
			}
			b.WriteByte(uri[i])
		}
		uri = b.String()
	}
	if !strings.Contains(uri, ".") {
		if !mergeSlashes || !strings.Contains(uri, "//") {
			return uri
		}
	}
	var out []string
	for len(uri) > 0 {
		switch {
		case uri == "/.":
			uri = "/"
		case uri == "/..":
			uri = "/"
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case uri == "." || uri == "..":
			uri = ""
		case strings.HasPrefix(uri, "../"):
			uri = uri[3:]
		case strings.HasPrefix(uri, "./"):
			uri = uri[2:]
		case strings.HasPrefix(uri, "/./"):
			uri = uri[2:]
		case strings.HasPrefix(uri, "/../"):
			uri = uri[3:]
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case mergeSlashes && strings.HasPrefix(uri, "//"):
			uri = uri[1:]
		default:
			i := strings.IndexByte(uri[1:], '/')
			if i >= 0 {
				out = append(out, uri[:i+1])
				uri = uri[i+1:]
			} else {
				out = append(out, uri)
				uri = ""
			}
		}
	}
	return strings.Join(out, "")
}

// ---------------------------------------------------------------------------
// Protocols, methods, timeouts, headers, URLs.

// Protocol is typedefs.protocol: one of Kong's protocols.
func Protocol(name string) *Field {
	return &Field{Name: name, Type: String, OneOf: Strings(protocolNames...)}
}

// Protocols is typedefs.protocols (plugins): a required set of protocols
// defaulting to the http-subsystem ones, ["grpc","grpcs","http","https"].
// Routes declare their own protocols field (default ["http","https"]).
func Protocols(name string) *Field {
	return &Field{Name: name, Type: Set, Required: true, Default: Strings(httpProtocolNames...),
		Elements: Protocol("")}
}

// ProtocolsHTTP is typedefs.protocols_http: like Protocols, restricted to
// the http-subsystem protocols (plugins that only run in http).
func ProtocolsHTTP(name string) *Field {
	return &Field{Name: name, Type: Set, Required: true, Default: Strings(httpProtocolNames...),
		Elements: &Field{Type: String, OneOf: Strings(httpProtocolNames...)}}
}

// HTTPMethod is typedefs.http_method: upper-case letters only.
func HTTPMethod(name string) *Field {
	return &Field{Name: name, Type: String, Match: regexp.MustCompile(`^[A-Z]+$`)}
}

// Methods is typedefs.methods.
func Methods(name string) *Field {
	return &Field{Name: name, Type: Set, Elements: HTTPMethod("")}
}

// Timeout is typedefs.timeout: milliseconds between 0 and 2^31-2.
func Timeout(name string) *Field {
	return &Field{Name: name, Type: Integer, Between: Range(0, maxTimeout)}
}

// NonzeroTimeout is services.lua's nonzero_timeout: milliseconds between 1
// and 2^31-2 (services' connect/write/read timeouts).
func NonzeroTimeout(name string) *Field {
	return &Field{Name: name, Type: Integer, Between: Range(1, maxTimeout)}
}

// HeaderName is typedefs.header_name.
func HeaderName(name string) *Field {
	return &Field{Name: name, Type: String, Validator: validateHeaderName}
}

// CookieName is typedefs.cookie_name: an HTTP token (RFC 2616).
func CookieName(name string) *Field {
	return &Field{Name: name, Type: String, Validator: validateHTTPToken}
}

// Headers is typedefs.headers: header names to arrays of values.
func Headers(name string) *Field {
	return &Field{Name: name, Type: Map, Keys: HeaderName(""),
		Values: &Field{Type: Array, Elements: &Field{Type: String}}}
}

var headerNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

func validateHeaderName(v any) error {
	s, _ := v.(string)
	if s == "" {
		return errors.New("no header name provided")
	}
	if headerNamePattern.MatchString(s) {
		return nil
	}
	return errors.New("bad header name '" + s + "', allowed characters are A-Z, a-z, 0-9, '_', and '-'")
}

func validateHTTPToken(v any) error {
	s, _ := v.(string)
	if s == "" {
		return errors.New("no token provided")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || strings.IndexByte(" \t()<>@,;:\\\"/?={}[]", c) >= 0 {
			return errors.New(`contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\"/?={}[] are not allowed.`)
		}
	}
	return nil
}

// URL is typedefs.url: a URL with a scheme and a host.
func URL(name string) *Field {
	return &Field{Name: name, Type: String, Validator: validateURL}
}

func validateURL(v any) error {
	s, _ := v.(string)
	u, ok := ParseSocketURL(s)
	if !ok {
		return errors.New("could not parse url. invalid url")
	}
	if u.Host == "" {
		return errors.New("missing host in url")
	}
	if u.Scheme == "" {
		return errors.New("missing scheme in url")
	}
	return nil
}

// SocketURL is a URL split the way LuaSocket's socket.url.parse splits it
// (Kong uses it for services' url shorthand and typedefs.url). Empty strings
// mean "absent", except for Port: see HasPort.
type SocketURL struct {
	Scheme, Authority, UserInfo, User, Password string
	Host, Port, Path, Params, Query, Fragment   string
	// HasPort reports a ":" ending the authority, even with no digits.
	HasPort bool
}

var socketURLScheme = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+.-]*:`)

// ParseSocketURL parses like LuaSocket 3.1's url.parse; ok is false only for
// the empty string.
func ParseSocketURL(raw string) (SocketURL, bool) {
	var u SocketURL
	if raw == "" {
		return u, false
	}
	s := raw
	if m := socketURLScheme.FindString(s); m != "" {
		u.Scheme = m[:len(m)-1]
		s = s[len(m):]
	}
	if strings.HasPrefix(s, "//") {
		end := strings.IndexAny(s[2:], "/?#")
		if end < 0 {
			end = len(s) - 2
		}
		u.Authority = s[2 : 2+end]
		s = s[2+end:]
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		u.Fragment, s = s[i+1:], s[:i]
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		u.Query, s = s[i+1:], s[:i]
	}
	if i := strings.IndexByte(s, ';'); i >= 0 {
		u.Params, s = s[i+1:], s[:i]
	}
	u.Path = s
	authority := u.Authority
	if authority == "" {
		return u, true
	}
	if i := strings.IndexByte(authority, '@'); i >= 0 {
		u.UserInfo, authority = authority[:i], authority[i+1:]
	}
	if i := strings.LastIndexByte(authority, ':'); i >= 0 && !strings.ContainsAny(authority[i+1:], "]") {
		u.Port, u.HasPort, authority = authority[i+1:], true, authority[:i]
	}
	if authority != "" {
		if len(authority) > 2 && authority[0] == '[' && authority[len(authority)-1] == ']' {
			u.Host = authority[1 : len(authority)-1]
		} else {
			u.Host = authority
		}
	}
	if u.UserInfo != "" {
		u.User = u.UserInfo
		if i := strings.LastIndexByte(u.UserInfo, ':'); i >= 0 {
			u.User, u.Password = u.UserInfo[:i], u.UserInfo[i+1:]
		}
	}
	return u, true
}

// LuaToNumber converts a string as Lua's tonumber does (decimal or
// hexadecimal, surrounding spaces allowed); ok is false when Lua gives nil.
func LuaToNumber(s string) (float64, bool) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, false
	}
	neg := false
	body := t
	if body[0] == '-' || body[0] == '+' {
		neg, body = body[0] == '-', body[1:]
	}
	if strings.HasPrefix(body, "0x") || strings.HasPrefix(body, "0X") {
		n, err := strconv.ParseUint(body[2:], 16, 64)
		if err != nil {
			return 0, false
		}
		if neg {
			return -float64(n), true
		}
		return float64(n), true
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+') {
			return 0, false
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, false
	}
	return n, true
}

// SemanticVersion is typedefs.semantic_version: "X.Y.Z" with an optional
// "-build" suffix.
func SemanticVersion(name string) *Field {
	return &Field{Name: name, Type: String,
		MatchAny: &PatternsError{
			Patterns: []*regexp.Regexp{regexp.MustCompile(`^\d+[.\d]*$`), regexp.MustCompile(`(?s)^\d+[.\d]*-?.*$`)},
			Err:      "invalid version number: must be in format of X.Y.Z",
		},
		MatchNone: []PatternError{{Pattern: regexp.MustCompile(`\.\.`), Err: "must not have empty version segments"}}}
}

// ---------------------------------------------------------------------------
// Foreign keys plugins may forbid.

// NoRoute is typedefs.no_route: "route" must be null (plugins that cannot be
// applied to a route).
func NoRoute() *Field {
	return &Field{Name: "route", Type: Foreign, Reference: "routes", Eq: Null}
}

// NoService is typedefs.no_service.
func NoService() *Field {
	return &Field{Name: "service", Type: Foreign, Reference: "services", Eq: Null}
}

// NoConsumer is typedefs.no_consumer.
func NoConsumer() *Field {
	return &Field{Name: "consumer", Type: Foreign, Reference: "consumers", Eq: Null}
}

// ---------------------------------------------------------------------------
// Routes' matching fields (typedefs shared by routes and their subschemas).

// Hosts is typedefs.hosts: hostnames with an optional port and at most one
// wildcard, in the leftmost or rightmost label.
func Hosts(name string) *Field {
	return &Field{Name: name, Type: Array,
		Elements: &Field{Type: String,
			// Kong's match_all "^[^*]*%*?[^*]*$", as its negation.
			MatchNone: []PatternError{{Pattern: regexp.MustCompile(`\*.*\*`), Err: "invalid wildcard: must have at most one wildcard"}},
			MatchAny: &PatternsError{
				Patterns: []*regexp.Regexp{regexp.MustCompile(`^\*\.`), regexp.MustCompile(`\.\*$`), regexp.MustCompile(`^[^*]*$`)},
				Err:      "invalid wildcard: must be placed at leftmost or rightmost label",
			},
			Validator: func(v any) error {
				s, _ := v.(string)
				return validateHostWithOptionalPort(strings.ReplaceAll(s, "*", "abc"))
			},
		}}
}

func sourceOrDestination(name string) *Field {
	return &Field{Name: name, Type: Set,
		Elements: &Field{Type: Record,
			Fields: []*Field{IPOrCIDR("ip"), Port("port")},
			// Kong's record-level entity check at_least_one_of {ip, port}.
			Validator: func(v any) error {
				m, _ := v.(map[string]any)
				if NonEmpty(m["ip"]) || NonEmpty(m["port"]) {
					return nil
				}
				return fmt.Errorf(msgAtLeastOneOf, quotedList([]string{"ip", "port"}))
			},
		},
	}
}

// Sources is typedefs.sources: a set of {ip, port} records (ip an IP or a
// CIDR range), each with at least one of them.
func Sources(name string) *Field {
	return sourceOrDestination(name)
}

// Destinations is typedefs.destinations.
func Destinations(name string) *Field {
	return sourceOrDestination(name)
}

// ---------------------------------------------------------------------------
// Certificates and keys.

// CertificatePEM is typedefs.certificate: a PEM (or DER) X.509 certificate.
func CertificatePEM(name string) *Field {
	return &Field{Name: name, Type: String, Validator: validateCertificate}
}

// KeyPEM is typedefs.key: a PEM (or DER) private or public key.
func KeyPEM(name string) *Field {
	return &Field{Name: name, Type: String, Validator: validateKey}
}

// Referenceable marks f as accepting vault references ("{vault://...}") and,
// as Kong 3 does for referenceable strings, skips its custom validator for
// them. It returns f.
func Referenceable(f *Field) *Field {
	f.Referenceable = true
	if inner := f.Validator; inner != nil {
		f.Validator = func(v any) error {
			if s, ok := v.(string); ok && IsReference(s) {
				return nil
			}
			return inner(v)
		}
	}
	return f
}

// IsReference reports whether s is a vault reference, "{vault://...}".
func IsReference(s string) bool {
	return len(s) > 9 && strings.HasPrefix(s, "{vault://") && s[len(s)-1] == '}'
}

func validateCertificate(v any) error {
	s, _ := v.(string)
	if _, err := ParseCertificate(s); err != nil {
		return errors.New("invalid certificate: x509.new: " + err.Error())
	}
	return nil
}

func validateKey(v any) error {
	s, _ := v.(string)
	if _, err := ParseKey(s); err != nil {
		return errors.New("invalid key: pkey.new:load_key: " + err.Error())
	}
	return nil
}

// ParseCertificate parses the first certificate of a PEM bundle (blocks of
// other types before it are skipped, as OpenSSL does) or a DER certificate.
func ParseCertificate(s string) (*x509.Certificate, error) {
	rest := []byte(s)
	sawPEM := false
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		sawPEM = true
		switch block.Type {
		case "CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE":
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, errors.New(strings.TrimPrefix(err.Error(), "x509: "))
			}
			return cert, nil
		}
	}
	if !sawPEM {
		if cert, err := x509.ParseCertificate([]byte(s)); err == nil {
			return cert, nil
		}
	}
	return nil, errors.New("no certificate found (expected a PEM block starting with '-----BEGIN CERTIFICATE-----')")
}

// ParseKey parses a PEM (or DER) private key (PKCS#8, PKCS#1, SEC 1) or
// public key (PKIX, PKCS#1) and returns its public key.
func ParseKey(s string) (crypto.PublicKey, error) {
	rest := []byte(s)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if strings.Contains(block.Type, "ENCRYPTED") || block.Headers["Proc-Type"] != "" {
			return nil, errors.New("encrypted keys are not supported")
		}
		if pub, ok := parseKeyDER(block.Bytes); ok {
			return pub, nil
		}
		if strings.HasSuffix(block.Type, "KEY") {
			return nil, errors.New("unsupported or malformed key in PEM block '" + block.Type + "'")
		}
	}
	if pub, ok := parseKeyDER([]byte(s)); ok {
		return pub, nil
	}
	return nil, errors.New("no key found (expected a PEM private or public key)")
}

func parseKeyDER(der []byte) (crypto.PublicKey, bool) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return publicOf(k)
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k.Public(), true
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k.Public(), true
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		return k, true
	}
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, true
	}
	return nil, false
}

func publicOf(k any) (crypto.PublicKey, bool) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k.Public(), true
	case *ecdsa.PrivateKey:
		return k.Public(), true
	case ed25519.PrivateKey:
		return k.Public(), true
	case interface{ Public() crypto.PublicKey }:
		return k.Public(), true
	}
	return nil, false
}
