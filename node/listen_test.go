//go:build linux

package node

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/portico-gw/portico/conf"
)

func bindT(t *testing.T, entry string) net.Listener {
	t.Helper()
	ln, err := bindListener(parseListener(t, entry))
	if err != nil {
		t.Fatalf("bindListener(%s): %v", entry, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func portOf(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

// sockopt reads an integer socket option of c's socket.
func sockopt(t *testing.T, c syscall.Conn, level, opt int) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), level, opt) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

func TestListenReusePort(t *testing.T) {
	for _, tc := range []struct {
		flags  string
		second bool // a second bind of the port succeeds
	}{
		{"reuseport", true},
		{"", false},
	} {
		t.Run(name(tc.flags), func(t *testing.T) {
			first := bindT(t, "127.0.0.1:0 "+tc.flags)
			if got := sockopt(t, first.(syscall.Conn), unix.SOL_SOCKET, unix.SO_REUSEPORT); got != boolInt(tc.second) {
				t.Errorf("SO_REUSEPORT = %d", got)
			}
			second, err := bindListener(parseListener(t, "127.0.0.1:"+strconv.Itoa(portOf(first))+" "+tc.flags))
			if tc.second {
				if err != nil {
					t.Fatalf("second bind: %v", err)
				}
				second.Close()
			} else if !errors.Is(err, syscall.EADDRINUSE) {
				t.Fatalf("second bind: %v, want EADDRINUSE", err)
			}
		})
	}
}

// acceptQueueLen reads a listening socket's accept queue length as the
// kernel reports it (ss's Send-Q for a listener).
func acceptQueueLen(t *testing.T, port int) int {
	t.Helper()
	ss, err := exec.LookPath("ss")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ss (iproute2) is required in CI")
		}
		t.Skip("ss (iproute2) is not installed")
	}
	out, err := exec.Command(ss, "-ltnH", "sport = :"+strconv.Itoa(port)).Output()
	if err != nil {
		t.Fatalf("ss: %v", err)
	}
	f := strings.Fields(string(out))
	if len(f) < 3 {
		t.Fatalf("ss printed %q", out)
	}
	n, err := strconv.Atoi(f[2])
	if err != nil {
		t.Fatalf("ss printed %q", out)
	}
	return n
}

func TestListenBacklog(t *testing.T) {
	max := somaxconn()
	for _, tc := range []struct {
		flags string
		want  int
		warn  bool
	}{
		{"backlog=7", 7, false},
		{"backlog=1", 1, false},
		{"", max, false},                                 // Go's default
		{"backlog=" + strconv.Itoa(max+1000), max, true}, // capped, said so
	} {
		t.Run(name(tc.flags), func(t *testing.T) {
			l := parseListener(t, "127.0.0.1:0 "+tc.flags)
			ln := bindT(t, l.String())
			if got := acceptQueueLen(t, portOf(ln)); got != tc.want {
				t.Errorf("accept queue = %d, want %d", got, tc.want)
			}
			warnings := listenWarnings(l)
			if (len(warnings) > 0) != tc.warn {
				t.Errorf("warnings: %q", warnings)
			}
			if tc.warn && !strings.Contains(warnings[0], "backlog=") {
				t.Errorf("warning does not name the flag: %q", warnings[0])
			}
		})
	}
}

func TestListenDeferred(t *testing.T) {
	ln := bindT(t, "127.0.0.1:0 deferred")
	if got := sockopt(t, ln.(syscall.Conn), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT); got < deferAcceptSeconds {
		t.Errorf("TCP_DEFER_ACCEPT = %d", got)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Connected, nothing sent: accept must wait.
	tl := ln.(*net.TCPListener)
	tl.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if s, err := tl.Accept(); err == nil {
		s.Close()
		t.Fatal("accepted a connection before it sent anything")
	}
	if _, err := c.Write([]byte("G")); err != nil {
		t.Fatal(err)
	}
	tl.SetDeadline(time.Now().Add(5 * time.Second))
	s, err := tl.Accept()
	if err != nil {
		t.Fatalf("accept after data: %v", err)
	}
	s.Close()
}

func TestListenIPv6Only(t *testing.T) {
	if probe, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skip("no IPv6 here")
	} else {
		probe.Close()
	}
	for _, tc := range []struct {
		flag string
		v4   bool // an IPv4 client reaches the [::] listener
	}{
		{"ipv6only=off", true},
		{"ipv6only=on", false},
	} {
		t.Run(name(tc.flag), func(t *testing.T) {
			ln := bindT(t, "[::]:0 "+tc.flag)
			if got := sockopt(t, ln.(syscall.Conn), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); got != boolInt(!tc.v4) {
				t.Errorf("IPV6_V6ONLY = %d", got)
			}
			c, err := net.DialTimeout("tcp4", "127.0.0.1:"+strconv.Itoa(portOf(ln)), 2*time.Second)
			if err == nil {
				c.Close()
			}
			if (err == nil) != tc.v4 {
				t.Errorf("IPv4 dial: %v", err)
			}
		})
	}
	_, err := bindListener(parseListener(t, "127.0.0.1:0 ipv6only=on"))
	if err == nil || !strings.Contains(err.Error(), "ipv6only=on") || !strings.Contains(err.Error(), "127.0.0.1:0") {
		t.Errorf("ipv6only on IPv4: %v, want a refusal naming the flag and the listener", err)
	}
}

// TestListenBind: every listener is a socket of its own, so two addresses
// of one port are bound separately, which is what bind asks for.
func TestListenBind(t *testing.T) {
	a := bindT(t, "127.0.0.1:0 bind")
	b := bindT(t, "127.0.0.2:"+strconv.Itoa(portOf(a))+" bind")
	if b.Addr().String() != "127.0.0.2:"+strconv.Itoa(portOf(a)) {
		t.Errorf("bound %s", b.Addr())
	}
}

func readSysctl(t *testing.T, name string) int {
	raw, err := os.ReadFile("/proc/sys/net/ipv4/" + name)
	if err != nil {
		t.Skip(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	return n
}

func TestListenKeepalive(t *testing.T) {
	idle, intvl, cnt := readSysctl(t, "tcp_keepalive_time"), readSysctl(t, "tcp_keepalive_intvl"), readSysctl(t, "tcp_keepalive_probes")
	for _, tc := range []struct {
		flag                string
		on                  int
		idle, intvl, probes int
	}{
		{"", 1, 15, 15, 9}, // Go's default, unchanged
		{"so_keepalive=on", 1, idle, intvl, cnt},
		{"so_keepalive=off", 0, idle, intvl, cnt},
		{"so_keepalive=30:10:5", 1, 30, 10, 5},
		{"so_keepalive=1m::3", 1, 60, intvl, 3},
		{"so_keepalive=:2000ms:", 1, idle, 2, cnt},
	} {
		t.Run(name(tc.flag), func(t *testing.T) {
			ln := bindT(t, "127.0.0.1:0 "+tc.flag)
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			sc := s.(syscall.Conn) // the accepted socket, where it matters
			got := []int{
				sockopt(t, sc, unix.SOL_SOCKET, unix.SO_KEEPALIVE),
				sockopt(t, sc, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE),
				sockopt(t, sc, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL),
				sockopt(t, sc, unix.IPPROTO_TCP, unix.TCP_KEEPCNT),
			}
			want := []int{tc.on, tc.idle, tc.intvl, tc.probes}
			for i, name := range []string{"SO_KEEPALIVE", "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT"} {
				if got[i] != want[i] {
					t.Errorf("%s = %d, want %d", name, got[i], want[i])
				}
			}
		})
	}
}

func TestListenRefusesKeepalive(t *testing.T) {
	for _, v := range []string{"0::", "::0", "::128", "500ms::", "1y::", "40000::", ":9999999999999999999s:"} {
		t.Run(v, func(t *testing.T) {
			l := conf.Listener{Host: "127.0.0.1", Port: 0, SoKeepalive: v}
			_, err := bindListener(l)
			if err == nil || !strings.Contains(err.Error(), "so_keepalive="+v) || !strings.Contains(err.Error(), "127.0.0.1:0") {
				t.Errorf("got %v, want a refusal naming so_keepalive and the listener", err)
			}
		})
	}
}

// name names a subtest by its flags, "default" for none.
func name(flags string) string {
	if flags == "" {
		return "default"
	}
	return flags
}
