package node

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// proxyV2 builds a v2 header: command (0 LOCAL, 1 PROXY), family and
// transport byte, then the address block and TLVs.
func proxyV2(cmd, fam byte, body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	h := append([]byte{}, proxyV2Sig...)
	h = append(h, 0x20|cmd, fam)
	h = binary.BigEndian.AppendUint16(h, uint16(len(b)))
	return append(h, b...)
}

func v2Inet(src, dst string, sport, dport uint16) []byte {
	s, d := netip.MustParseAddr(src).AsSlice(), netip.MustParseAddr(dst).AsSlice()
	b := append(append([]byte{}, s...), d...)
	b = binary.BigEndian.AppendUint16(b, sport)
	return binary.BigEndian.AppendUint16(b, dport)
}

var proxyHeaderCases = []struct {
	name   string
	header []byte
	src    string // "" when the header gives no address
	err    error
}{
	{"v1 tcp4", []byte("PROXY TCP4 192.0.2.10 198.51.100.1 51000 8000\r\n"), "192.0.2.10:51000", nil},
	{"v1 tcp6", []byte("PROXY TCP6 2001:db8::7 2001:db8::1 4242 443\r\n"), "[2001:db8::7]:4242", nil},
	{"v1 unknown", []byte("PROXY UNKNOWN\r\n"), "", nil},
	{"v1 unknown with addresses", []byte("PROXY UNKNOWN ffff:f...f:ffff 1.2.3.4 65535 1\r\n"), "", nil},
	{"v1 longest", []byte("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"), "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", nil},
	{"v2 inet", proxyV2(1, 0x11, v2Inet("203.0.113.5", "10.0.0.1", 40000, 8000)), "203.0.113.5:40000", nil},
	{"v2 inet6", proxyV2(1, 0x21, v2Inet("2001:db8::5", "2001:db8::1", 40001, 8443)), "[2001:db8::5]:40001", nil},
	{"v2 inet with tlvs", proxyV2(1, 0x11, v2Inet("203.0.113.6", "10.0.0.1", 1, 2), []byte{0x04, 0x00, 0x03, 'a', 'b', 'c'}), "203.0.113.6:1", nil},
	{"v2 local", proxyV2(0, 0x00), "", nil},
	{"v2 local with addresses", proxyV2(0, 0x11, v2Inet("203.0.113.7", "10.0.0.1", 1, 2)), "", nil},
	{"v2 unspec", proxyV2(1, 0x00), "", nil},
	{"v2 unix", proxyV2(1, 0x31, make([]byte, 216)), "", nil},

	{"http request", []byte("GET / HTTP/1.1\r\n\r\n"), "", errProxyInvalid},
	{"v1 lowercase", []byte("proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n"), "", errProxyInvalid},
	{"v1 lf only", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), "", errProxyInvalid},
	{"v1 tcp4 with ipv6", []byte("PROXY TCP4 ::1 ::1 1 2\r\n"), "", errProxyInvalid},
	{"v1 tcp6 with ipv4", []byte("PROXY TCP6 1.2.3.4 1.2.3.4 1 2\r\n"), "", errProxyInvalid},
	{"v1 port too big", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), "", errProxyInvalid},
	{"v1 signed port", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"), "", errProxyInvalid},
	{"v1 zone", []byte("PROXY TCP6 fe80::1%eth0 fe80::2 1 2\r\n"), "", errProxyInvalid},
	{"v1 missing field", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), "", errProxyInvalid},
	{"v1 double space", []byte("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), "", errProxyInvalid},
	{"v1 too long", append(append([]byte("PROXY UNKNOWN "), bytes.Repeat([]byte("x"), 100)...), "\r\n"...), "", errProxyInvalid},
	{"v2 version 1", append(append([]byte{}, proxyV2Sig...), 0x11, 0x11, 0, 0), "", errProxyInvalid},
	{"v2 command 2", append(append([]byte{}, proxyV2Sig...), 0x22, 0x11, 0, 0), "", errProxyInvalid},
	{"v2 short inet", proxyV2(1, 0x11, make([]byte, 11)), "", errProxyInvalid},
	{"v2 family 4", proxyV2(1, 0x41, make([]byte, 12)), "", errProxyInvalid},
	{"v2 too long", append(append([]byte{}, proxyV2Sig...), 0x21, 0x11, 0xff, 0xff), "", errProxyInvalid},
	{"v2 bad signature", append([]byte("\r\n\r\n\x00\r\nQUIX\n"), 0x21, 0x11, 0, 0), "", errProxyInvalid},

	{"v1 prefix", []byte("PROXY TCP4 1.2.3.4"), "", errProxyShort},
	{"v2 prefix", proxyV2(1, 0x11, v2Inet("1.2.3.4", "1.2.3.4", 1, 2))[:20], "", errProxyShort},
	{"a P", []byte("P"), "", errProxyShort},
}

func TestProxyProtocolParse(t *testing.T) {
	for _, tc := range proxyHeaderCases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.header
			if tc.err != errProxyShort {
				// The request's bytes follow the header.
				in = append(slices.Clone(in), "GET / HTTP/1.1\r\n"...)
			}
			n, h, err := parseProxyHeader(in)
			if err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if n != len(tc.header) {
				t.Errorf("header length %d, want %d", n, len(tc.header))
			}
			if got := addrString(h.src); got != tc.src {
				t.Errorf("source %q, want %q", got, tc.src)
			}
		})
	}
}

func addrString(a *net.TCPAddr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// serveProxy runs a fasthttp server answering each request with the client
// address it sees, on a proxy_protocol listener.
func serveProxy(t *testing.T, timeout time.Duration) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pl := newProxyListener(ln, timeout)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString(ctx.RemoteAddr().String())
	}}
	go srv.Serve(pl)
	t.Cleanup(func() { srv.Shutdown() })
	return pl
}

func TestProxyProtocolRemoteAddr(t *testing.T) {
	ln := serveProxy(t, 5*time.Second)
	for _, tc := range proxyHeaderCases {
		if tc.err != nil {
			continue
		}
		for _, split := range []bool{false, true} {
			name := tc.name
			if split {
				name += " in pieces"
			}
			t.Run(name, func(t *testing.T) {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				msg := append(append([]byte{}, tc.header...), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"...)
				if split {
					// A header arriving in pieces, and the request after a pause.
					for _, part := range [][]byte{msg[:3], msg[3 : len(tc.header)-1], msg[len(tc.header)-1 : len(tc.header)], msg[len(tc.header):]} {
						if _, err := c.Write(part); err != nil {
							t.Fatal(err)
						}
						time.Sleep(5 * time.Millisecond)
					}
				} else if _, err := c.Write(msg); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				want := tc.src
				if want == "" {
					want = c.LocalAddr().String() // the peer's own address
				}
				if string(body) != want {
					t.Errorf("RemoteAddr %q, want %q", body, want)
				}
			})
		}
	}
}

// expectClosed reads from c until it is closed, failing on a response.
func expectClosed(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("still open after %v", within)
	}
	if len(b) > 0 {
		t.Fatalf("got %q, want the connection closed", b)
	}
}

func TestProxyProtocolRefuses(t *testing.T) {
	ln := serveProxy(t, 200*time.Millisecond)
	for _, tc := range []struct {
		name string
		send string
	}{
		{"no header", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"},
		{"bad v1", "PROXY TCP4 1.2.3.4 nope 1 2\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"silent", ""},                      // slowloris: no header at all
		{"half a header", "PROXY TCP4 1.2"}, // nor the rest of it
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tc.send); err != nil {
				t.Fatal(err)
			}
			expectClosed(t, c, 3*time.Second)
		})
	}
}

// countingReader counts what readProxyHeader takes from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func FuzzProxyProtocolHeader(f *testing.F) {
	for _, tc := range proxyHeaderCases {
		f.Add(append(tc.header, "GET / HTTP/1.1\r\n\r\n"...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		limit := proxyV2Max
		if len(data) > 0 && data[0] == 'P' {
			limit = proxyV1Max
		}
		n, _, err := parseProxyHeader(data)
		if err == nil && (n > len(data) || n > limit) {
			t.Fatalf("header length %d of %d bytes", n, len(data))
		}
		// Read a byte at a time too, as a slow client sends.
		for _, r := range []io.Reader{bytes.NewReader(data), iotestOneByte{bytes.NewReader(data)}} {
			cr := &countingReader{r: r}
			_, rest, err := readProxyHeader(cr)
			if cr.n > limit {
				t.Fatalf("read %d bytes, past the cap", cr.n)
			}
			if err != nil {
				continue
			}
			hl := cr.n - len(rest)
			if m, _, perr := parseProxyHeader(data[:cr.n]); perr != nil || m != hl {
				t.Fatalf("read a %d-byte header, parse says %d, %v", hl, m, perr)
			}
			if !bytes.Equal(rest, data[hl:cr.n]) {
				t.Fatal("the bytes after the header are not kept")
			}
		}
	})
}

type iotestOneByte struct{ r io.Reader }

func (o iotestOneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}
