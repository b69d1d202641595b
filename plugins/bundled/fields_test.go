package bundled

import "testing"

func TestTypedefValidators(t *testing.T) {
	tests := []struct {
		name     string
		validate func(any) error
		value    string
		want     string // "" when valid
	}{
		{"host name", validateHost, "example.com", ""},
		{"host fqdn", validateHost, "example.com.", ""},
		{"host underscore", validateHost, "my_host.internal", ""},
		{"host ipv4", validateHost, "10.0.0.1", ""},
		{"host ipv6", validateHost, "::1", ""},
		{"host bracketed ipv6", validateHost, "[::1]", ""},
		{"host with port", validateHost, "example.com:80", "must not have a port"},
		{"host with huge port", validateHost, "example.com:99999", "must not have a port"},
		{"ipv4 with port", validateHost, "10.0.0.1:80", "must not have a port"},
		{"ipv6 with port", validateHost, "[::1]:80", "must not have a port"},
		{"host with space", validateHost, "bad host", "invalid value: bad host"},
		{"host trailing dash", validateHost, "bad-.example.com", "invalid value: bad-.example.com"},
		{"host empty label", validateHost, "a..b", "invalid value: a..b"},
		{"bad ipv4", validateHost, "10.0.0.256", "invalid value: 10.0.0.256"},
		{"bad ipv6", validateHost, "::zz", "invalid value: ::zz"},

		{"sni name", validateSNI, "example.com", ""},
		{"sni ip", validateSNI, "10.0.0.1", "must not be an IP"},
		{"sni port", validateSNI, "example.com:443", "must not have a port"},
		{"sni invalid", validateSNI, "a b", "invalid value: a b"},

		{"path", validatePath, "/a/b~c/%2F", ""},
		{"path bad char", validatePath, "/a b", "invalid path: '/a b' (characters outside of the reserved list of RFC 3986 found)"},
		{"path bad escape", validatePath, "/a%zz", "invalid url-encoded value: '%zz'"},
		{"path short escape", validatePath, "/a%2", "invalid url-encoded value: '%2'"},

		{"url", validateURL, "https://example.com:8443/x?y=1", ""},
		{"url without host", validateURL, "example.com/x", "missing host in url"},
		{"url without scheme", validateURL, "//example.com/x", "missing scheme in url"},

		{"ip", validateIPOrCIDR, "192.168.0.1", ""},
		{"cidr", validateIPOrCIDR, "192.168.0.0/16", ""},
		{"ipv6 cidr", validateIPOrCIDR, "2001:db8::/32", ""},
		{"bad cidr", validateIPOrCIDR, "192.168.0.0/33", "invalid ip or cidr range: '192.168.0.0/33'"},

		{"header name", validateHeaderName, "X-Api_Key", ""},
		{"bad header name", validateHeaderName, "X:Key", "bad header name 'X:Key', allowed characters are A-Z, a-z, 0-9, '_', and '-'"},

		{"origin asterisk", validateRegexOrAsterisk, "*", ""},
		{"origin regex", validateRegexOrAsterisk, `https://.*\.example\.com`, ""},
		{"origin bad regex", validateRegexOrAsterisk, "[", "'[' is not a valid regex"},

		{"pair", checkForValue, "x-foo:bar", ""},
		{"pair double colon", checkForValue, "x-foo::bar", ""},
		{"pair without value", checkForValue, "x-foo:", "key 'x-foo' has no value"},
		{"header value pair", headerPair(validHeaderValue), "x-foo:bar baz", ""},
		{"header value with newline", headerPair(validHeaderValue), "x-foo:bar\nbaz", "'bar\nbaz' is not a valid header"},
		{"rename pair", headerPair(validHeaderName), "x-foo:x-bar", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if err := tt.validate(tt.value); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("validate(%q) = %q; want %q", tt.value, got, tt.want)
			}
		})
	}
}
