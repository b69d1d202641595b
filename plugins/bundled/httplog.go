package bundled

import (
	"errors"
	"net/url"
	"regexp"
	"strings"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// msgUserinfoAuth is http-log's message for credentials given twice.
const msgUserinfoAuth = "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed"

// httpLog is Kong's http-log (kong/plugins/http-log/schema.lua).
//
// retry_count, queue_size and flush_timeout are deprecated since 3.3 (the
// queue record replaces them) and are kept as legacy fields: accepted, stored,
// not advertised.
func httpLog() plugins.Info {
	endpoint := required(urlField("http_endpoint"))
	endpoint.Encrypted, endpoint.Referenceable = true, true
	return info("http-log", 12, []*schema.Field{
		protocolsAny(),
		withValidator(config(
			endpoint,
			&schema.Field{Name: "method", Type: schema.String, Default: "POST", OneOf: schema.Strings("POST", "PUT", "PATCH")},
			&schema.Field{Name: "content_type", Type: schema.String, Default: "application/json",
				OneOf: schema.Strings("application/json", "application/json; charset=utf-8")},
			// Milliseconds.
			&schema.Field{Name: "timeout", Type: schema.Number, Default: float64(10000)},
			&schema.Field{Name: "keepalive", Type: schema.Number, Default: float64(60000)},
			&schema.Field{Name: "retry_count", Type: schema.Integer, Legacy: true},
			&schema.Field{Name: "queue_size", Type: schema.Integer, Legacy: true},
			&schema.Field{Name: "flush_timeout", Type: schema.Number, Legacy: true},
			&schema.Field{Name: "headers", Type: schema.Map, Keys: logHeaderName(),
				Values: &schema.Field{Type: schema.String, Referenceable: true}},
			queue(),
			luaCode("custom_fields_by_lua"),
		), validateHTTPLog),
	})
}

// logHeaderName is a header name that may not be one the plugin sets itself.
// Kong's Lua patterns are case-insensitive letter by letter, except for a
// typo in Content-Length's ("[nn]"), kept here: "Content-LENGTH" passes.
func logHeaderName() *schema.Field {
	f := headerName("")
	f.MatchNone = []schema.PatternError{
		{Pattern: regexp.MustCompile(`^[Hh][Oo][Ss][Tt]$`), Err: "cannot contain 'Host' header"},
		{Pattern: regexp.MustCompile(`^[Cc][Oo][Nn][Tt][Ee][Nn][Tt]-[Ll][Ee][n][Gg][Tt][Hh]$`), Err: "cannot contain 'Content-Length' header"},
		{Pattern: regexp.MustCompile(`^[Cc][Oo][Nn][Tt][Ee][Nn][Tt]-[Tt][Yy][Pp][Ee]$`), Err: "cannot contain 'Content-Type' header"},
	}
	return f
}

// validateHTTPLog is http-log's config custom_validator.
func validateHTTPLog(v any) error {
	conf, _ := v.(map[string]any)
	endpoint, _ := conf["http_endpoint"].(string)
	headers, _ := conf["headers"].(map[string]any)
	u, err := url.Parse(endpoint)
	if err != nil || u.User == nil {
		return nil
	}
	for name := range headers {
		if strings.EqualFold(name, "authorization") {
			return errors.New(msgUserinfoAuth)
		}
	}
	return nil
}
