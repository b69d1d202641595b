package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRenderRoundTrips: what a node writes as .kong_env reads back as the
// same configuration, with no environment, so that a reload sees no
// change that was not made.
func TestRenderRoundTrips(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
	}{
		{"defaults", nil},
		{"every kind set", []string{
			"KONG_PROXY_LISTEN=127.0.0.1:9000 ssl http2 reuseport backlog=128, [::1]:9001 proxy_protocol so_keepalive=on",
			"KONG_STATUS_LISTEN=off",
			"KONG_PG_PASSWORD=pa#ss word",
			"KONG_LOG_LEVEL=debug",
			"KONG_HEADERS=off",
			"KONG_TRUSTED_IPS=10.0.0.0/8, ::1",
			"KONG_CLIENT_MAX_BODY_SIZE=10m",
			"KONG_EVENT_HOOKS_RETRY_SCHEDULE=1s, 1m, 1h",
			"KONG_EVENT_HOOKS_MAX_AGE=90m",
			"KONG_ANONYMOUS_REPORTS=on",
			"KONG_PROXY_ACCESS_LOG=off",
			"KONG_UNTRUSTED_LUA_SANDBOX_REQUIRES=resty.template",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c, _, err := Load("", append([]string{"KONG_PREFIX=" + dir}, tt.environ...))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, EnvFile)
			if err := os.WriteFile(path, c.Render(), 0o600); err != nil {
				t.Fatal(err)
			}
			back, _, err := Load(path, nil)
			if err != nil {
				t.Fatalf("reading back: %v\n%s", err, c.Render())
			}
			if got := c.Changed(back); len(got) != 0 {
				t.Errorf("changed after a round trip: %v\n%s", got, c.Render())
			}
		})
	}
}

func TestChanged(t *testing.T) {
	a, _, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Load("", []string{"KONG_LOG_LEVEL=debug", "KONG_PG_PASSWORD=secret", "KONG_ADMIN_LISTEN=off"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"admin_listen", "pg_password", "log_level"}
	got := a.Changed(b)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Changed = %v, want %v", got, want)
	}
}
