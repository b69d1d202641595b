package node

import (
	"crypto/tls"
	"testing"
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
