package entities

import "github.com/portico-gw/portico/schema"

// ACLsName is Kong's name of the acl plugin's groups entity.
const ACLsName = "acls"

// ACLs is the acl plugin's entity (kong/plugins/acl/daos.lua): one group a
// consumer belongs to, each group once per consumer (Kong's cache key).
// Served at /acls and /consumers/{consumer}/acls, where a consumer's
// group is also addressed by its name.
func ACLs() *schema.Entity {
	return credential(&schema.Entity{
		Name: ACLsName,
		// The group names a consumer's acl under /consumers/{c}/acls/{group}:
		// it is unique only within the consumer.
		EndpointKey: "group",
		CacheKey:    []string{"consumer", "group"},
	},
		&schema.Field{Name: "group", Type: schema.String, Required: true},
	)
}
