package entities

import (
	"errors"
	"unicode/utf8"

	"github.com/portico-gw/portico/schema"
)

// DefaultTargetPort is the port Kong gives a target that has none.
const DefaultTargetPort = 8000

// Targets is Kong's targets entity (kong/db/schema/entities/targets.lua),
// served under /upstreams/{upstream}/targets only.
//
// Kong's targets DAO stores the target normalised ("host:port", IPv4
// without leading zeros, IPv6 expanded in brackets, port 8000 when absent);
// Derive does the same before validation.
func Targets() *schema.Entity {
	return &schema.Entity{
		Name:          "targets",
		Workspaceable: true,
		EndpointKey:   "target",
		CacheKey:      []string{"upstream", "target"},
		AdminDisabled: true,
		Fields: []*schema.Field{
			schema.ID(),
			schema.AutoTimestampMS(schema.FieldCreatedAt),
			schema.AutoTimestampMS(schema.FieldUpdatedAt),
			{Name: "upstream", Type: schema.Foreign, Reference: "upstreams", Required: true, OnDelete: "cascade"},
			{Name: "target", Type: schema.String, Required: true, Validator: validateTarget},
			{Name: "weight", Type: schema.Integer, Default: num(100), Between: schema.Range(0, 65535)},
			schema.Tags(),
		},
		Derive: func(e map[string]any) {
			if t, ok := e["target"].(string); ok {
				if n, err := schema.NormalizeIP(t); err == nil {
					e["target"] = schema.FormatHost(n, DefaultTargetPort)
				}
			}
		},
	}
}

func validateTarget(v any) error {
	s, _ := v.(string)
	if _, err := schema.NormalizeIP(s); err == nil {
		return nil
	}
	if !utf8.ValidString(s) {
		return errors.New("Invalid target; not a valid hostname or ip address")
	}
	return errors.New("Invalid target ('" + s + "'); not a valid hostname or ip address")
}
