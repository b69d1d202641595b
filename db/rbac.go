package db

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// TokenCost is the bcrypt cost of stored RBAC tokens.
const TokenCost = 10

// tokenIdentLen is how many hex digits of a token's SHA-256 are stored to
// find its user: enough to narrow the bcrypt checks to one or two rows,
// too few to help guess the token.
const tokenIdentLen = 7

// TokenIdent is the short identifier stored beside a token's hash.
func TokenIdent(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])[:tokenIdentLen]
}

// rbacTokens keeps RBAC tokens out of the store: a token written to an
// rbac_users row is replaced by its bcrypt hash and identifier before the
// row is stored; an unchanged token (its hash, merged by PATCH) is kept.
type rbacTokens struct{}

func (rbacTokens) prepare(row, old map[string]any) error {
	token, _ := row["user_token"].(string)
	if token == "" || (old != nil && token == old["user_token"]) {
		return nil
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(token), TokenCost)
	if err != nil {
		return fmt.Errorf("hashing an RBAC token: %w", err)
	}
	row["user_token"] = string(hash)
	row["user_token_ident"] = TokenIdent(token)
	return nil
}

func (rbacTokens) afterWrite(*writer, map[string]any, map[string]any) error { return nil }

func (rbacTokens) decorate(store.Tx, map[string]any) error { return nil }

// preparer is an extension that rewrites a row before it is stored.
type preparer interface {
	prepare(row, old map[string]any) error
}

// adminUsers gives every admin created without an RBAC user one of its
// own, as Kong's admins DAO does: named after the admin, with a random
// token (set a known one with PATCH /rbac/users/{name}), enabled as the
// admin's rbac_token_enabled says.
type adminUsers struct{ users *schema.Entity }

// msgAdminUserComment is Kong's comment on an admin's generated RBAC user.
const msgAdminUserComment = "User generated on creation of Admin."

func (x adminUsers) beforeInsert(w *writer, row map[string]any) error {
	if row["rbac_user"] != nil {
		return nil
	}
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return fmt.Errorf("generating an RBAC token: %w", err)
	}
	name, _ := row["username"].(string)
	user, err := checked(x.users)(x.users.PrepareInsert(map[string]any{
		"name":       name + "-" + w.db.auto.NewID(),
		"user_token": base64.RawURLEncoding.EncodeToString(token),
		"enabled":    row["rbac_token_enabled"] != false,
		"comment":    msgAdminUserComment,
	}, w.db.auto))
	if err != nil {
		return err
	}
	if err := w.stored(x.users, user, nil); err != nil {
		return err
	}
	row["rbac_user"] = map[string]any{schema.FieldID: user[schema.FieldID]}
	return nil
}

// afterWrite keeps the RBAC user enabled as the admin's rbac_token_enabled
// says.
func (x adminUsers) afterWrite(w *writer, row, _ map[string]any) error {
	user, err := x.user(w, row)
	if user == nil {
		return err
	}
	enabled := row["rbac_token_enabled"] != false
	if user["enabled"] == enabled {
		return nil
	}
	updated, err := checked(x.users)(x.users.PrepareUpdate(bare(user), map[string]any{"enabled": enabled}, w.db.auto))
	if err != nil {
		return err
	}
	return w.stored(x.users, updated, user)
}

// afterDelete deletes the admin's RBAC user with it: its token and roles
// must not outlive the admin.
func (x adminUsers) afterDelete(w *writer, row map[string]any) error {
	user, err := x.user(w, row)
	if user == nil {
		return err
	}
	return w.delete(x.users, user)
}

// user reads the admin's RBAC user; nil when there is none.
func (x adminUsers) user(w *writer, admin map[string]any) (map[string]any, error) {
	user, err := w.tx.Get(x.users.Name, RefID(admin["rbac_user"]))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return user, err
}

// deleteFollower is an extension that deletes what goes with a row.
type deleteFollower interface {
	afterDelete(w *writer, row map[string]any) error
}

func (adminUsers) decorate(store.Tx, map[string]any) error { return nil }

// inserter is an extension that completes a new row before it is stored.
type inserter interface {
	beforeInsert(w *writer, row map[string]any) error
}
