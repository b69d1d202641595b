package handler

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// deniedNets are the destinations event_hooks_deny_private keeps deliveries
// from: the node itself, private and shared networks, link-local (where
// cloud metadata services answer, 169.254.169.254), and the ranges no
// receiver on the internet has.
var deniedNets = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",         // "this network"
		"10.0.0.0/8",        // private
		"100.64.0.0/10",     // carrier-grade NAT (Alibaba's metadata at 100.100.100.200)
		"127.0.0.0/8",       // loopback
		"169.254.0.0/16",    // link-local, cloud metadata
		"172.16.0.0/12",     // private
		"192.0.0.0/24",      // IETF protocol assignments
		"192.168.0.0/16",    // private
		"198.18.0.0/15",     // benchmarking
		"224.0.0.0/4",       // multicast
		"240.0.0.0/4",       // reserved, broadcast
		"::/128", "::1/128", // unspecified, loopback
		"fc00::/7",  // unique local (AWS's IPv6 metadata at fd00:ec2::254)
		"fe80::/10", // link-local
		"ff00::/8",  // multicast
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// nat64 is the well-known NAT64 prefix: its addresses carry an IPv4
// address in their last 32 bits.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// deniedAddr reports whether a delivery may not connect to a.
func deniedAddr(a netip.Addr) bool {
	a = a.Unmap() // ::ffff:10.0.0.1 is 10.0.0.1
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	for _, p := range deniedNets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// DeniedDestinationError is a delivery refused by event_hooks_deny_private.
type DeniedDestinationError struct{ Addr netip.Addr }

func (e *DeniedDestinationError) Error() string {
	return fmt.Sprintf("%s is a private, loopback or link-local address (event_hooks_deny_private = on)", e.Addr)
}

// denyPrivate is a dialer's Control: it runs on the address about to be
// connected, after name resolution, so a name that resolves to a private
// address (or a redirect to one, or a DNS answer that changes between a
// check and the connection) cannot get past it.
func denyPrivate(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("refusing to connect to %q: not an IP address", host)
	}
	if deniedAddr(a.WithZone("")) {
		return &DeniedDestinationError{Addr: a}
	}
	return nil
}
