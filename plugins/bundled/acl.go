package bundled

import (
	"strings"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// acl is Kong's acl (kong/plugins/acl/schema.lua): exactly one of allow and
// deny lists consumer groups.
func acl() plugins.Info {
	return runs(newACL, info("acl", 950, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		config(
			stringArray("allow"),
			stringArray("deny"),
			&schema.Field{Name: "hide_groups_header", Type: schema.Boolean, Required: true, Default: false},
			// Added in 3.8.
			&schema.Field{Name: "always_use_authenticated_groups", Type: schema.Boolean, Required: true, Default: false},
		),
	},
		schema.Check{OnlyOneOf: []string{"config.allow", "config.deny"}},
		schema.Check{AtLeastOneOf: []string{"config.allow", "config.deny"}},
	))
}

// Kong's acl answers and headers (kong/plugins/acl/handler.lua,
// kong/constants.lua).
const (
	msgCannotConsume          = "You cannot consume this service"
	headerConsumerGroups      = "X-Consumer-Groups"
	headerAuthenticatedGroups = "X-Authenticated-Groups"
	sharedAuthenticatedGroups = "authenticated_groups"
	entityACLs                = "acls"
	aclGroupsHeaderSeparator  = ", "
)

// aclGuard is an acl instance (kong/plugins/acl/handler.lua): the groups
// of the authenticated consumer (its acls), or the groups another plugin
// authenticated (kong.ctx.shared.authenticated_groups: LDAP, OAuth 2.0 ...),
// must meet the allow list, or miss the deny list.
type aclGuard struct {
	deny   bool
	groups map[string]struct{}
	hide   bool
	// alwaysAuthenticated prefers authenticated groups over a consumer's.
	alwaysAuthenticated bool
}

func newACL(conf map[string]any) (plugins.Handler, error) {
	g := &aclGuard{
		hide:                row.Bool(conf, "hide_groups_header", false),
		alwaysAuthenticated: row.Bool(conf, "always_use_authenticated_groups", false),
		groups:              map[string]struct{}{},
	}
	list := row.Strings(conf["allow"])
	if deny := row.Strings(conf["deny"]); len(deny) > 0 {
		g.deny, list = true, deny
	}
	for _, name := range list {
		g.groups[name] = struct{}{}
	}
	return g, nil
}

func (g *aclGuard) Access(c *plugins.Context) error {
	consumerID, _ := c.Consumer[fieldID].(string)
	var groups []string
	header := headerConsumerGroups
	authGroups, haveAuthGroups := authenticatedGroups(c)
	switch {
	case consumerID == "" && !haveAuthGroups:
		g.refuse(c)
		return nil
	case haveAuthGroups && (consumerID == "" || c.Credential == nil || g.alwaysAuthenticated):
		// Authenticated groups stand in for an anonymous consumer's (or,
		// with always_use_authenticated_groups, any consumer's).
		groups, header = authGroups, headerAuthenticatedGroups
	default:
		if c.Data == nil {
			return errNoData
		}
		rows, err := c.Data.Find(entityACLs, "consumer", consumerID)
		if err != nil {
			return err
		}
		if len(rows) == 0 && !g.deny {
			g.refuse(c)
			return nil
		}
		groups = make([]string, 0, len(rows))
		for _, r := range rows {
			if name, ok := r["group"].(string); ok {
				groups = append(groups, name)
			}
		}
	}
	in := false
	for _, name := range groups {
		if _, ok := g.groups[name]; ok {
			in = true
			break
		}
	}
	if in == g.deny {
		c.Error(403, msgCannotConsume)
		return nil
	}
	if !g.hide && len(groups) > 0 {
		c.Request.Header.Set(header, strings.Join(groups, aclGroupsHeaderSeparator))
	}
	return nil
}

// refuse answers a request without groups: 403 when a credential was
// authenticated (its consumer has no groups), else 401, as Kong does.
func (g *aclGuard) refuse(c *plugins.Context) {
	if c.Credential != nil {
		c.Error(403, msgCannotConsume)
		return
	}
	c.Error(401, "")
}

// authenticatedGroups reads kong.ctx.shared.authenticated_groups, set by
// plugins that authenticate groups rather than consumers.
func authenticatedGroups(c *plugins.Context) ([]string, bool) {
	v, ok := c.Shared[sharedAuthenticatedGroups]
	if !ok || v == nil {
		return nil, false
	}
	switch l := v.(type) {
	case []string:
		return l, true
	case []any:
		return row.Strings(l), true
	}
	return nil, false
}

var _ plugins.Accessor = (*aclGuard)(nil)
