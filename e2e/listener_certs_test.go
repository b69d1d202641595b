package e2e

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An ssl listener serves the certificate its setting names: admin_ssl_cert
// for the Admin API, status_ssl_cert for the Status API, as ssl_cert for
// the proxy (Kong's settings).
func TestListenerCertificateSettings(t *testing.T) {
	for _, tc := range []struct{ kind, listen string }{
		{"admin", "ADMIN_LISTEN"},
		{"status", "STATUS_LISTEN"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			dir := t.TempDir()
			certPEM, keyPEM := selfSigned(t, tc.kind+".portico.test")
			crt, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
			if err := os.WriteFile(crt, []byte(certPEM), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(key, []byte(keyPEM), 0o600); err != nil {
				t.Fatal(err)
			}
			g := newGateway(t)
			port := g.adminPort
			if tc.kind == "status" {
				port = g.statusPort
			}
			sslPort := freePort(t)
			setting := "KONG_" + strings.ToUpper(tc.kind) + "_SSL_CERT"
			g.env = append(g.env,
				fmt.Sprintf("KONG_%s=127.0.0.1:%d, 127.0.0.1:%d ssl", tc.listen, port, sslPort),
				setting+"="+crt, setting+"_KEY="+key)
			g.start()
			conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", sslPort), &tls.Config{InsecureSkipVerify: true})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			block, _ := pem.Decode([]byte(certPEM))
			if got := conn.ConnectionState().PeerCertificates[0]; string(got.Raw) != string(block.Bytes) {
				t.Fatalf("the %s listener serves %q, not the configured certificate", tc.kind, got.Subject.CommonName)
			}
		})
	}
}
