package bundled

import (
	"encoding/base64"
	"slices"
	"sync"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/schema/entities"
)

// basicAuth is Kong's basic-auth (kong/plugins/basic-auth/schema.lua).
func basicAuth() plugins.Info {
	return runs(newBasicAuth, info("basic-auth", 1100, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		config(
			&schema.Field{Name: "anonymous", Type: schema.String},
			&schema.Field{Name: "hide_credentials", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "realm", Type: schema.String, Required: true, Default: "service"},
		),
	}))
}

// entityBasicAuthCredentials is where basic-auth finds its credentials.
const entityBasicAuthCredentials = entities.BasicAuthCredentialsName

// basicAuthenticator is a basic-auth instance
// (kong/plugins/basic-auth/access.lua): the username and password of
// Proxy-Authorization, else of Authorization, checked against the stored
// hash of the credential with that username.
type basicAuthenticator struct {
	anonymous string
	hide      bool
	challenge string // WWW-Authenticate
}

func newBasicAuth(conf map[string]any) (plugins.Handler, error) {
	return &basicAuthenticator{
		anonymous: row.String(conf, "anonymous"),
		hide:      row.Bool(conf, "hide_credentials", false),
		challenge: `Basic realm="` + row.StringOr(conf, "realm", "service") + `"`,
	}, nil
}

// basicBuffers hold a request's decoded credentials and the salted
// password being hashed, so that checking one allocates nothing.
var basicBuffers = sync.Pool{New: func() any { return &basicBuffer{} }}

type basicBuffer struct{ decoded, scratch []byte }

func (b *basicAuthenticator) Access(c *plugins.Context) error {
	if b.anonymous != "" && c.Credential != nil {
		// Already authenticated by another plugin: the logical OR is met.
		return nil
	}
	ok, err := b.authenticate(c)
	if err != nil || ok {
		return err
	}
	if b.anonymous != "" {
		return authenticateAnonymous(c, b.anonymous)
	}
	unauthorized(c, msgUnauthorized, b.challenge)
	return nil
}

// authenticate tries Proxy-Authorization, then Authorization; ok is false
// when neither holds a credential whose password matches.
func (b *basicAuthenticator) authenticate(c *plugins.Context) (bool, error) {
	h := &c.Request.Header
	proxyAuth, auth := h.Peek("Proxy-Authorization"), h.Peek("Authorization")
	if proxyAuth == nil && auth == nil {
		return false, nil
	}
	if c.Data == nil {
		return false, errNoData
	}
	buf := basicBuffers.Get().(*basicBuffer)
	defer basicBuffers.Put(buf)
	var credential map[string]any
	var password string
	var err error
	if proxyAuth != nil {
		credential, password, err = b.credential(c, buf, proxyAuth)
		if b.hide {
			h.Del("Proxy-Authorization")
		}
		if err != nil {
			return false, err
		}
	}
	if credential == nil {
		if auth == nil {
			return false, nil
		}
		credential, password, err = b.credential(c, buf, h.Peek("Authorization"))
		if b.hide {
			h.Del("Authorization")
		}
		if err != nil || credential == nil {
			return false, err
		}
	}
	consumerRef, _ := credential["consumer"].(map[string]any)
	consumerID, _ := consumerRef[fieldID].(string)
	hash, _ := credential["password"].(string)
	buf.scratch = entities.AppendBasicAuthSalted(buf.scratch[:0], consumerID, password)
	if !entities.BasicAuthHashMatches(hash, buf.scratch) {
		return false, nil
	}
	consumer, err := credentialConsumer(c, credential)
	if err != nil {
		return false, err
	}
	c.Authenticate(consumer, credential)
	// Kong's basic-auth names the credential by its username.
	if name, _ := credential["username"].(string); name != "" {
		h.Set(plugins.HeaderCredentialIdentifier, name)
	}
	return true, nil
}

// credential parses one header and reads the credential of its username;
// password is a view of buf, valid until buf goes back to the pool.
func (b *basicAuthenticator) credential(c *plugins.Context, buf *basicBuffer, header []byte) (map[string]any, string, error) {
	var user, pass []byte
	var ok bool
	buf.decoded, user, pass, ok = parseBasicAuthorization(buf.decoded[:0], header)
	if !ok {
		return nil, "", nil
	}
	cred, err := c.Data.Lookup(entityBasicAuthCredentials, "username", view(user), c.Workspace())
	return cred, view(pass), err
}

// parseBasicAuthorization reads an Authorization header's credentials
// the way Kong's basic-auth does: the first "Basic" or "basic" anywhere
// in the value, optional spaces, then base64 (nginx's decoder: padding
// optional, stopping at "=", no other stray byte) of "username:password",
// where the username is the first run of non-colon bytes followed by a
// colon and the password runs to the end of the line. The decoded bytes
// are appended to dst; user and pass are slices of it.
func parseBasicAuthorization(dst, header []byte) (out, user, pass []byte, ok bool) {
	out = dst
	encoded, found := basicToken(header)
	if !found {
		return out, nil, nil, false
	}
	n := len(encoded)
	for i, ch := range encoded {
		if ch == '=' {
			n = i
			break
		}
		if !isBase64Byte(ch) {
			return out, nil, nil, false
		}
	}
	encoded = encoded[:n]
	if n%4 == 1 {
		return out, nil, nil, false
	}
	start := len(out)
	need := base64.RawStdEncoding.DecodedLen(n)
	out = slices.Grow(out, need)[:start+need]
	// Not strict: trailing bits are ignored, as nginx ignores them.
	if _, err := base64.RawStdEncoding.Decode(out[start:], encoded); err != nil {
		return out, nil, nil, false
	}
	decoded := out[start:]
	i := 0
	for i < len(decoded) && decoded[i] == ':' {
		i++
	}
	colon := -1
	for j := i; j < len(decoded); j++ {
		if decoded[j] == ':' {
			colon = j
			break
		}
	}
	if i == len(decoded) || colon < 0 {
		return out, nil, nil, false
	}
	user = decoded[i:colon]
	pass = decoded[colon+1:]
	for j, ch := range pass {
		if ch == '\n' {
			pass = pass[:j]
			break
		}
	}
	return out, user, pass, true
}

// basicToken finds Kong's \s*[Bb]asic\s*(.+) in a header value: the text
// after the first "Basic" or "basic" followed by at least one byte, with
// the spaces after the word skipped unless nothing else follows, up to the
// end of the line.
func basicToken(h []byte) ([]byte, bool) {
	for i := 0; i+5 <= len(h); i++ {
		if (h[i] != 'B' && h[i] != 'b') || string(h[i+1:i+5]) != "asic" {
			continue
		}
		rest := h[i+5:]
		if nl := indexNewline(rest); nl >= 0 {
			rest = rest[:nl]
		}
		j := 0
		for j < len(rest) && isSpace(rest[j]) {
			j++
		}
		if j == len(rest) {
			// (.+) takes back a space the \s* had, when there is one.
			if j > 0 {
				return rest[j-1:], true
			}
			continue
		}
		return rest[j:], true
	}
	return nil, false
}

func indexNewline(b []byte) int {
	for i, ch := range b {
		if ch == '\n' {
			return i
		}
	}
	return -1
}

func isSpace(ch byte) bool {
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v'
}

func isBase64Byte(ch byte) bool {
	return 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || ch == '+' || ch == '/'
}

var _ plugins.Accessor = (*basicAuthenticator)(nil)
