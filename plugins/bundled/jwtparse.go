package bundled

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// The reasons Kong's parser gives for a token it cannot read; the answer
// is "Bad token; " and the reason (kong/plugins/jwt/jwt_parser.lua).
const (
	jwtBadJSON      = "invalid JSON"
	jwtBadAlg       = "invalid alg"
	jwtBadClaims    = "invalid claims"
	jwtBadSignature = "invalid signature"
)

// jwtAlgorithm is the algorithm name of a token's header when Kong can
// verify it (jwt_parser.lua alg_verify), as a constant string.
func jwtAlgorithm(b []byte) (string, bool) {
	switch string(b) {
	case "HS256":
		return "HS256", true
	case "HS384":
		return "HS384", true
	case "HS512":
		return "HS512", true
	case "RS256":
		return "RS256", true
	case "RS384":
		return "RS384", true
	case "RS512":
		return "RS512", true
	case "ES256":
		return "ES256", true
	case "ES384":
		return "ES384", true
	case "ES512":
		return "ES512", true
	case "PS256":
		return "PS256", true
	case "PS384":
		return "PS384", true
	case "PS512":
		return "PS512", true
	case "EdDSA":
		return "EdDSA", true
	}
	return "", false
}

// jwtToken is a parsed token; its slices point into the token and into the
// scratch buffers it was decoded with.
type jwtToken struct {
	// signingInput is header "." claims, as sent.
	signingInput []byte
	// header and claims are the decoded JSON documents (valid JSON).
	header, claims []byte
	sig            []byte
	alg            string
}

// jwtBuffers are the decoding buffers of one request, reused.
type jwtBuffers struct {
	header, claims, sig []byte
}

// parseJWT splits and decodes a token as Kong's decode_token does: the
// header and claims must be base64url-encoded JSON, the header must name an
// algorithm Kong knows, the claims must not be false or null, and the
// signature must decode. reason is Kong's word for what is wrong, "" when
// nothing is.
func parseJWT(tok []byte, buf *jwtBuffers) (t jwtToken, reason string) {
	// Kong splits on the first two dots: anything after the second is
	// part of the signature (and fails to decode).
	h64, rest, ok := bytes.Cut(tok, []byte{'.'})
	if !ok {
		return t, jwtBadJSON
	}
	c64, s64, ok := bytes.Cut(rest, []byte{'.'})
	if !ok {
		return t, jwtBadJSON
	}
	t.signingInput = tok[:len(h64)+1+len(c64)]
	if buf.header, ok = nginxBase64Decode(buf.header[:0], h64, b64URL); !ok || !json.Valid(buf.header) {
		return t, jwtBadJSON
	}
	if buf.claims, ok = nginxBase64Decode(buf.claims[:0], c64, b64URL); !ok || !json.Valid(buf.claims) {
		return t, jwtBadJSON
	}
	t.header, t.claims = buf.header, buf.claims
	var sigOK bool
	buf.sig, sigOK = nginxBase64Decode(buf.sig[:0], s64, b64URL)
	t.sig = buf.sig
	alg, found := jsonMember(t.header, "alg")
	if !found || alg[0] != '"' {
		return t, jwtBadAlg
	}
	if t.alg, ok = jwtAlgorithm(jsonStringBytes(alg)); !ok {
		return t, jwtBadAlg
	}
	if first := jsonFirst(t.claims); first == 'f' || first == 'n' {
		return t, jwtBadClaims
	}
	if !sigOK {
		return t, jwtBadSignature
	}
	return t, ""
}

// The JSON helpers below read documents already known to be valid
// (json.Valid), without decoding them whole.

// jsonFirst is the first byte of a valid document's value.
func jsonFirst(doc []byte) byte {
	i := jsonSkipSpace(doc, 0)
	if i < len(doc) {
		return doc[i]
	}
	return 0
}

func jsonSkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// jsonStringEnd is the index after the string starting at b[i] ('"').
func jsonStringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// jsonValueEnd is the index after the value starting at b[i].
func jsonValueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return jsonStringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = jsonStringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}

// jsonMember is the raw value of the member called name of a valid
// document's top-level object (the last one when the name repeats, as
// cjson keeps it); found is false when there is none or the document is
// not an object.
func jsonMember(doc []byte, name string) (value []byte, found bool) {
	i := jsonSkipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = jsonSkipSpace(doc, i)
		if i >= len(doc) || doc[i] != '"' {
			return value, found
		}
		kEnd := jsonStringEnd(doc, i)
		key := doc[i:kEnd]
		i = jsonSkipSpace(doc, kEnd)
		i = jsonSkipSpace(doc, i+1) // the colon
		vEnd := jsonValueEnd(doc, i)
		if jsonStringEquals(key, name) {
			value, found = doc[i:vEnd], true
		}
		i = jsonSkipSpace(doc, vEnd)
		if i >= len(doc) || doc[i] != ',' {
			return value, found
		}
		i++
	}
}

// jsonStringBytes is the content of a raw JSON string: a slice of it when
// it has no escapes, else a decoded copy.
func jsonStringBytes(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1]
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil
	}
	return []byte(s)
}

func jsonStringEquals(raw []byte, s string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return len(raw) == len(s)+2 && string(raw[1:len(raw)-1]) == s
	}
	return string(jsonStringBytes(raw)) == s
}

// jsonNumber is a raw JSON value as a number; ok is false for anything
// else (cjson decodes numbers as doubles).
func jsonNumber(raw []byte) (float64, bool) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil || isRangeErr(err)
}

// isRangeErr: a number too large for a double is still a number (cjson
// makes it infinite, as ParseFloat does).
func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
