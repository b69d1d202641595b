//go:build linux

package node

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// supported reports the flags Linux cannot apply: none.
func supported(sockOpts) error { return nil }

// setListenOptions sets o on a listening socket before bind(2); network is
// "tcp4" or "tcp6", the family Go chose for the address.
func setListenOptions(fd int, network string, o sockOpts) error {
	set := func(flag string, level, opt, value int) error {
		if err := unix.SetsockoptInt(fd, level, opt, value); err != nil {
			return fmt.Errorf("%s: %w", flag, os.NewSyscallError("setsockopt", err))
		}
		return nil
	}
	if o.reusePort {
		if err := set("reuseport", unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return err
		}
	}
	if o.ipv6Only != "" {
		if network != "tcp6" {
			return fmt.Errorf("ipv6only=%s: the address is not IPv6, and IPV6_V6ONLY only applies to IPv6 sockets", o.ipv6Only)
		}
		if err := set("ipv6only="+o.ipv6Only, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, boolInt(o.ipv6Only == "on")); err != nil {
			return err
		}
	}
	if o.deferred {
		if err := set("deferred", unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, deferAcceptSeconds); err != nil {
			return err
		}
	}
	if ka := o.keepalive; ka != nil {
		// Set on the listener, inherited by every accepted socket (the
		// kernel copies the listener's options into each new connection).
		if err := set("so_keepalive", unix.SOL_SOCKET, unix.SO_KEEPALIVE, boolInt(ka.on)); err != nil {
			return err
		}
		for _, o := range []struct {
			opt, value int
		}{{unix.TCP_KEEPIDLE, ka.idle}, {unix.TCP_KEEPINTVL, ka.intvl}, {unix.TCP_KEEPCNT, ka.probes}} {
			if o.value > 0 {
				if err := set("so_keepalive", unix.IPPROTO_TCP, o.opt, o.value); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// setBacklog sets the accept queue length of a listening socket. Go calls
// listen(2) with net.core.somaxconn and offers no way to pass another
// length; calling listen(2) again on the listening socket changes it (Linux
// updates sk_max_ack_backlog, as nginx does on reload).
func setBacklog(ln net.Listener, n int) error {
	sc, ok := ln.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		return errors.New("the listener has no socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = unix.Listen(int(fd), n) }); err != nil {
		return err
	}
	return os.NewSyscallError("listen", lerr)
}

// somaxconn is the kernel's cap on accept queues, 0 if unknown.
func somaxconn() int {
	raw, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
