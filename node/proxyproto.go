package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// The PROXY protocol (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt)
// lets a load balancer in front of Portico pass the client's address: the
// balancer starts each connection with a header, text (v1) or binary (v2),
// before the client's own bytes. A listener with proxy_protocol requires
// it: as nginx does, a connection without a valid header is closed.

// proxyHeaderTimeout bounds the wait for a header: a client that sends none
// (or part of one) is closed then, instead of holding a goroutine.
const proxyHeaderTimeout = 5 * time.Second

const (
	// proxyV1Max is v1's longest header, "\r\n" included (spec 2.1).
	proxyV1Max = 107
	// proxyV2Max bounds a v2 header, its 16 fixed bytes included. The spec
	// allows 64 KiB of TLVs; nginx reads the header into its 1k client
	// header buffer, so Kong accepts no more than this either.
	proxyV2Max = 1024
)

// proxyV2Sig starts every v2 header (spec 2.2).
var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

var (
	errProxyShort   = errors.New("PROXY header: incomplete")
	errProxyInvalid = errors.New("PROXY header: invalid")
)

// proxyHeader is what a PROXY header says of a connection. src and dst are
// nil when it gives no addresses (v1 UNKNOWN, v2 LOCAL, or a family other
// than TCP over IPv4/IPv6): the connection's own addresses stand then.
type proxyHeader struct {
	src, dst *net.TCPAddr
}

// parseProxyHeader reads a PROXY header at the start of b. It returns the
// header's length, errProxyShort when b is the start of a valid header
// (read more, up to proxyV1Max or proxyV2Max), or errProxyInvalid. It never
// looks past those caps.
func parseProxyHeader(b []byte) (int, proxyHeader, error) {
	if len(b) == 0 {
		return 0, proxyHeader{}, errProxyShort
	}
	if b[0] == proxyV2Sig[0] {
		return parseProxyV2(b)
	}
	return parseProxyV1(b)
}

// parseProxyV1 reads "PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n".
func parseProxyV1(b []byte) (int, proxyHeader, error) {
	const prefix = "PROXY "
	if !bytes.HasPrefix(b, []byte(prefix)) {
		if len(b) < len(prefix) && bytes.HasPrefix([]byte(prefix), b) {
			return 0, proxyHeader{}, errProxyShort
		}
		return 0, proxyHeader{}, errProxyInvalid
	}
	// The line is printable ASCII up to "\r\n"; anything else fails now,
	// rather than after waiting for more.
	window := b[:min(len(b), proxyV1Max)]
	end := -1
	for i, c := range window {
		if c >= ' ' && c <= '~' {
			continue
		}
		if c != '\r' || i+1 < len(window) && window[i+1] != '\n' {
			return 0, proxyHeader{}, errProxyInvalid
		}
		end = i
		break
	}
	if end < 0 || end+1 == len(window) {
		if len(window) == proxyV1Max {
			return 0, proxyHeader{}, errProxyInvalid
		}
		return 0, proxyHeader{}, errProxyShort
	}
	n := end + 2
	fields := bytes.Split(window[len(prefix):end], []byte(" "))
	if string(fields[0]) == "UNKNOWN" {
		// The sender does not know the addresses; the rest of the line is
		// to be ignored (spec 2.1).
		return n, proxyHeader{}, nil
	}
	if len(fields) != 5 {
		return 0, proxyHeader{}, errProxyInvalid
	}
	var want4 bool
	switch string(fields[0]) {
	case "TCP4":
		want4 = true
	case "TCP6":
	default:
		return 0, proxyHeader{}, errProxyInvalid
	}
	src, ok1 := parseV1Addr(fields[1], fields[3], want4)
	dst, ok2 := parseV1Addr(fields[2], fields[4], want4)
	if !ok1 || !ok2 {
		return 0, proxyHeader{}, errProxyInvalid
	}
	return n, proxyHeader{src: src, dst: dst}, nil
}

func parseV1Addr(ip, port []byte, want4 bool) (*net.TCPAddr, bool) {
	a, err := netip.ParseAddr(string(ip))
	if err != nil || a.Zone() != "" || a.Is4() != want4 {
		return nil, false
	}
	if len(port) == 0 || len(port) > 5 {
		return nil, false
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return nil, false
		}
	}
	p, err := strconv.Atoi(string(port))
	if err != nil || p > 65535 {
		return nil, false
	}
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, uint16(p))), true
}

// parseProxyV2 reads the binary header: signature, version and command,
// family and transport, length, addresses and TLVs (ignored).
func parseProxyV2(b []byte) (int, proxyHeader, error) {
	sig := min(len(b), len(proxyV2Sig))
	if !bytes.Equal(b[:sig], proxyV2Sig[:sig]) {
		return 0, proxyHeader{}, errProxyInvalid
	}
	if len(b) > 12 && b[12]>>4 != 2 {
		return 0, proxyHeader{}, errProxyInvalid // only version 2 exists
	}
	if len(b) > 12 && b[12]&0x0f > 1 {
		return 0, proxyHeader{}, errProxyInvalid // commands: LOCAL, PROXY
	}
	if len(b) < 16 {
		return 0, proxyHeader{}, errProxyShort
	}
	n := 16 + int(binary.BigEndian.Uint16(b[14:16]))
	if n > proxyV2Max {
		return 0, proxyHeader{}, errProxyInvalid
	}
	if len(b) < n {
		return 0, proxyHeader{}, errProxyShort
	}
	if b[12]&0x0f == 0 {
		// LOCAL: the balancer's own connection (a health check); the
		// connection's addresses are the right ones.
		return n, proxyHeader{}, nil
	}
	body := b[16:n]
	switch b[13] >> 4 {
	case 1: // AF_INET: 4 + 4 address bytes, 2 + 2 port bytes
		if len(body) < 12 {
			return 0, proxyHeader{}, errProxyInvalid
		}
		return n, proxyHeader{
			src: v2Addr(body[0:4], body[8:10]),
			dst: v2Addr(body[4:8], body[10:12]),
		}, nil
	case 2: // AF_INET6: 16 + 16, 2 + 2
		if len(body) < 36 {
			return 0, proxyHeader{}, errProxyInvalid
		}
		return n, proxyHeader{
			src: v2Addr(body[0:16], body[32:34]),
			dst: v2Addr(body[16:32], body[34:36]),
		}, nil
	case 0, 3:
		// AF_UNSPEC must be accepted with its addresses ignored (spec
		// 2.2); AF_UNIX paths are no client address an HTTP server can
		// use, and nginx keeps the connection's own for them too.
		return n, proxyHeader{}, nil
	}
	return 0, proxyHeader{}, errProxyInvalid
}

func v2Addr(ip, port []byte) *net.TCPAddr {
	a, _ := netip.AddrFromSlice(ip)
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, binary.BigEndian.Uint16(port)))
}

// readProxyHeader reads a PROXY header from r. It reads no more than the
// header's cap (proxyV1Max or proxyV2Max bytes) in all and returns the
// bytes it read past the header, which belong to the client's request.
func readProxyHeader(r io.Reader) (proxyHeader, []byte, error) {
	// 16 bytes first: v2's fixed part, or the start of any v1 header. A v2
	// header is then read to its stated length and no further.
	buf := make([]byte, 0, 256)
	want := 16
	for {
		if len(buf) < want {
			if cap(buf) < want {
				buf = append(make([]byte, 0, want), buf...)
			}
			m, err := r.Read(buf[len(buf):want])
			buf = buf[:len(buf)+m]
			if m == 0 && err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return proxyHeader{}, nil, err
			}
		}
		n, h, err := parseProxyHeader(buf)
		switch {
		case err == nil:
			return h, buf[n:], nil
		case err != errProxyShort:
			return proxyHeader{}, nil, err
		}
		if len(buf) < want {
			continue
		}
		if buf[0] == 'P' {
			want = proxyV1Max
		} else {
			want = 16 + int(binary.BigEndian.Uint16(buf[14:16]))
		}
	}
}

// proxyListener reads the PROXY header of every accepted connection before
// handing it on; connections without a valid header within
// proxyHeaderTimeout are closed.
type proxyListener struct {
	*connQueue
	timeout time.Duration
}

func newProxyListener(ln net.Listener, timeout time.Duration) *proxyListener {
	pl := &proxyListener{timeout: timeout}
	pl.connQueue = newConnQueue(newAcceptor(ln, pl.prepare))
	return pl
}

func (pl *proxyListener) prepare(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(pl.timeout))
	h, rest, err := readProxyHeader(c)
	if err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	pc := &proxyConn{replayConn: replayConn{Conn: c, rest: rest}}
	if h.src != nil {
		pc.remote = h.src
	}
	pl.put(pc)
}

// proxyConn is a connection whose RemoteAddr is the client's address from
// its PROXY header (or the peer's, when the header gave none). LocalAddr
// stays the socket's: Kong's $server_addr is the balancer-facing one too.
type proxyConn struct {
	replayConn
	remote net.Addr
}

func (c *proxyConn) RemoteAddr() net.Addr {
	if c.remote != nil {
		return c.remote
	}
	return c.Conn.RemoteAddr()
}
