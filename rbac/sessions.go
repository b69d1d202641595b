package rbac

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"sync"
	"time"
)

// Sessions are Kong Manager's login sessions, kept on the server so that
// they can be revoked (logout, an admin deleted or disabled): the cookie
// holds a random identifier and its HMAC, the table only the identifier's
// digest, so neither the cookie alone (without the secret) nor the table
// alone can be replayed. They live in memory and end with the process.
type Sessions struct {
	secret []byte
	now    func() time.Time
	// idle ends a session unused this long (the smaller of Kong's
	// idling_timeout and rolling_timeout, as every use renews it);
	// absolute ends it this long after login. Zero disables each.
	idle, absolute time.Duration

	mu sync.Mutex
	m  map[[sha256.Size]byte]*Session
}

// Session is one admin's login.
type Session struct {
	UserID   string // the admin's RBAC user, checked again on every use
	Username string // the admin's username, which Kong-Admin-User must name
	created  time.Time
	seen     time.Time
}

// maxSessions bounds the table; the oldest session goes when it is full.
const maxSessions = 10000

// NewSessions returns an empty table. An empty secret is replaced by a
// random one.
func NewSessions(secret string, idle, absolute time.Duration) *Sessions {
	s := &Sessions{secret: []byte(secret), now: time.Now, idle: idle, absolute: absolute,
		m: map[[sha256.Size]byte]*Session{}}
	if secret == "" {
		s.secret = make([]byte, 32)
		if _, err := rand.Read(s.secret); err != nil {
			panic("rbac: no randomness for the session secret: " + err.Error())
		}
	}
	return s
}

// Create starts a session and returns the cookie value that names it.
func (s *Sessions) Create(userID, username string) string {
	id := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		panic("rbac: no randomness for a session id: " + err.Error())
	}
	now := s.now()
	s.mu.Lock()
	s.sweep(now)
	if len(s.m) >= maxSessions {
		s.dropOldest()
	}
	s.m[sha256.Sum256(id)] = &Session{UserID: userID, Username: username, created: now, seen: now}
	s.mu.Unlock()
	raw := base64.RawURLEncoding.EncodeToString(id)
	return raw + "." + s.sign(raw)
}

// Get returns the live session a cookie value names, renewing it, or nil.
func (s *Sessions) Get(cookie string) *Session {
	key, ok := s.key(cookie)
	if !ok {
		return nil
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.m[key]
	if sess == nil {
		return nil
	}
	if s.expired(sess, now) {
		delete(s.m, key)
		return nil
	}
	sess.seen = now
	out := *sess
	return &out
}

// Delete ends the session a cookie value names (logout, or a session whose
// admin is no longer valid).
func (s *Sessions) Delete(cookie string) {
	if key, ok := s.key(cookie); ok {
		s.mu.Lock()
		delete(s.m, key)
		s.mu.Unlock()
	}
}

// Len is how many sessions are held.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// key checks a cookie value's signature and returns its table key.
func (s *Sessions) key(cookie string) ([sha256.Size]byte, bool) {
	raw, sig, ok := strings.Cut(cookie, ".")
	if !ok || len(raw) != 43 || subtle.ConstantTimeCompare([]byte(sig), []byte(s.sign(raw))) != 1 {
		return [sha256.Size]byte{}, false
	}
	id, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256(id), true
}

func (s *Sessions) sign(raw string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(raw))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Sessions) expired(sess *Session, now time.Time) bool {
	return (s.idle > 0 && now.Sub(sess.seen) > s.idle) || (s.absolute > 0 && now.Sub(sess.created) > s.absolute)
}

// sweep drops expired sessions; called with mu held, on each login.
func (s *Sessions) sweep(now time.Time) {
	for k, sess := range s.m {
		if s.expired(sess, now) {
			delete(s.m, k)
		}
	}
}

func (s *Sessions) dropOldest() {
	var oldest [sha256.Size]byte
	var t time.Time
	for k, sess := range s.m {
		if t.IsZero() || sess.seen.Before(t) {
			oldest, t = k, sess.seen
		}
	}
	delete(s.m, oldest)
}
