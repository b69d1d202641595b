package bundled

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"strings"

	"github.com/portico-gw/portico/internal/row"
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
	return runs(newRequestTermination, info("request-termination", 2, []*schema.Field{
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
	}))
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
	case row.Bool(conf, "echo", false) && (present("content_type") || present("body")):
		return errors.New(msgEchoWithBody)
	}
	return nil
}

// Kong's messages for statuses request-termination answers without one
// (kong/plugins/request-termination/handler.lua).
var terminationMessages = map[int]string{
	401: "Unauthorized",
	404: "Not found",
	405: "Method not allowed",
	500: "An unexpected error occurred",
	502: "Bad Gateway",
	503: "Service unavailable",
}

// terminator answers every request itself (or those carrying the trigger).
type terminator struct {
	status      int
	message     string
	body        []byte
	contentType string
	echo        bool
	trigger     string
}

func newRequestTermination(conf map[string]any) (plugins.Handler, error) {
	t := &terminator{status: row.Int(conf, "status_code", 503), message: row.String(conf, "message"),
		contentType: row.String(conf, "content_type"), echo: row.Bool(conf, "echo", false), trigger: row.String(conf, "trigger")}
	if b := row.String(conf, "body"); b != "" {
		t.body = []byte(b)
	}
	if t.message == "" {
		t.message = terminationMessages[t.status]
	}
	return t, nil
}

func (t *terminator) Access(c *plugins.Context) error {
	if t.trigger != "" && len(c.Request.Header.Peek(t.trigger)) == 0 && !c.Request.URI().QueryArgs().Has(t.trigger) {
		return nil
	}
	switch {
	case t.echo:
		c.Exit(t.status, t.echoBody(c), nil)
	case t.body != nil:
		c.Exit(t.status, t.body, map[string]string{"Content-Type": t.contentType})
	case t.message != "":
		c.Exit(t.status, map[string]string{"message": t.message}, nil)
	default:
		c.Exit(t.status, nil, nil)
	}
	return nil
}

// echoBody is the request as Kong's echo mode describes it.
func (t *terminator) echoBody(c *plugins.Context) map[string]any {
	req := c.Request
	headers := map[string]any{}
	for k, v := range req.Header.All() {
		headers[strings.ToLower(string(k))] = string(v)
	}
	query := map[string]any{}
	for k, v := range req.URI().QueryArgs().All() {
		query[string(k)] = string(v)
	}
	scheme, port := "http", 0
	if c.Ctx.IsTLS() {
		scheme = "https"
	}
	if a, ok := c.Ctx.LocalAddr().(*net.TCPAddr); ok {
		port = a.Port
	}
	request := map[string]any{
		"scheme": scheme, "host": string(req.URI().Host()), "port": port, "headers": headers, "query": query,
		"raw_body": string(req.Body()), "method": string(req.Header.Method()), "path": string(req.URI().Path()),
	}
	var body any
	if json.Unmarshal(req.Body(), &body) == nil {
		request["body"] = body
	}
	out := map[string]any{
		"kong":    map[string]any{"node_id": c.Node.ID, "worker_pid": os.Getpid(), "hostname": c.Node.Hostname},
		"request": request, "matched_route": c.Route.Row, "matched_service": c.Service.Row,
	}
	if t.message != "" {
		out["message"] = t.message
	}
	return out
}
