package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/http2"

	"github.com/portico-gw/portico/conf"
)

// testTLSConfig is a server configuration as the node builds it: the
// certificate comes from GetCertificate (SNI), no NextProtos.
func testTLSConfig(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil },
	}
}

// seen is what the fasthttp handler saw of a request.
type seen struct {
	Method, Proto, Host, URI, Remote, Scheme, Body, Header string
	TLS                                                    bool
}

// testHandler answers /echo with what it saw, /stream with two pieces
// (the second once release is closed), /empty with 204.
func testHandler(release <-chan struct{}) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/stream":
			ctx.SetContentType("text/plain")
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
				w.WriteString("first\n")
				w.Flush()
				select {
				case <-release:
				case <-time.After(5 * time.Second):
				}
				w.WriteString("second\n")
			})
		case "/empty":
			ctx.SetStatusCode(fasthttp.StatusNoContent)
		default:
			ctx.Response.Header.Set("X-Reply", "yes")
			ctx.Response.Header.Set("Keep-Alive", "timeout=5") // not for HTTP/2
			ctx.SetContentType("application/json")
			json.NewEncoder(ctx).Encode(seen{
				Method: string(ctx.Method()),
				Proto:  string(ctx.Request.Header.Protocol()),
				Host:   string(ctx.Host()),
				URI:    string(ctx.RequestURI()),
				Remote: ctx.RemoteAddr().String(),
				Scheme: string(ctx.URI().Scheme()),
				Body:   string(ctx.PostBody()),
				Header: string(ctx.Request.Header.Peek("X-Test")),
				TLS:    ctx.IsTLS(),
			})
		}
	}
}

type testServer struct {
	hl      *httpListener
	srv     *fasthttp.Server
	addr    string
	release chan struct{}
}

// startHTTP serves testHandler on a listener bound from entry.
func startHTTP(t *testing.T, entry string, cfg *tls.Config, tune func(*fasthttp.Server)) *testServer {
	t.Helper()
	l := parseListener(t, entry)
	ln, err := bindListener(l)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{release: make(chan struct{})}
	ts.srv = &fasthttp.Server{
		Handler:     testHandler(ts.release),
		Name:        "portico-test",
		ReadTimeout: 5 * time.Second,
		IdleTimeout: 5 * time.Second,
	}
	if tune != nil {
		tune(ts.srv)
	}
	if !l.SSL {
		cfg = nil
	}
	ts.hl = newHTTPListener(ln, cfg, l.HTTP2, ts.srv)
	ts.addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- ts.hl.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ts.hl.Shutdown(ctx)
		<-done
	})
	return ts
}

var insecure = &tls.Config{InsecureSkipVerify: true}

// closeIdle closes c's idle connections before the servers shut down,
// which would otherwise give idle HTTP/2 connections a second after GOAWAY.
func closeIdle(t *testing.T, c *http.Client) *http.Client {
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// Clients, each with the protocol its responses must come in.
func h2Client(t *testing.T) *http.Client {
	return closeIdle(t, &http.Client{Transport: &http2.Transport{TLSClientConfig: insecure}, Timeout: 10 * time.Second})
}

func h1TLSClient(t *testing.T) *http.Client {
	return closeIdle(t, &http.Client{Transport: &http.Transport{
		TLSClientConfig: insecure,
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{}, // no h2
	}, Timeout: 10 * time.Second})
}

func h2cClient(t *testing.T) *http.Client {
	return closeIdle(t, &http.Client{Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}, Timeout: 10 * time.Second})
}

func h1Client(t *testing.T) *http.Client {
	return closeIdle(t, &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second})
}

// exchange sends a GET and a POST to /echo and checks what the handler saw.
func exchange(t *testing.T, c *http.Client, base string, wantProto string, wantTLS bool) {
	t.Helper()
	for _, method := range []string{"GET", "POST"} {
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader("hello body")
		}
		req, _ := http.NewRequest(method, base+"/echo?q=1", body)
		req.Header.Set("X-Test", "value")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Proto != wantProto {
			t.Errorf("%s: response in %s, want %s", method, resp.Proto, wantProto)
		}
		var got seen
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("%s: %q: %v", method, raw, err)
		}
		host := strings.TrimPrefix(strings.TrimPrefix(base, "https://"), "http://")
		scheme := "http"
		if wantTLS {
			scheme = "https"
		}
		want := seen{Method: method, Proto: wantProto, Host: host, URI: "/echo?q=1", Scheme: scheme, Header: "value", TLS: wantTLS, Remote: got.Remote}
		if method == "POST" {
			want.Body = "hello body"
		}
		if got != want {
			t.Errorf("%s: handler saw %+v\nwant %+v", method, got, want)
		}
		if !strings.HasPrefix(got.Remote, "127.0.0.1:") {
			t.Errorf("%s: RemoteAddr %s", method, got.Remote)
		}
		if resp.Header.Get("X-Reply") != "yes" || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Server") != "portico-test" {
			t.Errorf("%s: headers %v", method, resp.Header)
		}
		if wantProto == "HTTP/2.0" && resp.Header.Get("Keep-Alive") != "" {
			t.Errorf("%s: connection-specific header in HTTP/2: %v", method, resp.Header)
		}
		if resp.ContentLength != int64(len(raw)) {
			t.Errorf("%s: Content-Length %d for %d bytes", method, resp.ContentLength, len(raw))
		}
	}
}

func TestHTTP2Protocols(t *testing.T) {
	cfg := testTLSConfig(t)
	tlsH2 := startHTTP(t, "127.0.0.1:0 ssl http2", cfg, nil)
	tlsOnly := startHTTP(t, "127.0.0.1:0 ssl", cfg, nil)
	h2c := startHTTP(t, "127.0.0.1:0 http2", nil, nil)
	plain := startHTTP(t, "127.0.0.1:0", nil, nil)
	for _, tc := range []struct {
		name   string
		client *http.Client
		base   string
		proto  string
		tls    bool
	}{
		{"ssl http2, h2 client", h2Client(t), "https://" + tlsH2.addr, "HTTP/2.0", true},
		{"ssl http2, HTTP/1.1 client", h1TLSClient(t), "https://" + tlsH2.addr, "HTTP/1.1", true},
		{"ssl, HTTP/1.1 client", h1TLSClient(t), "https://" + tlsOnly.addr, "HTTP/1.1", true},
		{"http2, h2c client", h2cClient(t), "http://" + h2c.addr, "HTTP/2.0", false},
		{"http2, HTTP/1.1 client", h1Client(t), "http://" + h2c.addr, "HTTP/1.1", false},
		{"plain, HTTP/1.1 client", h1Client(t), "http://" + plain.addr, "HTTP/1.1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exchange(t, tc.client, tc.base, tc.proto, tc.tls)
		})
	}
	if cfg.NextProtos != nil {
		t.Errorf("the caller's tls.Config was changed: NextProtos %q", cfg.NextProtos)
	}
	t.Run("ssl without http2 refuses h2", func(t *testing.T) {
		if _, err := h2Client(t).Get("https://" + tlsOnly.addr + "/echo"); err == nil {
			t.Error("an h2-only client was served on a listener without http2")
		}
		c, err := tls.Dial("tcp", tlsOnly.addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if p := c.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
			t.Errorf("negotiated %q", p)
		}
	})
	t.Run("204 has no body", func(t *testing.T) {
		resp, err := h2Client(t).Get("https://" + tlsH2.addr + "/empty")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 || resp.Header.Get("Content-Length") != "" {
			t.Errorf("status %d, headers %v", resp.StatusCode, resp.Header)
		}
	})
}

// TestHTTP2Stream: a body stream's pieces reach an HTTP/2 client as the
// handler flushes them, not when it ends.
func TestHTTP2Stream(t *testing.T) {
	for _, tc := range []struct {
		name   string
		entry  string
		client func(*testing.T) *http.Client
		scheme string
	}{
		{"ssl http2", "127.0.0.1:0 ssl http2", h2Client, "https"},
		{"h2c", "127.0.0.1:0 http2", h2cClient, "http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startHTTP(t, tc.entry, testTLSConfig(t), nil)
			resp, err := tc.client(t).Get(tc.scheme + "://" + ts.addr + "/stream")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.Proto != "HTTP/2.0" || resp.ContentLength != -1 {
				t.Errorf("%s, Content-Length %d", resp.Proto, resp.ContentLength)
			}
			br := bufio.NewReader(resp.Body)
			first, err := br.ReadString('\n')
			if err != nil || first != "first\n" {
				t.Fatalf("first piece %q, %v", first, err)
			}
			close(ts.release) // only now may the handler write the rest
			rest, err := io.ReadAll(br)
			if err != nil || string(rest) != "second\n" {
				t.Fatalf("rest %q, %v", rest, err)
			}
		})
	}
}

func TestHTTP2BodyLimit(t *testing.T) {
	ts := startHTTP(t, "127.0.0.1:0 ssl http2", testTLSConfig(t), func(s *fasthttp.Server) { s.MaxRequestBodySize = 16 })
	c := h2Client(t)
	for _, tc := range []struct {
		name    string
		body    string
		chunked bool // no Content-Length: the limit applies while reading
		status  int
	}{
		{"at the limit", strings.Repeat("a", 16), false, 200},
		{"over the limit", strings.Repeat("a", 17), false, 400},
		{"streamed at the limit", strings.Repeat("a", 16), true, 200},
		{"streamed over the limit", strings.Repeat("a", 1000), true, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				body = io.MultiReader(body) // length unknown to the client
			}
			req, _ := http.NewRequest("POST", "https://"+ts.addr+"/echo", body)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d: %s", resp.StatusCode, raw)
			}
			if tc.status == 200 && !strings.Contains(string(raw), `"Body":"`+tc.body+`"`) {
				t.Errorf("body %s", raw)
			}
		})
	}
}

// TestHTTP2ProxyProtocol: PROXY header, then TLS with ALPN h2: the handler
// sees the header's client address.
func TestHTTP2ProxyProtocol(t *testing.T) {
	ts := startHTTP(t, "127.0.0.1:0 ssl http2 proxy_protocol", testTLSConfig(t), nil)
	raw, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := io.WriteString(raw, "PROXY TCP4 198.51.100.9 10.0.0.1 33333 443\r\n"); err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	cc, err := (&http2.Transport{}).NewClientConn(tc)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	req, _ := http.NewRequest("GET", "https://"+ts.addr+"/echo", nil)
	resp, err := cc.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got seen
	json.NewDecoder(resp.Body).Decode(&got)
	if got.Remote != "198.51.100.9:33333" || got.Proto != "HTTP/2.0" {
		t.Errorf("handler saw %+v", got)
	}
}

// TestHTTP2Shutdown: a request in flight on an HTTP/2 connection ends
// normally, new connections are refused, and Shutdown returns after it.
func TestHTTP2Shutdown(t *testing.T) {
	ts := startHTTP(t, "127.0.0.1:0 ssl http2", testTLSConfig(t), nil)
	c := h2Client(t)
	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := c.Get("https://" + ts.addr + "/stream")
		if err != nil {
			got <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- result{string(b), err}
	}()
	// Wait until the stream is open: the h2 connection is counted then.
	deadline := time.Now().Add(5 * time.Second)
	for ts.hl.H2Conns() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if ts.hl.H2Conns() != 1 {
		t.Fatalf("%d HTTP/2 connections open", ts.hl.H2Conns())
	}
	time.Sleep(50 * time.Millisecond)
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- ts.hl.Shutdown(ctx)
	}()
	time.Sleep(50 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		c.Close()
		t.Error("a new connection was accepted during shutdown")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	default:
	}
	close(ts.release)
	if r := <-got; r.err != nil || r.body != "first\nsecond\n" {
		t.Errorf("request in flight: %q, %v", r.body, r.err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if n := ts.hl.H2Conns(); n != 0 {
		t.Errorf("%d HTTP/2 connections left", n)
	}
}

// TestHTTP2Curl talks to the listeners with curl, when it speaks HTTP/2.
func TestHTTP2Curl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	if v, _ := exec.Command(curl, "-V").Output(); !bytes.Contains(v, []byte("HTTP2")) {
		t.Skip("curl without HTTP/2")
	}
	tlsH2 := startHTTP(t, "127.0.0.1:0 ssl http2", testTLSConfig(t), nil)
	h2c := startHTTP(t, "127.0.0.1:0 http2", nil, nil)
	for _, tc := range []struct {
		name    string
		args    []string
		version string
	}{
		{"--http2 over TLS", []string{"-k", "--http2", "https://" + tlsH2.addr + "/echo"}, "2"},
		{"--http1.1 over TLS", []string{"-k", "--http1.1", "https://" + tlsH2.addr + "/echo"}, "1.1"},
		{"--http2-prior-knowledge", []string{"--http2-prior-knowledge", "http://" + h2c.addr + "/echo"}, "2"},
		{"HTTP/1.1 on the h2c port", []string{"--http1.1", "http://" + h2c.addr + "/echo"}, "1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-sS", "--max-time", "10", "-d", "curl body", "-H", "X-Test: curl", "-w", "\n%{http_version} %{http_code}"}, tc.args...)
			out, err := exec.Command(curl, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("curl: %v: %s", err, out)
			}
			i := bytes.LastIndexByte(out, '\n')
			body, status := out[:max(i, 0)], string(out[i+1:])
			if status != tc.version+" 200" {
				t.Errorf("curl says %q", status)
			}
			var got seen
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%q: %v", body, err)
			}
			if got.Body != "curl body" || got.Header != "curl" || got.Method != "POST" || got.Proto != fmt.Sprintf("HTTP/%s", map[string]string{"2": "2.0", "1.1": "1.1"}[tc.version]) {
				t.Errorf("handler saw %+v", got)
			}
		})
	}
}

// The routing goroutine of a silent client ends at the deadline.
func TestHTTP2SilentClient(t *testing.T) {
	ts := startHTTP(t, "127.0.0.1:0 http2", nil, func(s *fasthttp.Server) { s.ReadTimeout = 200 * time.Millisecond })
	for _, send := range []string{"", "PRI * HTTP/2.0\r\n"} {
		t.Run(fmt.Sprintf("%q", send), func(t *testing.T) {
			c, err := net.Dial("tcp", ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, send)
			expectClosed(t, c, 3*time.Second)
		})
	}
}

func parseListener(t *testing.T, entry string) conf.Listener {
	t.Helper()
	ls, err := conf.ParseListen(entry)
	if err != nil {
		t.Fatal(err)
	}
	return ls[0]
}
