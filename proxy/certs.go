package proxy

import (
	"crypto/tls"
	"fmt"
	"strings"
	"sync"

	"github.com/portico-gw/portico/internal/row"
)

// certPair is a certificate entity's key pairs: the main one and, when the
// entity has cert_alt/key_alt, the alternative (an ECDSA and an RSA pair, as
// Kong serves whichever the client supports).
type certPair struct {
	main, alt *tls.Certificate
}

// certStore picks a certificate by SNI: an exact name first, then a
// "*.example.com" wildcard, then an "example.*" one. Immutable.
type certStore struct {
	exact  map[string]certPair
	suffix map[string]certPair // "*.example.com" stored as ".example.com"
	prefix map[string]certPair // "example.*" stored as "example."
}

func (s *certStore) find(name string) (certPair, bool) {
	if s == nil || name == "" {
		return certPair{}, false
	}
	if c, ok := s.exact[name]; ok {
		return c, true
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if c, ok := s.suffix[name[i:]]; ok {
			return c, true
		}
	}
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		if c, ok := s.prefix[name[:i+1]]; ok {
			return c, true
		}
	}
	return certPair{}, false
}

// getCertificate serves the pair's alternative when the client cannot use
// the main certificate.
func (s *certStore) getCertificate(hello *tls.ClientHelloInfo) *tls.Certificate {
	pair, ok := s.find(strings.ToLower(hello.ServerName))
	if !ok {
		return nil
	}
	if pair.alt != nil && hello.SupportsCertificate(pair.main) != nil {
		return pair.alt
	}
	return pair.main
}

// certCache keeps parsed key pairs across snapshots, keyed by the
// certificate's id and update time, so a rebuild parses only what changed.
type certCache struct {
	mu     sync.Mutex
	parsed map[string]certPair
}

func (cc *certCache) build(c *config) (*certStore, []error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	var errs []error
	next := map[string]certPair{}
	byID := map[string]certPair{}
	for _, r := range c.rows("certificates") {
		key := fmt.Sprintf("%s@%v", id(r), r["updated_at"])
		pair, ok := cc.parsed[key]
		if !ok {
			main, err := tls.X509KeyPair([]byte(row.String(r, "cert")), []byte(row.String(r, "key")))
			if err != nil {
				errs = append(errs, fmt.Errorf("certificate %s: %w", id(r), err))
				continue
			}
			pair.main = &main
			if row.String(r, "cert_alt") != "" {
				if alt, err := tls.X509KeyPair([]byte(row.String(r, "cert_alt")), []byte(row.String(r, "key_alt"))); err == nil {
					pair.alt = &alt
				} else {
					errs = append(errs, fmt.Errorf("certificate %s (cert_alt): %w", id(r), err))
				}
			}
		}
		next[key] = pair
		byID[id(r)] = pair
	}
	cc.parsed = next
	s := &certStore{exact: map[string]certPair{}, suffix: map[string]certPair{}, prefix: map[string]certPair{}}
	for _, r := range c.rows("snis") {
		pair, ok := byID[ref(r, "certificate")]
		if !ok {
			continue
		}
		name := strings.ToLower(row.String(r, "name"))
		switch {
		case strings.HasPrefix(name, "*."):
			s.suffix[name[1:]] = pair
		case strings.HasSuffix(name, ".*"):
			s.prefix[name[:len(name)-1]] = pair
		default:
			s.exact[name] = pair
		}
	}
	return s, errs
}
