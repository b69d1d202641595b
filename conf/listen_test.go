package conf

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseListen(t *testing.T) {
	tests := []struct {
		in   string
		want []Listener
	}{
		{"off", []Listener{}},
		{" OFF ", []Listener{}},
		{"127.0.0.1:8001", []Listener{{Host: "127.0.0.1", Port: 8001}}},
		{"0.0.0.0:8000 reuseport backlog=16384, 0.0.0.0:8443 http2 ssl reuseport backlog=16384", []Listener{
			{Host: "0.0.0.0", Port: 8000, ReusePort: true, Backlog: 16384},
			{Host: "0.0.0.0", Port: 8443, HTTP2: true, SSL: true, ReusePort: true, Backlog: 16384},
		}},
		{"[::1]:8001", []Listener{{Host: "::1", Port: 8001}}},
		{"[::]:8000 ipv6only=on", []Listener{{Host: "::", Port: 8000, IPv6Only: "on"}}},
		{"[0:0::1]:80", []Listener{{Host: "::1", Port: 80}}}, // canonical form
		{"[fe80::1%eth0]:80", []Listener{{Host: "fe80::1%eth0", Port: 80}}},
		{"localhost:8001", []Listener{{Host: "localhost", Port: 8001}}},
		{"Kong.Example.COM:80", []Listener{{Host: "kong.example.com", Port: 80}}},
		{"*:8000", []Listener{{Host: "0.0.0.0", Port: 8000}}},
		{"127.0.0.1:0", []Listener{{Host: "127.0.0.1", Port: 0}}},
		{"1.2.3.4:65535 proxy_protocol deferred bind", []Listener{
			{Host: "1.2.3.4", Port: 65535, ProxyProtocol: true, Deferred: true, Bind: true}}},
		{"ssl 0.0.0.0:8443", []Listener{{Host: "0.0.0.0", Port: 8443, SSL: true}}}, // Kong takes flags anywhere
		{"0.0.0.0:8443 SSL HTTP2", []Listener{{Host: "0.0.0.0", Port: 8443, SSL: true, HTTP2: true}}},
		{"0.0.0.0:80 so_keepalive=on", []Listener{{Host: "0.0.0.0", Port: 80, SoKeepalive: "on"}}},
		{"0.0.0.0:80 so_keepalive=30m::10", []Listener{{Host: "0.0.0.0", Port: 80, SoKeepalive: "30m::10"}}},
		{"0.0.0.0:80 so_keepalive=:5s:", []Listener{{Host: "0.0.0.0", Port: 80, SoKeepalive: ":5s:"}}},
		{"0.0.0.0:80,", []Listener{{Host: "0.0.0.0", Port: 80}}}, // trailing comma
		{"  0.0.0.0:80  ,  127.0.0.1:81  ", []Listener{{Host: "0.0.0.0", Port: 80}, {Host: "127.0.0.1", Port: 81}}},
	}
	for _, tt := range tests {
		got, err := ParseListen(tt.in)
		if err != nil {
			t.Errorf("ParseListen(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseListen(%q) =\n %+v, want\n %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseListenErrors(t *testing.T) {
	tests := []struct{ in, entry, reason string }{
		{"", "", "no address"},
		{",", ",", "no address"},
		{"127.0.0.1", "127.0.0.1", "missing port in '127.0.0.1'"},
		{"127.0.0.1 ssl", "127.0.0.1 ssl", "missing port in '127.0.0.1'"},
		{"127.0.0.1:", "127.0.0.1:", "missing port"},
		{"127.0.0.1:abc", "127.0.0.1:abc", "port 'abc' is not a number"},
		{"127.0.0.1:65536", "127.0.0.1:65536", "port '65536'"},
		{"127.0.0.1:-1", "127.0.0.1:-1", "port '-1'"},
		{"127.0.0.1:999999", "127.0.0.1:999999", "port '999999'"},
		{":8000", ":8000", "missing host"},
		{"::1:8001", "::1:8001", "must be in brackets"},
		{"[::1]", "[::1]", "missing port"},
		{"[::1]8001", "[::1]8001", "expected ':'"},
		{"[::1:8001", "[::1:8001", "missing ']'"},
		{"[1.2.3.4]:80", "[1.2.3.4]:80", "not an IPv6 address"},
		{"[zz]:80", "[zz]:80", "not an IPv6 address"},
		{"bad host!:80", "bad host!:80", "unknown flag 'bad'"},
		{"bad!host:80", "bad!host:80", "not an IP address or host name"},
		{"0.0.0.0:8000 sll", "0.0.0.0:8000 sll", "unknown flag 'sll'"},
		{"sll 0.0.0.0:8000", "sll 0.0.0.0:8000", "unknown flag 'sll'"},
		{"0.0.0.0:8000 udp", "0.0.0.0:8000 udp", "unknown flag 'udp'"},
		{"0.0.0.0:8000 backlog=", "0.0.0.0:8000 backlog=", "backlog ''"},
		{"0.0.0.0:8000 backlog=0", "0.0.0.0:8000 backlog=0", "backlog '0'"},
		{"0.0.0.0:8000 backlog=-5", "0.0.0.0:8000 backlog=-5", "backlog '-5'"},
		{"0.0.0.0:8000 backlog=+5", "0.0.0.0:8000 backlog=+5", "backlog '+5'"},
		{"0.0.0.0:8000 ipv6only=yes", "0.0.0.0:8000 ipv6only=yes", "ipv6only 'yes'"},
		{"0.0.0.0:8000 so_keepalive=1:2", "0.0.0.0:8000 so_keepalive=1:2", "so_keepalive '1:2'"},
		{"0.0.0.0:8000 so_keepalive=1:2:3s", "0.0.0.0:8000 so_keepalive=1:2:3s", "so_keepalive"},
		{"0.0.0.0:8000 so_keepalive=x::", "0.0.0.0:8000 so_keepalive=x::", "so_keepalive"},
		{"0.0.0.0:8000 ssl=on", "0.0.0.0:8000 ssl=on", "unknown flag 'ssl=on'"},
		{"0.0.0.0:8000 1.2.3.4:80", "0.0.0.0:8000 1.2.3.4:80", "unknown flag '1.2.3.4:80'"},
		{"off, 0.0.0.0:8000", "off", "cannot be combined"},
		{"0.0.0.0:8000, off", "off", "cannot be combined"},
		{"0.0.0.0:8000, 127.0.0.1", "127.0.0.1", "missing port"},
		{"0[", "0[", "missing port in '0['"}, // found by FuzzParseListen
		{"a[b:80", "a[b:80", "not an IP address or host name"},
	}
	for _, tt := range tests {
		_, err := ParseListen(tt.in)
		var le *ListenError
		if !errors.As(err, &le) {
			t.Errorf("ParseListen(%q): err = %v, want a *ListenError", tt.in, err)
			continue
		}
		if le.Entry != tt.entry || !strings.Contains(le.Reason, tt.reason) {
			t.Errorf("ParseListen(%q): entry %q reason %q, want entry %q reason containing %q", tt.in, le.Entry, le.Reason, tt.entry, tt.reason)
		}
	}
}

func TestListenerAddrAndString(t *testing.T) {
	tests := []struct {
		l          Listener
		addr, text string
	}{
		{Listener{Host: "127.0.0.1", Port: 8001}, "127.0.0.1:8001", "127.0.0.1:8001"},
		{Listener{Host: "::1", Port: 8001}, "[::1]:8001", "[::1]:8001"},
		{Listener{Host: "localhost", Port: 0}, "localhost:0", "localhost:0"},
		{Listener{Host: "0.0.0.0", Port: 8443, HTTP2: true, SSL: true, ReusePort: true, Backlog: 16384},
			"0.0.0.0:8443", "0.0.0.0:8443 ssl http2 reuseport backlog=16384"},
		{Listener{Host: "::", Port: 1, ProxyProtocol: true, Deferred: true, Bind: true, IPv6Only: "off", SoKeepalive: "1m:2:3"},
			"[::]:1", "[::]:1 proxy_protocol deferred bind ipv6only=off so_keepalive=1m:2:3"},
	}
	for _, tt := range tests {
		if got := tt.l.Addr(); got != tt.addr {
			t.Errorf("Addr() = %q, want %q", got, tt.addr)
		}
		if got := tt.l.String(); got != tt.text {
			t.Errorf("String() = %q, want %q", got, tt.text)
		}
		back, err := ParseListen(tt.l.String())
		if err != nil || len(back) != 1 || back[0] != tt.l {
			t.Errorf("round trip of %q: %+v, %v", tt.text, back, err)
		}
	}
	if got := FormatListen(nil); got != "off" {
		t.Errorf("FormatListen(nil) = %q, want off", got)
	}
}

// FuzzParseListen checks that no input panics, and that whatever parses
// prints back to text that parses to the same listeners.
func FuzzParseListen(f *testing.F) {
	for _, s := range []string{
		"off", "127.0.0.1:8001 reuseport backlog=16384, 127.0.0.1:8444 http2 ssl reuseport backlog=16384",
		"[::1]:8001", "[fe80::1%eth0]:80 ipv6only=on", "*:80 so_keepalive=1m:2s:3", "localhost:0 proxy_protocol",
		"::1:80", "[::1", "a:b:c", "0.0.0.0:80 backlog=99999999999", ",,,", "ssl 1.2.3.4:5",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ls, err := ParseListen(in)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		text := FormatListen(ls)
		back, err := ParseListen(text)
		if err != nil {
			t.Fatalf("ParseListen(%q) ok, but its text %q fails: %v", in, text, err)
		}
		if len(back) != len(ls) {
			t.Fatalf("round trip of %q: %d listeners, then %d", in, len(ls), len(back))
		}
		for i := range ls {
			if back[i] != ls[i] {
				t.Fatalf("round trip of %q: %+v became %+v", in, ls[i], back[i])
			}
			_ = ls[i].Addr()
		}
	})
}
