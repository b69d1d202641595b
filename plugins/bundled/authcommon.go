package bundled

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// What Kong's authentication plugins share (key-auth, basic-auth): the
// consumer a credential belongs to, the anonymous consumer of the logical
// OR between plugins, and the WWW-Authenticate challenge of a 401.

// The stored entities authentication plugins read through plugins.Data.
const (
	entityConsumers = "consumers"
	fieldID         = schema.FieldID
)

// errNoData is a node that gives plugins no stored entities.
var errNoData = errors.New("no entity data to authenticate with")

// credentialConsumer reads the consumer a credential row belongs to (nil
// when it is gone), in the request's workspace.
func credentialConsumer(c *plugins.Context, credential map[string]any) (map[string]any, error) {
	ref, _ := credential["consumer"].(map[string]any)
	id, _ := ref[fieldID].(string)
	if id == "" {
		return nil, nil
	}
	return c.Data.Lookup(entityConsumers, fieldID, id, c.Workspace())
}

// authenticateAnonymous makes the anonymous consumer (an id or a
// username) the request's consumer, as Kong's plugins do when
// authentication fails and anonymous is set. A consumer that does not
// exist is a failure: the request ends with Kong's 500.
func authenticateAnonymous(c *plugins.Context, anonymous string) error {
	if c.Data == nil {
		return errNoData
	}
	ws := c.Workspace()
	var consumer map[string]any
	var err error
	if schema.IsUUID(anonymous) {
		consumer, err = c.Data.Lookup(entityConsumers, fieldID, anonymous, ws)
	}
	if consumer == nil && err == nil {
		consumer, err = c.Data.Lookup(entityConsumers, "username", anonymous, ws)
	}
	if err != nil {
		return fmt.Errorf("loading the anonymous consumer: %w", err)
	}
	if consumer == nil {
		return fmt.Errorf("anonymous consumer %s is configured but doesn't exist", anonymous)
	}
	c.Authenticate(consumer, nil)
	return nil
}

// unauthorized ends the request with Kong's 401 and its challenge.
func unauthorized(c *plugins.Context, message, challenge string) {
	c.Error(401, message)
	c.Response.Header.Set("WWW-Authenticate", challenge)
}

// view is b as a string without a copy, for a lookup that keeps nothing
// of it (plugins.Data lookups are keyed by their own copies): b must not
// change while the string is in use.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
