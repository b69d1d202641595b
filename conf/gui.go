package conf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// guiPath checks admin_gui_path with Kong's rules: it starts with "/", does
// not end with one (except "/"), has no "//", and holds letters, digits,
// '-', '_' and '/'.
func guiPath(s string) (string, error) {
	if s == "" || s[0] != '/' {
		return "", errors.New("must start with /")
	}
	if len(s) > 1 && s[len(s)-1] == '/' {
		return "", errors.New("must not end with /")
	}
	if strings.Contains(s, "//") {
		return "", errors.New("must not contain //")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '/') {
			return "", fmt.Errorf("character %q is not allowed", c)
		}
	}
	return s, nil
}

// guiURL checks one admin_gui_url entry: an absolute http(s) URL without
// query or fragment.
func guiURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", errBadValue
	}
	return strings.TrimRight(s, "/"), nil
}

// apiURL checks admin_gui_api_url: empty, or Kong's "hierarchical part"
// (host[:port][/path]) with an optional http(s) scheme.
func apiURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	full := s
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		if strings.Contains(s, "://") {
			return "", errors.New("the scheme must be http or https")
		}
		full = "http://" + strings.TrimPrefix(s, "//")
	}
	if _, err := guiURL(full); err != nil {
		return "", err
	}
	return strings.TrimRight(s, "/"), nil
}

// SessionConf is admin_gui_session_conf read: the session plugin's settings
// that shape Portico Manager's session cookie and lifetime. Sessions are
// kept on the server (Kong's storage = "kong"); the cookie holds only a
// signed random identifier.
type SessionConf struct {
	// Secret signs the cookie (HMAC-SHA256). Empty: a random secret made
	// at the first start and kept in the store with the sessions, so that
	// sessions survive restarts (rbac.NewStoredSessions).
	Secret string
	// CookieName is the cookie's name. Default "session".
	CookieName string
	// CookiePath and CookieDomain scope the cookie. Default "/" and none.
	CookiePath, CookieDomain string
	// CookieSameSite is Strict (default), Lax, None or Default (no
	// attribute).
	CookieSameSite string
	// CookieSecure sends the cookie over https only. Default true, as in
	// Kong: set it false to use Portico Manager over plain http.
	CookieSecure bool
	// IdlingTimeout ends a session unused this long; RollingTimeout ends
	// one not renewed this long (every request renews it, so both bound
	// inactivity); AbsoluteTimeout ends it this long after login, whatever
	// its use. Zero disables each. Defaults 900s, 3600s, 86400s.
	IdlingTimeout, RollingTimeout, AbsoluteTimeout time.Duration
}

// sessionAliases are the session plugin's older names (Kong 2.x) and the
// names they stand for.
var sessionAliases = map[string]string{
	"cookie_lifetime": "rolling_timeout",
	"cookie_idletime": "idling_timeout",
	"cookie_samesite": "cookie_same_site",
	"cookie_httponly": "cookie_http_only",
}

// ParseSessionConf reads admin_gui_session_conf. notes name the settings
// that were accepted but have no effect here.
func ParseSessionConf(raw string) (sc SessionConf, notes []string, err error) {
	sc = SessionConf{CookieName: "session", CookiePath: "/", CookieSameSite: "Strict", CookieSecure: true,
		IdlingTimeout: 900 * time.Second, RollingTimeout: 3600 * time.Second, AbsoluteTimeout: 86400 * time.Second}
	if strings.TrimSpace(raw) == "" {
		return sc, nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return sc, nil, errors.New("not a JSON object")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		name := k
		if alias, ok := sessionAliases[k]; ok {
			name = alias
		}
		bad := func(want string) error { return fmt.Errorf("%s must be %s", k, want) }
		switch name {
		case "secret", "cookie_name", "cookie_path", "cookie_domain":
			s, ok := v.(string)
			if !ok || (s == "" && name != "cookie_domain") {
				return sc, nil, bad("a non-empty string")
			}
			switch name {
			case "secret":
				sc.Secret = s
			case "cookie_name":
				if _, err := headerName(s); err != nil {
					return sc, nil, bad("a cookie name")
				}
				sc.CookieName = s
			case "cookie_path":
				sc.CookiePath = s
			default:
				sc.CookieDomain = s
			}
		case "cookie_same_site":
			s, _ := v.(string)
			switch strings.ToLower(s) {
			case "strict", "lax", "none", "default":
				sc.CookieSameSite = strings.ToUpper(s[:1]) + strings.ToLower(s[1:])
			default:
				return sc, nil, bad("Strict, Lax, None or Default")
			}
		case "cookie_secure":
			b, ok := v.(bool)
			if !ok {
				return sc, nil, bad("true or false")
			}
			sc.CookieSecure = b
		case "cookie_http_only":
			// Page scripts must never read the session: HttpOnly is not
			// negotiable.
			if b, ok := v.(bool); !ok || !b {
				return sc, nil, errors.New(k + ": only true is supported (the session cookie is always HttpOnly)")
			}
		case "idling_timeout", "rolling_timeout", "absolute_timeout":
			n, ok := v.(json.Number)
			f, err := n.Float64()
			if !ok || err != nil || f < 0 {
				return sc, nil, bad("a number of seconds, 0 or more")
			}
			d := time.Duration(f * float64(time.Second))
			switch name {
			case "idling_timeout":
				sc.IdlingTimeout = d
			case "rolling_timeout":
				sc.RollingTimeout = d
			default:
				sc.AbsoluteTimeout = d
			}
		case "storage":
			if s, _ := v.(string); s != "kong" && s != "cookie" {
				return sc, nil, bad("kong or cookie")
			}
			if v == "cookie" {
				notes = append(notes, k+" 'cookie' is ignored: sessions are kept on the server, so that they can be revoked")
			}
		default:
			notes = append(notes, k+" is ignored: Portico Manager does not use it")
		}
	}
	return sc, notes, nil
}

// sessionConf checks admin_gui_session_conf when it is loaded.
func sessionConf(s string) (string, error) {
	if _, _, err := ParseSessionConf(s); err != nil {
		return "", err
	}
	return s, nil
}
