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
			err := tlsProfile(tt.name, &cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v", err)
			}
			if err == nil && (cfg.MinVersion != tt.min || len(cfg.CipherSuites) != tt.suites) {
				t.Fatalf("min %x, %d suites", cfg.MinVersion, len(cfg.CipherSuites))
			}
		})
	}
	var old tls.Config
	if err := tlsProfile("old", &old); err != nil || old.MinVersion != tls.VersionTLS10 || len(old.CipherSuites) <= 6 {
		t.Fatalf("old: %v, min %x, %d suites", err, old.MinVersion, len(old.CipherSuites))
	}
}
