package bundled

import (
	"net/netip"
	"testing"

	"github.com/portico-gw/portico/plugins"
)

// The per-request cost of the traffic plugins' hot paths (access and
// header_filter), configured through their schemas as the Admin API
// stores them, on a request that passes through.
func BenchmarkTrafficPlugins(b *testing.B) {
	for _, c := range []struct {
		name    string
		config  map[string]any
		headers map[string]string
		factory plugins.Factory
	}{
		{"cors", obj("origins", list("https://app.example.com")), map[string]string{"Origin": "https://app.example.com"}, newCORS},
		{"ip-restriction", obj("allow", list("127.0.0.0/8", "10.0.0.0/8")), nil, newIPRestriction},
		{"request-size-limiting", obj("allowed_payload_size", 1.0), map[string]string{"Content-Length": "10"}, newRequestSizeLimiting},
		{"request-termination", obj("status_code", 503.0, "trigger", "X-Stop"), nil, newRequestTermination},
		{"correlation-id", obj("echo_downstream", true), nil, newCorrelationID},
	} {
		b.Run(c.name, func(b *testing.B) {
			h, err := c.factory(transformerConfig(b, c.name, c.config))
			if err != nil {
				b.Fatal(err)
			}
			pc := newContext("/path?q=1", c.headers, "")
			pc.ClientIP = netip.MustParseAddr("127.0.0.1")
			access, _ := h.(plugins.Accessor)
			header, _ := h.(plugins.HeaderFilterer)
			b.ReportAllocs()
			for b.Loop() {
				pc.Response.Header.Reset() // the answer each request starts from
				if access != nil {
					if err := access.Access(pc); err != nil || pc.Exited() {
						b.Fatalf("the request did not pass: %v", err)
					}
				}
				if header != nil {
					if err := header.HeaderFilter(pc); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
