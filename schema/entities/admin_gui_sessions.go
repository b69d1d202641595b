package entities

import "github.com/portico-gw/portico/schema"

// AdminGUISessionsName is Portico's table of Portico Manager's login
// sessions.
const AdminGUISessionsName = "admin_gui_sessions"

// AdminGUISessionsExpiry is the sorted index of the sessions by
// "expires_at" (Unix seconds): expired sessions are swept through it
// without reading the table.
const AdminGUISessionsExpiry = "expiry"

// AdminGUISessions holds Portico Manager's login sessions, so that they
// survive a restart and are shared by the nodes of one store: a row's id
// is the hex SHA-256 of the session's random identifier (never the
// identifier or the cookie), with the admin's RBAC user id and username,
// and its created, last-seen and expiry times. One row with id "secret"
// holds the cookie's signing key when admin_gui_session_conf sets none.
// It is internal (rbac/sessions.go writes it straight to the store) and
// never in a declarative file. The RBAC user is not a foreign key: an
// admin's deletion is not held up by their sessions, which each request
// checks against the live user anyway.
func AdminGUISessions() *schema.Entity {
	return &schema.Entity{
		Name:          AdminGUISessionsName,
		Internal:      true,
		NoAdminAPI:    true,
		NoDeclarative: true,
		Fields:        []*schema.Field{{Name: schema.FieldID, Type: schema.String}},
		Sorted: []schema.SortedIndex{
			{Name: AdminGUISessionsExpiry, Fields: []string{"expires_at"}},
		},
	}
}
