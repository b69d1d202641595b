package schema

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

// check validates v against f as an entity field would be and renders the
// error: a message, a nested record's Message(), or for per-element errors
// (Kong's list form) the first element's.
func check(f *Field, v any) string {
	return render(validateField(f, v))
}

func render(err any) string {
	switch msg := err.(type) {
	case nil:
		return ""
	case string:
		return msg
	case Errors:
		return msg.Message()
	case []any:
		for _, m := range msg {
			if m != nil {
				return render(m)
			}
		}
	}
	return "unexpected error value"
}

type typedefCase struct {
	name  string
	value any
	want  string // "" when valid
}

func runTypedefCases(t *testing.T, f *Field, cases []typedefCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := check(f, tc.value); got != tc.want {
				t.Errorf("%s: validate(%#v) = %q, want %q", f.Name, tc.value, got, tc.want)
			}
		})
	}
}

func TestTypedefConstructorsAreFresh(t *testing.T) {
	a, b := Port("port"), Port("port")
	if a == b {
		t.Fatal("Port returned the same *Field twice")
	}
	a.Required = true
	if b.Required {
		t.Fatal("changing one Port field changed another")
	}
	if got := Tags(); got.Name != "tags" || got.Type != Set || got.Elements == nil || !got.Elements.Required {
		t.Errorf("Tags() = %+v", got)
	}
	if id := ID(); id.Name != "id" || !id.UUID || !id.Auto || id.Type != String {
		t.Errorf("ID() = %+v", id)
	}
	for _, f := range []*Field{CreatedAt(), UpdatedAt()} {
		if f.Type != Integer || !f.Timestamp || !f.Auto {
			t.Errorf("%s = %+v", f.Name, f)
		}
	}
	if ms := AutoTimestampMS("created_at"); ms.Type != Number || !ms.Timestamp || !ms.Auto {
		t.Errorf("AutoTimestampMS = %+v", ms)
	}
	if n := UTF8Name("name"); !n.Unique {
		t.Error("UTF8Name is not unique")
	}
}

func TestName(t *testing.T) {
	runTypedefCases(t, Name("name"), []typedefCase{
		{"plain", "my-service_1.0~x", ""},
		{"space", "my service", "invalid value 'my service': it must only contain alphanumeric and '., -, _, ~' characters"},
		{"utf8", "café", "invalid value 'café': it must only contain alphanumeric and '., -, _, ~' characters"},
		{"empty", "", "length must be at least 1"},
		{"number", 12.0, "expected a string"},
	})
}

func TestUTF8Name(t *testing.T) {
	runTypedefCases(t, UTF8Name("name"), []typedefCase{
		{"ascii", "service-1", ""},
		{"utf8", "café-ñ", ""},
		{"at sign", "@gobo", "invalid value '@gobo': the only accepted ascii characters are alphanumerics or ., -, _, and ~"},
		{"slash", "a/b", "invalid value 'a/b': the only accepted ascii characters are alphanumerics or ., -, _, and ~"},
	})
}

func TestTags(t *testing.T) {
	runTypedefCases(t, Tags(), []typedefCase{
		{"plain", []any{"foo", "bar baz", "ü", "a:b!"}, ""},
		{"comma", []any{"a,b"}, "invalid tag 'a,b': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"},
		{"slash", []any{"a/b"}, "invalid tag 'a/b': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"},
		{"control", []any{"a\tb"}, "invalid tag 'a\tb': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"},
		{"not a string", []any{1.0}, "expected a string"},
		{"not a set", "foo", "expected a set"},
		{"null element", []any{nil}, "required field missing"},
	})
}

func TestHost(t *testing.T) {
	runTypedefCases(t, Host("host"), []typedefCase{
		{"name", "example.com", ""},
		{"trailing dot", "example.com.", ""},
		{"underscore", "my_host", ""},
		{"ipv4", "10.0.0.1", ""},
		{"ipv6", "::1", ""},
		{"port", "example.com:80", "must not have a port"},
		{"ipv4 port", "10.0.0.1:8080", "must not have a port"},
		{"bad port", "example.com:99999", "must not have a port"},
		{"bad ipv4", "192.0.2.1.1", "invalid value: 192.0.2.1.1"},
		{"octet", "300.1.1.1", "invalid value: 300.1.1.1"},
		{"space", "exa mple.com", "invalid value: exa mple.com"},
		{"empty label", "a..b", "invalid value: a..b"},
		{"trailing dash", "a-.b", "invalid value: a-.b"},
		{"bad ipv6", "::z", "invalid value: ::z"},
	})
}

func TestHostWithOptionalPort(t *testing.T) {
	runTypedefCases(t, HostWithOptionalPort("host_header"), []typedefCase{
		{"name", "example.com", ""},
		{"port", "example.com:8080", ""},
		{"ipv6 port", "[::1]:8080", ""},
		{"big port", "example.com:70000", "invalid port number"},
		{"bad name", "\\\\99", "invalid hostname: \\\\99"},
		{"bad ipv4", "1.2.3.300", "invalid ipv4 address: 1.2.3.300"},
		{"bad ipv6", "[::1]x", "invalid ipv6 address"},
	})
}

func TestWildcardHostAndSNI(t *testing.T) {
	t.Run("wildcard_host", func(t *testing.T) {
		runTypedefCases(t, WildcardHost("name"), []typedefCase{
			{"plain", "example.com", ""},
			{"leading", "*.example.com", ""},
			{"trailing", "example.*", ""},
			{"middle", "foo.*.com", "wildcard must be leftmost or rightmost character"},
			{"two", "*.example.*", "only one wildcard must be specified"},
			{"ip", "10.0.0.1", "must not be an IP"},
			{"port", "example.com:443", "must not have a port"},
			{"invalid", "*.exa mple.com", "invalid value: wildcard.exa mple.com"},
		})
	})
	t.Run("sni", func(t *testing.T) {
		runTypedefCases(t, SNI("https_sni"), []typedefCase{
			{"plain", "example.com", ""},
			{"ip", "::1", "must not be an IP"},
			{"port", "example.com:443", "must not have a port"},
			{"bad port", "example.com:99999", "must not have a port"},
			{"invalid", "exa mple", "invalid value: exa mple"},
		})
	})
}

func TestIPAndCIDR(t *testing.T) {
	t.Run("ip", func(t *testing.T) {
		runTypedefCases(t, IP("ip"), []typedefCase{
			{"v4", "127.0.0.1", ""},
			{"v6", "2001:db8::1", ""},
			{"leading zero", "01.2.3.4", "not an ip address: 01.2.3.4"},
			{"zone", "fe80::1%eth0", "not an ip address: fe80::1%eth0"},
			{"name", "localhost", "not an ip address: localhost"},
		})
	})
	t.Run("ip_or_cidr", func(t *testing.T) {
		runTypedefCases(t, IPOrCIDR("ip"), []typedefCase{
			{"v4", "10.0.0.1", ""},
			{"v4 cidr", "10.0.0.0/8", ""},
			{"v4 host bits", "10.1.2.3/8", ""},
			{"v6 cidr", "2001:db8::/32", ""},
			{"prefix too long", "10.0.0.0/33", "invalid ip or cidr range: '10.0.0.0/33'"},
			{"prefix leading zero", "10.0.0.0/08", "invalid ip or cidr range: '10.0.0.0/08'"},
			{"garbage", "foo", "invalid ip or cidr range: 'foo'"},
		})
	})
	t.Run("cidr_v4", func(t *testing.T) {
		runTypedefCases(t, CIDRv4("cidr"), []typedefCase{
			{"ip", "10.0.0.1", ""},
			{"cidr", "10.0.0.0/24", ""},
			{"v6", "::1/128", "invalid ipv4 cidr range: '::1/128'"},
		})
	})
}

func TestPort(t *testing.T) {
	runTypedefCases(t, Port("port"), []typedefCase{
		{"zero", 0.0, ""},
		{"max", 65535.0, ""},
		{"too big", 65536.0, "value should be between 0 and 65535"},
		{"negative", -1.0, "value should be between 0 and 65535"},
		{"fraction", 80.5, "expected an integer"},
		{"string", "80", "expected an integer"},
	})
}

func TestPath(t *testing.T) {
	runTypedefCases(t, Path("path"), []typedefCase{
		{"root", "/", ""},
		{"segments", "/foo/bar-baz_1.2~", ""},
		{"sub-delims", "/a:b@c!$&'()*+,;=", ""},
		{"percent", "/foo%20bar", ""},
		{"relative", "foo", "should start with: /"},
		{"empty segment", "/foo//bar", "must not have empty segments"},
		{"space", "/foo bar", "invalid path: '/foo bar' (characters outside of the reserved list of RFC 3986 found)"},
		{"bad percent", "/foo%zzbar", "invalid url-encoded value: '%zz'"},
		{"short percent", "/foo%2", "invalid url-encoded value: '%2'"},
	})
}

func TestRouterPath(t *testing.T) {
	runTypedefCases(t, RouterPath("path"), []typedefCase{
		{"prefix", "/foo", ""},
		{"trailing slash", "/foo/", ""},
		{"regex", `~/users/(?<id>\d+)$`, ""},
		{"start", "foo", "should start with: / (fixed path) or ~/ (regex path)"},
		{"empty segment", "/foo//bar", "must not have empty segments"},
		{"dot segment", "/foo/../bar", "non-normalized path, consider use '/bar' instead"},
		{"encoded unreserved", "/%7Efoo", "non-normalized path, consider use '/~foo' instead"},
		{"encoded reserved kept", "/a%2Fb", ""},
		{"lower-case reserved", "/a%2fb", "non-normalized path, consider use '/a%2Fb' instead"},
		{"bad percent", "/foo%zz", "invalid url-encoded value: '%zz'"},
		{"bad regex", "~/foo(", "invalid regex: '/foo(' (PCRE returned: missing closing ): `/foo(`)"},
	})
}

func TestNormalizePath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"/", "/"},
		{"/a/./b", "/a/b"},
		{"/a/b/../c", "/a/c"},
		{"/a/..", "/"},
		{"/../a", "/a"},
		{"/a//b", "/a/b"},
		{"/%41%2f", "/A%2F"},
		{"/a/b/", "/a/b/"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := NormalizePath(tc.in, true); got != tc.want {
				t.Errorf("NormalizePath(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestHeaderNameAndCookieName(t *testing.T) {
	t.Run("header_name", func(t *testing.T) {
		runTypedefCases(t, HeaderName("header"), []typedefCase{
			{"ok", "X-Foo_Bar9", ""},
			{"space", "X Foo", "bad header name 'X Foo', allowed characters are A-Z, a-z, 0-9, '_', and '-'"},
			{"colon", "X:Foo", "bad header name 'X:Foo', allowed characters are A-Z, a-z, 0-9, '_', and '-'"},
		})
	})
	t.Run("cookie_name", func(t *testing.T) {
		runTypedefCases(t, CookieName("cookie"), []typedefCase{
			{"ok", "session-id_1", ""},
			{"equals", "a=b", `contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\"/?={}[] are not allowed.`},
		})
	})
}

func TestProtocolTypedefs(t *testing.T) {
	t.Run("protocol", func(t *testing.T) {
		runTypedefCases(t, Protocol("protocol"), []typedefCase{
			{"http", "http", ""},
			{"tls_passthrough", "tls_passthrough", ""},
			{"bad", "ftp", "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"},
		})
	})
	t.Run("protocols", func(t *testing.T) {
		f := Protocols("protocols")
		if !f.Required || !Equal(f.Default, Strings("grpc", "grpcs", "http", "https")) {
			t.Errorf("Protocols: required=%v default=%v", f.Required, f.Default)
		}
		runTypedefCases(t, f, []typedefCase{
			{"stream", []any{"tcp"}, ""},
			{"bad", []any{"http", "ws"}, "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"},
			{"null", nil, "required field missing"},
		})
	})
	t.Run("protocols_http", func(t *testing.T) {
		runTypedefCases(t, ProtocolsHTTP("protocols"), []typedefCase{
			{"https", []any{"https"}, ""},
			{"tcp", []any{"tcp"}, "expected one of: grpc, grpcs, http, https"},
		})
	})
	t.Run("methods", func(t *testing.T) {
		runTypedefCases(t, Methods("methods"), []typedefCase{
			{"ok", []any{"GET", "PURGE"}, ""},
			{"lower", []any{"get"}, "invalid value: get"},
		})
	})
}

func TestTimeouts(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		runTypedefCases(t, Timeout("timeout"), []typedefCase{
			{"zero", 0.0, ""},
			{"max", float64(1<<31 - 2), ""},
			{"over", float64(1<<31 - 1), "value should be between 0 and 2147483646"},
		})
	})
	t.Run("nonzero_timeout", func(t *testing.T) {
		runTypedefCases(t, NonzeroTimeout("connect_timeout"), []typedefCase{
			{"one", 1.0, ""},
			{"zero", 0.0, "value should be between 1 and 2147483646"},
		})
	})
}

func TestURLTypedef(t *testing.T) {
	runTypedefCases(t, URL("url"), []typedefCase{
		{"ok", "http://example.com/x", ""},
		{"no host", "invalid::#//url", "missing host in url"},
		{"no scheme", "//example.com/x", "missing scheme in url"},
	})
}

func TestParseSocketURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want SocketURL
	}{
		{"https://user:pw@example.com:8443/a/b;p?q=1#frag", SocketURL{Scheme: "https", Authority: "user:pw@example.com:8443",
			UserInfo: "user:pw", User: "user", Password: "pw", Host: "example.com", Port: "8443", HasPort: true,
			Path: "/a/b", Params: "p", Query: "q=1", Fragment: "frag"}},
		{"http://[::1]:80", SocketURL{Scheme: "http", Authority: "[::1]:80", Host: "::1", Port: "80", HasPort: true}},
		{"http://host:", SocketURL{Scheme: "http", Authority: "host:", Host: "host", HasPort: true}},
		{"localhost:8080", SocketURL{Scheme: "localhost", Path: "8080"}},
		{"/just/a/path", SocketURL{Path: "/just/a/path"}},
		{"http://example.com?x=1", SocketURL{Scheme: "http", Authority: "example.com", Host: "example.com", Query: "x=1"}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := ParseSocketURL(tc.in)
			if !ok || got != tc.want {
				t.Errorf("ParseSocketURL(%q) = %+v, %v; want %+v", tc.in, got, ok, tc.want)
			}
		})
	}
	if _, ok := ParseSocketURL(""); ok {
		t.Error(`ParseSocketURL("") succeeded`)
	}
}

func TestLuaToNumber(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"80", 80, true}, {" 443 ", 443, true}, {"0x10", 16, true}, {"1e2", 100, true},
		{"", 0, false}, {"abc", 0, false}, {"inf", 0, false}, {"8o", 0, false},
	} {
		if got, ok := LuaToNumber(tc.in); ok != tc.ok || got != tc.want {
			t.Errorf("LuaToNumber(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSemanticVersion(t *testing.T) {
	runTypedefCases(t, SemanticVersion("version"), []typedefCase{
		{"xyz", "1.2.3", ""},
		{"build", "1.2.3-beta1", ""},
		{"major", "3", ""},
		{"letters", "v1.2", "invalid version number: must be in format of X.Y.Z"},
		{"empty segment", "1..2", "must not have empty version segments"},
	})
}

func TestHostsAndHeaders(t *testing.T) {
	t.Run("hosts", func(t *testing.T) {
		runTypedefCases(t, Hosts("hosts"), []typedefCase{
			{"plain", []any{"example.com", "example.com:8080"}, ""},
			{"wildcards", []any{"*.example.com", "example.*"}, ""},
			{"two wildcards", []any{"*.example.*"}, "invalid wildcard: must have at most one wildcard"},
			{"middle wildcard", []any{"foo.*.com"}, "invalid wildcard: must be placed at leftmost or rightmost label"},
			{"invalid", []any{`\\99`}, `invalid hostname: \\99`},
			{"invalid with wildcard", []any{"*.ex ample.com"}, "invalid hostname: abc.ex ample.com"},
		})
	})
	t.Run("headers", func(t *testing.T) {
		runTypedefCases(t, Headers("headers"), []typedefCase{
			{"ok", map[string]any{"x-version": []any{"1", "2"}}, ""},
			{"bad name", map[string]any{"x version": []any{"1"}}, "bad header name 'x version', allowed characters are A-Z, a-z, 0-9, '_', and '-'"},
			{"bad value", map[string]any{"x-version": "1"}, "expected an array"},
		})
	})
}

func TestSourcesAndDestinations(t *testing.T) {
	for _, f := range []*Field{Sources("sources"), Destinations("destinations")} {
		t.Run(f.Name, func(t *testing.T) {
			runTypedefCases(t, f, []typedefCase{
				{"ip", []any{map[string]any{"ip": "10.0.0.0/8"}}, ""},
				{"port", []any{map[string]any{"port": 8080.0}}, ""},
				{"both", []any{map[string]any{"ip": "::1", "port": 80.0}}, ""},
				{"empty record", []any{map[string]any{}}, "at least one of these fields must be non-empty: 'ip', 'port'"},
				{"bad ip", []any{map[string]any{"ip": "nope"}}, "schema violation (ip: invalid ip or cidr range: 'nope')"},
				{"bad port", []any{map[string]any{"port": 70000.0}}, "schema violation (port: value should be between 0 and 65535)"},
			})
		})
	}
}

func TestNoForeignTypedefs(t *testing.T) {
	for _, tc := range []struct {
		f    *Field
		name string
		ref  string
	}{
		{NoRoute(), "route", "routes"},
		{NoService(), "service", "services"},
		{NoConsumer(), "consumer", "consumers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.f.Name != tc.name || tc.f.Type != Foreign || tc.f.Reference != tc.ref || tc.f.Eq != Null {
				t.Fatalf("%+v", tc.f)
			}
			if got := check(tc.f, nil); got != "" {
				t.Errorf("null: %q", got)
			}
			got := check(tc.f, map[string]any{"id": "4a3d6e1c-3c5e-4b8b-9d6a-2f7e1c0b9a11"})
			if got != "value must be null" {
				t.Errorf("set: %q, want %q", got, "value must be null")
			}
		})
	}
}

func TestNormalizeIP(t *testing.T) {
	for _, tc := range []struct {
		in      string
		typ     string
		host    string
		port    int
		wantErr string
	}{
		{"example.com", "name", "example.com", -1, ""},
		{"example.com:8080", "name", "example.com", 8080, ""},
		{"001.002.003.004:123", "ipv4", "1.2.3.4", 123, ""},
		{"::1", "ipv6", "0000:0000:0000:0000:0000:0000:0000:0001", -1, ""},
		{"[2001:DB8::1]:443", "ipv6", "2001:0db8:0000:0000:0000:0000:0000:0001", 443, ""},
		{"example.com:65536", "", "", 0, "invalid port number"},
		{"1.2.3.4:99999", "", "", 0, "invalid port number"},
		{"hostname:1.0", "", "", 0, "invalid hostname: hostname:1.0"},
		{"1.2.3", "", "", 0, "invalid ipv4 address: 1.2.3"},
		{"1:2:3", "", "", 0, "invalid ipv6 address: 1:2:3"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			n, err := NormalizeIP(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("NormalizeIP(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeIP(%q): %v", tc.in, err)
			}
			if n.Type != tc.typ || n.Host != tc.host || n.Port != tc.port {
				t.Errorf("NormalizeIP(%q) = %+v", tc.in, n)
			}
		})
	}
}

func TestFormatHost(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"example.com", "example.com:8000"},
		{"example.com:80", "example.com:80"},
		{"010.0.0.1", "10.0.0.1:8000"},
		{"::1", "[0000:0000:0000:0000:0000:0000:0000:0001]:8000"},
		{"[::1]:90", "[0000:0000:0000:0000:0000:0000:0000:0001]:90"},
	} {
		n, err := NormalizeIP(tc.in)
		if err != nil {
			t.Fatalf("NormalizeIP(%q): %v", tc.in, err)
		}
		if got := FormatHost(n, 8000); got != tc.want {
			t.Errorf("FormatHost(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// testCertPEM returns a fresh self-signed ECDSA certificate and its key.
func testCertPEM(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "example.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

func TestCertificateAndKey(t *testing.T) {
	cert, key := testCertPEM(t)
	t.Run("certificate", func(t *testing.T) {
		f := CertificatePEM("cert")
		if got := check(f, cert); got != "" {
			t.Errorf("valid certificate: %q", got)
		}
		if got := check(f, "garbage\n"+cert); got != "" {
			t.Errorf("text before the PEM block: %q", got)
		}
		for _, bad := range []string{"foo", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"} {
			if got := check(f, bad); !strings.HasPrefix(got, "invalid certificate: x509.new: ") {
				t.Errorf("check(%q) = %q", bad, got)
			}
		}
	})
	t.Run("key", func(t *testing.T) {
		f := KeyPEM("key")
		if got := check(f, key); got != "" {
			t.Errorf("valid key: %q", got)
		}
		if got := check(f, "foo"); !strings.HasPrefix(got, "invalid key: pkey.new:load_key: ") {
			t.Errorf("check(foo) = %q", got)
		}
	})
	t.Run("referenceable", func(t *testing.T) {
		f := Referenceable(CertificatePEM("cert"))
		if !f.Referenceable {
			t.Error("Referenceable did not mark the field")
		}
		if got := check(f, "{vault://env/my-cert}"); got != "" {
			t.Errorf("vault reference: %q", got)
		}
		if got := check(f, "foo"); got == "" {
			t.Error("a referenceable field accepted an invalid certificate")
		}
	})
	t.Run("parse", func(t *testing.T) {
		c, err := ParseCertificate(cert)
		if err != nil || c.Subject.CommonName != "example.com" {
			t.Fatalf("ParseCertificate: %v, %v", c, err)
		}
		pub, err := ParseKey(key)
		if err != nil {
			t.Fatal(err)
		}
		if !c.PublicKey.(*ecdsa.PublicKey).Equal(pub) {
			t.Error("ParseKey returned another public key")
		}
	})
}
