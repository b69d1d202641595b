package handler

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestDeniedAddr(t *testing.T) {
	for _, c := range []struct {
		addr   string
		denied bool
	}{
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"172.32.0.1", false},
		{"192.168.1.1", true},
		{"169.254.169.254", true}, // AWS, GCP, Azure metadata
		{"100.100.100.200", true}, // Alibaba metadata, carrier-grade NAT
		{"100.63.255.255", false},
		{"0.0.0.0", true},
		{"224.0.0.1", true},
		{"255.255.255.255", true},
		{"8.8.8.8", false},
		{"93.184.216.34", false},
		{"::1", true},
		{"::", true},
		{"::ffff:127.0.0.1", true}, // IPv4-mapped
		{"::ffff:10.0.0.1", true},
		{"::ffff:8.8.8.8", false},
		{"64:ff9b::a00:1", true}, // NAT64 of 10.0.0.1
		{"64:ff9b::808:808", false},
		{"fd00:ec2::254", true}, // AWS IPv6 metadata
		{"fc00::1", true},
		{"fe80::1", true},
		{"ff02::1", true},
		{"2001:4860:4860::8888", false},
	} {
		if got := deniedAddr(netip.MustParseAddr(c.addr)); got != c.denied {
			t.Errorf("deniedAddr(%s) = %v, want %v", c.addr, got, c.denied)
		}
	}
}

// With event_hooks_deny_private a receiver on a private address is refused
// for good, however it is named; without it the same receiver is reached.
func TestWebhookDenyPrivate(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	deny := newWebhookForTest(t, WebhookOptions{DenyPrivate: true})
	for _, c := range []struct {
		url   string
		final bool // refused by the guard (else the name does not even resolve)
	}{
		{srv.URL, true},                            // 127.0.0.1
		{"http://localhost" + port, true},          // a name that resolves to loopback
		{"http://[::ffff:127.0.0.1]" + port, true}, // IPv4-mapped IPv6
		{"http://0x7f000001" + port, false},        // loopback in hex: not an address to Go's resolver
		{"http://2130706433" + port, false},        // loopback as one number: the same
	} {
		_, err := deny.Deliver(context.Background(), delivery(c.url, nil))
		var pe *PermanentError
		var denied *DeniedDestinationError
		if err == nil || (errors.As(err, &pe) && errors.As(err, &denied)) != c.final {
			t.Errorf("%s: %v, want final refusal %v", c.url, err, c.final)
		}
	}
	if hits != 0 {
		t.Fatalf("the receiver got %d requests", hits)
	}
	allow := newWebhookForTest(t, WebhookOptions{})
	if _, err := allow.Deliver(context.Background(), delivery(srv.URL, nil)); err != nil || hits != 1 {
		t.Fatalf("without the setting: %v, %d requests", err, hits)
	}
}
