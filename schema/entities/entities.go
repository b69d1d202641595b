// Package entities defines Kong's core entities (OSS 3.9, traditional_compatible
// router flavor) and Kong Enterprise's workspaces, event hooks and RBAC as
// schema values, each with its DAO behaviour (Entity.Behaviour, the hooks
// of schema/hooks.go) in the same file: certificates store their SNIs,
// workspaces keep their names and the default workspace, RBAC users hash
// their unique tokens, admins get an RBAC user.
//
// Each constructor returns a fresh *schema.Entity so that registries (and the
// plugin subschemas registered on them) are independent.
package entities

import "github.com/portico-gw/portico/schema"

// All returns every core entity in registration order: referenced entities
// before the ones referencing them. Workspaces come first because every
// workspaceable entity belongs to one; then certificates, which services
// and upstreams reference (client_certificate).
func All() []*schema.Entity {
	return []*schema.Entity{
		Workspaces(),
		Certificates(),
		Services(),
		Routes(),
		Consumers(),
		Plugins(),
		KeyAuthCredentials(),
		BasicAuthCredentials(),
		ACLs(),
		JWTSecrets(),
		HMACAuthCredentials(),
		Upstreams(),
		Targets(),
		SNIs(),
		CACertificates(),
		KeySets(),
		Keys(),
		EventHooks(),
		EventHookDeliveries(),
		EventHookPayloads(),
		EventHookWindows(),
		RBACUsers(),
		Admins(),
		RBACRoles(),
		RBACRoleEndpoints(),
		RBACRoleEntities(),
		RBACUserRoles(),
		AdminGUISessions(),
	}
}

// option adjusts a typedef for one use, like Kong's typedef{ ... } call.
type option func(*schema.Field)

func with(f *schema.Field, opts ...option) *schema.Field {
	for _, o := range opts {
		o(f)
	}
	return f
}

func required(f *schema.Field) { f.Required = true }

func unique(f *schema.Field) { f.Unique = true }

func def(v any) option { return func(f *schema.Field) { f.Default = v } }

// num is a JSON-model number literal.
func num(n int) float64 { return float64(n) }
