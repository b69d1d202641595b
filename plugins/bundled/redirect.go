package bundled

import (
	"fmt"
	"net/url"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// redirect is Kong's redirect (kong/plugins/redirect/schema.lua), new in 3.9.
func redirect() plugins.Info {
	return runs(newRedirect, info("redirect", 779, []*schema.Field{
		protocolsHTTP(),
		config(
			&schema.Field{Name: "status_code", Type: schema.Integer, Required: true, Default: float64(301), Between: schema.Range(100, 599)},
			required(urlField("location")),
			// Keep the request's path and query string on the new location.
			&schema.Field{Name: "keep_incoming_path", Type: schema.Boolean, Default: false},
		),
	}))
}

// redirector sends every request elsewhere (kong/plugins/redirect/handler.lua).
type redirector struct {
	status   int
	location *url.URL
	raw      string
	keepPath bool
}

func newRedirect(conf map[string]any) (plugins.Handler, error) {
	raw := row.String(conf, "location")
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("config.location: %w", err)
	}
	return &redirector{status: row.Int(conf, "status_code", 301), location: u, raw: raw, keepPath: row.Bool(conf, "keep_incoming_path", false)}, nil
}

func (r *redirector) Access(c *plugins.Context) error {
	location := r.raw
	if r.keepPath {
		u := *r.location
		u.Path, u.RawPath = string(c.Request.URI().Path()), ""
		u.RawQuery = string(c.Request.URI().QueryString())
		location = u.String()
	}
	c.Exit(r.status, "redirecting", map[string]string{"Location": location})
	return nil
}
