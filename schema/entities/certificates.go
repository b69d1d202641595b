package entities

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"reflect"
	"sort"

	"github.com/portico-gw/portico/schema"
)

// Certificates is Kong's certificates entity
// (kong/db/schema/entities/certificates.lua): a certificate and its key,
// optionally an alternate pair of another key type (RSA and ECDSA).
func Certificates() *schema.Entity {
	e := &schema.Entity{
		Name:          "certificates",
		Workspaceable: true,
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			with(schema.Referenceable(schema.CertificatePEM("cert")), required),
			with(schema.Referenceable(schema.KeyPEM("key")), required, encrypted),
			schema.Referenceable(schema.CertificatePEM("cert_alt")),
			with(schema.Referenceable(schema.KeyPEM("key_alt")), encrypted),
			schema.Tags(),
			// snis is input-only in Kong's Admin API: the certificate's
			// hooks (certificateSNIs) turn it into SNI rows and list a
			// certificate's SNI names in it on reads; it is not stored with
			// the certificate.
			{Name: "snis", Type: schema.Set, Elements: schema.WildcardHost(""), Transient: true},
		},
		Checks: []schema.Check{
			{MutuallyRequired: []string{"cert_alt", "key_alt"}},
			{Custom: &schema.CustomCheck{
				FieldSources: []string{"cert", "key"},
				Fn: func(e map[string]any) string {
					if !pairMatches(e["cert"], e["key"]) {
						return "certificate does not match key"
					}
					return ""
				},
			}},
			{Custom: &schema.CustomCheck{
				FieldSources: []string{"cert_alt", "key_alt"},
				Fn: func(e map[string]any) string {
					if !pairMatches(e["cert_alt"], e["key_alt"]) {
						return "alternative certificate does not match key"
					}
					return ""
				},
			}},
			{Custom: &schema.CustomCheck{
				FieldSources: []string{"cert", "cert_alt"},
				Fn: func(e map[string]any) string {
					a, b := certOf(e["cert"]), certOf(e["cert_alt"])
					if a != nil && b != nil && keyType(a.PublicKey) == keyType(b.PublicKey) {
						return "certificate and alternative certificate need to have " +
							"different type (e.g. RSA and ECDSA), the provided " +
							"certificates were both of the same type"
					}
					return ""
				},
			}},
		},
	}
	e.Behaviour = certificateSNIs{certs: e}
	return e
}

func encrypted(f *schema.Field) { f.Encrypted = true }

// certOf parses a certificate value; nil for null, references and bad PEM
// (field validation reports the latter).
func certOf(v any) *x509.Certificate {
	s, ok := v.(string)
	if !ok || schema.IsReference(s) {
		return nil
	}
	c, err := schema.ParseCertificate(s)
	if err != nil {
		return nil
	}
	return c
}

// pairMatches reports whether the certificate's public key is the key's;
// true when either is absent, a vault reference or unparseable.
func pairMatches(cert, key any) bool {
	c := certOf(cert)
	k, ok := key.(string)
	if c == nil || !ok || schema.IsReference(k) {
		return true
	}
	pub, err := schema.ParseKey(k)
	if err != nil {
		return true
	}
	if eq, ok := c.PublicKey.(interface{ Equal(x any) bool }); ok {
		return eq.Equal(pub)
	}
	return reflect.DeepEqual(c.PublicKey, pub)
}

func keyType(pub any) string {
	switch pub.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "EC"
	case ed25519.PublicKey:
		return "ED25519"
	}
	return reflect.TypeOf(pub).String()
}

// Kong's messages for certificates addressed by SNI (kong/api/routes/certificates.lua).
const (
	msgSNIAssociated = "%s already associated with existing certificate '%s'"
	msgSNINotFound   = "SNI not found"
)

// certificateSNIs is the certificates' DAO behaviour, as Kong's
// certificates DAO has it: a certificate's transient "snis" list becomes
// SNI rows, reads list them back, and /certificates/{sni} addresses a
// certificate by one of its SNIs.
type certificateSNIs struct{ certs *schema.Entity }

// snis is the registry's SNI entity.
func snis(tx schema.ReadTx) (*schema.Entity, error) {
	e := tx.Entity(SNIsName)
	if e == nil {
		return nil, fmt.Errorf("certificates need the %s entity", SNIsName)
	}
	return e, nil
}

// Resolve finds a certificate by one of its SNI names, as Kong's
// /certificates/{sni} does; an unknown name is Kong's plain 404.
func (c certificateSNIs) Resolve(tx schema.ReadTx, name, ws string) (map[string]any, error) {
	snis, err := snis(tx)
	if err != nil {
		return nil, err
	}
	sni, err := tx.GetUnique(snis, ws, "name", name)
	if err != nil {
		return nil, err
	}
	var cert map[string]any
	if sni != nil {
		if cert, err = tx.Get(c.certs, refID(sni["certificate"])); err != nil {
			return nil, err
		}
	}
	if cert == nil {
		return nil, &schema.Refusal{Message: msgSNINotFound, NotFound: true}
	}
	return cert, nil
}

// UpsertKey makes PUT /certificates/{sni} of an unknown SNI create a
// certificate serving it.
func (certificateSNIs) UpsertKey(input map[string]any, name string) {
	if _, given := input["snis"]; !given {
		input["snis"] = []any{name}
	}
}

// AfterWrite makes the certificate's SNIs those its "snis" input names,
// when it names any: new names become SNI rows, others are deleted.
func (c certificateSNIs) AfterWrite(tx schema.WriteTx, row, transient map[string]any) error {
	list, ok := transient["snis"].([]any)
	if !ok {
		return nil
	}
	snis, err := snis(tx)
	if err != nil {
		return err
	}
	certID, _ := row[schema.FieldID].(string)
	ws, _ := row[schema.FieldWorkspace].(string)
	want := map[string]bool{}
	for _, v := range list {
		name, _ := v.(string)
		want[name] = true
		existing, err := tx.GetUnique(snis, ws, "name", name)
		if err != nil {
			return err
		}
		if existing != nil {
			if owner := refID(existing["certificate"]); owner != certID {
				return schema.Errors{"snis": fmt.Sprintf(msgSNIAssociated, name, owner)}
			}
			continue
		}
		sni, errs := snis.PrepareInsert(map[string]any{
			"name": name, "certificate": map[string]any{schema.FieldID: certID}, "tags": row["tags"],
		}, tx.Auto())
		if errs == nil {
			errs = snis.Validate(sni)
		}
		if errs != nil {
			return schema.Errors{"snis": errs.Message()}
		}
		if err := tx.Insert(snis, sni); err != nil {
			return err
		}
	}
	current, err := tx.Find(snis, "certificate", certID)
	if err != nil {
		return err
	}
	for _, sni := range current {
		if name, _ := sni["name"].(string); !want[name] {
			if err := tx.Delete(snis, sni); err != nil {
				return err
			}
		}
	}
	return nil
}

// Decorate lists the certificate's SNI names, sorted, in its snis field.
func (certificateSNIs) Decorate(tx schema.ReadTx, row map[string]any) error {
	snis, err := snis(tx)
	if err != nil {
		return err
	}
	certID, _ := row[schema.FieldID].(string)
	rows, err := tx.Find(snis, "certificate", certID)
	if err != nil {
		return fmt.Errorf("listing the SNIs of certificate %s: %w", certID, err)
	}
	names := make([]string, 0, len(rows))
	for _, s := range rows {
		name, _ := s["name"].(string)
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n
	}
	row["snis"] = out
	return nil
}

// refID is the id a foreign-key value refers to, or "".
func refID(v any) string {
	if m, ok := v.(map[string]any); ok {
		id, _ := m[schema.FieldID].(string)
		return id
	}
	s, _ := v.(string)
	return s
}
