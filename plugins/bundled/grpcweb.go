package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// grpcWeb is Kong's grpc-web (kong/plugins/grpc-web/schema.lua).
func grpcWeb() plugins.Info {
	return info("grpc-web", 3, []*schema.Field{
		protocolsAny(),
		config(
			// Path of the .proto file describing the service, for transcoding.
			&schema.Field{Name: "proto", Type: schema.String},
			&schema.Field{Name: "pass_stripped_path", Type: schema.Boolean},
			&schema.Field{Name: "allow_origin_header", Type: schema.String, Default: "*"},
		),
	})
}
