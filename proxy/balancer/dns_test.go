package balancer

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// dnsServer serves a small zone on a local UDP port.
func dnsServer(t *testing.T) string {
	t.Helper()
	zone := map[string][]string{
		"a.test.":               {"a.test. 30 IN A 10.0.0.2", "a.test. 60 IN A 10.0.0.1"},
		"b.test.":               {"b.test. 30 IN A 10.0.0.3"},
		"six.test.":             {"six.test. 30 IN AAAA ::2"},
		"svc.example.test.":     {"svc.example.test. 30 IN A 10.9.9.9"},
		"_http._tcp.srv.test.":  nil,
		"srv.test.":             {"srv.test. 20 IN SRV 10 5 8001 a.test.", "srv.test. 20 IN SRV 10 0 8002 b.test.", "srv.test. 20 IN SRV 20 5 8003 six.test."},
		"cname.test.":           {"cname.test. 30 IN CNAME b.test.", "b.test. 30 IN A 10.0.0.3"},
		"empty.test.":           {},
		"empty.example.test.":   {},
		"failing.example.test.": nil,
	}
	mux := dns.NewServeMux()
	mux.HandleFunc(".", func(w dns.ResponseWriter, req *dns.Msg) {
		resp := new(dns.Msg)
		resp.SetReply(req)
		q := req.Question[0]
		records, ok := zone[strings.ToLower(q.Name)]
		switch {
		case !ok:
			resp.Rcode = dns.RcodeNameError
		case q.Name == "failing.example.test.":
			resp.Rcode = dns.RcodeServerFailure
		}
		for _, s := range records {
			rr, err := dns.NewRR(s)
			if err != nil {
				t.Errorf("zone: %v", err)
				continue
			}
			if rr.Header().Rrtype == q.Qtype || rr.Header().Rrtype == dns.TypeCNAME ||
				(q.Qtype == dns.TypeA && rr.Header().Rrtype == dns.TypeA && strings.HasPrefix(s, "b.test")) {
				resp.Answer = append(resp.Answer, rr)
			}
		}
		_ = w.WriteMsg(resp)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: mux}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	_, port, _ := net.SplitHostPort(pc.LocalAddr().String())
	return port
}

func TestSystemResolver(t *testing.T) {
	port := dnsServer(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "resolv.conf")
	hosts := filepath.Join(dir, "hosts")
	if err := os.WriteFile(conf, []byte("nameserver 127.0.0.1\nsearch example.test\noptions ndots:1 timeout:1 attempts:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hosts, []byte("# comment\n10.5.5.5 Hosted.test other\n::5 v6only.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newSystemResolver(conf, hosts)
	r.port = port
	tests := []struct {
		name    string
		want    Answer
		wantErr error
	}{
		{"a.test", Answer{Type: "A", TTL: 30 * time.Second, Records: []Record{{IP: "10.0.0.2"}, {IP: "10.0.0.1"}}}, nil},
		{"six.test", Answer{Type: "AAAA", TTL: 30 * time.Second, Records: []Record{{IP: "::2"}}}, nil},
		{"srv.test", Answer{Type: "SRV", TTL: 20 * time.Second, Records: []Record{
			{IP: "10.0.0.2", Port: 8001, Weight: 5, Target: "a.test"},
			{IP: "10.0.0.1", Port: 8001, Weight: 5, Target: "a.test"},
			{IP: "10.0.0.3", Port: 8002, Weight: 0, Target: "b.test"}}}, nil},
		{"cname.test", Answer{Type: "A", TTL: 30 * time.Second, Records: []Record{{IP: "10.0.0.3"}}}, nil},
		{"svc", Answer{Type: "A", TTL: 30 * time.Second, Records: []Record{{IP: "10.9.9.9"}}}, nil},
		{"hosted.test", Answer{Type: "A", TTL: hostsTTL, Records: []Record{{IP: "10.5.5.5"}}}, nil},
		{"v6only.test", Answer{Type: "AAAA", TTL: hostsTTL, Records: []Record{{IP: "::5"}}}, nil},
		{"localhost", Answer{Type: "A", TTL: hostsTTL, Records: []Record{{IP: "127.0.0.1"}}}, nil},
		{"nx.test", Answer{}, ErrNameNotFound},
		{"empty.test", Answer{}, ErrEmptyRecord},
		{"failing", Answer{}, errors.New("dns server error: 2 server failure")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Resolve(context.Background(), tt.name)
			if tt.wantErr != nil {
				if err == nil || err.Error() != tt.wantErr.Error() {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSplitTarget(t *testing.T) {
	tests := []struct {
		in, host string
		port     int
		typ      string
	}{
		{"example.com:8080", "example.com", 8080, "name"},
		{"example.com", "example.com", 8000, "name"},
		{"10.0.0.1:80", "10.0.0.1", 80, "ipv4"},
		{"[::1]:81", "::1", 81, "ipv6"},
		{"[::1]", "::1", 8000, "ipv6"},
	}
	for _, tt := range tests {
		host, port, typ := splitTarget(tt.in)
		if host != tt.host || port != tt.port || typ != tt.typ {
			t.Errorf("splitTarget(%q) = %q %d %q", tt.in, host, port, typ)
		}
	}
}
