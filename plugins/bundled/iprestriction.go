package bundled

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// ipRestriction is Kong's ip-restriction (kong/plugins/ip-restriction/schema.lua).
// It also works on stream routes, hence its own default protocols.
func ipRestriction() plugins.Info {
	return runs(newIPRestriction, info("ip-restriction", 990, []*schema.Field{
		protocolsAny("http", "https", "tcp", "tls", "grpc", "grpcs"),
		config(
			&schema.Field{Name: "allow", Type: schema.Array, Elements: ipOrCIDR()},
			&schema.Field{Name: "deny", Type: schema.Array, Elements: ipOrCIDR()},
			// Status and body of rejections (Kong: 403 "IP address not allowed: ...").
			&schema.Field{Name: "status", Type: schema.Number},
			&schema.Field{Name: "message", Type: schema.String},
		),
	},
		schema.Check{AtLeastOneOf: []string{"config.allow", "config.deny"}},
	))
}

// restrictor allows or denies clients by address
// (kong/plugins/ip-restriction/handler.lua): deny first, then allow.
type restrictor struct {
	allow, deny []netip.Prefix
	status      int
	message     string
}

func newIPRestriction(conf map[string]any) (plugins.Handler, error) {
	r := &restrictor{status: row.Int(conf, "status", 403), message: row.String(conf, "message")}
	for _, l := range []struct {
		field string
		dst   *[]netip.Prefix
	}{{"allow", &r.allow}, {"deny", &r.deny}} {
		for _, v := range row.Strings(conf[l.field]) {
			p, err := parseIPOrCIDR(v)
			if err != nil {
				return nil, fmt.Errorf("config.%s: %w", l.field, err)
			}
			*l.dst = append(*l.dst, p)
		}
	}
	return r, nil
}

// parseIPOrCIDR reads "10.0.0.1" or "10.0.0.0/8" (IPv6 too) as a prefix.
func parseIPOrCIDR(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p.Addr())).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// unmapBits is what an IPv4-mapped prefix loses when written as IPv4.
func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

func anyContains(list []netip.Prefix, a netip.Addr) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (r *restrictor) Access(c *plugins.Context) error {
	ip := c.ClientIP
	if !ip.IsValid() {
		c.Error(403, "Cannot identify the client IP address, unix domain sockets are not supported.")
		return nil
	}
	ip = ip.Unmap()
	if anyContains(r.deny, ip) || (len(r.allow) > 0 && !anyContains(r.allow, ip)) {
		msg := r.message
		if msg == "" {
			msg = "IP address not allowed: " + ip.String()
		}
		c.Error(r.status, msg)
	}
	return nil
}
