package entities

import "github.com/portico-gw/portico/schema"

// ReservedWorkspaceNames cannot name a workspace: Kong refuses its core
// entities' names, and Portico also the other first segments of Admin API
// paths, so that /{workspace}/... can never be mistaken for an endpoint.
var ReservedWorkspaceNames = []string{
	// Kong's CORE_ENTITIES, in Kong's order.
	"workspaces", "consumers", "certificates", "services", "routes", "snis", "upstreams", "targets",
	"plugins", "tags", "ca_certificates", "clustering_data_planes", "parameters", "vaults", "key_sets",
	"keys", "filter_chains",
	// The other Admin API roots.
	"admins", "rbac", "event-hooks", "schemas", "status", "endpoints", "metrics", "userinfo",
	"ca-certificates", "timers", "config", "cache", "debug", "clustering", "kong",
	// The collections of the plugins' credential entities.
	"key-auths", "basic-auths", "acls", "jwts", "hmac-auths",
	// Kong Enterprise's collections served as unused, and Kong's filter
	// chains (admin/enterprise.go).
	"key-sets", "consumer_groups", "partials", "licenses", "mtls-auths", "oauth2", "oauth2_tokens",
	"degraphql_routes", "graphql-rate-limiting-advanced", "filter-chains",
}

// WorkspacesName is Kong's name of the workspaces entity.
const WorkspacesName = "workspaces"

// portalMetaFields is Kong's default for a workspace's Dev Portal sign-up fields.
const portalMetaFields = `[{"label":"Full Name","title":"full_name","validator":{"required":true,"type":"string"}}]`

// Workspaces is Kong's workspaces entity: a namespace that holds its own
// services, routes, consumers, plugins ... with names unique per workspace.
// The Enterprise meta and config records are kept (a workspace's colour
// and thumbnail in Kong Manager; the retired Dev Portal settings).
func Workspaces() *schema.Entity {
	reserved := make([]any, len(ReservedWorkspaceNames))
	for i, n := range ReservedWorkspaceNames {
		reserved[i] = n
	}
	name := schema.UTF8Name("name")
	name.Required = true
	name.Unique = true
	name.NotOneOf = reserved
	str := func(n string) *schema.Field { return &schema.Field{Name: n, Type: schema.String} }
	boolean := func(n string) *schema.Field { return &schema.Field{Name: n, Type: schema.Boolean} }
	strings := func(n string) *schema.Field {
		return &schema.Field{Name: n, Type: schema.Array, Elements: &schema.Field{Type: schema.String}}
	}
	e := &schema.Entity{
		Name:        WorkspacesName,
		Workspaces:  true,
		EndpointKey: "name",
		Fields: []*schema.Field{
			schema.ID(),
			name,
			str("comment"),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			{Name: "meta", Type: schema.Record, Required: true, Default: map[string]any{}, Fields: []*schema.Field{
				str("color"),
				str("thumbnail"),
			}},
			{Name: "config", Type: schema.Record, Required: true, Default: map[string]any{"portal": false, "portal_developer_meta_fields": portalMetaFields}, Fields: []*schema.Field{
				{Name: "meta", Type: schema.Map, Keys: &schema.Field{Type: schema.String}, Values: &schema.Field{Type: schema.String}},
				{Name: "portal", Type: schema.Boolean, Default: false},
				boolean("portal_access_request_email"),
				boolean("portal_approved_email"),
				str("portal_auth"),
				str("portal_auth_conf"),
				boolean("portal_auto_approve"),
				strings("portal_cors_origins"),
				str("portal_developer_meta_fields"),
				str("portal_emails_from"),
				str("portal_emails_reply_to"),
				boolean("portal_invite_email"),
				boolean("portal_is_legacy"),
				boolean("portal_reset_email"),
				boolean("portal_reset_success_email"),
				str("portal_session_conf"),
				strings("portal_smtp_admin_emails"),
				{Name: "portal_token_exp", Type: schema.Integer},
			}},
		},
	}
	e.Behaviour = workspaceRules{workspaces: e}
	return e
}

// Kong Enterprise's workspace rules (kong/api/routes/workspaces.lua).
const (
	msgCannotRename        = "Cannot rename a workspace"
	msgCannotDeleteDefault = "Cannot delete default workspace"
	msgWorkspaceNotEmpty   = "Workspace is not empty"
)

// workspaceRules keeps workspaces' names fixed (every workspace-prefixed
// path and RBAC permission names one) and the default workspace in place.
type workspaceRules struct{ workspaces *schema.Entity }

func (workspaceRules) BeforeWrite(_ schema.WriteTx, row, old map[string]any) error {
	if old != nil && row["name"] != old["name"] {
		return &schema.Refusal{Message: msgCannotRename}
	}
	return nil
}

// BeforeDelete refuses to delete the default workspace or one that still
// holds entities, naming how many of each, as Kong does.
func (r workspaceRules) BeforeDelete(tx schema.WriteTx, row map[string]any) error {
	if row["name"] == schema.DefaultWorkspace {
		return &schema.Refusal{Message: msgCannotDeleteDefault}
	}
	id, _ := row[schema.FieldID].(string)
	counts, err := tx.Count(r.workspaces, id)
	if err != nil {
		return err
	}
	if len(counts) > 0 {
		return &schema.Refusal{Message: msgWorkspaceNotEmpty, Detail: map[string]any{"entities": counts}}
	}
	return nil
}
