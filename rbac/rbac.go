// Package rbac authenticates Admin API requests by RBAC token, as Kong
// Enterprise does with enforce_rbac: the token arrives in one header
// (rbac_auth_header), is checked against the bcrypt hashes of rbac_users,
// and known tokens are cached so a request costs a hash lookup, not a
// bcrypt, until users change.
//
// Roles are not enforced yet: every enabled RBAC user has full access.
package rbac

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/schema/entities"
)

// Kong's names.
const (
	usersEntity  = "rbac_users"
	adminsEntity = "admins"
	// SuperAdmin is the admin created at bootstrap from KONG_PASSWORD.
	SuperAdmin = "kong_admin"
	// PasswordEnv is the environment variable holding the super admin's
	// password at bootstrap.
	PasswordEnv = "KONG_PASSWORD"
)

// maxTokenBytes refuses absurd tokens before any hashing.
const maxTokenBytes = 1024

// cacheTTL bounds how long a verified token is trusted without a bcrypt,
// besides the invalidation on every user change.
const cacheTTL = 5 * time.Minute

// ErrInvalid is a missing, unknown or disabled token.
var ErrInvalid = errors.New("Invalid RBAC credentials")

// Authenticator checks RBAC tokens. It is safe for concurrent use.
type Authenticator struct {
	db  *db.DB
	now func() time.Time

	mu    sync.Mutex
	known map[[sha256.Size]byte]entry // token digest → verified user
}

type entry struct {
	digest  [sha256.Size]byte
	userID  string
	expires time.Time
}

// New returns an authenticator over d; bus changes to RBAC users and admins
// empty its cache.
func New(d *db.DB, bus *events.Bus) *Authenticator {
	a := &Authenticator{db: d, now: time.Now, known: map[[sha256.Size]byte]entry{}}
	if bus != nil {
		bus.Subscribe(db.SourceCRUD, func(ev events.Event) {
			if ev.Name == usersEntity || ev.Name == adminsEntity {
				a.mu.Lock()
				clear(a.known)
				a.mu.Unlock()
			}
		})
	}
	return a
}

// Authenticate returns the id of the RBAC user holding token, or
// ErrInvalid.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (string, error) {
	if token == "" || len(token) > maxTokenBytes {
		return "", ErrInvalid
	}
	digest := sha256.Sum256([]byte(token))
	now := a.now()
	a.mu.Lock()
	e, ok := a.known[digest]
	a.mu.Unlock()
	if ok && subtle.ConstantTimeCompare(e.digest[:], digest[:]) == 1 && now.Before(e.expires) {
		return e.userID, nil
	}
	users := a.db.Entity(usersEntity)
	if users == nil {
		return "", ErrInvalid
	}
	// Tokens are unique across workspaces: the user may belong to any.
	rows, _, err := a.db.Page(db.AcrossWorkspaces(ctx), users, db.PageOptions{Size: 1000,
		Equal: map[string]any{"user_token_ident": db.TokenIdent(token)}})
	if err != nil {
		return "", fmt.Errorf("looking up an RBAC token: %w", err)
	}
	for _, row := range rows {
		hash, _ := row["user_token"].(string)
		if enabled, _ := row["enabled"].(bool); !enabled {
			continue
		}
		if bcrypt.CompareHashAndPassword([]byte(hash), []byte(token)) == nil {
			id, _ := row["id"].(string)
			a.mu.Lock()
			a.known[digest] = entry{digest: digest, userID: id, expires: now.Add(cacheTTL)}
			a.mu.Unlock()
			return id, nil
		}
	}
	return "", ErrInvalid
}

// Allow is Authenticate as the Admin API's guard.
func (a *Authenticator) Allow(ctx context.Context, token string) (bool, error) {
	_, err := a.Authenticate(ctx, token)
	if errors.Is(err, ErrInvalid) {
		return false, nil
	}
	return err == nil, err
}

// Bootstrap creates the super admin kong_admin, with the password from
// KONG_PASSWORD as its RBAC token, unless it exists or no password is set.
// The password is never logged.
func Bootstrap(ctx context.Context, d *db.DB) error {
	password := os.Getenv(PasswordEnv)
	users, admins := d.Entity(usersEntity), d.Entity(adminsEntity)
	if password == "" || users == nil || admins == nil {
		return nil
	}
	if row, err := d.Select(ctx, admins, SuperAdmin, nil); err != nil || row != nil {
		return err
	}
	user, err := d.Insert(ctx, users, map[string]any{"name": SuperAdmin, "user_token": password,
		"comment": "super admin created at bootstrap"}, nil)
	if err != nil {
		return fmt.Errorf("creating the super admin's RBAC user: %w", err)
	}
	_, err = d.Insert(ctx, admins, map[string]any{"username": SuperAdmin, "status": float64(entities.AdminApproved),
		"rbac_user": map[string]any{"id": user["id"]}}, nil)
	if err != nil {
		return fmt.Errorf("creating the super admin: %w", err)
	}
	return nil
}
