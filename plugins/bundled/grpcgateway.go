package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// grpcGateway is Kong's grpc-gateway (kong/plugins/grpc-gateway/schema.lua).
func grpcGateway() plugins.Info {
	return info("grpc-gateway", 998, []*schema.Field{
		protocolsAny(),
		config(
			// Path of the .proto file with the HTTP annotations.
			&schema.Field{Name: "proto", Type: schema.String},
		),
	})
}
