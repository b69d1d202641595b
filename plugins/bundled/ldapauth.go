package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// msgLDAPSAndStartTLS is ldap-auth's message for both TLS modes at once.
const msgLDAPSAndStartTLS = "'ldaps' and 'start_tls' cannot be enabled simultaneously"

// ldapAuth is Kong's ldap-auth (kong/plugins/ldap-auth/schema.lua).
func ldapAuth() plugins.Info {
	return info("ldap-auth", 1200, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		config(
			required(host("ldap_host")),
			withDefault(required(port("ldap_port")), float64(389)),
			&schema.Field{Name: "ldaps", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "start_tls", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "verify_ldap_host", Type: schema.Boolean, Required: true, Default: false},
			// Search base, e.g. dc=example,dc=com, and the user attribute, e.g. cn.
			&schema.Field{Name: "base_dn", Type: schema.String, Required: true},
			&schema.Field{Name: "attribute", Type: schema.String, Required: true},
			// Seconds.
			&schema.Field{Name: "cache_ttl", Type: schema.Number, Required: true, Default: float64(60)},
			&schema.Field{Name: "hide_credentials", Type: schema.Boolean, Required: true, Default: false},
			// Milliseconds.
			&schema.Field{Name: "timeout", Type: schema.Number, Default: float64(10000)},
			&schema.Field{Name: "keepalive", Type: schema.Number, Default: float64(60000)},
			&schema.Field{Name: "anonymous", Type: schema.String},
			&schema.Field{Name: "header_type", Type: schema.String, Default: "ldap"},
			&schema.Field{Name: "realm", Type: schema.String},
		),
	},
		// Kong declares this check on the config record; see oauth2.
		schema.Check{Conditional: &schema.Conditional{
			IfField:   "config.ldaps",
			IfMatch:   &schema.Field{Eq: true},
			ThenField: "config.start_tls",
			ThenMatch: &schema.Field{Eq: false},
			ThenErr:   msgLDAPSAndStartTLS,
		}},
	)
}
