package db

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"golang.org/x/crypto/bcrypt"

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
