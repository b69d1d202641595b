package bundled

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/portico-gw/portico/schema"
)

// This file holds the few Kong typedefs (kong/db/schema/typedefs.lua) the
// bundled plugins use, with their validators and Kong's messages. They are
// private on purpose: schema/typedefs.go is being written separately and the
// two can be unified later. Every helper returns fresh *schema.Field values,
// so registries never share field definitions.

// Kong 3.9 OSS protocols (kong/constants.lua PROTOCOLS, sorted; ws and wss
// are Enterprise-only).
var (
	httpProtocols = []string{"grpc", "grpcs", "http", "https"}
	allProtocols  = []string{"grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp"}
)

// Kong's typedef validation messages.
const (
	msgHeaderName    = "bad header name '%s', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
	msgInvalidValue  = "invalid value: %s"
	msgHasPort       = "must not have a port"
	msgIsIP          = "must not be an IP"
	msgIPOrCIDR      = "invalid ip or cidr range: '%s'"
	msgPathChars     = "invalid path: '%s' (characters outside of the reserved list of RFC 3986 found)"
	msgPathPercent   = "invalid url-encoded value: '%s'"
	msgEmptySegments = "must not have empty segments"
	msgURLParse      = "could not parse url. %s"
	msgURLNoHost     = "missing host in url"
	msgURLNoScheme   = "missing scheme in url"
	msgNotRegex      = "'%s' is not a valid regex"
)

// maxTimeout is typedefs.timeout's upper bound, 2^31-2 milliseconds.
const maxTimeout = 1<<31 - 2

// protocolsHTTP is typedefs.protocols_http: HTTP-subsystem protocols only.
func protocolsHTTP() *schema.Field {
	return &schema.Field{
		Name:     "protocols",
		Type:     schema.Set,
		Required: true,
		Default:  schema.Strings(httpProtocols...),
		Elements: &schema.Field{Type: schema.String, OneOf: schema.Strings(httpProtocols...)},
	}
}

// protocolsAny is typedefs.protocols: every protocol is accepted, the HTTP
// ones are the default unless defaults are given (ip-restriction's list).
func protocolsAny(defaults ...string) *schema.Field {
	if len(defaults) == 0 {
		defaults = httpProtocols
	}
	return &schema.Field{
		Name:     "protocols",
		Type:     schema.Set,
		Required: true,
		Default:  schema.Strings(defaults...),
		Elements: &schema.Field{Type: schema.String, OneOf: schema.Strings(allProtocols...)},
	}
}

// noConsumer is typedefs.no_consumer: a plugin row of this type must not be
// scoped to a consumer ("value must be null").
func noConsumer() *schema.Field {
	return &schema.Field{Name: "consumer", Type: schema.Foreign, Reference: "consumers", Eq: schema.Null}
}

// record is a nested record. Kong makes records in entities required unless
// they say otherwise (kong/db/schema/entity.lua make_records_required), so a
// missing record is expanded to its defaults and printed in full.
func record(name string, fields ...*schema.Field) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Record, Required: true, Fields: fields}
}

// config is the plugin's config record.
func config(fields ...*schema.Field) *schema.Field { return record("config", fields...) }

// required marks f required and returns it (Kong's typedef { required = true }).
func required(f *schema.Field) *schema.Field {
	f.Required = true
	return f
}

// withDefault sets f's default and returns it (Kong's typedef { default = v }).
func withDefault(f *schema.Field, v any) *schema.Field {
	f.Default = v
	return f
}

// stringArray is an array of strings without constraints or default.
func stringArray(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Array, Elements: &schema.Field{Type: schema.String}}
}

// headerName is typedefs.header_name.
func headerName(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String, Validator: validateHeaderName}
}

// host is typedefs.host: a host name or IP address without a port.
func host(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String, Validator: validateHost}
}

// sni is typedefs.sni: a host name (not an IP) without a port.
func sni(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String, Validator: validateSNI}
}

// port is typedefs.port.
func port(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Integer, Between: schema.Range(0, 65535)}
}

// timeout is typedefs.timeout, in milliseconds.
func timeout(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Integer, Between: schema.Range(0, maxTimeout)}
}

// path is typedefs.path: an absolute URL path.
func path(name string) *schema.Field {
	return &schema.Field{
		Name:       name,
		Type:       schema.String,
		StartsWith: "/",
		MatchNone:  []schema.PatternError{{Pattern: regexp.MustCompile(`//`), Err: msgEmptySegments}},
		Validator:  validatePath,
	}
}

// urlField is typedefs.url.
func urlField(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String, Validator: validateURL}
}

// ipOrCIDR is typedefs.ip_or_cidr (used as array elements).
func ipOrCIDR() *schema.Field {
	return &schema.Field{Type: schema.String, Validator: validateIPOrCIDR}
}

// httpMethod is typedefs.http_method: upper-case letters only (Lua "^%u+$").
func httpMethod(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String, Match: regexp.MustCompile(`^[A-Z]+$`)}
}

// luaCode is typedefs.lua_code: a map of names to Lua snippets (the log
// plugins' custom_fields_by_lua). Kong checks each snippet with its sandbox
// (kong.tools.sandbox validate_safe); compiling Lua comes with the Lua plugin
// host, so any non-empty string is accepted for now.
func luaCode(name string) *schema.Field {
	return &schema.Field{
		Name:   name,
		Type:   schema.Map,
		Keys:   &schema.Field{Type: schema.String, LenMin: 1},
		Values: &schema.Field{Type: schema.String, LenMin: 1},
	}
}

var headerNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// validHeaderName is kong.tools.http validate_header_name.
func validHeaderName(s string) bool { return headerNamePattern.MatchString(s) }

// validHeaderValue stands for kong.tools.http validate_header_value: field
// content is visible characters, spaces, tabs and obs-text (RFC 9110 §5.5),
// never CR, LF or other controls.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func validateHeaderName(v any) error {
	s, _ := v.(string)
	if !validHeaderName(s) {
		return fmt.Errorf(msgHeaderName, s)
	}
	return nil
}

// Kong: kong/tools/ip.lua hostname_type, normalize_ipv4, normalize_ipv6 and
// check_hostname, which validate_host and validate_sni build on.
var (
	ipv4Pattern   = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)\.(\d+):?(\d*)$`)
	ipv4Chars     = regexp.MustCompile(`^[\d.]+$`)
	hostnameChars = regexp.MustCompile(`^[0-9A-Za-z._-]+$`)
	hostnamePort  = regexp.MustCompile(`:(\d+)$`)
	bracketedIPv6 = regexp.MustCompile(`^\[([^\]]*)\](.*)$`)
)

// hostKind's failures: a bad port is told apart from any other problem.
const (
	failPort  = "invalid port number"
	failValue = "invalid"
)

// hostKind classifies an address as Kong's normalize_ip does. It returns the
// type ("ipv4", "ipv6" or "name"), whether a port was given, and "" or the
// failure ("invalid port number" is told apart, as Kong does).
func hostKind(s string) (kind string, hasPort bool, fail string) {
	switch {
	case strings.Count(s, ":") > 1:
		addr, rest := s, ""
		if m := bracketedIPv6.FindStringSubmatch(s); m != nil {
			addr, rest = m[1], m[2]
		}
		if rest != "" {
			if !strings.HasPrefix(rest, ":") || !isDigits(rest[1:]) {
				return "ipv6", false, failValue
			}
			if n, _ := strconv.Atoi(rest[1:]); n > 65535 {
				return "ipv6", false, failPort
			}
			hasPort = true
		}
		if !strings.Contains(addr, ":") || net.ParseIP(addr) == nil {
			return "ipv6", false, failValue
		}
		return "ipv6", hasPort, ""
	case ipv4Chars.MatchString(strings.ReplaceAll(s, ":", "")):
		m := ipv4Pattern.FindStringSubmatch(s)
		if m == nil {
			return "ipv4", false, failValue
		}
		for _, octet := range m[1:5] {
			if n, err := strconv.Atoi(octet); err != nil || n > 255 {
				return "ipv4", false, failValue
			}
		}
		if m[5] != "" {
			if n, err := strconv.Atoi(m[5]); err != nil || n > 65535 {
				return "ipv4", false, failPort
			}
			hasPort = true
		}
		return "ipv4", hasPort, ""
	}
	name := s
	if m := hostnamePort.FindStringSubmatch(s); m != nil {
		name = s[:len(s)-len(m[0])]
		if n, err := strconv.Atoi(m[1]); err != nil || n > 65535 {
			return "name", false, failPort
		}
		hasPort = true
	}
	if !hostnameChars.MatchString(name) {
		return "name", false, failValue
	}
	segments := strings.Split(name, ".")
	for i, seg := range segments {
		if strings.HasSuffix(seg, "-") || seg == "" && i != len(segments)-1 {
			return "name", false, failValue
		}
	}
	return "name", hasPort, ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validateHost is typedefs.host's validate_host.
func validateHost(v any) error {
	s, _ := v.(string)
	_, hasPort, fail := hostKind(s)
	if fail != "" && fail != failPort {
		return fmt.Errorf(msgInvalidValue, s)
	}
	if fail == failPort || hasPort {
		return errors.New(msgHasPort)
	}
	return nil
}

// validateSNI is typedefs.sni's validate_sni.
func validateSNI(v any) error {
	s, _ := v.(string)
	kind, hasPort, fail := hostKind(s)
	if fail != "" && fail != failPort {
		return fmt.Errorf(msgInvalidValue, s)
	}
	if fail == "" && kind != "name" {
		return errors.New(msgIsIP)
	}
	if fail == failPort || hasPort {
		return errors.New(msgHasPort)
	}
	return nil
}

// validateIPOrCIDR is typedefs.ip_or_cidr's validator.
func validateIPOrCIDR(v any) error {
	s, _ := v.(string)
	if net.ParseIP(s) != nil {
		return nil
	}
	if _, _, err := net.ParseCIDR(s); err == nil {
		return nil
	}
	return fmt.Errorf(msgIPOrCIDR, s)
}

var (
	// RFC 3986 unreserved and reserved characters plus '%' (typedefs.lua validate_path).
	pathChars   = regexp.MustCompile(`^/[0-9A-Za-z._~/%:@!$&'()*+,;=-]*$`)
	pctEncoded  = regexp.MustCompile(`%[0-9A-Fa-f]{2}`)
	pctDangling = regexp.MustCompile(`%.?.?`)
)

// validatePath is typedefs.path's validate_path.
func validatePath(v any) error {
	s, _ := v.(string)
	if !pathChars.MatchString(s) {
		return fmt.Errorf(msgPathChars, s)
	}
	raw := pctEncoded.ReplaceAllString(s, "___")
	if strings.Contains(raw, "%") {
		return fmt.Errorf(msgPathPercent, pctDangling.FindString(raw))
	}
	return nil
}

// validateURL is typedefs.url's validate_url (Kong parses with socket.url,
// which only fails on a missing host or scheme in practice).
func validateURL(v any) error {
	s, _ := v.(string)
	u, err := url.Parse(s)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf(msgURLParse, err)
	}
	if u.Host == "" {
		return errors.New(msgURLNoHost)
	}
	if u.Scheme == "" {
		return errors.New(msgURLNoScheme)
	}
	return nil
}

// validateRegexOrAsterisk accepts "*" or a regular expression (cors origins).
// Kong compiles PCRE; Go's RE2 syntax is close for the usual origin patterns.
func validateRegexOrAsterisk(v any) error {
	s, _ := v.(string)
	if s == "*" {
		return nil
	}
	if _, err := regexp.Compile(s); err != nil {
		return fmt.Errorf(msgNotRegex, s)
	}
	return nil
}

// withValidator sets f's custom validator (Kong's custom_validator) and returns f.
func withValidator(f *schema.Field, fn func(any) error) *schema.Field {
	f.Validator = fn
	return f
}
