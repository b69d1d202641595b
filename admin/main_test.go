package admin

import (
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/portico-gw/portico/schema/entities"
)

// TestMain hashes RBAC tokens at bcrypt's lowest cost: the tests check
// which tokens are accepted, not how slowly they are hashed.
func TestMain(m *testing.M) {
	entities.TokenCost = bcrypt.MinCost
	os.Exit(m.Run())
}
