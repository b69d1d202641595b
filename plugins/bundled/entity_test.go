package bundled

import (
	"fmt"
	"testing"
	"time"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// This file builds a stand-in for Kong's plugins entity
// (kong/db/schema/entities/plugins.lua) so the plugin schemas can be tested
// without the core entity definitions.

const (
	testID  = "6f0b6c7e-8c1a-4b8e-9d3c-2a1b0c9d8e7f"
	testNow = 1700000000
)

var testAuto = schema.Auto{
	Now:   func() time.Time { return time.Unix(testNow, 0) },
	NewID: func() string { return testID },
}

// pluginsEntity returns a plugins entity with Kong's fields.
func pluginsEntity() *schema.Entity {
	foreign := func(name, ref string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Foreign, Reference: ref, OnDelete: "cascade"}
	}
	return &schema.Entity{
		Name:          "plugins",
		EndpointKey:   "instance_name",
		CacheKey:      []string{"name", "route", "service", "consumer"},
		SubschemaKey:  "name",
		Workspaceable: true,
		UnknownSubschema: func(key string) string {
			return fmt.Sprintf("plugin '%s' not enabled; add it to the 'plugins' configuration property", key)
		},
		Fields: []*schema.Field{
			{Name: "id", Type: schema.String, UUID: true, Auto: true},
			{Name: "name", Type: schema.String, Required: true},
			{Name: "instance_name", Type: schema.String, Unique: true},
			{Name: "created_at", Type: schema.Integer, Timestamp: true, Auto: true},
			{Name: "updated_at", Type: schema.Integer, Timestamp: true, Auto: true},
			foreign("route", "routes"),
			foreign("service", "services"),
			foreign("consumer", "consumers"),
			{Name: "config", Type: schema.Record}, // abstract: each plugin's subschema supplies it
			protocolsAny(),
			{Name: "enabled", Type: schema.Boolean, Default: true},
			{Name: "tags", Type: schema.Set, Elements: &schema.Field{Type: schema.String}},
		},
	}
}

// installed returns the plugins entity with every bundled plugin installed,
// and the registry.
func installed(t *testing.T) (*schema.Entity, *plugins.Registry) {
	t.Helper()
	r := plugins.NewRegistry()
	Register(r)
	e := pluginsEntity()
	r.Install(e)
	return e, r
}

// insert prepares and validates a plugin row as the DAO does on POST.
func insert(t *testing.T, e *schema.Entity, input map[string]any) (map[string]any, schema.Errors) {
	t.Helper()
	row, errs := e.PrepareInsert(input, testAuto)
	if errs != nil {
		t.Fatalf("PrepareInsert(%v): %v", input, errs)
	}
	return row, e.Validate(row)
}

// at reads a dotted path ("config.redis.port") from a row.
func at(row map[string]any, path string) (any, bool) {
	var cur any = row
	start := 0
	for i := 0; i <= len(path); i++ {
		if i < len(path) && path[i] != '.' {
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[path[start:i]]
		if !ok {
			return nil, false
		}
		start = i + 1
	}
	return cur, true
}
