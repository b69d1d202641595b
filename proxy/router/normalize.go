package router

import "bytes"

// reserved marks RFC 3986 reserved characters plus "%", which Kong's path
// normalisation keeps percent-encoded (uppercased); every other escape is
// decoded. Kong: kong/tools/uri.lua RESERVED_CHARS.
var reserved = func() (t [256]bool) {
	for _, c := range []byte("!*'();:@&=+$,/?%#[]") {
		t[c] = true
	}
	return t
}()

// Normalize applies Kong's path normalisation (kong/tools/uri.lua normalize
// with merge_slashes, as the router calls it) to path and appends the result
// to dst: escapes of unreserved and other characters are decoded, those of
// reserved characters are uppercased ("%2f" becomes "%2F" and stays inside
// its segment), dot segments are removed and "//" are merged.
//
// ok is false for what nginx refuses with 400 before Kong sees the request
// (ngx_http_parse_complex_uri): a malformed escape, an encoded NUL, a ".."
// climbing above the root (counted, as nginx does, with "%2F" as a
// separator), and a path not starting with "/". An empty path is "/".
func Normalize(dst, path []byte) (out []byte, ok bool) {
	if len(path) == 0 {
		return append(dst, '/'), true
	}
	if path[0] != '/' {
		return dst, false
	}
	if isNormal(path) {
		return append(dst, path...), true
	}
	start := len(dst)
	dst, ok = appendDecoded(dst, path)
	if !ok {
		return dst[:start], false
	}
	seg := dst[start:]
	// nginx splits segments at "%2F" too, Kong does not: with an encoded
	// slash, nginx's walk decides validity and ours stops at the root.
	encodedSlash := bytes.Contains(seg, []byte("%2F"))
	if encodedSlash && climbsAboveRoot(seg) {
		return dst[:start], false
	}
	n, ok := removeDotSegments(seg, encodedSlash)
	if !ok {
		return dst[:start], false
	}
	return dst[:start+n], true
}

// isNormal reports whether path has nothing to normalise: no escape, no
// "//" and no segment starting with a dot (the common case, checked in one
// pass).
func isNormal(path []byte) bool {
	for i := 1; i < len(path); i++ {
		switch path[i] {
		case '%':
			return false
		case '/', '.':
			if path[i-1] == '/' {
				return false
			}
		}
	}
	return true
}

// appendDecoded appends path with Kong's percent-decoding.
func appendDecoded(dst, path []byte) ([]byte, bool) {
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c != '%' {
			dst = append(dst, c)
			continue
		}
		if i+2 >= len(path) {
			return dst, false
		}
		hi, ok1 := unhex(path[i+1])
		lo, ok2 := unhex(path[i+2])
		if !ok1 || !ok2 {
			return dst, false
		}
		v := hi<<4 | lo
		switch {
		case v == 0:
			return dst, false
		case reserved[v]:
			dst = append(dst, '%', upperHex[hi], upperHex[lo])
		default:
			dst = append(dst, v)
		}
		i += 2
	}
	return dst, true
}

const upperHex = "0123456789ABCDEF"

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// removeDotSegments rewrites p (which starts with "/") in place and returns
// the new length. "." and ".." segments go (RFC 3986 section 5.2.4), a final
// one leaving a trailing "/", and empty segments merge. A ".." with nothing
// left to remove stops at the root when clamp is set (Kong's own function
// always does); otherwise ok is false, where nginx answers 400.
func removeDotSegments(p []byte, clamp bool) (n int, ok bool) {
	w := 0 // p[:w] is the output so far
	for r := 0; r < len(p); {
		end := bytes.IndexByte(p[r+1:], '/')
		if end < 0 {
			end = len(p)
		} else {
			end += r + 1
		}
		seg, last := p[r+1:end], end == len(p)
		switch {
		case len(seg) == 0 || string(seg) == ".":
			if last {
				p[w] = '/'
				w++
			}
		case string(seg) == "..":
			if w == 0 && !clamp {
				return 0, false
			}
			w = bytes.LastIndexByte(p[:w], '/')
			if w < 0 {
				w = 0
			}
			if last {
				p[w] = '/'
				w++
			}
		default:
			p[w] = '/'
			w++
			w += copy(p[w:], seg)
		}
		r = end
	}
	return w, true
}

// climbsAboveRoot replays nginx's dot-segment walk on a decoded path, where
// "%2F" is a separator as well.
func climbsAboveRoot(p []byte) bool {
	depth := 0
	for len(p) > 0 {
		var seg []byte
		i := bytes.IndexByte(p, '/')
		j := bytes.Index(p, []byte("%2F"))
		switch {
		case i < 0 && j < 0:
			seg, p = p, nil
		case j < 0 || (i >= 0 && i < j):
			seg, p = p[:i], p[i+1:]
		default:
			seg, p = p[:j], p[j+3:]
		}
		switch string(seg) {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}
