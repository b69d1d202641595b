package node

import (
	"bytes"
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-gw/portico/conf"
)

func TestTLSProfile(t *testing.T) {
	tests := []struct {
		name    string
		min     uint16
		suites  int // 0: Go's defaults
		wantErr bool
	}{
		{"modern", tls.VersionTLS13, 0, false},
		{"intermediate", tls.VersionTLS12, 6, false},
		{"fips", 0, 0, true},
		{"custom", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg tls.Config
			err := tlsProfile(tt.name, "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", &cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v", err)
			}
			if err == nil && (cfg.MinVersion != tt.min || len(cfg.CipherSuites) != tt.suites) {
				t.Fatalf("min %x, %d suites", cfg.MinVersion, len(cfg.CipherSuites))
			}
		})
	}
	var old tls.Config
	if err := tlsProfile("old", "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", &old); err != nil || old.MinVersion != tls.VersionTLS10 || len(old.CipherSuites) <= 6 {
		t.Fatalf("old: %v, min %x, %d suites", err, old.MinVersion, len(old.CipherSuites))
	}
}

func TestSSLProtocols(t *testing.T) {
	var cfg tls.Config
	if err := tlsProfile("old", "TLSv1.2 TLSv1.3", &cfg); err != nil || cfg.MinVersion != tls.VersionTLS12 || cfg.MaxVersion != tls.VersionTLS13 {
		t.Fatalf("old with TLSv1.2 TLSv1.3: %v %x-%x", err, cfg.MinVersion, cfg.MaxVersion)
	}
	if err := tlsProfile("modern", "TLSv1.2", &cfg); err == nil {
		t.Fatal("modern with TLSv1.2 only: no error")
	}
}

// Each kind of ssl listener serves the certificate its setting names
// (ssl_cert, admin_ssl_cert, status_ssl_cert, admin_gui_ssl_cert), or one
// generated under the prefix; a certificate without its key stops the
// start, naming the setting.
func TestListenerCertificates(t *testing.T) {
	dir := t.TempDir()
	given, err := defaultCertificate(dir, "given")
	if err != nil {
		t.Fatal(err)
	}
	crt, key := filepath.Join(dir, "given.crt"), filepath.Join(dir, "given.key")
	set := func(c *conf.Config, kind string, certs, keys []string) {
		switch kind {
		case "proxy":
			c.SSLCert, c.SSLCertKey = certs, keys
		case "admin":
			c.AdminSSLCert, c.AdminSSLCertKey = certs, keys
		case "status":
			c.StatusSSLCert, c.StatusSSLCertKey = certs, keys
		case "admin_gui":
			c.AdminGUISSLCert, c.AdminGUISSLCertKey = certs, keys
		}
	}
	settings := map[string]string{"proxy": "ssl_cert", "admin": "admin_ssl_cert", "status": "status_ssl_cert", "admin_gui": "admin_gui_ssl_cert"}
	for kind, setting := range settings {
		t.Run(kind, func(t *testing.T) {
			cfg := &conf.Config{Prefix: t.TempDir()}
			n := &Node{cfg: cfg}
			generated, err := n.listenerCertificates(kind)
			if err != nil || len(generated) != 1 || bytes.Equal(generated[0].Certificate[0], given.Certificate[0]) {
				t.Fatalf("without %s: %v, %d certificates", setting, err, len(generated))
			}
			set(cfg, kind, []string{crt}, []string{key})
			got, err := n.listenerCertificates(kind)
			if err != nil || len(got) != 1 || !bytes.Equal(got[0].Certificate[0], given.Certificate[0]) {
				t.Fatalf("with %s: %v, %d certificates", setting, err, len(got))
			}
			set(cfg, kind, []string{crt}, nil)
			if _, err := n.listenerCertificates(kind); err == nil || !strings.Contains(err.Error(), setting+" lists 1 certificates and "+setting+"_key 0 keys") {
				t.Fatalf("a certificate without its key: %v", err)
			}
		})
	}
}
