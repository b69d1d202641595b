package bundled

import (
	"errors"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

const msgOAuth2Flows = "at least one of these fields must be true: enable_authorization_code, enable_implicit_grant, enable_client_credentials, enable_password_grant"

// daoMaxTTL is Kong's DATABASE.DAO_MAX_TTL (typedefs.ttl's upper bound).
const daoMaxTTL = 1e8

// oauth2 is Kong's oauth2 (kong/plugins/oauth2/schema.lua), configuration
// only: the token endpoints and credential entities come with its handler.
//
// Kong declares provision_key { unique, auto, required, encrypted }: Kong
// generates a random string on insert. The schema engine generates only
// top-level UUIDs and timestamps, so the field is optional here (null unless
// given) instead of required; see the package report.
func oauth2() plugins.Info {
	return info("oauth2", 1400, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		withValidator(config(
			stringArray("scopes"),
			&schema.Field{Name: "mandatory_scope", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "provision_key", Type: schema.String, Unique: true, Auto: true, Encrypted: true},
			// Access token lifetime in seconds.
			&schema.Field{Name: "token_expiration", Type: schema.Number, Required: true, Default: float64(7200)},
			&schema.Field{Name: "enable_authorization_code", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "enable_implicit_grant", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "enable_client_credentials", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "enable_password_grant", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "hide_credentials", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "accept_http_if_already_terminated", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "anonymous", Type: schema.String},
			&schema.Field{Name: "global_credentials", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "auth_header_name", Type: schema.String, Default: "authorization"},
			// Refresh token lifetime in seconds (typedefs.ttl).
			&schema.Field{Name: "refresh_token_ttl", Type: schema.Number, Required: true, Default: float64(1209600), Between: schema.Range(0, daoMaxTTL)},
			&schema.Field{Name: "reuse_refresh_token", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "persistent_refresh_token", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "pkce", Type: schema.String, Default: "lax", OneOf: schema.Strings("none", "lax", "strict")},
			&schema.Field{Name: "realm", Type: schema.String},
		), validateOAuth2Flows),
	},
		// Kong declares this check on the config record itself; the engine
		// runs checks at the entity level, hence the config. prefixes.
		schema.Check{Conditional: &schema.Conditional{
			IfField:   "config.mandatory_scope",
			IfMatch:   &schema.Field{Eq: true},
			ThenField: "config.scopes",
			ThenMatch: &schema.Field{Required: true},
		}},
	)
}

// validateOAuth2Flows is oauth2's config custom_validator: one grant flow at least.
func validateOAuth2Flows(v any) error {
	conf, _ := v.(map[string]any)
	for _, flow := range []string{"enable_authorization_code", "enable_implicit_grant", "enable_client_credentials", "enable_password_grant"} {
		if conf[flow] == true {
			return nil
		}
	}
	return errors.New(msgOAuth2Flows)
}
