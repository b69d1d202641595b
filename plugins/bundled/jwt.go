package bundled

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"

	jwtlib "github.com/golang-jwt/jwt/v5"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/schema/entities"
)

// jwt is Kong's jwt (kong/plugins/jwt/schema.lua).
func jwt() plugins.Info {
	return runs(newJWT, info("jwt", 1450, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		config(
			&schema.Field{Name: "uri_param_names", Type: schema.Set, Elements: &schema.Field{Type: schema.String}, Default: schema.Strings("jwt")},
			&schema.Field{Name: "cookie_names", Type: schema.Set, Elements: &schema.Field{Type: schema.String}, Default: []any{}},
			&schema.Field{Name: "key_claim_name", Type: schema.String, Default: "iss"},
			&schema.Field{Name: "secret_is_base64", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "claims_to_verify", Type: schema.Set, Elements: &schema.Field{Type: schema.String, OneOf: schema.Strings("exp", "nbf")}},
			&schema.Field{Name: "anonymous", Type: schema.String},
			&schema.Field{Name: "run_on_preflight", Type: schema.Boolean, Required: true, Default: true},
			// Maximum token lifetime in seconds (0: unlimited, at most 365 days).
			&schema.Field{Name: "maximum_expiration", Type: schema.Number, Default: float64(0), Between: schema.Range(0, 31536000)},
			&schema.Field{Name: "header_names", Type: schema.Set, Elements: &schema.Field{Type: schema.String}, Default: schema.Strings("authorization")},
			&schema.Field{Name: "realm", Type: schema.String},
		),
	},
		// A maximum lifetime needs the exp claim verified.
		schema.Check{Conditional: &schema.Conditional{
			IfField:   "config.maximum_expiration",
			IfMatch:   &schema.Field{Gt: schema.Float(0)},
			ThenField: "config.claims_to_verify",
			ThenMatch: &schema.Field{Contains: "exp"},
		}},
	))
}

// Kong's jwt answers (kong/plugins/jwt/handler.lua, jwt_parser.lua).
const (
	msgJWTUnauthorized   = "Unauthorized"
	msgJWTMultiple       = "Multiple tokens provided"
	msgJWTUnrecognizable = "Unrecognizable token"
	msgJWTBadToken       = "Bad token; "
	msgJWTNoKeyClaim     = "No mandatory '%s' in claims"
	msgJWTInvalidKey     = "Invalid '%s' in claims"
	msgJWTNoCredentials  = "No credentials found for given '%s'"
	msgJWTInvalidAlg     = "Invalid algorithm"
	msgJWTInvalidSecret  = "Invalid key/secret"
	msgJWTInvalidSig     = "Invalid signature"
	msgJWTNoConsumer     = "Could not find consumer for '%s=%s'"
	msgJWTMustBeNumber   = "must be a number"
	msgJWTExpired        = "token expired"
	msgJWTNotYetValid    = "token not valid yet"
	msgJWTMaxExpiration  = "exceeds maximum allowed expiration"

	// jwtTokenKey is where the authenticated token goes in
	// Context.Shared (kong.ctx.shared.authenticated_jwt_token).
	jwtTokenKey = "authenticated_jwt_token"
	// jwtMaxQueryArgs is how many query arguments Kong reads
	// (ngx.req.get_uri_args' default).
	jwtMaxQueryArgs = 100
)

// jwtAuth authenticates requests that carry a JSON Web Token signed with a
// consumer's jwt_secrets credential (kong/plugins/jwt/handler.lua, as in
// Kong 3.9).
type jwtAuth struct {
	uriParams, cookies, headers []string
	keyClaim                    string
	secretIsBase64              bool
	claimsToVerify              []string
	anonymous                   string
	runOnPreflight              bool
	maxExpiration               float64

	// The answers, built once: a body with its headers, WWW-Authenticate
	// with the realm, and error="invalid_token" once there is a token.
	unauthorized, multiple, unrecognizable     *jwtFailure
	badJSON, badAlg, badClaims, badSig         *jwtFailure
	noKeyClaim, invalidKeyClaim, noCredentials *jwtFailure
	invalidAlg, invalidSecret, invalidSig      *jwtFailure
	maxExpired                                 *jwtFailure
	badToken                                   map[string]string
	cookieNames                                [][]byte

	keys    *keyCache
	scratch sync.Pool
}

// jwtScratch is one request's working memory, pooled.
type jwtScratch struct {
	tokens [][]byte
	buf    jwtBuffers
	mac    []byte
	name   []byte
}

func newJWT(conf map[string]any) (plugins.Handler, error) {
	j := &jwtAuth{
		uriParams:      row.Strings(conf["uri_param_names"]),
		cookies:        row.Strings(conf["cookie_names"]),
		keyClaim:       row.StringOr(conf, "key_claim_name", "iss"),
		secretIsBase64: row.Bool(conf, "secret_is_base64", false),
		claimsToVerify: row.Strings(conf["claims_to_verify"]),
		anonymous:      row.String(conf, "anonymous"),
		runOnPreflight: row.Bool(conf, "run_on_preflight", true),
		maxExpiration:  row.Number(conf["maximum_expiration"], 0),
		keys:           newKeyCache(),
	}
	if _, ok := conf["uri_param_names"]; !ok {
		j.uriParams = []string{"jwt"}
	}
	headers := row.Strings(conf["header_names"])
	if _, ok := conf["header_names"]; !ok {
		headers = []string{"authorization"}
	}
	for _, h := range headers {
		// kong.request.get_headers() answers "x_token" for "x-token".
		j.headers = append(j.headers, strings.ReplaceAll(h, "_", "-"))
	}
	for _, c := range j.claimsToVerify {
		if c != "exp" && c != "nbf" {
			return nil, fmt.Errorf("config.claims_to_verify: unknown claim %q", c)
		}
	}
	for _, name := range j.cookies {
		j.cookieNames = append(j.cookieNames, []byte(name))
	}
	// Kong 3.9 writes the realm and the error without a comma between.
	base := "Bearer"
	if realm, ok := conf["realm"].(string); ok {
		base = `Bearer realm="` + realm + `"`
	}
	noToken := map[string]string{"WWW-Authenticate": base, "Content-Type": jsonContentType}
	j.badToken = map[string]string{"WWW-Authenticate": base + ` error="invalid_token"`, "Content-Type": jsonContentType}
	j.unauthorized = &jwtFailure{body: jsonBody(map[string]string{"message": msgJWTUnauthorized}), headers: noToken}
	for dst, msg := range map[**jwtFailure]string{
		&j.multiple: msgJWTMultiple, &j.unrecognizable: msgJWTUnrecognizable,
		&j.badJSON: msgJWTBadToken + jwtBadJSON, &j.badAlg: msgJWTBadToken + jwtBadAlg,
		&j.badClaims: msgJWTBadToken + jwtBadClaims, &j.badSig: msgJWTBadToken + jwtBadSignature,
		&j.noKeyClaim: fmt.Sprintf(msgJWTNoKeyClaim, j.keyClaim), &j.invalidKeyClaim: fmt.Sprintf(msgJWTInvalidKey, j.keyClaim),
		&j.noCredentials: fmt.Sprintf(msgJWTNoCredentials, j.keyClaim),
		&j.invalidAlg:    msgJWTInvalidAlg, &j.invalidSecret: msgJWTInvalidSecret, &j.invalidSig: msgJWTInvalidSig,
	} {
		*dst = &jwtFailure{body: jsonBody(map[string]string{"message": msg}), headers: j.badToken}
	}
	j.maxExpired = &jwtFailure{body: jsonBody(map[string]string{"exp": msgJWTMaxExpiration}), headers: j.badToken}
	j.scratch.New = func() any { return &jwtScratch{} }
	return j, nil
}

const jsonContentType = "application/json; charset=utf-8"

// jsonBody encodes an answer body as Kong's cjson does (no HTML escaping).
func jsonBody(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'})
}

// jwtFailure is why a request did not authenticate: a body and its
// headers (the 401 Kong answers when there is no anonymous consumer).
type jwtFailure struct {
	body    []byte
	headers map[string]string
}

func (j *jwtAuth) Access(c *plugins.Context) error {
	if !j.runOnPreflight && string(c.Request.Header.Method()) == "OPTIONS" {
		return nil
	}
	if j.anonymous == "" {
		// Logical AND: this plugin must authenticate the request.
		fail, err := j.authenticate(c)
		if err == nil && fail != nil {
			c.Exit(401, fail.body, fail.headers)
		}
		return err
	}
	// Logical OR: a credential another plugin accepted is enough, and a
	// failure makes the request the anonymous consumer's.
	if c.Credential != nil {
		return nil
	}
	fail, err := j.authenticate(c)
	if err != nil || fail == nil {
		return err
	}
	delete(c.Shared, jwtTokenKey)
	return authenticateAnonymous(c, j.anonymous)
}

// authenticate is Kong's do_authentication: nil, nil when the request
// carries a valid token of a known consumer (who is then authenticated),
// a failure when not, an error when the credentials cannot be read.
func (j *jwtAuth) authenticate(c *plugins.Context) (*jwtFailure, error) {
	s := j.scratch.Get().(*jwtScratch)
	defer func() {
		clear(s.tokens) // they point into the request
		j.scratch.Put(s)
	}()
	tok, fail := j.token(c, s)
	if fail != nil {
		return fail, nil
	}
	t, reason := parseJWT(tok, &s.buf)
	switch reason {
	case jwtBadJSON:
		return j.badJSON, nil
	case jwtBadAlg:
		return j.badAlg, nil
	case jwtBadClaims:
		return j.badClaims, nil
	case jwtBadSignature:
		return j.badSig, nil
	}

	// The key naming the secret: a claim, else a header field.
	key, found := jsonMember(t.claims, j.keyClaim)
	if !found || isJSONFalse(key) {
		key, found = jsonMember(t.header, j.keyClaim)
	}
	if !found || isJSONFalse(key) {
		return j.noKeyClaim, nil
	}
	if key[0] != '"' {
		// Kong fails on a key that is not a string; no credential has it.
		return j.noCredentials, nil
	}
	keyBytes := jsonStringBytes(key)
	if len(keyBytes) == 0 {
		return j.invalidKeyClaim, nil
	}
	if c.Data == nil {
		return nil, errNoData
	}
	cred, err := c.Data.Lookup("jwt_secrets", "key", view(keyBytes), c.Workspace())
	if err != nil {
		return nil, fmt.Errorf("loading the jwt credential: %w", err)
	}
	if cred == nil {
		return j.noCredentials, nil
	}
	alg, _ := cred["algorithm"].(string)
	if alg == "" {
		alg = "HS256"
	}
	if t.alg != alg {
		return j.invalidAlg, nil
	}
	ok, fail, err := j.verify(s, &t, cred, alg)
	if err != nil || fail != nil {
		return fail, err
	}
	if !ok {
		return j.invalidSig, nil
	}
	if fail := j.verifyClaims(&t); fail != nil {
		return fail, nil
	}

	consumer, err := credentialConsumer(c, cred)
	if err != nil {
		return nil, fmt.Errorf("loading the jwt credential's consumer: %w", err)
	}
	if consumer == nil {
		return &jwtFailure{body: jsonBody(map[string]string{"message": fmt.Sprintf(msgJWTNoConsumer, j.keyClaim, keyBytes)}),
			headers: map[string]string{"Content-Type": jsonContentType}}, nil
	}
	c.Authenticate(consumer, cred)
	// Kong identifies a jwt credential by its key.
	if k, _ := cred["key"].(string); k != "" {
		c.Request.Header.Set(plugins.HeaderCredentialIdentifier, k)
	} else {
		c.Request.Header.Del(plugins.HeaderCredentialIdentifier)
	}
	c.Shared[jwtTokenKey] = string(tok)
	return nil, nil
}

func isJSONFalse(raw []byte) bool { return string(raw) == "false" }

// token finds the one token of the request (Kong's retrieve_tokens): in
// the query arguments, the cookies, then the headers ("Bearer <token>").
// Several different tokens, or none, fail.
func (j *jwtAuth) token(c *plugins.Context, s *jwtScratch) ([]byte, *jwtFailure) {
	s.tokens = s.tokens[:0]
	// A query argument without a value is Lua's true, not a token.
	boolean := false
	if len(j.uriParams) > 0 {
		if _, query, ok := bytes.Cut(c.Request.Header.RequestURI(), []byte{'?'}); ok {
			boolean = j.queryTokens(query, s)
		}
	}
	for _, name := range j.cookieNames {
		for k, v := range c.Request.Header.Cookies() {
			if bytes.EqualFold(k, name) {
				s.add(v)
				break
			}
		}
	}
	for _, name := range j.headers {
		if v := c.Request.Header.Peek(name); len(v) > 0 {
			s.add(bearerToken(v))
		}
	}
	n := len(s.tokens)
	if boolean {
		n++
	}
	switch {
	case n == 0:
		return nil, j.unauthorized
	case n > 1:
		return nil, j.multiple
	case boolean:
		return nil, j.unrecognizable
	}
	return s.tokens[0], nil
}

// add keeps a token unless it is empty or already found.
func (s *jwtScratch) add(t []byte) {
	if len(t) == 0 {
		return
	}
	for _, have := range s.tokens {
		if bytes.Equal(have, t) {
			return
		}
	}
	s.tokens = append(s.tokens, t)
}

// queryTokens adds the values of the configured query arguments, read as
// ngx.req.get_uri_args does (the first 100 arguments, "+" and %XX
// decoded); it reports whether one of them had no value.
func (j *jwtAuth) queryTokens(query []byte, s *jwtScratch) (boolean bool) {
	for i := 0; len(query) > 0 && i < jwtMaxQueryArgs; i++ {
		var arg []byte
		arg, query, _ = bytes.Cut(query, []byte{'&'})
		if len(arg) == 0 {
			continue
		}
		k, v, hasValue := bytes.Cut(arg, []byte{'='})
		s.name = queryUnescape(s.name[:0], k)
		for _, name := range j.uriParams {
			if string(s.name) != name {
				continue
			}
			if !hasValue {
				boolean = true
			} else if bytes.IndexByte(v, '%') < 0 && bytes.IndexByte(v, '+') < 0 {
				s.add(v)
			} else {
				// A decoded value needs memory of its own: tokens
				// found earlier point into the request.
				s.add(queryUnescape(nil, v))
			}
			break
		}
	}
	return boolean
}

// queryUnescape decodes a query component as nginx does: "+" is a space,
// %XX a byte, and a "%" not followed by two hex digits stays as it is.
func queryUnescape(dst, src []byte) []byte {
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case c == '+':
			dst = append(dst, ' ')
		case c == '%' && i+2 < len(src) && isHex(src[i+1]) && isHex(src[i+2]):
			dst = append(dst, unhex(src[i+1])<<4|unhex(src[i+2]))
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// bearerToken is the first match of Kong's `\s*[Bb]earer\s+(.+)` in a
// header value (anywhere in it, as ngx.re.gmatch finds it): what follows
// the whitespace after "Bearer", up to the end of the line; nil when
// nothing matches.
func bearerToken(v []byte) []byte {
	for i := 0; i+6 <= len(v); i++ {
		if (v[i] != 'B' && v[i] != 'b') || string(v[i+1:i+6]) != "earer" {
			continue
		}
		start := i + 6
		end := start
		for end < len(v) && isRegexSpace(v[end]) {
			end++
		}
		if end == start {
			continue
		}
		// \s+ is greedy; (.+) needs one character that is not a line
		// feed, given back by \s+ when the whitespace runs to the end.
		for p := end; p > start; p-- {
			if p < len(v) && v[p] != '\n' {
				line := v[p:]
				if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
					line = line[:nl]
				}
				return line
			}
		}
	}
	return nil
}

// isRegexSpace is \s of Kong's patterns (PCRE): space, \t, \n, \f, \r
// (and \v, which Go's regexp leaves out; so do we).
func isRegexSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// verify checks the token's signature with the credential's secret or
// public key: ok reports a good signature; a failure is a credential
// without usable key material; an error is a stored key that cannot be
// parsed (Kong fails the request too).
func (j *jwtAuth) verify(s *jwtScratch, t *jwtToken, cred map[string]any, alg string) (ok bool, fail *jwtFailure, err error) {
	id, _ := cred["id"].(string)
	if newHash := jwtHMACHash(alg); newHash != nil {
		secret, isString := cred["secret"].(string)
		if !isString {
			return false, j.invalidSecret, nil
		}
		e := j.keys.get(id, alg, secret, func() *credentialKey {
			key := []byte(secret)
			if j.secretIsBase64 {
				// Kong decodes the secret as base64url, with nginx's
				// leniency.
				var decoded bool
				if key, decoded = nginxBase64Decode(nil, secret, b64URL); !decoded {
					return &credentialKey{invalid: true}
				}
			}
			return macKey(newHash, key)
		})
		if e.invalid {
			return false, j.invalidSecret, nil
		}
		h := e.macs.Get().(hash.Hash)
		h.Reset()
		h.Write(t.signingInput)
		s.mac = h.Sum(s.mac[:0])
		e.macs.Put(h)
		return hmac.Equal(s.mac, t.sig), nil, nil
	}
	pemKey, isString := cred["rsa_public_key"].(string)
	if !isString {
		return false, j.invalidSecret, nil
	}
	e := j.keys.get(id, alg, pemKey, func() *credentialKey {
		// What the credential's schema accepts: a public key, a
		// certificate's, or the public half of a private key.
		pub := entities.ParsePEMKey(pemKey)
		if pub == nil {
			return &credentialKey{err: errors.New("rsa_public_key is not a PEM key")}
		}
		return &credentialKey{public: pub}
	})
	if e.err != nil {
		return false, nil, fmt.Errorf("jwt credential %s: %w", id, e.err)
	}
	method := jwtlib.GetSigningMethod(alg)
	if method == nil {
		return false, nil, nil
	}
	return method.Verify(string(t.signingInput), t.sig, e.public) == nil, nil, nil
}

// jwtHMACHash is the hash of an HS algorithm, nil for the others.
func jwtHMACHash(alg string) func() hash.Hash {
	switch alg {
	case "HS256":
		return sha256.New
	case "HS384":
		return sha512.New384
	case "HS512":
		return sha512.New
	}
	return nil
}

// verifyClaims checks the configured registered claims and the maximum
// lifetime (jwt_parser.lua verify_registered_claims,
// check_maximum_expiration) against the current second.
func (j *jwtAuth) verifyClaims(t *jwtToken) *jwtFailure {
	if len(j.claimsToVerify) == 0 && j.maxExpiration <= 0 {
		return nil
	}
	now := float64(time.Now().Unix())
	var errs map[string]string
	for _, name := range j.claimsToVerify {
		raw, _ := jsonMember(t.claims, name)
		v, isNumber := jsonNumber(raw)
		msg := ""
		switch {
		case !isNumber:
			msg = msgJWTMustBeNumber
		case name == "exp" && v <= now:
			msg = msgJWTExpired
		case name == "nbf" && v > now:
			msg = msgJWTNotYetValid
		}
		if msg != "" {
			if errs == nil {
				errs = map[string]string{}
			}
			errs[name] = msg
		}
	}
	if errs != nil {
		return &jwtFailure{body: jsonBody(errs), headers: j.badToken}
	}
	if j.maxExpiration > 0 {
		raw, _ := jsonMember(t.claims, "exp")
		if exp, isNumber := jsonNumber(raw); !isNumber || exp-now > j.maxExpiration {
			return j.maxExpired
		}
	}
	return nil
}

var _ plugins.Accessor = (*jwtAuth)(nil)
