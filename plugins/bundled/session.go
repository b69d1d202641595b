package bundled

import (
	"crypto/rand"
	"encoding/base64"
	"math/big"
	"strings"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// sessionHeaders are the session values the plugin can expose as headers.
var sessionHeaders = []string{"id", "audience", "subject", "timeout", "idling-timeout", "rolling-timeout", "absolute-timeout"}

// session is Kong's session (kong/plugins/session/schema.lua).
//
// Kong's shorthands for the pre-3.2 cookie_* options (cookie_lifetime,
// cookie_idletime, cookie_renew, cookie_discard, cookie_samesite,
// cookie_httponly, cookie_persistent) need shorthand fields inside records,
// which the schema engine does not have yet; they are refused as unknown.
func session() plugins.Info {
	headers := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Set, Elements: &schema.Field{Type: schema.String, OneOf: schema.Strings(sessionHeaders...)}}
	}
	return info("session", 1900, []*schema.Field{
		noConsumer(),
		protocolsAny(),
		config(
			// Kong draws the default secret once per node when it loads the
			// schema; Portico draws it once per registry.
			&schema.Field{Name: "secret", Type: schema.String, Default: randomSecret(), Encrypted: true, Referenceable: true},
			&schema.Field{Name: "storage", Type: schema.String, Default: "cookie", OneOf: schema.Strings("cookie", "kong")},
			&schema.Field{Name: "audience", Type: schema.String, Default: "default"},
			// Timeouts in seconds.
			&schema.Field{Name: "idling_timeout", Type: schema.Number, Default: float64(900)},
			&schema.Field{Name: "rolling_timeout", Type: schema.Number, Default: float64(3600)},
			&schema.Field{Name: "absolute_timeout", Type: schema.Number, Default: float64(86400)},
			&schema.Field{Name: "stale_ttl", Type: schema.Number, Default: float64(10)},
			&schema.Field{Name: "cookie_name", Type: schema.String, Default: "session"},
			&schema.Field{Name: "cookie_path", Type: schema.String, Default: "/"},
			&schema.Field{Name: "cookie_domain", Type: schema.String},
			&schema.Field{Name: "cookie_same_site", Type: schema.String, Default: "Strict", OneOf: schema.Strings("Strict", "Lax", "None", "Default")},
			&schema.Field{Name: "cookie_http_only", Type: schema.Boolean, Default: true},
			&schema.Field{Name: "cookie_secure", Type: schema.Boolean, Default: true},
			&schema.Field{Name: "remember", Type: schema.Boolean, Default: false},
			&schema.Field{Name: "remember_cookie_name", Type: schema.String, Default: "remember"},
			&schema.Field{Name: "remember_rolling_timeout", Type: schema.Number, Default: float64(604800)},
			&schema.Field{Name: "remember_absolute_timeout", Type: schema.Number, Default: float64(2592000)},
			headers("response_headers"),
			headers("request_headers"),
			&schema.Field{Name: "logout_methods", Type: schema.Set,
				Elements: &schema.Field{Type: schema.String, OneOf: schema.Strings("GET", "POST", "DELETE")},
				Default:  schema.Strings("POST", "DELETE")},
			&schema.Field{Name: "logout_query_arg", Type: schema.String, Default: "session_logout"},
			&schema.Field{Name: "logout_post_arg", Type: schema.String, Default: "session_logout"},
			&schema.Field{Name: "read_body_for_logout", Type: schema.Boolean, Default: false},
		),
	})
}

// randomSecret is the session plugin's random_string: 32 random bytes in
// base64 (44 characters) with '/', '+' and '=' replaced by a random digit,
// upper-case and lower-case letter respectively, so the value is alphanumeric.
func randomSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("BUG: reading random bytes: " + err.Error())
	}
	s := base64.StdEncoding.EncodeToString(b)
	s = strings.ReplaceAll(s, "/", string(randomByte('0', '9')))
	s = strings.ReplaceAll(s, "+", string(randomByte('A', 'Z')))
	return strings.ReplaceAll(s, "=", string(randomByte('a', 'z')))
}

func randomByte(lo, hi byte) byte {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(hi-lo)+1))
	if err != nil {
		panic("BUG: reading random bytes: " + err.Error())
	}
	return lo + byte(n.Int64())
}
