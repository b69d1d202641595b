//go:build !linux

package node

import (
	"fmt"
	"net"
	"runtime"
)

// supported refuses the socket flags this build does not set: their
// options, and the inheritance of keepalive settings by accepted sockets,
// are Linux's.
func supported(o sockOpts) error {
	for _, f := range []struct {
		name string
		on   bool
	}{
		{"reuseport", o.reusePort},
		{"backlog", o.backlog > 0},
		{"deferred", o.deferred},
		{"ipv6only", o.ipv6Only != ""},
		{"so_keepalive", o.keepalive != nil},
	} {
		if f.on {
			return fmt.Errorf("%s is not supported by Portico on %s", f.name, runtime.GOOS)
		}
	}
	return nil
}

func setListenOptions(int, string, sockOpts) error { return nil }

func setBacklog(net.Listener, int) error { return nil }

func somaxconn() int { return 0 }
