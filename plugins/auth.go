package plugins

import (
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/schema"
)

// Data is what plugins read of the stored configuration while serving a
// request: Kong's kong.db behind kong.cache. Rows come from a cache that
// any committed write to their entity invalidates; they are shared and
// read only. A miss is cached too, so an unknown key costs one store read
// per write, not one per request.
type Data interface {
	// Lookup returns the row of entity whose unique field equals value in
	// workspace ws (the matched route's workspace; "" for the default),
	// or nil when there is none. field is "id" or a unique field.
	Lookup(entity, field, value, ws string) (map[string]any, error)
	// Find returns the rows of entity whose foreign key or indexed field
	// equals value (a consumer's acls), in any workspace.
	Find(entity, field, value string) ([]map[string]any, error)
}

// The upstream headers an authentication plugin sets
// (kong/constants.lua HEADERS).
const (
	HeaderConsumerID           = "X-Consumer-ID"
	HeaderConsumerCustomID     = "X-Consumer-Custom-ID"
	HeaderConsumerUsername     = "X-Consumer-Username"
	HeaderCredentialIdentifier = "X-Credential-Identifier"
	HeaderAnonymous            = "X-Anonymous-Consumer"
)

// The same names as fasthttp stores them (normalized once), so that setting
// them per request neither normalizes nor copies a name.
var (
	keyConsumerID           = fasthttp.AppendNormalizedHeaderKey(nil, HeaderConsumerID)
	keyConsumerCustomID     = fasthttp.AppendNormalizedHeaderKey(nil, HeaderConsumerCustomID)
	keyConsumerUsername     = fasthttp.AppendNormalizedHeaderKey(nil, HeaderConsumerUsername)
	keyCredentialIdentifier = fasthttp.AppendNormalizedHeaderKey(nil, HeaderCredentialIdentifier)
	keyAnonymous            = fasthttp.AppendNormalizedHeaderKey(nil, HeaderAnonymous)
	valueTrue               = []byte("true")
)

// Authenticate records the consumer and credential a plugin authenticated
// (kong.client.authenticate) and sets the upstream headers Kong's
// authentication plugins set: the consumer's id, custom_id and username and
// the credential's id, each cleared when absent, and X-Anonymous-Consumer
// when there is no credential (the anonymous consumer).
func (c *Context) Authenticate(consumer, credential map[string]any) {
	c.Consumer, c.Credential = consumer, credential
	h := &c.Request.Header
	setOrClear(h, keyConsumerID, consumer, "id")
	setOrClear(h, keyConsumerCustomID, consumer, "custom_id")
	setOrClear(h, keyConsumerUsername, consumer, "username")
	setOrClear(h, keyCredentialIdentifier, credential, "id")
	if credential != nil {
		h.DelBytes(keyAnonymous)
	} else {
		h.SetCanonical(keyAnonymous, valueTrue)
	}
}

// setOrClear sets header key (normalized) to row[field], or removes it
// when the row has no such value, so a client cannot pass its own.
func setOrClear(h *fasthttp.RequestHeader, key []byte, row map[string]any, field string) {
	if v, ok := row[field].(string); ok && v != "" {
		// SetCanonical copies the value: a view of the row's string will do.
		h.SetCanonical(key, unsafe.Slice(unsafe.StringData(v), len(v)))
		return
	}
	h.DelBytes(key)
}

// Workspace is the workspace of the matched route (its ws_id), where Kong
// looks up credentials and consumers.
func (c *Context) Workspace() string {
	ws, _ := c.Route.Row[schema.FieldWorkspace].(string)
	return ws
}
