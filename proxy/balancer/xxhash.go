package balancer

// xxHash32 with seed 0 (https://github.com/Cyan4973/xxHash, XXH32), the
// hash Kong's consistent-hashing uses (luaxxhash), so that a key lands on
// the same point of the continuum as in Kong. Generic over string and
// []byte so that neither needs converting on the request path.

const (
	xxPrime1 uint32 = 2654435761
	xxPrime2 uint32 = 2246822519
	xxPrime3 uint32 = 3266489917
	xxPrime4 uint32 = 668265263
	xxPrime5 uint32 = 374761393
)

func rotl32(x uint32, r uint) uint32 { return x<<r | x>>(32-r) }

func xxRound(acc, in uint32) uint32 { return rotl32(acc+in*xxPrime2, 13) * xxPrime1 }

func le32[T string | []byte](b T, i int) uint32 {
	return uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24
}

func xxh32[T string | []byte](b T) uint32 {
	n, i := len(b), 0
	var h uint32
	if n >= 16 {
		p1, p2 := xxPrime1, xxPrime2 // variables: the seed arithmetic wraps
		v1, v2, v3, v4 := p1+p2, p2, uint32(0), -p1
		for ; i+16 <= n; i += 16 {
			v1 = xxRound(v1, le32(b, i))
			v2 = xxRound(v2, le32(b, i+4))
			v3 = xxRound(v3, le32(b, i+8))
			v4 = xxRound(v4, le32(b, i+12))
		}
		h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18)
	} else {
		h = xxPrime5
	}
	h += uint32(n)
	for ; i+4 <= n; i += 4 {
		h = rotl32(h+le32(b, i)*xxPrime3, 17) * xxPrime4
	}
	for ; i < n; i++ {
		h = rotl32(h+uint32(b[i])*xxPrime5, 11) * xxPrime1
	}
	h ^= h >> 15
	h *= xxPrime2
	h ^= h >> 13
	h *= xxPrime3
	h ^= h >> 16
	return h
}
