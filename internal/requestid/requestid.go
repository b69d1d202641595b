// Package requestid makes Kong's request ids: 32 lowercase hex digits, as in
// X-Kong-Request-Id and X-Kong-Admin-Request-ID.
package requestid

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
)

// Len is the length of an id in bytes.
const Len = 32

// New returns a fresh random request id.
func New() string {
	return string(Append(make([]byte, 0, Len)))
}

// Append appends a fresh random request id to dst. It draws from the
// runtime's per-thread ChaCha8 generator (seeded from the operating
// system), which takes no lock and no system call: the proxy calls it once
// per request.
func Append(dst []byte) []byte {
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(raw[8:], rand.Uint64())
	n := len(dst)
	dst = append(dst, make([]byte, Len)...)
	hex.Encode(dst[n:], raw[:])
	return dst
}
