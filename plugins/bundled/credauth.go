package bundled

import (
	"crypto/hmac"
	"hash"
	"hash/maphash"
	"sync"
)

// What jwt and hmac-auth share besides authcommon.go: nginx's lenient
// base64, and a bounded cache of what verifying a credential needs.

// nginx's base64 alphabets, 0xff for a byte outside them.
var b64Std, b64URL = b64Table("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
	b64Table("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

func b64Table(alphabet string) *[256]byte {
	var t [256]byte
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return &t
}

// nginxBase64Decode decodes src as nginx's ngx_decode_base64 and
// ngx_decode_base64url do (ngx.decode_base64, ngx.base64.decode_base64url):
// the input ends at the first "=", every byte before it must be in the
// alphabet, and a length of 1 modulo 4 is an error; unused trailing bits are
// ignored. The result is appended to dst; ok is false for invalid input.
func nginxBase64Decode[S ~string | ~[]byte](dst []byte, src S, table *[256]byte) ([]byte, bool) {
	n := len(src)
	for i := 0; i < len(src); i++ {
		if src[i] == '=' {
			n = i
			break
		}
		if table[src[i]] == 0xff {
			return dst, false
		}
	}
	if n%4 == 1 {
		return dst, false
	}
	i := 0
	for ; i+4 <= n; i += 4 {
		a, b, c, d := table[src[i]], table[src[i+1]], table[src[i+2]], table[src[i+3]]
		dst = append(dst, a<<2|b>>4, b<<4|c>>2, c<<6|d)
	}
	switch n - i {
	case 2:
		a, b := table[src[i]], table[src[i+1]]
		dst = append(dst, a<<2|b>>4)
	case 3:
		a, b, c := table[src[i]], table[src[i+1]], table[src[i+2]]
		dst = append(dst, a<<2|b>>4, b<<4|c>>2)
	}
	return dst, true
}

// keyCache holds what verifying a credential needs (a keyed HMAC, a parsed
// public key), built once per credential and algorithm instead of on every
// request. It is bounded: a full shard drops an entry to make room. An
// entry remembers the key material it was built from, so a credential
// whose secret changed is rebuilt. Safe for concurrent use; a lookup takes
// one shard's read lock.
type keyCache struct {
	seed   maphash.Seed
	shards [keyCacheShards]keyShard
}

const (
	keyCacheShards   = 16
	keyCachePerShard = 64
)

type keyShard struct {
	mu sync.RWMutex
	m  map[keyCacheKey]*credentialKey
}

type keyCacheKey struct{ id, alg string }

// credentialKey is one credential's verification material.
type credentialKey struct {
	material string // the stored secret or PEM it was built from
	macs     *sync.Pool
	public   any // a parsed public key (jwt's asymmetric algorithms)
	err      error
	// invalid marks material that cannot be a key (a secret that is not
	// base64 when it should be).
	invalid bool
}

func newKeyCache() *keyCache { return &keyCache{seed: maphash.MakeSeed()} }

// get returns the entry for (id, alg) built from material, building it
// with build when there is none or it was built from other material.
func (c *keyCache) get(id, alg, material string, build func() *credentialKey) *credentialKey {
	sh := &c.shards[maphash.String(c.seed, id)%keyCacheShards]
	k := keyCacheKey{id, alg}
	sh.mu.RLock()
	e := sh.m[k]
	sh.mu.RUnlock()
	if e != nil && e.material == material {
		return e
	}
	e = build()
	e.material = material
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = make(map[keyCacheKey]*credentialKey, keyCachePerShard)
	}
	if _, ok := sh.m[k]; !ok && len(sh.m) >= keyCachePerShard {
		for old := range sh.m {
			delete(sh.m, old)
			break
		}
	}
	sh.m[k] = e
	sh.mu.Unlock()
	return e
}

// macKey is a cache entry of pooled HMACs keyed with key.
func macKey(newHash func() hash.Hash, key []byte) *credentialKey {
	key = append([]byte(nil), key...)
	return &credentialKey{macs: &sync.Pool{New: func() any { return hmac.New(newHash, key) }}}
}
