package entities

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico/schema"
)

const (
	testID  = "4a3d6e1c-3c5e-4b8b-9d6a-2f7e1c0b9a11"
	testID2 = "9b1e3a4f-7c2d-4e5f-8a6b-0c1d2e3f4a5b"
	testNow = 1700000000
)

var testAuto = schema.Auto{
	Now:   func() time.Time { return time.Unix(testNow, 0) },
	NewID: func() string { return testID },
}

func ref(id string) map[string]any { return map[string]any{"id": id} }

// prepare runs PrepareInsert then Validate, returning the prepared entity
// and the errors of whichever step failed (nil when valid).
func prepare(e *schema.Entity, in map[string]any) (map[string]any, schema.Errors) {
	out, errs := e.PrepareInsert(in, testAuto)
	if errs != nil {
		return nil, errs
	}
	return out, e.Validate(out)
}

func mustPrepare(t *testing.T, e *schema.Entity, in map[string]any) map[string]any {
	t.Helper()
	out, errs := prepare(e, in)
	if errs != nil {
		t.Fatalf("%s: unexpected errors %v", e.Name, errs.Message())
	}
	return out
}

// invalidCase is an input and Kong's "fields" object for it.
type invalidCase struct {
	name string
	in   map[string]any
	want schema.Errors
}

func runInvalid(t *testing.T, newEntity func() *schema.Entity, cases []invalidCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, got := prepare(newEntity(), tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				gb, _ := json.Marshal(got)
				wb, _ := json.Marshal(tc.want)
				t.Errorf("errors =\n%s\nwant\n%s", gb, wb)
			}
		})
	}
}

// wantFields compares a prepared entity with the complete expected one.
func wantFields(t *testing.T, got, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: missing", k)
			continue
		}
		if !schema.Equal(g, w) {
			t.Errorf("%s = %#v, want %#v", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected field (%v)", k, got[k])
		}
	}
}

// elemErr is how the error of element i (1-based) of an array or set shows
// under the field: Kong reports a list with the message at the element's
// index ("paths": [null, "..."], message "paths.2: ...").
func elemErr(i int, msg any) any {
	out := make([]any, i)
	out[i-1] = msg
	return out
}

// ---------------------------------------------------------------------------
// Certificates for the tests, generated once.

type keyPair struct {
	cert, key string
	pub       crypto.PublicKey
}

var (
	fixturesOnce sync.Once
	fixtures     struct {
		rsa, ecdsa, ecdsa2, ca, expiredCA keyPair
	}
)

func certFixtures(t *testing.T) {
	t.Helper()
	fixturesOnce.Do(func() {
		rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		ec1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ec2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ec3, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ec4, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		now := time.Now()
		fixtures.rsa = selfSigned(t, rsaKey, false, now.Add(time.Hour))
		fixtures.ecdsa = selfSigned(t, ec1, false, now.Add(time.Hour))
		fixtures.ecdsa2 = selfSigned(t, ec2, false, now.Add(time.Hour))
		fixtures.ca = selfSigned(t, ec3, true, now.Add(time.Hour))
		fixtures.expiredCA = selfSigned(t, ec4, true, now.Add(-time.Minute))
	})
}

func selfSigned(t *testing.T, key crypto.Signer, isCA bool, notAfter time.Time) keyPair {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "example.com"},
		NotBefore:             notAfter.Add(-48 * time.Hour),
		NotAfter:              notAfter,
		IsCA:                  isCA,
		BasicConstraintsValid: isCA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{
		cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		key:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})),
		pub:  key.Public(),
	}
}

// ---------------------------------------------------------------------------

func TestAll(t *testing.T) {
	want := []string{"workspaces", "certificates", "services", "routes", "consumers", "plugins",
		"keyauth_credentials", "basicauth_credentials", "acls", "jwt_secrets", "hmacauth_credentials", "upstreams", "targets",
		"snis", "ca_certificates", "key_sets", "keys", "event_hooks", "event_hook_deliveries", "event_hook_payloads", "event_hook_windows",
		"rbac_users", "admins",
		"rbac_roles", "rbac_role_endpoints", "rbac_role_entities", "rbac_user_roles", "admin_gui_sessions"}
	all := All()
	var names []string
	for _, e := range all {
		names = append(names, e.Name)
	}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("All() = %v, want %v", names, want)
	}
	t.Run("references point backwards", func(t *testing.T) {
		seen := map[string]bool{}
		for _, e := range all {
			for _, f := range e.References() {
				if !seen[f.Reference] {
					t.Errorf("%s.%s references %s, registered later", e.Name, f.Name, f.Reference)
				}
			}
			seen[e.Name] = true
		}
	})
	t.Run("fresh values", func(t *testing.T) {
		again := All()
		for i := range all {
			if all[i] == again[i] || all[i].Fields[0] == again[i].Fields[0] {
				t.Errorf("%s shared between calls", all[i].Name)
			}
		}
		p1, p2 := Plugins(), Plugins()
		p1.AddSubschema(&schema.Subschema{Name: "key-auth"})
		if p2.Subschema("key-auth") != nil {
			t.Error("a subschema added to one Plugins() shows in another")
		}
	})
	t.Run("two registries", func(t *testing.T) {
		for range 2 {
			r := schema.NewRegistry()
			r.Register(All()...)
			if len(r.Entities()) != len(want) {
				t.Errorf("registered %d entities", len(r.Entities()))
			}
		}
	})
}

func TestEntityMetadata(t *testing.T) {
	type foreign struct{ field, ref, onDelete string }
	for _, tc := range []struct {
		entity        *schema.Entity
		endpointKey   string
		cacheKey      []string
		unique        []string
		foreigns      []foreign
		adminDisabled bool
	}{
		{Services(), "name", nil, []string{"name"}, []foreign{{"client_certificate", "certificates", ""}}, false},
		{Routes(), "name", nil, []string{"name"}, []foreign{{"service", "services", ""}}, false},
		{Consumers(), "username", nil, []string{"username", "custom_id"}, nil, false},
		{Plugins(), "instance_name", []string{"name", "route", "service", "consumer"}, []string{"instance_name"},
			[]foreign{{"route", "routes", "cascade"}, {"service", "services", "cascade"}, {"consumer", "consumers", "cascade"}}, false},
		{Upstreams(), "name", nil, []string{"name"}, []foreign{{"client_certificate", "certificates", ""}}, false},
		{Targets(), "target", []string{"upstream", "target"}, nil, []foreign{{"upstream", "upstreams", "cascade"}}, true},
		{Certificates(), "", nil, nil, nil, false},
		{SNIs(), "name", nil, []string{"name"}, []foreign{{"certificate", "certificates", "cascade"}}, false},
		{CACertificates(), "", nil, []string{"cert_digest"}, nil, false},
	} {
		e := tc.entity
		t.Run(e.Name, func(t *testing.T) {
			if e.EndpointKey != tc.endpointKey {
				t.Errorf("EndpointKey = %q, want %q", e.EndpointKey, tc.endpointKey)
			}
			if !reflect.DeepEqual(e.CacheKey, tc.cacheKey) {
				t.Errorf("CacheKey = %v, want %v", e.CacheKey, tc.cacheKey)
			}
			var unique []string
			for _, f := range e.Fields {
				if f.Unique {
					unique = append(unique, f.Name)
				}
			}
			if !reflect.DeepEqual(unique, tc.unique) {
				t.Errorf("unique fields = %v, want %v", unique, tc.unique)
			}
			var foreigns []foreign
			for _, f := range e.References() {
				foreigns = append(foreigns, foreign{f.Name, f.Reference, f.OnDelete})
			}
			if !reflect.DeepEqual(foreigns, tc.foreigns) {
				t.Errorf("foreign keys = %v, want %v", foreigns, tc.foreigns)
			}
			if e.AdminDisabled != tc.adminDisabled {
				t.Errorf("AdminDisabled = %v", e.AdminDisabled)
			}
			if !e.Tagged() {
				t.Error("no tags field")
			}
			if e.Fields[0].Name != "id" {
				t.Errorf("first field = %q, want the primary key id", e.Fields[0].Name)
			}
		})
	}
}

func TestJSONableEncodes(t *testing.T) {
	for _, e := range All() {
		t.Run(e.Name, func(t *testing.T) {
			b, err := json.Marshal(e.JSONable())
			if err != nil {
				t.Fatal(err)
			}
			var back struct {
				Fields       []map[string]map[string]any `json:"fields"`
				EntityChecks []any                       `json:"entity_checks"`
			}
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if len(back.Fields) != len(e.Fields) || back.EntityChecks == nil {
				t.Errorf("JSONable = %s", b)
			}
			for i, f := range e.Fields {
				if _, ok := back.Fields[i][f.Name]; !ok {
					t.Errorf("field %d is %v, want %s", i, back.Fields[i], f.Name)
				}
			}
		})
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func selfSignedCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return selfSigned(t, key, true, time.Now().Add(time.Hour)).cert
}
