package node

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/portico-gw/portico/conf"
)

// defaultCertificate returns the node's self-signed certificate for ssl
// listeners, creating it under <prefix>/ssl on first use, as Kong generates
// its default certificates at start.
func defaultCertificate(dir, name string) (tls.Certificate, error) {
	certFile := filepath.Join(dir, name+".crt")
	keyFile := filepath.Join(dir, name+".key")
	if cert, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil {
		return cert, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("creating %s: %w", dir, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"Portico"}},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("creating certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("encoding key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, fmt.Errorf("writing %s: %w", keyFile, err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return tls.Certificate{}, fmt.Errorf("writing %s: %w", certFile, err)
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// tlsProfile applies ssl_cipher_suite, Mozilla's TLS profiles as Kong
// names them: modern is TLS 1.3 only; intermediate TLS 1.2 with forward-
// secret AEAD suites, and 1.3; old TLS 1.0 and up with the CBC suites Go
// still offers. fips and custom (which needs ssl_ciphers, an OpenSSL cipher
// string) are refused at start rather than served as something else.
//
// ssl_protocols then narrows the versions: the profile's lowest version or
// the lowest listed, whichever is higher, up to the highest listed.
func tlsProfile(name, protocols string, cfg *tls.Config) error {
	if err := cipherProfile(name, cfg); err != nil {
		return err
	}
	lo, hi, err := conf.ParseSSLProtocols(protocols)
	if err != nil {
		return fmt.Errorf("ssl_protocols: invalid value '%s'", protocols)
	}
	cfg.MinVersion = max(cfg.MinVersion, lo)
	cfg.MaxVersion = hi
	if cfg.MinVersion > cfg.MaxVersion {
		return fmt.Errorf("ssl_protocols '%s' leaves no TLS version that ssl_cipher_suite '%s' allows", protocols, name)
	}
	return nil
}

func cipherProfile(name string, cfg *tls.Config) error {
	switch name {
	case "modern":
		cfg.MinVersion = tls.VersionTLS13
	case "intermediate", "":
		cfg.MinVersion = tls.VersionTLS12
		cfg.CipherSuites = []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		}
	case "old":
		cfg.MinVersion = tls.VersionTLS10
		cfg.CipherSuites = nil
		for _, s := range tls.CipherSuites() {
			cfg.CipherSuites = append(cfg.CipherSuites, s.ID)
		}
		for _, s := range tls.InsecureCipherSuites() {
			if s.ID == tls.TLS_RSA_WITH_AES_128_CBC_SHA || s.ID == tls.TLS_RSA_WITH_AES_256_CBC_SHA ||
				s.ID == tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256 || s.ID == tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 {
				cfg.CipherSuites = append(cfg.CipherSuites, s.ID)
			}
		}
	default:
		return fmt.Errorf("ssl_cipher_suite: '%s' is not supported by Portico (accepted: modern, intermediate, old)", name)
	}
	return nil
}
