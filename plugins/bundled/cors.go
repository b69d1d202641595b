package bundled

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// corsMethods are the methods cors allows, all of them by default.
var corsMethods = []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"}

// cors is Kong's cors (kong/plugins/cors/schema.lua).
func cors() plugins.Info {
	return runs(newCORS, info("cors", 2000, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		config(
			// Allowed origins: "*" or regular expressions.
			&schema.Field{Name: "origins", Type: schema.Array, Elements: &schema.Field{Type: schema.String, Validator: validateRegexOrAsterisk}},
			stringArray("headers"),
			stringArray("exposed_headers"),
			&schema.Field{Name: "methods", Type: schema.Array,
				Elements: &schema.Field{Type: schema.String, OneOf: schema.Strings(corsMethods...)},
				Default:  schema.Strings(corsMethods...)},
			// Access-Control-Max-Age, in seconds.
			&schema.Field{Name: "max_age", Type: schema.Number},
			&schema.Field{Name: "credentials", Type: schema.Boolean, Required: true, Default: false},
			// Access-Control-Allow-Private-Network (added in 3.5).
			&schema.Field{Name: "private_network", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "preflight_continue", Type: schema.Boolean, Required: true, Default: false},
		),
	}))
}

// corsPolicy answers preflight requests and adds CORS headers to answers
// (kong/plugins/cors/handler.lua, as in Kong 3.9).
type corsPolicy struct {
	allowAll    bool   // no origins, or just "*"
	single      string // one plain origin: always sent as is
	domains     []corsDomain
	hasWildcard bool   // "*" among several origins
	headers     string // joined config.headers
	exposed     string // joined config.exposed_headers
	methods     string
	maxAge      string
	credentials bool
	privateNet  bool
	preflightGo bool
}

// corsDomain is one configured origin: a plain origin compared after
// normalisation, or a pattern matched on the host (or the whole origin
// when the pattern has a ":").
type corsDomain struct {
	domain string
	regex  *regexp.Regexp
	byHost bool
}

var plainOrigin = regexp.MustCompile(`^[A-Za-z0-9.:/-]+$`)

func newCORS(conf map[string]any) (plugins.Handler, error) {
	p := &corsPolicy{credentials: row.Bool(conf, "credentials", false), privateNet: row.Bool(conf, "private_network", false),
		preflightGo: row.Bool(conf, "preflight_continue", false)}
	origins := row.Strings(conf["origins"])
	switch {
	case len(origins) == 0 || (len(origins) == 1 && origins[0] == "*"):
		p.allowAll = true
	case len(origins) == 1 && plainOrigin.MatchString(origins[0]):
		p.single = origins[0]
	default:
		for _, o := range origins {
			if o == "*" {
				p.hasWildcard = true
				continue
			}
			d := corsDomain{byHost: !strings.Contains(o, ":")}
			if plainOrigin.MatchString(o) {
				d.domain, _ = normalizeOrigin(o)
			} else {
				expr := strings.TrimPrefix(o, "^")
				if !strings.HasSuffix(expr, "$") {
					expr += "$"
				}
				re, err := regexp.Compile("^(?:" + expr + ")")
				if err != nil {
					return nil, fmt.Errorf("config.origins: %q: %w", o, err)
				}
				d.regex = re
			}
			p.domains = append(p.domains, d)
		}
	}
	p.headers = strings.Join(row.Strings(conf["headers"]), ",")
	p.exposed = strings.Join(row.Strings(conf["exposed_headers"]), ",")
	if m := row.Strings(conf["methods"]); len(m) > 0 {
		p.methods = strings.Join(m, ",")
	} else {
		p.methods = strings.Join(corsMethods, ",")
	}
	if v, ok := conf["max_age"].(float64); ok {
		p.maxAge = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return p, nil
}

// normalizeOrigin is scheme://host[:port] without the scheme's default
// port, and the host.
func normalizeOrigin(origin string) (domain, host string) {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return origin, origin
	}
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	domain = u.Hostname()
	if strings.Contains(domain, ":") {
		domain = "[" + domain + "]"
	}
	if port != "" {
		domain += ":" + port
	}
	if u.Scheme != "" {
		domain = u.Scheme + "://" + domain
	}
	return domain, u.Hostname()
}

// origin sets Access-Control-Allow-Origin; true when every origin is
// allowed ("*").
func (p *corsPolicy) origin(c *plugins.Context, addVary bool, reqOrigin string) bool {
	h := &c.Response.Header
	if p.allowAll {
		h.Set("Access-Control-Allow-Origin", "*")
		return true
	}
	vary(h, addVary)
	if p.single != "" {
		h.Set("Access-Control-Allow-Origin", p.single)
		return false
	}
	if reqOrigin != "" {
		if p.hasWildcard {
			h.Set("Access-Control-Allow-Origin", "*")
			return true
		}
		domain, host := normalizeOrigin(reqOrigin)
		for _, d := range p.domains {
			found := d.domain != "" && domain == d.domain
			if d.regex != nil {
				subject := domain
				if d.byHost {
					subject = host
				}
				found = d.regex.MatchString(subject)
			}
			if found {
				h.Set("Access-Control-Allow-Origin", domain)
				return false
			}
		}
	}
	h.Del("Access-Control-Allow-Origin")
	return false
}

// vary adds Vary: Origin to an answer (header filter) or sets it (preflight).
func vary(h *fasthttp.ResponseHeader, add bool) {
	if add {
		h.Add("Vary", "Origin")
		return
	}
	h.Set("Vary", "Origin")
}

func (p *corsPolicy) credentialsHeaders(c *plugins.Context, allowAll, addVary bool, reqOrigin string) {
	if !p.credentials {
		return
	}
	h := &c.Response.Header
	if !allowAll {
		h.Set("Access-Control-Allow-Credentials", "true")
		return
	}
	if reqOrigin != "" {
		vary(h, addVary)
		h.Set("Access-Control-Allow-Origin", reqOrigin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// corsPreflight marks a request answered as a preflight (its answer gets
// no further CORS headers).
const corsPreflight = "cors.preflight"

func (p *corsPolicy) Access(c *plugins.Context) error {
	req := &c.Request.Header
	if string(req.Method()) != "OPTIONS" || len(req.Peek("Origin")) == 0 || len(req.Peek("Access-Control-Request-Method")) == 0 {
		return nil // not a preflight: nothing to do, nothing allocated
	}
	origin := string(req.Peek("Origin"))
	c.Shared[corsPreflight] = true
	if p.preflightGo {
		return nil
	}
	c.Exit(200, nil, nil)
	allowAll := p.origin(c, false, origin)
	p.credentialsHeaders(c, allowAll, false, origin)
	h := &c.Response.Header
	switch {
	case p.headers != "":
		h.Set("Access-Control-Allow-Headers", p.headers)
	case len(req.Peek("Access-Control-Request-Headers")) > 0:
		h.SetBytesV("Access-Control-Allow-Headers", req.Peek("Access-Control-Request-Headers"))
	}
	h.Set("Access-Control-Allow-Methods", p.methods)
	if p.maxAge != "" {
		h.Set("Access-Control-Max-Age", p.maxAge)
	}
	if p.privateNet && string(req.Peek("Access-Control-Request-Private-Network")) == "true" {
		h.Set("Access-Control-Allow-Private-Network", "true")
	}
	return nil
}

func (p *corsPolicy) HeaderFilter(c *plugins.Context) error {
	if c.Shared[corsPreflight] == true {
		return nil
	}
	origin := string(c.Request.Header.Peek("Origin"))
	allowAll := p.origin(c, true, origin)
	p.credentialsHeaders(c, allowAll, true, origin)
	if p.exposed != "" {
		c.Response.Header.Set("Access-Control-Expose-Headers", p.exposed)
	}
	return nil
}
