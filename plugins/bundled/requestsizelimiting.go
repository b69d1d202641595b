package bundled

import (
	"strings"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// requestSizeLimiting is Kong's request-size-limiting
// (kong/plugins/request-size-limiting/schema.lua).
func requestSizeLimiting() plugins.Info {
	units := schema.Strings("megabytes", "kilobytes", "bytes")
	return runs(newRequestSizeLimiting, info("request-size-limiting", 951, []*schema.Field{
		protocolsHTTP(),
		config(
			// Largest accepted body, in size_unit.
			&schema.Field{Name: "allowed_payload_size", Type: schema.Integer, Default: float64(128)},
			&schema.Field{Name: "size_unit", Type: schema.String, Required: true, Default: "megabytes", OneOf: units},
			&schema.Field{Name: "require_content_length", Type: schema.Boolean, Required: true, Default: false},
		),
	}))
}

// sizeLimiter refuses bodies over the allowed size
// (kong/plugins/request-size-limiting/handler.lua).
type sizeLimiter struct {
	allowed       int64
	requireLength bool
}

var sizeUnits = map[string]int64{"bytes": 1, "kilobytes": 1 << 10, "megabytes": 1 << 20}

func newRequestSizeLimiting(conf map[string]any) (plugins.Handler, error) {
	unit, ok := sizeUnits[row.String(conf, "size_unit")]
	if !ok {
		unit = sizeUnits["megabytes"]
	}
	return &sizeLimiter{allowed: int64(row.Int(conf, "allowed_payload_size", 128)) * unit, requireLength: row.Bool(conf, "require_content_length", false)}, nil
}

const msgSizeLimit = "Request size limit exceeded"

func (l *sizeLimiter) Access(c *plugins.Context) error {
	h := &c.Request.Header
	n := h.ContentLength() // -1: chunked; -2: neither length nor chunks
	if n >= 0 {
		l.check(c, int64(n))
		return nil
	}
	if l.requireLength && n != -1 {
		c.Error(411, "A valid Content-Length header is required")
		return nil
	}
	if !c.Request.IsBodyStream() {
		l.check(c, int64(len(c.Request.Body())))
		return nil
	}
	// A chunked body still arriving: counted as it goes upstream; past the
	// limit the upstream request is cut and the client gets Kong's 413.
	c.Request.SetBodyStream(&plugins.LimitedBody{R: c.Ctx.RequestBodyStream(), Limit: l.allowed, Message: msgSizeLimit}, -1)
	return nil
}

func (l *sizeLimiter) check(c *plugins.Context, n int64) {
	if n <= l.allowed {
		return
	}
	if strings.EqualFold(strings.TrimSpace(string(c.Request.Header.Peek("Expect"))), "100-continue") {
		c.Error(417, msgSizeLimit)
		return
	}
	c.Error(413, msgSizeLimit)
}
