package handler

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Kong's X-Kong-Signature is HMAC-SHA1; receivers verify exactly that.
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
)

// The headers a signed webhook carries: Kong's, and the three of Standard
// Webhooks (https://www.standardwebhooks.com), which receivers can verify
// with any of that project's libraries.
const (
	HeaderKongSignature     = "X-Kong-Signature"
	HeaderWebhookID         = "Webhook-Id"
	HeaderWebhookTimestamp  = "Webhook-Timestamp"
	HeaderWebhookSignature  = "Webhook-Signature"
	standardSecretPrefix    = "whsec_"
	standardSignatureFormat = "v1"
)

// errBadSecret is what SigningKey reports for a "whsec_" secret that is not
// base64. It never includes the secret.
var errBadSecret = errors.New("config.secret: the part after \"whsec_\" is not valid base64")

// SigningKey returns the HMAC key for a hook's secret: the secret's bytes,
// except for a secret of the form "whsec_<base64>", whose base64 part is
// decoded.
//
// The prefix rule is Standard Webhooks': its libraries take a "whsec_"
// secret and sign with the decoded bytes, so a receiver configured with the
// same string verifies what we send without re-encoding anything. Kong's
// own secrets are free text and nobody writes one starting with "whsec_",
// so the rule changes nothing for Kong users; it applies to BOTH signatures
// (X-Kong-Signature too) so that one secret means one key. The error never
// contains the secret.
func SigningKey(secret string) ([]byte, error) {
	enc, ok := strings.CutPrefix(secret, standardSecretPrefix)
	if !ok {
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		// Some tools print the key without padding.
		if key, err = base64.RawStdEncoding.DecodeString(enc); err != nil {
			return nil, errBadSecret
		}
	}
	if len(key) == 0 {
		return nil, errBadSecret
	}
	return key, nil
}

// KongSignature returns Kong's X-Kong-Signature value for body:
// "sha1=" and the lowercase hex HMAC-SHA1 of body under key.
func KongSignature(key, body []byte) string {
	m := hmac.New(sha1.New, key)
	m.Write(body)
	var sum [sha1.Size]byte
	var out [len("sha1=") + 2*sha1.Size]byte
	copy(out[:], "sha1=")
	hex.Encode(out[len("sha1="):], m.Sum(sum[:0]))
	return string(out[:])
}

// StandardSignature returns the Standard Webhooks webhook-signature value
// for one attempt: "v1," and the base64 (standard alphabet, padded)
// HMAC-SHA256 under key of id + "." + ts + "." + body, where ts is the
// webhook-timestamp (Unix seconds).
func StandardSignature(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	var tsBuf [20]byte
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(tsBuf[:0], ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	var sum [sha256.Size]byte
	var out [len(standardSignatureFormat) + 1 + 44]byte // base64 of 32 bytes is 44
	n := copy(out[:], standardSignatureFormat+",")
	base64.StdEncoding.Encode(out[n:], m.Sum(sum[:0]))
	return string(out[:])
}
