package bundled

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// keyAuth is Kong's key-auth (kong/plugins/key-auth/schema.lua): API key
// authentication; credentials belong to consumers, so it cannot be scoped to one.
func keyAuth() plugins.Info {
	return runs(newKeyAuth, info("key-auth", 1250, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		config(
			// Header, query or body parameter names carrying the key.
			&schema.Field{Name: "key_names", Type: schema.Array, Required: true, Elements: headerName(""), Default: schema.Strings("apikey")},
			&schema.Field{Name: "hide_credentials", Type: schema.Boolean, Required: true, Default: false},
			// Consumer id or username used when authentication fails.
			&schema.Field{Name: "anonymous", Type: schema.String},
			&schema.Field{Name: "key_in_header", Type: schema.Boolean, Required: true, Default: true},
			&schema.Field{Name: "key_in_query", Type: schema.Boolean, Required: true, Default: true},
			&schema.Field{Name: "key_in_body", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "run_on_preflight", Type: schema.Boolean, Required: true, Default: true},
			// WWW-Authenticate realm on 401 responses (added in 3.7).
			&schema.Field{Name: "realm", Type: schema.String},
		),
	}))
}

// Kong's key-auth answers (kong/plugins/key-auth/handler.lua).
const (
	msgDuplicateAPIKey = "Duplicate API key found"
	msgNoAPIKey        = "No API key found in request"
	msgUnauthorized    = "Unauthorized"
)

// entityKeyAuthCredentials is where key-auth finds its keys.
const entityKeyAuthCredentials = "keyauth_credentials"

// keyAuthenticator is a key-auth instance
// (kong/plugins/key-auth/handler.lua): the key is looked for under each
// key name in turn, in the headers, the query string and the body as
// configured; the consumer of its credential is the request's.
type keyAuthenticator struct {
	names []keyName
	hide  bool
	// anonymous is the consumer (id or username) of failed requests; ""
	// ends them with 401.
	anonymous                 string
	inHeader, inQuery, inBody bool
	runOnPreflight            bool
	challenge                 string // WWW-Authenticate
}

// keyName is one of key_names, with the header name nginx also matches it
// as (underscores as dashes).
type keyName struct{ name, dashed string }

func newKeyAuth(conf map[string]any) (plugins.Handler, error) {
	k := &keyAuthenticator{
		hide:           row.Bool(conf, "hide_credentials", false),
		anonymous:      row.String(conf, "anonymous"),
		inHeader:       row.Bool(conf, "key_in_header", true),
		inQuery:        row.Bool(conf, "key_in_query", true),
		inBody:         row.Bool(conf, "key_in_body", false),
		runOnPreflight: row.Bool(conf, "run_on_preflight", true),
		challenge:      "Key",
	}
	if realm, ok := conf["realm"].(string); ok {
		k.challenge = `Key realm="` + realm + `"`
	}
	for _, n := range row.Strings(conf["key_names"]) {
		k.names = append(k.names, keyName{name: n, dashed: strings.ReplaceAll(n, "_", "-")})
	}
	return k, nil
}

func (k *keyAuthenticator) Access(c *plugins.Context) error {
	if !k.runOnPreflight && c.Request.Header.IsOptions() {
		return nil
	}
	if k.anonymous != "" && c.Credential != nil {
		// Already authenticated by another plugin: the logical OR is met.
		return nil
	}
	status, msg, err := k.authenticate(c)
	if err != nil || status == 0 {
		return err
	}
	if k.anonymous != "" {
		return authenticateAnonymous(c, k.anonymous)
	}
	if status == 401 {
		unauthorized(c, msg, k.challenge)
	} else {
		c.Error(status, msg)
	}
	return nil
}

// authenticate finds the key and its consumer; status is 0 on success,
// else the answer Kong gives when there is no anonymous consumer.
func (k *keyAuthenticator) authenticate(c *plugins.Context) (status int, msg string, err error) {
	var key []byte
	var body *keyBody
	for i := range k.names {
		n := &k.names[i]
		v, dup := k.find(c, n, &body)
		if dup {
			return 401, msgDuplicateAPIKey, nil
		}
		if v == nil {
			continue
		}
		key = v
		if k.hide {
			k.hideKey(c, n, &body)
		}
		break
	}
	if len(key) == 0 {
		return 401, msgNoAPIKey, nil
	}
	if c.Data == nil {
		return 0, "", errNoData
	}
	credential, err := c.Data.Lookup(entityKeyAuthCredentials, "key", view(key), c.Workspace())
	if err != nil {
		return 0, "", err
	}
	if credential == nil {
		return 401, msgUnauthorized, nil
	}
	consumer, err := credentialConsumer(c, credential)
	if err != nil {
		return 0, "", err
	}
	c.Authenticate(consumer, credential)
	return 0, "", nil
}

// find looks for one key name: a value (possibly empty), or dup when the
// name is given more than once where it was found (Kong's duplicate key).
func (k *keyAuthenticator) find(c *plugins.Context, n *keyName, body **keyBody) (v []byte, dup bool) {
	if k.inHeader {
		h := &c.Request.Header
		vals := h.PeekAll(n.name)
		if len(vals) == 0 && n.dashed != n.name {
			vals = h.PeekAll(n.dashed)
		}
		switch len(vals) {
		case 0:
		case 1:
			return vals[0], false
		default:
			return nil, true
		}
	}
	if k.inQuery {
		var found []byte
		count := 0
		for name, val := range c.Request.URI().QueryArgs().All() {
			if string(name) == n.name {
				if count == 0 {
					found = val
				}
				count++
			}
		}
		switch {
		case count > 1:
			return nil, true
		case count == 1:
			if found == nil {
				found = []byte{}
			}
			return found, false
		}
	}
	if k.inBody {
		if *body == nil {
			*body = readKeyBody(c.Request)
		}
		return (*body).find(n.name)
	}
	return nil, false
}

// hideKey removes a found key name from what goes upstream: the header,
// the query argument and, when keys are read from it, the body (Kong's
// hide_credentials).
func (k *keyAuthenticator) hideKey(c *plugins.Context, n *keyName, body **keyBody) {
	h := &c.Request.Header
	h.Del(n.name)
	if n.dashed != n.name {
		h.Del(n.dashed)
	}
	if uri := h.RequestURI(); bytes.IndexByte(uri, '?') >= 0 {
		h.SetRequestURIBytes(withoutQueryArg(uri, n.name))
		c.Request.URI().QueryArgs().Del(n.name)
	}
	if k.inBody {
		if *body == nil {
			*body = readKeyBody(c.Request)
		}
		(*body).remove(c.Request, n.name)
	}
}

// withoutQueryArg returns a request target without the query arguments
// named name; the others are kept as they were written.
func withoutQueryArg(uri []byte, name string) []byte {
	q := bytes.IndexByte(uri, '?')
	out := append([]byte(nil), uri[:q]...)
	sep := byte('?')
	for _, pair := range bytes.Split(uri[q+1:], []byte("&")) {
		key := pair
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			key = pair[:i]
		}
		if k, err := url.QueryUnescape(string(key)); err == nil && k == name {
			continue
		}
		if len(pair) == 0 {
			continue
		}
		out = append(append(out, sep), pair...)
		sep = '&'
	}
	return out
}

// keyBody is the request body as Kong's kong.request.get_body reads it
// for key-auth: form-urlencoded, JSON or multipart values; empty for
// anything else, and for a body still streaming in (Kong reads none it
// has buffered to a file).
type keyBody struct {
	kind  int // bodyOther, bodyForm, bodyJSON, bodyMultipart (bodyKind)
	form  *fasthttp.Args
	json  map[string]any
	multi *multipart.Form
}

func readKeyBody(req *fasthttp.Request) *keyBody {
	b := &keyBody{}
	if req.IsBodyStream() {
		return b
	}
	switch bodyKind(req.Header.ContentType()) {
	case bodyForm:
		b.kind, b.form = bodyForm, req.PostArgs()
	case bodyJSON:
		if json.Unmarshal(req.Body(), &b.json) == nil && b.json != nil {
			b.kind = bodyJSON
		}
	case bodyMultipart:
		if f, err := req.MultipartForm(); err == nil {
			b.kind, b.multi = bodyMultipart, f
		}
	}
	return b
}

// find returns the name's value when it is a string, dup when it is a
// list (given twice, or a JSON array).
func (b *keyBody) find(name string) ([]byte, bool) {
	switch b.kind {
	case bodyForm:
		var found []byte
		count := 0
		for k, v := range b.form.All() {
			if string(k) == name {
				if count == 0 {
					found = v
				}
				count++
			}
		}
		if count > 1 {
			return nil, true
		}
		if count == 1 && found == nil {
			found = []byte{}
		}
		return found, false
	case bodyJSON:
		switch v := b.json[name].(type) {
		case string:
			return []byte(v), false
		case []any:
			return nil, true
		}
	case bodyMultipart:
		vals := b.multi.Value[name]
		switch len(vals) {
		case 0:
		case 1:
			return []byte(vals[0]), false
		default:
			return nil, true
		}
	}
	return nil, false
}

// remove rewrites the body without name.
func (b *keyBody) remove(req *fasthttp.Request, name string) {
	switch b.kind {
	case bodyForm:
		if !b.form.Has(name) {
			return
		}
		b.form.Del(name)
		req.SetBody(b.form.QueryString())
	case bodyJSON:
		if _, ok := b.json[name]; !ok {
			return
		}
		delete(b.json, name)
		if out, err := json.Marshal(b.json); err == nil {
			req.SetBody(out)
		}
	case bodyMultipart:
		if _, ok := b.multi.Value[name]; !ok {
			return
		}
		delete(b.multi.Value, name)
		var buf bytes.Buffer
		if err := fasthttp.WriteMultipartForm(&buf, b.multi, boundaryOf(req.Header.ContentType())); err == nil {
			req.SetBody(buf.Bytes())
		}
	}
}

func boundaryOf(ct []byte) string {
	i := bytes.Index(ct, []byte("boundary="))
	if i < 0 {
		return ""
	}
	v := ct[i+len("boundary="):]
	if j := bytes.IndexByte(v, ';'); j >= 0 {
		v = v[:j]
	}
	return strings.Trim(string(v), `"`)
}

var _ plugins.Accessor = (*keyAuthenticator)(nil)
