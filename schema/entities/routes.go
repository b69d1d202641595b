package entities

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/portico-gw/portico/schema"
)

// Routes is Kong's routes entity for the traditional_compatible router
// flavor (kong/db/schema/entities/routes.lua and routes_subschemas.lua).
//
// Kong selects a subschema by the first protocol that has one (subschema_key
// "protocols"); the subschemas here carry only Kong's field overrides
// (fields a protocol family forbids, grpc's strip_path). Their entity checks
// ("must set one of ... when 'protocols' is ...") are hoisted into the
// entity's own checks: with the mutually exclusive protocol subsets, a valid
// protocols set selects exactly the family those checks test for.
func Routes() *schema.Entity {
	e := &schema.Entity{
		Name:          "routes",
		Workspaceable: true,
		EndpointKey:   "name",
		SubschemaKey:  "protocols",
		UnknownSubschema: func(key string) string {
			return "unknown type: " + key
		},
		Fields: routeFields(),
		Checks: []schema.Check{
			{Conditional: &schema.Conditional{
				IfField: "protocols",
				IfMatch: &schema.Field{Elements: &schema.Field{Type: schema.String,
					NotOneOf: schema.Strings("grpcs", "https", "tls", "tls_passthrough")}},
				ThenField: "snis",
				// Kong's then_match { len_eq = 0 } (LenEq cannot express 0).
				ThenMatch: &schema.Field{Validator: lenEqZero},
				ThenErr:   "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'",
			}},
			routeCheck(httpCheck),
			routeCheck(streamCheck),
			routeCheck(tlsPassthroughCheck),
			routeCheck(grpcCheck),
		},
	}
	for _, p := range []string{"http", "https"} {
		e.AddSubschema(httpRouteSubschema(p))
	}
	for _, p := range []string{"tcp", "tls", "udp", "tls_passthrough"} {
		e.AddSubschema(streamRouteSubschema(p))
	}
	for _, p := range []string{"grpc", "grpcs"} {
		e.AddSubschema(grpcRouteSubschema(p))
	}
	return e
}

func routeFields() []*schema.Field {
	return []*schema.Field{
		schema.ID(),
		schema.CreatedAt(),
		schema.UpdatedAt(),
		schema.UTF8Name("name"),
		{Name: "protocols", Type: schema.Set, Required: true, LenMin: 1,
			Default:   schema.Strings("http", "https"),
			Elements:  schema.Protocol(""),
			Validator: routeProtocolSubsets},
		{Name: "https_redirect_status_code", Type: schema.Integer, Required: true,
			Default: num(426), OneOf: schema.Ints(426, 301, 302, 307, 308)},
		{Name: "strip_path", Type: schema.Boolean, Required: true, Default: true},
		{Name: "preserve_host", Type: schema.Boolean, Required: true, Default: false},
		{Name: "request_buffering", Type: schema.Boolean, Required: true, Default: true},
		{Name: "response_buffering", Type: schema.Boolean, Required: true, Default: true},
		schema.Tags(),
		// No on_delete: Kong refuses to delete a service routes point to.
		{Name: "service", Type: schema.Foreign, Reference: "services"},
		{Name: "snis", Type: schema.Set, Elements: schema.WildcardHost("")},
		schema.Sources("sources"),
		schema.Destinations("destinations"),
		schema.Methods("methods"),
		schema.Hosts("hosts"),
		schema.RouterPaths("paths"),
		routeHeaders(),
		{Name: "regex_priority", Type: schema.Integer, Default: num(0)},
		{Name: "path_handling", Type: schema.String, Default: "v0", OneOf: schema.Strings("v0", "v1")},
	}
}

func routeHeaders() *schema.Field {
	f := schema.Headers("headers")
	f.Keys.MatchNone = []schema.PatternError{{
		Pattern: regexp.MustCompile(`^[Hh][Oo][Ss][Tt]$`),
		Err:     "cannot contain 'host' header, which must be specified in the 'hosts' attribute",
	}}
	return f
}

func lenEqZero(v any) error {
	if a, ok := v.([]any); ok && len(a) != 0 {
		return errors.New("length must be 0")
	}
	return nil
}

// routeProtocolSubsets is Kong's mutually_exclusive_subsets on protocols.
var routeProtocolSubsets = func() func(any) error {
	subsets := [][]string{
		{"http", "https"},
		{"tcp", "tls", "udp"},
		{"tls_passthrough"},
		{"grpc", "grpcs"},
	}
	return func(v any) error {
		list, _ := v.([]any)
		var member [][]string
		seen := map[int]bool{}
		for _, p := range list {
			for i, set := range subsets {
				for _, name := range set {
					if p == name && !seen[i] {
						seen[i] = true
						member = append(member, set)
					}
				}
			}
		}
		if len(member) <= 1 {
			return nil
		}
		parts := make([]string, len(member))
		for i, set := range member {
			parts[i] = "(" + quoted(set) + ")"
		}
		return errors.New("these sets are mutually exclusive: " + strings.Join(parts, ", "))
	}
}()

func quoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	return strings.Join(q, ", ")
}

// ---------------------------------------------------------------------------
// Protocol-family checks (routes_subschemas.lua's entity checks).

func routeCheck(fn func(protocols []any, e map[string]any) string) schema.Check {
	return schema.Check{Custom: &schema.CustomCheck{
		FieldSources: []string{"protocols"},
		Fn: func(e map[string]any) string {
			protocols, _ := e["protocols"].([]any)
			if len(protocols) == 0 {
				return ""
			}
			return fn(protocols, e)
		},
	}}
}

func has(list []any, name string) bool {
	for _, v := range list {
		if v == name {
			return true
		}
	}
	return false
}

func allIn(list []any, names ...string) bool {
	for _, v := range list {
		s, _ := v.(string)
		found := false
		for _, n := range names {
			found = found || s == n
		}
		if !found {
			return false
		}
	}
	return true
}

// atLeastOne returns Kong's conditional_at_least_one_of message when none
// of the fields is set; format has one %s for the quoted field list.
func atLeastOne(e map[string]any, format string, fields ...string) string {
	for _, f := range fields {
		if schema.NonEmpty(e[f]) {
			return ""
		}
	}
	return fmt.Sprintf(format, quoted(fields))
}

func httpCheck(p []any, e map[string]any) string {
	switch {
	case has(p, "https"):
		return atLeastOne(e, "must set one of %s when 'protocols' is 'https'", "methods", "hosts", "headers", "paths", "snis")
	case has(p, "http"):
		return atLeastOne(e, "must set one of %s when 'protocols' is 'http'", "methods", "hosts", "headers", "paths")
	}
	return ""
}

func streamCheck(p []any, e map[string]any) string {
	if !allIn(p, "tcp", "tls", "udp") {
		return ""
	}
	return atLeastOne(e, "must set one of %s when 'protocols' is 'tcp', 'tls' or 'udp'", "sources", "destinations", "snis")
}

func tlsPassthroughCheck(p []any, e map[string]any) string {
	if !allIn(p, "tls_passthrough") || schema.NonEmpty(e["snis"]) {
		return ""
	}
	return "must set snis when 'protocols' is 'tls_passthrough'"
}

func grpcCheck(p []any, e map[string]any) string {
	switch {
	case has(p, "grpcs"):
		return atLeastOne(e, "must set one of %s when 'protocols' is 'grpcs'", "hosts", "headers", "paths", "snis")
	case has(p, "grpc"):
		return atLeastOne(e, "must set one of %s when 'protocols' is 'grpc'", "hosts", "headers", "paths")
	}
	return ""
}

// ---------------------------------------------------------------------------
// Subschemas: per-protocol field overrides.

// forbid turns f into Kong's no_* typedef: any non-null value is rejected
// with msg (Kong's eq = null with a custom err).
func forbid(f *schema.Field, msg string) *schema.Field {
	f.Validator = func(any) error { return errors.New(msg) }
	return f
}

func httpRouteSubschema(name string) *schema.Subschema {
	const when = " when 'protocols' is 'http' or 'https'"
	return &schema.Subschema{Name: name, Fields: []*schema.Field{
		forbid(schema.Sources("sources"), "cannot set 'sources'"+when),
		forbid(schema.Destinations("destinations"), "cannot set 'destinations'"+when),
	}}
}

func streamRouteSubschema(name string) *schema.Subschema {
	const when = " when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'"
	return &schema.Subschema{Name: name, Fields: []*schema.Field{
		forbid(schema.Methods("methods"), "cannot set 'methods'"+when),
		forbid(schema.Hosts("hosts"), "cannot set 'hosts'"+when),
		forbid(schema.RouterPaths("paths"), "cannot set 'paths'"+when),
		forbid(routeHeaders(), "cannot set 'headers'"+when),
	}}
}

func grpcRouteSubschema(name string) *schema.Subschema {
	const when = " when 'protocols' is 'grpc' or 'grpcs'"
	return &schema.Subschema{Name: name, Fields: []*schema.Field{
		{Name: "strip_path", Type: schema.Boolean, Required: true, Default: false,
			// Kong's ne = true with err.
			Validator: func(v any) error {
				if v == true {
					return errors.New("cannot set 'strip_path'" + when)
				}
				return nil
			}},
		forbid(schema.Methods("methods"), "cannot set 'methods'"+when),
		forbid(schema.Sources("sources"), "cannot set 'sources'"+when),
		forbid(schema.Destinations("destinations"), "cannot set 'destinations'"+when),
	}}
}
