package entities

import (
	"errors"

	"github.com/portico-gw/portico/schema"
)

const (
	defaultServiceProtocol = "http"
	defaultServicePort     = 80
)

// Services is Kong's services entity (kong/db/schema/entities/services.lua).
func Services() *schema.Entity {
	return &schema.Entity{
		Name:          "services",
		Workspaceable: true,
		EndpointKey:   "name",
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			schema.UTF8Name("name"),
			{Name: "retries", Type: schema.Integer, Default: num(5), Between: schema.Range(0, 32767)},
			with(schema.Protocol("protocol"), required, def(defaultServiceProtocol)),
			with(schema.Host("host"), required),
			with(schema.Port("port"), required, def(num(defaultServicePort))),
			schema.Path("path"),
			with(schema.NonzeroTimeout("connect_timeout"), def(num(60000))),
			with(schema.NonzeroTimeout("write_timeout"), def(num(60000))),
			with(schema.NonzeroTimeout("read_timeout"), def(num(60000))),
			schema.Tags(),
			{Name: "client_certificate", Type: schema.Foreign, Reference: "certificates"},
			{Name: "tls_verify", Type: schema.Boolean},
			{Name: "tls_verify_depth", Type: schema.Integer, Between: schema.Range(0, 64)},
			{Name: "ca_certificates", Type: schema.Array, Elements: &schema.Field{Type: schema.String, UUID: true}},
			{Name: "enabled", Type: schema.Boolean, Required: true, Default: true},
		},
		Checks: []schema.Check{
			{Conditional: &schema.Conditional{
				IfField:   "protocol",
				IfMatch:   &schema.Field{OneOf: schema.Strings("tcp", "tls", "udp", "grpc", "grpcs")},
				ThenField: "path",
				ThenMatch: &schema.Field{Eq: schema.Null},
			}},
			tlsOnly("client_certificate"),
			tlsOnly("tls_verify"),
			tlsOnly("tls_verify_depth"),
			tlsOnly("ca_certificates"),
		},
		Shorthands: []schema.Shorthand{{Name: "url", Type: schema.String, Expand: expandServiceURL}},
	}
}

// tlsOnly: field must be null unless the protocol is https or tls.
func tlsOnly(field string) schema.Check {
	return schema.Check{Conditional: &schema.Conditional{
		IfField:   "protocol",
		IfMatch:   &schema.Field{NotOneOf: schema.Strings("https", "tls")},
		ThenField: field,
		ThenMatch: &schema.Field{Eq: schema.Null},
	}}
}

// expandServiceURL is services' url shorthand: it sets protocol, host, port
// and path from a URL parsed the way LuaSocket parses it. Like Kong, a URL
// without a scheme gets one from the port (80: http, 443: https) or "http";
// a missing port defaults by scheme (80, or 443 for https); host and path are
// null when absent (the query string is dropped), so a bad URL surfaces as
// errors on those fields ("host: required field missing", ...).
func expandServiceURL(v any) (map[string]any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, errors.New("expected a string")
	}
	if s == "" {
		return nil, errors.New("length must be at least 1")
	}
	u, _ := schema.ParseSocketURL(s)

	var port any // Lua: tonumber(parsed.port) or parsed.port
	if u.HasPort {
		if n, ok := schema.LuaToNumber(u.Port); ok {
			port = n
		} else {
			port = u.Port
		}
	}
	protocol := u.Scheme
	if protocol == "" {
		switch port {
		case float64(80):
			protocol = "http"
		case float64(443):
			protocol = "https"
		default:
			protocol = defaultServiceProtocol
		}
	}
	if port == nil {
		port = num(defaultServicePort)
		if protocol == "https" {
			port = num(443)
		}
	}
	out := map[string]any{"protocol": protocol, "port": port, "host": nil, "path": nil}
	if u.Host != "" {
		out["host"] = u.Host
	}
	if u.Path != "" {
		out["path"] = u.Path
	}
	return out, nil
}
