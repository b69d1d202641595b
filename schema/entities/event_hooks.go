package entities

import "github.com/portico-gw/portico/schema"

// EventHooks is Kong Enterprise's event_hooks entity
// (kong/db/schema/entities/event_hooks.lua and event_hooks_subschemas.lua):
// a relationship between an event (source, event) and a handler that acts
// on it. The handler selects the subschema that gives config its fields:
// webhook, webhook-custom, log and lambda.
//
// Event hooks are addressed by id only, have no PUT (405), no tags, and are
// global rather than per workspace. Since Kong 3.7 source and event are not
// checked when a hook is written (an emit for an unknown source is dropped).
//
// What webhook-custom templates and lambda functions run is checked when a
// hook is written by checks the event hooks package, which owns the Lua
// sandbox, adds to the webhook-custom and lambda subschemas at start
// (eventhooks.InstallValidation).
func EventHooks() *schema.Entity {
	e := &schema.Entity{
		Name:         EventHooksName,
		AdminPath:    "event-hooks",
		NoPut:        true,
		SubschemaKey: "handler",
		UnknownSubschema: func(handler string) string {
			return "unknown type: " + handler
		},
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			{Name: "source", Type: schema.String, Required: true},
			// Null means every event of the source.
			{Name: "event", Type: schema.String},
			{Name: "on_change", Type: schema.Boolean},
			// Seconds. Kong sets no bounds.
			{Name: "snooze", Type: schema.Integer},
			{Name: "handler", Type: schema.String, Required: true},
			// Kong's abstract config: the handler's subschema replaces it.
			{Name: "config", Type: schema.Record, Required: true},
		},
	}
	e.AddSubschema(&schema.Subschema{Name: "webhook", Fields: []*schema.Field{
		{Name: "config", Type: schema.Record, Required: true, Fields: []*schema.Field{
			with(schema.URL("url"), required),
			stringMap("headers", def(map[string]any{})),
			{Name: "secret", Type: schema.String, Sensitive: true},
			{Name: "ssl_verify", Type: schema.Boolean, Default: false},
		}},
	}})
	e.AddSubschema(&schema.Subschema{Name: "webhook-custom", Fields: []*schema.Field{
		{Name: "config", Type: schema.Record, Required: true, Fields: []*schema.Field{
			with(schema.URL("url"), required),
			with(schema.HTTPMethod("method"), required),
			stringMap("payload"),
			{Name: "payload_format", Type: schema.Boolean, Default: true},
			{Name: "body", Type: schema.String, AllowEmpty: true},
			{Name: "body_format", Type: schema.Boolean, Default: true},
			stringMap("headers", def(map[string]any{})),
			{Name: "headers_format", Type: schema.Boolean, Default: false},
			{Name: "secret", Type: schema.String, Sensitive: true},
			{Name: "ssl_verify", Type: schema.Boolean, Default: false},
		}},
	}})
	// Kong's log config is a record with no fields and not required; Kong
	// prints it as {} when omitted, hence the default.
	e.AddSubschema(&schema.Subschema{Name: "log", Fields: []*schema.Field{
		{Name: "config", Type: schema.Record, Fields: []*schema.Field{}, Default: map[string]any{}},
	}})
	e.AddSubschema(&schema.Subschema{Name: "lambda", Fields: []*schema.Field{
		{Name: "config", Type: schema.Record, Required: true, Fields: []*schema.Field{
			// Kong compiles and runs each function at validation time (its
			// sandbox): the event hooks service installs that check.
			{Name: "functions", Type: schema.Array, Required: true, Elements: &schema.Field{Type: schema.String}},
		}},
	}})
	return e
}

// Kong's names of the event hooks entity, and Portico's of its deliveries
// and their payloads.
const (
	EventHooksName          = "event_hooks"
	EventHookDeliveriesName = "event_hook_deliveries"
	EventHookPayloadsName   = "event_hook_payloads"
	EventHookWindowsName    = "event_hook_windows"
)

// EventHookDeliveriesQueue is the sorted index of event hook deliveries by
// status and order time ("t": the due time of a pending delivery, the time
// a finished one finished): the queue read in due order, and trimmed by
// age.
const EventHookDeliveriesQueue = "queue"

// EventHookDeliveries is the table of the events owed to event hooks: the
// outbox and the delivery records in one (eventhooks/delivery/record.go
// holds a record's columns), one small row per hook and event; the event's
// data is in EventHookPayloads, once per write. It is internal: the event
// hooks pipeline writes it straight to the store and serves it through its
// own endpoints. Records reference their hook loosely (indexed, not
// enforced), so they outlive a deleted hook until trimmed.
func EventHookDeliveries() *schema.Entity {
	return &schema.Entity{
		Name:       EventHookDeliveriesName,
		Internal:   true,
		NoAdminAPI: true,
		Fields: []*schema.Field{
			schema.ID(),
			{Name: "event_hook", Type: schema.Foreign, Reference: EventHooksName, Loose: true},
			{Name: "status", Type: schema.String, Required: true},
		},
		Sorted: []schema.SortedIndex{
			{Name: EventHookDeliveriesQueue, Fields: []string{"status", "t"}},
		},
	}
}

// EventHookPayloads holds the data of the events owed to event hooks, one
// row per event however many hooks it goes to; a payload lists the
// deliveries that use it, and goes when the last of them is trimmed.
func EventHookPayloads() *schema.Entity {
	return &schema.Entity{
		Name:       EventHookPayloadsName,
		Internal:   true,
		NoAdminAPI: true,
		Fields:     []*schema.Field{schema.ID()},
	}
}

// stringMap is a map of strings to strings.
func stringMap(name string, opts ...option) *schema.Field {
	return with(&schema.Field{Name: name, Type: schema.Map,
		Keys: &schema.Field{Type: schema.String}, Values: &schema.Field{Type: schema.String}}, opts...)
}

// EventHookWindows holds the snooze windows and on_change digests of event
// hooks, one row per hook, source and event, written in the transaction of
// the write whose event they judge (eventhooks/filter.go). Rows reference
// their hook loosely, and go when it is deleted.
func EventHookWindows() *schema.Entity {
	return &schema.Entity{
		Name:       EventHookWindowsName,
		Internal:   true,
		NoAdminAPI: true,
		Fields: []*schema.Field{
			schema.ID(),
			{Name: "event_hook", Type: schema.Foreign, Reference: EventHooksName, Loose: true},
		},
	}
}
