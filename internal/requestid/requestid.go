// Package requestid makes Kong's request ids: 32 lowercase hex digits, as in
// X-Kong-Request-Id and X-Kong-Admin-Request-ID.
package requestid

import (
	"encoding/hex"

	"github.com/google/uuid"
)

// New returns a fresh random request id.
func New() string {
	id := uuid.New()
	return hex.EncodeToString(id[:])
}
