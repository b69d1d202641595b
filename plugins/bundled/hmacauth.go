package bundled

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"math"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// hmacAlgorithms are the digests hmac-auth accepts, all enabled by default
// (Kong OSS has no FIPS mode, which would drop hmac-sha1).
var hmacAlgorithms = []string{"hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"}

// hmacAuth is Kong's hmac-auth (kong/plugins/hmac-auth/schema.lua).
func hmacAuth() plugins.Info {
	return runs(newHMACAuth, info("hmac-auth", 1030, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		config(
			&schema.Field{Name: "hide_credentials", Type: schema.Boolean, Required: true, Default: false},
			// Allowed clock skew in seconds against replay attacks.
			&schema.Field{Name: "clock_skew", Type: schema.Number, Default: float64(300), Gt: schema.Float(0)},
			&schema.Field{Name: "anonymous", Type: schema.String},
			&schema.Field{Name: "validate_request_body", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "enforce_headers", Type: schema.Array, Elements: &schema.Field{Type: schema.String}, Default: []any{}},
			&schema.Field{Name: "algorithms", Type: schema.Array,
				Elements: &schema.Field{Type: schema.String, OneOf: schema.Strings(hmacAlgorithms...)},
				Default:  schema.Strings(hmacAlgorithms...)},
			&schema.Field{Name: "realm", Type: schema.String},
		),
	}))
}

// Kong's hmac-auth answers (kong/plugins/hmac-auth/access.lua).
const (
	msgHMACUnauthorized = "Unauthorized"
	msgHMACNotValid     = "HMAC signature cannot be verified"
	msgHMACNotSame      = "HMAC signature does not match"
	msgHMACNoDate       = "HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication"
)

// hmacHashes are the hashes of hmacAlgorithms, in the same order.
var hmacHashes = []func() hash.Hash{sha1.New, sha256.New, sha512.New384, sha512.New}

// hmacAuthenticator authenticates requests signed with a consumer's
// hmacauth_credentials secret, as the HTTP Signatures draft describes
// (kong/plugins/hmac-auth/access.lua, as in Kong 3.9).
type hmacAuthenticator struct {
	hideCredentials bool
	clockSkew       float64
	anonymous       string
	validateBody    bool
	enforceHeaders  []string
	// algorithms holds the allowed ones, by index in hmacAlgorithms.
	algorithms [4]bool
	// wwwAuthenticate is "hmac", with the realm when there is one.
	wwwAuthenticate string

	keys    *keyCache
	scratch sync.Pool
}

// hmacScratch is one request's working memory, pooled.
type hmacScratch struct {
	auth, name, sig, mac, line []byte
}

func newHMACAuth(conf map[string]any) (plugins.Handler, error) {
	h := &hmacAuthenticator{
		hideCredentials: row.Bool(conf, "hide_credentials", false),
		clockSkew:       row.Number(conf["clock_skew"], 300),
		anonymous:       row.String(conf, "anonymous"),
		validateBody:    row.Bool(conf, "validate_request_body", false),
		enforceHeaders:  row.Strings(conf["enforce_headers"]),
		wwwAuthenticate: "hmac",
		keys:            newKeyCache(),
	}
	algorithms := row.Strings(conf["algorithms"])
	if _, ok := conf["algorithms"]; !ok {
		algorithms = hmacAlgorithms
	}
	for _, a := range algorithms {
		i := hmacAlgorithmIndex([]byte(a))
		if i < 0 {
			return nil, fmt.Errorf("config.algorithms: unknown algorithm %q", a)
		}
		h.algorithms[i] = true
	}
	if realm, ok := conf["realm"].(string); ok {
		h.wwwAuthenticate = `hmac realm="` + realm + `"`
	}
	h.scratch.New = func() any { return &hmacScratch{} }
	return h, nil
}

func hmacAlgorithmIndex(name []byte) int {
	for i, a := range hmacAlgorithms {
		if string(name) == a {
			return i
		}
	}
	return -1
}

func (h *hmacAuthenticator) Access(c *plugins.Context) error {
	if h.anonymous == "" {
		// Logical AND: this plugin must authenticate the request.
		msg, err := h.authenticate(c)
		if err == nil && msg != "" {
			unauthorized(c, msg, h.wwwAuthenticate)
		}
		return err
	}
	// Logical OR: a credential another plugin accepted is enough, and a
	// failure makes the request the anonymous consumer's.
	if c.Credential != nil {
		return nil
	}
	msg, err := h.authenticate(c)
	if err != nil || msg == "" {
		return err
	}
	return authenticateAnonymous(c, h.anonymous)
}

// authenticate is Kong's do_authentication: "" when the request is signed
// by a known credential (whose consumer is then authenticated), else the
// message of the 401; an error when the credentials cannot be read.
func (h *hmacAuthenticator) authenticate(c *plugins.Context) (string, error) {
	hdr := &c.Request.Header
	authorization, proxyAuthorization := hdr.Peek("Authorization"), hdr.Peek("Proxy-Authorization")
	if len(authorization) == 0 && len(proxyAuthorization) == 0 &&
		len(hdr.PeekAll("Authorization")) == 0 && len(hdr.PeekAll("Proxy-Authorization")) == 0 {
		return msgHMACUnauthorized, nil
	}
	now := time.Now().Unix()
	if !h.dateWithinSkew(hdr.Peek("X-Date"), now) && !h.dateWithinSkew(hdr.Peek("Date"), now) {
		return msgHMACNoDate, nil
	}
	s := h.scratch.Get().(*hmacScratch)
	defer h.scratch.Put(s)

	// Proxy-Authorization first, then Authorization; the header used is
	// removed when credentials are hidden (its parameters are then read
	// from a copy: a removed header's memory is reused).
	used, name := proxyAuthorization, "Proxy-Authorization"
	p, ok := parseHMACAuthorization(used)
	if !ok {
		used, name = authorization, "Authorization"
		p, ok = parseHMACAuthorization(used)
	}
	if h.hideCredentials {
		s.auth = append(s.auth[:0], used...)
		p, ok = parseHMACAuthorization(s.auth)
		hdr.Del(name)
	}
	alg := hmacAlgorithmIndex(p.algorithm)
	if !ok || !h.enforcedHeadersSigned(p.headers) || alg < 0 || !h.algorithms[alg] {
		return msgHMACNotValid, nil
	}

	if c.Data == nil {
		return "", errNoData
	}
	cred, err := c.Data.Lookup("hmacauth_credentials", "username", view(p.username), c.Workspace())
	if err != nil {
		return "", fmt.Errorf("loading the hmac-auth credential: %w", err)
	}
	if cred == nil {
		return msgHMACNotValid, nil
	}
	if !h.signatureMatches(c, s, &p, alg, cred) {
		return msgHMACNotSame, nil
	}
	if h.validateBody && !bodyMatchesDigest(c) {
		return msgHMACNotSame, nil
	}

	consumer, err := credentialConsumer(c, cred)
	if err != nil {
		return "", fmt.Errorf("loading the hmac-auth credential's consumer: %w", err)
	}
	c.Authenticate(consumer, cred)
	// Kong identifies an hmac-auth credential by its username.
	if u, _ := cred["username"].(string); u != "" {
		hdr.Set(plugins.HeaderCredentialIdentifier, u)
	} else {
		hdr.Del(plugins.HeaderCredentialIdentifier)
	}
	return "", nil
}

// dateWithinSkew reports whether an HTTP date is within clock_skew seconds
// of now (Kong's validate_clock_skew).
func (h *hmacAuthenticator) dateWithinSkew(date []byte, now int64) bool {
	if len(date) == 0 {
		return false
	}
	t, ok := parseHTTPDate(date)
	return ok && math.Abs(float64(now-t)) <= h.clockSkew
}

// enforcedHeadersSigned reports whether every enforce_headers entry is in
// the signed header list.
func (h *hmacAuthenticator) enforcedHeadersSigned(list []byte) bool {
	for _, want := range h.enforceHeaders {
		found := false
		for l := newHeaderList(list); ; {
			name, more := l.next()
			if !more {
				break
			}
			if string(name) == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// headerList walks a signed header list as Kong 3.9 splits it (Penlight's
// split on " "): every space separates, so two spaces make an empty name
// and a trailing space an empty last name, but " " alone is one empty name.
type headerList struct {
	rest []byte
	done bool
}

func newHeaderList(list []byte) headerList {
	if string(list) == " " {
		list = nil
	}
	return headerList{rest: list}
}

// next is the next name; false when the list is done.
func (l *headerList) next() ([]byte, bool) {
	if l.done {
		return nil, false
	}
	name, rest, found := bytes.Cut(l.rest, []byte{' '})
	l.rest, l.done = rest, !found
	return name, true
}

// signatureMatches computes the request's signature with the credential's
// secret and compares it, in constant time, with the one the client sent
// (base64, decoded as nginx does).
func (h *hmacAuthenticator) signatureMatches(c *plugins.Context, s *hmacScratch, p *hmacParams, alg int, cred map[string]any) bool {
	var ok bool
	if s.sig, ok = nginxBase64Decode(s.sig[:0], p.signature, b64Std); !ok {
		return false
	}
	secret, _ := cred["secret"].(string)
	id, _ := cred["id"].(string)
	e := h.keys.get(id, hmacAlgorithms[alg], secret, func() *credentialKey {
		return macKey(hmacHashes[alg], []byte(secret))
	})
	m := e.macs.Get().(hash.Hash)
	m.Reset()
	h.writeSigningString(c, s, m, p.headers)
	s.mac = m.Sum(s.mac[:0])
	e.macs.Put(m)
	return hmac.Equal(s.mac, s.sig)
}

// writeSigningString writes what the client signed (Kong's create_hash):
// for each listed header "name: value", joined by line feeds; a header the
// request lacks is "name:", except the pseudo-headers "@request-target"
// ("@request-target: get /path?query") and "request-line" ("GET /path?query
// HTTP/1.1").
func (h *hmacAuthenticator) writeSigningString(c *plugins.Context, s *hmacScratch, m hash.Hash, list []byte) {
	hdr := &c.Request.Header
	for l, first := newHeaderList(list), true; ; first = false {
		name, more := l.next()
		if !more {
			return
		}
		line := s.line[:0]
		if !first {
			line = append(line, '\n')
		}
		var value []byte
		if len(name) > 0 {
			value = peekHeaderBytes(hdr, name, &s.name)
		}
		switch {
		case len(value) > 0:
			line = append(append(append(line, name...), ": "...), value...)
		case string(name) == "@request-target":
			line = append(append(line, name...), ": "...)
			for _, b := range hdr.Method() {
				if 'A' <= b && b <= 'Z' {
					b += 'a' - 'A'
				}
				line = append(line, b)
			}
			line = append(append(line, ' '), hdr.RequestURI()...)
		case string(name) == "request-line":
			line = append(append(append(line, hdr.Method()...), ' '), hdr.RequestURI()...)
			line = append(append(line, " HTTP/"...), httpVersion(hdr.Protocol())...)
		default:
			line = append(append(line, name...), ':')
		}
		m.Write(line)
		s.line = line
	}
}

// peekHeaderBytes is peekHeader for a name given as bytes.
func peekHeaderBytes(h *fasthttp.RequestHeader, name []byte, scratch *[]byte) []byte {
	if bytes.IndexByte(name, '_') < 0 {
		return h.PeekBytes(name)
	}
	b := append((*scratch)[:0], name...)
	for i := range b {
		if b[i] == '_' {
			b[i] = '-'
		}
	}
	*scratch = b
	return h.PeekBytes(b)
}

// httpVersion is the request's HTTP version as Kong prints it ("%.01f":
// 1.0, 1.1, 2.0).
func httpVersion(proto []byte) string {
	switch string(proto) {
	case "HTTP/1.0":
		return "1.0"
	case "HTTP/2", "HTTP/2.0":
		return "2.0"
	case "HTTP/3", "HTTP/3.0":
		return "3.0"
	}
	return "1.1"
}

// hmacMaxBody is the largest body validate_request_body reads (Kong
// reads what fits in client_body_buffer_size, 8k by default, and fails
// beyond).
const hmacMaxBody = 1 << 20

// bodyMatchesDigest is Kong's validate_body: the Digest header must be
// "SHA-256=" and the body's base64 SHA-256, and a request without one must
// have no body. A body larger than hmacMaxBody does not match.
func bodyMatchesDigest(c *plugins.Context) bool {
	body, ok := bufferedBody(c)
	if !ok {
		return false
	}
	digest := c.Request.Header.Peek("Digest")
	if len(digest) == 0 {
		return len(body) == 0
	}
	sum := sha256.Sum256(body)
	var want [8 + 44]byte
	copy(want[:], "SHA-256=")
	base64.StdEncoding.Encode(want[8:], sum[:])
	return bytes.Equal(digest, want[:])
}

// bufferedBody is the request body, read into memory when it is still
// streaming (the upstream then gets it from there); false when it is
// larger than hmacMaxBody or cannot be read, the stream then left whole
// for the upstream.
func bufferedBody(c *plugins.Context) ([]byte, bool) {
	req := c.Request
	if !req.IsBodyStream() {
		return req.Body(), true
	}
	size := req.Header.ContentLength()
	if size > hmacMaxBody {
		return nil, false
	}
	stream := req.BodyStream()
	body, err := io.ReadAll(io.LimitReader(stream, hmacMaxBody+1))
	if err != nil || len(body) > hmacMaxBody {
		// What was read goes back in front of the rest.
		req.SetBodyStream(io.MultiReader(bytes.NewReader(body), stream), size)
		return nil, false
	}
	req.SetBodyRaw(body)
	return body, true
}

// parseHTTPDate reads an HTTP date as nginx's ngx_parse_http_time:
// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") without allocating, and
// the obsolete RFC 850 and asctime forms through net/http.
func parseHTTPDate(b []byte) (int64, bool) {
	// "Www, DD Mon YYYY HH:MM:SS GMT"
	if len(b) == 29 && b[3] == ',' && b[4] == ' ' && b[7] == ' ' && b[11] == ' ' && b[16] == ' ' &&
		b[19] == ':' && b[22] == ':' && string(b[25:]) == " GMT" {
		day, ok1 := digits(b[5:7])
		year, ok2 := digits(b[12:16])
		hour, ok3 := digits(b[17:19])
		minute, ok4 := digits(b[20:22])
		sec, ok5 := digits(b[23:25])
		month := monthIndex(b[8:11])
		if ok1 && ok2 && ok3 && ok4 && ok5 && month > 0 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && sec <= 59 {
			return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC).Unix(), true
		}
		return 0, false
	}
	t, err := http.ParseTime(string(b))
	if err != nil {
		return 0, false
	}
	return t.Unix(), true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func monthIndex(b []byte) int {
	switch string(b) {
	case "Jan":
		return 1
	case "Feb":
		return 2
	case "Mar":
		return 3
	case "Apr":
		return 4
	case "May":
		return 5
	case "Jun":
		return 6
	case "Jul":
		return 7
	case "Aug":
		return 8
	case "Sep":
		return 9
	case "Oct":
		return 10
	case "Nov":
		return 11
	case "Dec":
		return 12
	}
	return 0
}

// hmacParams are the parameters of an hmac Authorization header; they
// point into the header.
type hmacParams struct {
	username, algorithm, headers, signature []byte
}

// hmacPattern is Kong's pattern for the header (access.lua
// retrieve_hmac_fields); parseHMACAuthorization finds the same match
// without it, except for values with line feeds, which it hands to it.
var hmacPattern = regexp.MustCompile(`\s*[Hh]mac\s*username="(.+)",\s*algorithm="(.+)",\s*headers="(.+)",\s*signature="(.+)"`)

// parseHMACAuthorization reads `hmac username="...", algorithm="...",
// headers="...", signature="..."` as Kong's pattern does: the first
// "hmac" that starts a match, each value as long as the rest still matches
// (the pattern's greedy `(.+)`), anything around the match ignored. ok is
// false when the pattern does not match.
func parseHMACAuthorization(v []byte) (p hmacParams, ok bool) {
	if bytes.IndexByte(v, '\n') >= 0 {
		m := hmacPattern.FindSubmatch(v)
		if m == nil {
			return p, false
		}
		return hmacParams{m[1], m[2], m[3], m[4]}, true
	}
	// The values are found from the right: the signature ends at the last
	// quote; each earlier value ends at the last delimiter that leaves the
	// next value at least one byte.
	last := bytes.LastIndexByte(v, '"')
	if last < 0 {
		return p, false
	}
	sigEnd := lastDelimiter(v, "signature", last)
	if sigEnd < 0 {
		return p, false
	}
	headersEnd := lastDelimiter(v, "headers", sigEnd)
	if headersEnd < 0 {
		return p, false
	}
	algEnd := lastDelimiter(v, "algorithm", headersEnd)
	if algEnd < 0 {
		return p, false
	}
	userStart := firstHMACPrefix(v)
	if userStart < 0 || userStart >= algEnd {
		return p, false
	}
	algStart, _ := delimiterAt(v, algEnd, "algorithm")
	headersStart, _ := delimiterAt(v, headersEnd, "headers")
	sigStart, _ := delimiterAt(v, sigEnd, "signature")
	return hmacParams{v[userStart:algEnd], v[algStart:headersEnd], v[headersStart:sigEnd], v[sigStart:last]}, true
}

// delimiterAt matches `",\s*word="` at v[i]; next is the index after it.
func delimiterAt(v []byte, i int, word string) (next int, ok bool) {
	if i+1 >= len(v) || v[i] != '"' || v[i+1] != ',' {
		return 0, false
	}
	j := i + 2
	for j < len(v) && isRegexSpace(v[j]) {
		j++
	}
	if !bytes.HasPrefix(v[j:], []byte(word)) || !bytes.HasPrefix(v[j+len(word):], []byte(`="`)) {
		return 0, false
	}
	return j + len(word) + 2, true
}

// lastDelimiter is the index of the last `",\s*word="` whose value, ending
// at valueEnd, is not empty; -1 when there is none.
func lastDelimiter(v []byte, word string, valueEnd int) int {
	for i := len(v) - 2; i >= 0; i-- {
		if v[i] != '"' {
			continue
		}
		if next, ok := delimiterAt(v, i, word); ok && next < valueEnd {
			return i
		}
	}
	return -1
}

// firstHMACPrefix is the index after the first `[Hh]mac\s*username="`,
// -1 when there is none.
func firstHMACPrefix(v []byte) int {
	for i := 0; i+4 <= len(v); i++ {
		if (v[i] != 'H' && v[i] != 'h') || string(v[i+1:i+4]) != "mac" {
			continue
		}
		j := i + 4
		for j < len(v) && isRegexSpace(v[j]) {
			j++
		}
		if bytes.HasPrefix(v[j:], []byte(`username="`)) {
			return j + len(`username="`)
		}
	}
	return -1
}

var _ plugins.Accessor = (*hmacAuthenticator)(nil)
