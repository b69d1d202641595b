package rbac

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/portico-gw/portico/internal/periodic"
	"github.com/portico-gw/portico/schema/entities"
	"github.com/portico-gw/portico/store"
)

// Sessions are Kong Manager's login sessions, kept on the server so that
// they can be revoked (logout, an admin deleted or disabled): the cookie
// holds a random identifier and its HMAC, the table only the identifier's
// digest, so neither the cookie alone (without the secret) nor the table
// alone can be replayed.
//
// With a store (NewStoredSessions) they are rows of the internal
// admin_gui_sessions table, keyed by the digest in hex: written at login,
// deleted at logout, so a session survives a restart and is found by every
// node sharing the store. Reads go through an in-memory cache: a request
// reads the store only on a miss (a session made before a restart, or on
// another node), and writes its last-seen time at most every seenEvery,
// so requests do not become writes; that write also notices a session
// ended on another node. Without a store (NewSessions: DB-less mode, whose
// store is replaced by every POST /config) they live in memory and end
// with the process.
type Sessions struct {
	secret []byte
	now    func() time.Time
	// idle ends a session unused this long (the smaller of Kong's
	// idling_timeout and rolling_timeout, as every use renews it);
	// absolute ends it this long after login. Zero disables each.
	idle, absolute time.Duration
	// st keeps the sessions, or nil; every is how often a session's use
	// is written to it.
	st    store.Store
	every time.Duration

	mu sync.Mutex
	m  map[[sha256.Size]byte]*Session
}

// Session is one admin's login.
type Session struct {
	UserID   string // the admin's RBAC user, checked again on every use
	Username string // the admin's username, which Kong-Admin-User must name
	created  time.Time
	seen     time.Time
	written  time.Time // the last-seen time the store holds
}

// maxSessions bounds the in-memory table; the least recently used session
// goes when it is full (with a store, it is read again when next used).
const maxSessions = 10000

// seenEvery is how often a session's use is written to the store at most;
// the idle timeout is honoured to within it (a quarter of the idle timeout
// when that is shorter).
const seenEvery = time.Minute

// sessionsTable and the secret row's id.
const (
	sessionsTable = entities.AdminGUISessionsName
	secretRowID   = "secret"
)

// NewSessions returns an empty in-memory table. An empty secret is
// replaced by a random one.
func NewSessions(secret string, idle, absolute time.Duration) *Sessions {
	s := &Sessions{secret: []byte(secret), now: time.Now, idle: idle, absolute: absolute,
		m: map[[sha256.Size]byte]*Session{}}
	if secret == "" {
		s.secret = randomBytes("the session secret")
	}
	return s
}

// NewStoredSessions returns sessions kept in st. An empty secret is
// replaced by one kept in the store (made at the first start), so that
// cookies stay valid across restarts and nodes.
func NewStoredSessions(ctx context.Context, st store.Store, secret string, idle, absolute time.Duration) (*Sessions, error) {
	s := NewSessions(secret, idle, absolute)
	s.st = st
	s.every = seenEvery
	if idle > 0 && idle/4 < s.every {
		s.every = idle / 4
	}
	if secret != "" {
		return s, nil
	}
	fresh := base64.RawStdEncoding.EncodeToString(s.secret)
	var stored string
	err := st.Update(ctx, func(tx store.Tx) error {
		row, err := tx.Get(sessionsTable, secretRowID)
		if errors.Is(err, store.ErrNotFound) {
			stored = fresh
			return tx.Insert(sessionsTable, store.Row{"id": secretRowID, "secret": fresh})
		}
		if err != nil {
			return err
		}
		stored, _ = row["secret"].(string)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the session secret: %w", err)
	}
	key, err := base64.RawStdEncoding.DecodeString(stored)
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("the stored session secret is malformed")
	}
	s.secret = key
	return s, nil
}

func randomBytes(what string) []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("rbac: no randomness for " + what + ": " + err.Error())
	}
	return b
}

// Create starts a session and returns the cookie value that names it.
func (s *Sessions) Create(ctx context.Context, userID, username string) (string, error) {
	id := randomBytes("a session id")
	key := sha256.Sum256(id)
	now := s.now()
	sess := &Session{UserID: userID, Username: username, created: now, seen: now, written: now}
	if s.st != nil {
		row := s.row(key, sess)
		if err := s.st.Update(ctx, func(tx store.Tx) error { return tx.Insert(sessionsTable, row) }); err != nil {
			return "", fmt.Errorf("storing a session: %w", err)
		}
	}
	s.mu.Lock()
	if s.st == nil {
		s.dropExpired(now)
	}
	s.put(key, sess)
	s.mu.Unlock()
	raw := base64.RawURLEncoding.EncodeToString(id)
	return raw + "." + s.sign(raw), nil
}

// Get returns the live session a cookie value names, renewing it, or nil.
// An error is the store's.
func (s *Sessions) Get(ctx context.Context, cookie string) (*Session, error) {
	key, ok := s.key(cookie)
	if !ok {
		return nil, nil
	}
	now := s.now()
	s.mu.Lock()
	sess := s.m[key]
	s.mu.Unlock()
	if sess == nil {
		if s.st == nil {
			return nil, nil
		}
		var err error
		if sess, err = s.load(ctx, key); sess == nil || err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	if s.expired(sess, now) {
		delete(s.m, key)
		s.mu.Unlock()
		if s.st != nil {
			return nil, s.deleteRow(ctx, key)
		}
		return nil, nil
	}
	sess.seen = now
	write := s.st != nil && now.Sub(sess.written) >= s.every
	if write {
		sess.written = now // one request writes it, not every concurrent one
	}
	out := *sess
	s.mu.Unlock()
	if write {
		live, err := s.touch(ctx, key, &out)
		if err != nil || !live {
			s.mu.Lock()
			if !live && err == nil {
				delete(s.m, key)
			}
			s.mu.Unlock()
			return nil, err
		}
	}
	return &out, nil
}

// load reads a session missing from the cache from the store, caching it.
func (s *Sessions) load(ctx context.Context, key [sha256.Size]byte) (*Session, error) {
	var row store.Row
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		row, err = tx.Get(sessionsTable, hex.EncodeToString(key[:]))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading a session: %w", err)
	}
	user, _ := row["user_id"].(string)
	name, _ := row["username"].(string)
	created, _ := row["created_at"].(float64)
	seen, _ := row["last_seen"].(float64)
	if user == "" || name == "" {
		return nil, nil
	}
	sess := &Session{UserID: user, Username: name, created: fromUnix(created), seen: fromUnix(seen)}
	sess.written = sess.seen
	s.mu.Lock()
	if cached := s.m[key]; cached != nil { // a concurrent miss cached it first
		sess = cached
	} else {
		s.put(key, sess)
	}
	s.mu.Unlock()
	return sess, nil
}

// touch writes a session's last use to its row; false when the row is gone
// (the session was ended by another node, or swept).
func (s *Sessions) touch(ctx context.Context, key [sha256.Size]byte, sess *Session) (bool, error) {
	live := true
	err := s.st.Update(ctx, func(tx store.Tx) error {
		live = true
		id := hex.EncodeToString(key[:])
		if _, err := tx.Get(sessionsTable, id); errors.Is(err, store.ErrNotFound) {
			live = false
			return nil
		} else if err != nil {
			return err
		}
		return tx.Update(sessionsTable, s.row(key, sess))
	})
	if err != nil {
		return false, fmt.Errorf("renewing a session: %w", err)
	}
	return live, nil
}

// row is a session's stored row: the digest, never the id or the cookie.
func (s *Sessions) row(key [sha256.Size]byte, sess *Session) store.Row {
	return store.Row{
		"id":         hex.EncodeToString(key[:]),
		"user_id":    sess.UserID,
		"username":   sess.Username,
		"created_at": unix(sess.created),
		"last_seen":  unix(sess.seen),
		"expires_at": unix(s.expiry(sess)),
	}
}

// expiry is when a session not used again ends (far ahead when neither
// timeout is set).
func (s *Sessions) expiry(sess *Session) time.Time {
	end := sess.created.AddDate(100, 0, 0)
	if s.absolute > 0 {
		end = sess.created.Add(s.absolute)
	}
	if s.idle > 0 && sess.seen.Add(s.idle).Before(end) {
		end = sess.seen.Add(s.idle)
	}
	return end
}

func unix(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func fromUnix(f float64) time.Time { return time.UnixMilli(int64(f * 1000)) }

// Delete ends the session a cookie value names (logout, or a session whose
// admin is no longer valid).
func (s *Sessions) Delete(ctx context.Context, cookie string) error {
	key, ok := s.key(cookie)
	if !ok {
		return nil
	}
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
	if s.st == nil {
		return nil
	}
	return s.deleteRow(ctx, key)
}

func (s *Sessions) deleteRow(ctx context.Context, key [sha256.Size]byte) error {
	err := s.st.Update(ctx, func(tx store.Tx) error { return tx.Delete(sessionsTable, hex.EncodeToString(key[:])) })
	if err != nil {
		return fmt.Errorf("deleting a session: %w", err)
	}
	return nil
}

// Len is how many sessions the in-memory table holds.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// sweepBatch is how many expired rows one transaction deletes.
const sweepBatch = 256

// Sweep deletes the expired sessions: from memory, and from the store
// through the expiry index (the table is not read). It returns how many
// rows it deleted.
func (s *Sessions) Sweep(ctx context.Context) (int, error) {
	now := s.now()
	s.mu.Lock()
	s.dropExpired(now)
	s.mu.Unlock()
	if s.st == nil {
		return 0, nil
	}
	deleted := 0
	for {
		n := 0
		err := s.st.Update(ctx, func(tx store.Tx) error {
			n = 0
			// From 0 leaves out the secret row, which has no expiry.
			page, err := tx.Range(sessionsTable, store.RangeQuery{Index: entities.AdminGUISessionsExpiry,
				From: float64(0), Below: unix(now), Size: sweepBatch, IDsOnly: true})
			if err != nil {
				return err
			}
			for _, r := range page.Rows {
				id, _ := r["id"].(string)
				if err := tx.Delete(sessionsTable, id); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return deleted, fmt.Errorf("deleting expired sessions: %w", err)
		}
		deleted += n
		if n < sweepBatch {
			return deleted, nil
		}
	}
}

// Sweeper runs Sweep every interval until ctx ends.
func (s *Sessions) Sweeper(ctx context.Context, interval time.Duration, logf func(format string, args ...any)) {
	periodic.Run(ctx, interval, func(ctx context.Context) error {
		_, err := s.Sweep(ctx)
		return err
	}, logf)
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

// put caches a session, making room when the table is full; mu held.
func (s *Sessions) put(key [sha256.Size]byte, sess *Session) {
	if _, ok := s.m[key]; !ok && len(s.m) >= maxSessions {
		s.dropExpired(s.now())
		if len(s.m) >= maxSessions {
			s.dropOldest()
		}
	}
	s.m[key] = sess
}

// dropExpired drops expired sessions from memory; mu held.
func (s *Sessions) dropExpired(now time.Time) {
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
