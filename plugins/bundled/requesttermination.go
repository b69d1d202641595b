package bundled

import (
	"errors"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// Request termination messages (kong/plugins/request-termination/schema.lua).
const (
	msgMessageWithBody = "message cannot be used with content_type or body"
	msgContentTypeBody = "content_type requires a body"
	msgEchoWithBody    = "echo cannot be used with content_type and body"
)

// requestTermination is Kong's request-termination
// (kong/plugins/request-termination/schema.lua).
func requestTermination() plugins.Info {
	return info("request-termination", 2, []*schema.Field{
		protocolsHTTP(),
		withValidator(config(
			&schema.Field{Name: "status_code", Type: schema.Integer, Required: true, Default: float64(503), Between: schema.Range(100, 599)},
			// Default response generator's message; exclusive with body.
			&schema.Field{Name: "message", Type: schema.String},
			&schema.Field{Name: "content_type", Type: schema.String},
			&schema.Field{Name: "body", Type: schema.String},
			// Reply with a copy of the request (debugging).
			&schema.Field{Name: "echo", Type: schema.Boolean, Required: true, Default: false},
			// Only terminate requests carrying this header or query argument.
			headerName("trigger"),
		), validateRequestTermination),
	})
}

// validateRequestTermination is the config custom_validator.
func validateRequestTermination(v any) error {
	conf, _ := v.(map[string]any)
	present := func(k string) bool { s, _ := conf[k].(string); return s != "" }
	switch {
	case present("message") && (present("content_type") || present("body")):
		return errors.New(msgMessageWithBody)
	case present("content_type") && !present("body"):
		return errors.New(msgContentTypeBody)
	case conf["echo"] == true && (present("content_type") || present("body")):
		return errors.New(msgEchoWithBody)
	}
	return nil
}
