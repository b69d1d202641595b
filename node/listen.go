package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/portico-gw/portico/conf"
)

// Every flag of a *_listen entry is applied by bindListener or by the
// serving side (ssl, http2: see http2.go), or refused at start with an error
// naming the flag and the listener. nginx's meaning of each flag:
//
//   - reuseport: SO_REUSEPORT on the listening socket, so that several
//     sockets (another Portico, a new binary during an upgrade) can bind the
//     same address and the kernel spreads connections over them.
//   - backlog=N: the accept queue length given to listen(2). The kernel caps
//     it at net.core.somaxconn; listenWarnings says when it does.
//   - deferred: TCP_DEFER_ACCEPT, so accept returns only once the client has
//     sent data (HTTP, TLS and PROXY clients speak first).
//   - bind: nginx binds wildcard-port pairs once and picks the server by
//     local address, unless bind asks for a separate bind(2). Portico binds
//     every listener on a socket of its own, so bind holds by construction.
//   - ipv6only=on|off: IPV6_V6ONLY on an IPv6 socket ([::] with off accepts
//     IPv4 too); refused on an IPv4 address, where it means nothing.
//   - so_keepalive=on|off|idle:intvl:cnt: SO_KEEPALIVE and TCP_KEEPIDLE,
//     TCP_KEEPINTVL, TCP_KEEPCNT (an empty part keeps the system's value).
//     They are set on the listening socket, which accepted sockets inherit on
//     Linux, as nginx relies on. Without the flag, accepted sockets keep Go's
//     default (probes after 15 s idle), as before these flags were applied.
//   - proxy_protocol: every connection starts with a PROXY protocol v1 or v2
//     header, whose source address becomes RemoteAddr (proxyproto.go).

// deferAcceptSeconds is the TCP_DEFER_ACCEPT value: nginx sets it to its
// client_header_timeout, 60 s by default, which Kong does not change.
const deferAcceptSeconds = 60

// Linux's bounds for the keepalive options (MAX_TCP_KEEPIDLE,
// MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT): beyond them setsockopt fails, so
// they are checked first for a clearer message.
const (
	maxKeepIdle  = 32767
	maxKeepIntvl = 32767
	maxKeepCnt   = 127
)

// sockOpts are the socket options a listener asks for, read from its flags.
type sockOpts struct {
	reusePort bool
	backlog   int // 0: Go's default (net.core.somaxconn)
	deferred  bool
	ipv6Only  string // "on", "off" or "" (the default for the address)
	// keepalive is set when so_keepalive is given: then accepted sockets
	// inherit the listener's settings instead of getting Go's.
	keepalive *keepalive
}

// keepalive is a parsed so_keepalive value. Zero times and counts keep the
// system's values.
type keepalive struct {
	on                  bool
	idle, intvl, probes int // seconds, seconds, count
}

// bindListener binds l's address with every socket-level flag applied, and
// wraps the listener for proxy_protocol. ssl and http2 are applied by
// newHTTPListener on what it returns.
func bindListener(l conf.Listener) (net.Listener, error) {
	o, err := listenOptions(l)
	if err != nil {
		return nil, err
	}
	lc := net.ListenConfig{
		Control: func(network, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) { serr = setListenOptions(int(fd), network, o) }); err != nil {
				return err
			}
			return serr
		},
	}
	if o.keepalive != nil {
		// Go would set its own keepalive on every accepted socket; -1 leaves
		// them the settings inherited from the listener.
		lc.KeepAlive = -1
	}
	ln, err := lc.Listen(context.Background(), network(l.Host), l.Addr())
	if err != nil {
		return nil, fmt.Errorf("listener %s: %w", l.Addr(), err)
	}
	if o.backlog > 0 {
		if err := setBacklog(ln, o.backlog); err != nil {
			ln.Close()
			return nil, fmt.Errorf("listener %s: backlog=%d: %w", l.Addr(), o.backlog, err)
		}
	}
	if l.ProxyProtocol {
		ln = newProxyListener(ln, proxyHeaderTimeout)
	}
	return ln, nil
}

// listenWarnings says which flags of l the kernel applies only in part, for
// the node to log at start: a backlog above net.core.somaxconn is cut to it
// silently, as under nginx.
func listenWarnings(l conf.Listener) []string {
	var out []string
	if l.Backlog > 0 {
		if max := somaxconn(); max > 0 && l.Backlog > max {
			out = append(out, fmt.Sprintf("listener %s: backlog=%d is above net.core.somaxconn (%d): the kernel caps the queue at %d",
				l.Addr(), l.Backlog, max, max))
		}
	}
	return out
}

// listenOptions reads l's socket flags, refusing values this build cannot
// apply.
func listenOptions(l conf.Listener) (sockOpts, error) {
	o := sockOpts{reusePort: l.ReusePort, backlog: l.Backlog, deferred: l.Deferred, ipv6Only: l.IPv6Only}
	if l.SoKeepalive != "" {
		ka, err := parseKeepalive(l.SoKeepalive)
		if err != nil {
			return o, fmt.Errorf("listener %s: so_keepalive=%s: %w", l.Addr(), l.SoKeepalive, err)
		}
		o.keepalive = &ka
	}
	if err := supported(o); err != nil {
		return o, fmt.Errorf("listener %s: %w", l.Addr(), err)
	}
	return o, nil
}

// parseKeepalive reads nginx's so_keepalive value: on, off, or
// [keepidle]:[keepintvl]:[keepcnt], times in seconds with an optional unit.
func parseKeepalive(v string) (keepalive, error) {
	switch strings.ToLower(v) {
	case "on":
		return keepalive{on: true}, nil
	case "off":
		return keepalive{}, nil
	}
	parts := strings.Split(v, ":")
	if len(parts) != 3 {
		return keepalive{}, errors.New("expected on, off or [keepidle]:[keepintvl]:[keepcnt]")
	}
	ka := keepalive{on: true}
	var err error
	if ka.idle, err = keepaliveSeconds("keepidle", parts[0], maxKeepIdle); err != nil {
		return ka, err
	}
	if ka.intvl, err = keepaliveSeconds("keepintvl", parts[1], maxKeepIntvl); err != nil {
		return ka, err
	}
	if parts[2] != "" {
		n, err := strconv.Atoi(parts[2])
		if err != nil || n < 1 || n > maxKeepCnt {
			return ka, fmt.Errorf("keepcnt '%s' is not a count from 1 to %d", parts[2], maxKeepCnt)
		}
		ka.probes = n
	}
	return ka, nil
}

// unitMillis are nginx's time units, in milliseconds.
var unitMillis = map[string]int64{
	"": 1000, "s": 1000, "m": 60 * 1000, "h": 3600 * 1000, "d": 86400 * 1000,
	"w": 7 * 86400 * 1000, "y": 365 * 86400 * 1000, "ms": 1,
}

// keepaliveSeconds reads one time of so_keepalive; "" is 0 (the system's).
// The socket options count whole seconds, so a time that is not one is
// refused rather than rounded.
func keepaliveSeconds(name, s string, max int) (int, error) {
	if s == "" {
		return 0, nil
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	unit, ok := unitMillis[s[i:]]
	n, err := strconv.ParseInt(s[:i], 10, 64)
	limit := int64(max) * 1000
	// n is bounded before multiplying, so n*unit cannot overflow.
	if !ok || err != nil || n > limit || n*unit%1000 != 0 || n*unit < 1000 || n*unit > limit {
		return 0, fmt.Errorf("%s '%s' is not a whole number of seconds from 1 to %d", name, s, max)
	}
	return int(n * unit / 1000), nil
}

// acceptor accepts connections from ln in a goroutine of its own and hands
// each to prepare in a goroutine of its own, so that a slow client (a PROXY
// header or a TLS handshake that does not come) holds up nobody else.
// prepare passes the connection on to a connQueue or closes it.
type acceptor struct {
	ln        net.Listener
	prepare   func(net.Conn)
	done      chan struct{}
	once      sync.Once
	closeOnce sync.Once
	start     sync.Once
	err       error // why accepting stopped; written before done is closed
}

func newAcceptor(ln net.Listener, prepare func(net.Conn)) *acceptor {
	return &acceptor{ln: ln, prepare: prepare, done: make(chan struct{})}
}

// run starts the accept loop once; queues call it from Accept, so nothing
// runs before a server asks for connections.
func (a *acceptor) run() {
	a.start.Do(func() { go a.loop() })
}

func (a *acceptor) loop() {
	var delay time.Duration
	for {
		c, err := a.ln.Accept()
		if err != nil {
			if retryAccept(err) {
				// Out of descriptors or buffers: wait for some to be freed,
				// as net/http does, rather than spin or give up.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(delay):
					continue
				case <-a.done:
					return
				}
			}
			a.stop(err)
			return
		}
		delay = 0
		go a.prepare(c)
	}
}

// stop ends accepting; Accept on the queues returns err from then on.
func (a *acceptor) stop(err error) {
	a.once.Do(func() {
		if errors.Is(err, net.ErrClosed) {
			err = net.ErrClosed // servers recognise this one as a clean stop
		}
		a.err = err
		close(a.done)
	})
}

// close closes the listener; closing again returns nil, as servers close
// what they serve and shutdown code closes it too.
func (a *acceptor) close() error {
	var err error
	a.closeOnce.Do(func() {
		a.stop(net.ErrClosed)
		err = a.ln.Close()
	})
	return err
}

// retryAccept reports whether an Accept error is a shortage that passes.
func retryAccept(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// connQueue is a net.Listener whose connections come from an acceptor after
// preparation. Closing it closes the acceptor's listener.
type connQueue struct {
	a     *acceptor
	conns chan net.Conn
}

func newConnQueue(a *acceptor) *connQueue {
	return &connQueue{a: a, conns: make(chan net.Conn)}
}

func (q *connQueue) Accept() (net.Conn, error) {
	q.a.run()
	select {
	case c := <-q.conns:
		return c, nil
	case <-q.a.done:
		return nil, q.a.err
	}
}

// put hands c to Accept, or closes it when accepting has stopped.
func (q *connQueue) put(c net.Conn) {
	select {
	case q.conns <- c:
	case <-q.a.done:
		c.Close()
	}
}

func (q *connQueue) Close() error   { return q.a.close() }
func (q *connQueue) Addr() net.Addr { return q.a.ln.Addr() }

// replayConn is a connection some of whose first bytes were read already
// (past a PROXY header, or to look for the HTTP/2 preface): Read returns
// them first.
type replayConn struct {
	net.Conn
	rest []byte
}

// NetConn is the wrapped connection, so that what a listener attached to
// it can be found.
func (c *replayConn) NetConn() net.Conn { return c.Conn }

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.rest) > 0 {
		n := copy(p, c.rest)
		c.rest = c.rest[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
