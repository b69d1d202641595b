package plugins

import (
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

// Authenticate records the consumer and credential a plugin authenticated
// (kong.client.authenticate) and sets the upstream headers Kong's
// authentication plugins set: the consumer's id, custom_id and username and
// the credential's id, each cleared when absent, and X-Anonymous-Consumer
// when there is no credential (the anonymous consumer).
func (c *Context) Authenticate(consumer, credential map[string]any) {
	c.Consumer, c.Credential = consumer, credential
	h := &c.Request.Header
	setOrClear(h, HeaderConsumerID, consumer, "id")
	setOrClear(h, HeaderConsumerCustomID, consumer, "custom_id")
	setOrClear(h, HeaderConsumerUsername, consumer, "username")
	setOrClear(h, HeaderCredentialIdentifier, credential, "id")
	if credential != nil {
		h.Del(HeaderAnonymous)
	} else {
		h.Set(HeaderAnonymous, "true")
	}
}

func setOrClear(h *fasthttp.RequestHeader, name string, row map[string]any, field string) {
	if v, ok := row[field].(string); ok && v != "" {
		h.Set(name, v)
		return
	}
	h.Del(name)
}

// Workspace is the workspace of the matched route (its ws_id), where Kong
// looks up credentials and consumers.
func (c *Context) Workspace() string {
	ws, _ := c.Route.Row[schema.FieldWorkspace].(string)
	return ws
}
