package entities

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/portico-gw/portico/schema"
)

// CACertificates is Kong's ca_certificates entity
// (kong/db/schema/entities/ca_certificates.lua): one CA certificate each,
// identified by the SHA-256 digest of its DER encoding (cert_digest).
func CACertificates() *schema.Entity {
	return &schema.Entity{
		Name:          "ca_certificates",
		Workspaceable: true,
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			with(schema.CertificatePEM("cert"), required),
			{Name: "cert_digest", Type: schema.String, Unique: true},
			schema.Tags(),
		},
		Checks: []schema.Check{
			{Custom: &schema.CustomCheck{
				FieldSources: []string{"cert"},
				Fn:           checkCACertificate,
			}},
		},
		// Kong's on_write transformation: the digest follows the cert.
		Derive: func(e map[string]any) {
			if c := certOf(e["cert"]); c != nil {
				sum := sha256.Sum256(c.Raw)
				e["cert_digest"] = hex.EncodeToString(sum[:])
			}
		},
	}
}

const pemCertTag = "-----BEGIN CERTIFICATE-----"

func checkCACertificate(e map[string]any) string {
	s, _ := e["cert"].(string)
	if first := strings.Index(s, pemCertTag); first >= 0 && strings.Contains(s[first+len(pemCertTag):], pemCertTag) {
		return "please submit only one certificate at a time"
	}
	c := certOf(s)
	if c == nil {
		return ""
	}
	if c.NotAfter.Before(time.Now()) {
		return `certificate expired, "Not After" time is in the past`
	}
	if !c.BasicConstraintsValid || !c.IsCA {
		return `certificate does not appear to be a CA because it is missing the "CA" basic constraint`
	}
	return ""
}
