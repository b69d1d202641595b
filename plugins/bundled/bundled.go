// Package bundled registers Kong 3.9's bundled plugins: their names, versions,
// priorities and configuration schemas, ported field by field from Kong's
// kong/plugins/<name>/schema.lua (one file per plugin here). Defaults matter:
// decK and go-kong fill them in from GET /schemas/plugins/{name}, and the
// Admin API prints every config field with its default or null.
//
// Only the schemas exist at this stage; handlers come later.
package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// Kong's bundled plugins report the node's own version (handler VERSION =
// kong_meta.version): 3.9.1 in Kong OSS, 3.9.1.0 in Kong Enterprise. Their
// Info.Version is left empty and the node reports its kong_version.

// Register adds every bundled plugin to r.
func Register(r *plugins.Registry) {
	for _, info := range []plugins.Info{
		acl(),
		basicAuth(),
		botDetection(),
		correlationID(),
		cors(),
		fileLog(),
		grpcGateway(),
		grpcWeb(),
		hmacAuth(),
		httpLog(),
		ipRestriction(),
		jwt(),
		keyAuth(),
		ldapAuth(),
		loggly(),
		oauth2(),
		postFunction(),
		preFunction(),
		prometheus(),
		proxyCache(),
		rateLimiting(),
		redirect(),
		requestSizeLimiting(),
		requestTermination(),
		requestTransformer(),
		responseRateLimiting(),
		responseTransformer(),
		session(),
		standardWebhooks(),
		syslog(),
		tcpLog(),
		udpLog(),
	} {
		r.Register(info)
	}
}

// info builds a bundled plugin's Info; the subschema carries the plugin's name.
func info(name string, priority int, fields []*schema.Field, checks ...schema.Check) plugins.Info {
	return plugins.Info{
		Name:     name,
		Priority: priority,
		Schema:   &schema.Subschema{Name: name, Fields: fields, Checks: checks},
	}
}
