package bundled

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/plugins/ratelimit"
)

// rlClock is a settable clock for the rate limiting plugins.
type rlClock struct{ now int64 }

func (c *rlClock) Now() int64 { return c.now }

// t0 is 10:00:10 on May 1st 2024 (UTC): 50 s left in the minute.
var t0 = time.Date(2024, 5, 1, 10, 0, 10, 0, time.UTC).Unix()

func newTestRateLimiter(t testing.TB, conf map[string]any, clock *rlClock) *rateLimiter {
	t.Helper()
	h, err := newRateLimiter(conf, ratelimit.NewLocal(clock.Now), ratelimit.NewClients(), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return h.(*rateLimiter)
}

// rlRequest runs one request through a plugin's access and header filter
// phases and returns its status (0 when let through) and the answer's
// headers.
func rlRequest(t testing.TB, h plugins.Handler, pc *plugins.Context) (int, map[string]string) {
	t.Helper()
	if err := h.(plugins.Accessor).Access(pc); err != nil {
		t.Fatal(err)
	}
	status := 0
	if pc.Exited() {
		status = pc.Response.StatusCode()
	} else {
		pc.Response.Reset() // the upstream's answer replaces the response
		pc.Response.SetStatusCode(200)
	}
	if err := h.(plugins.HeaderFilterer).HeaderFilter(pc); err != nil {
		t.Fatal(err)
	}
	headers := map[string]string{}
	for k, v := range pc.Response.Header.All() {
		headers[strings.ToLower(string(k))] = string(v)
	}
	return status, headers
}

func ipContext(ip string) *plugins.Context {
	pc := newContext("/", nil, "")
	pc.ClientIP = netip.MustParseAddr(ip)
	return pc
}

func TestRateLimitingHeaders(t *testing.T) {
	for _, c := range []struct {
		name     string
		conf     map[string]any
		requests int // the last one is checked
		status   int
		want     map[string]string // "" means absent
	}{
		{"first request", map[string]any{"minute": 3.0}, 1, 0, map[string]string{
			"X-RateLimit-Limit-Minute": "3", "X-RateLimit-Remaining-Minute": "2",
			"RateLimit-Limit": "3", "RateLimit-Remaining": "2", "RateLimit-Reset": "50", "Retry-After": "",
		}},
		{"last allowed", map[string]any{"minute": 3.0}, 3, 0, map[string]string{
			"X-RateLimit-Remaining-Minute": "0", "RateLimit-Remaining": "0", "Retry-After": "",
		}},
		{"over the limit", map[string]any{"minute": 3.0}, 4, 429, map[string]string{
			"X-RateLimit-Limit-Minute": "3", "X-RateLimit-Remaining-Minute": "0",
			"RateLimit-Limit": "3", "RateLimit-Remaining": "0", "RateLimit-Reset": "50", "Retry-After": "50",
			"Content-Type": "application/json; charset=utf-8",
		}},
		{"several periods: the least remaining wins", map[string]any{"second": 10.0, "minute": 3.0, "hour": 100.0}, 2, 0, map[string]string{
			"X-RateLimit-Limit-Second": "10", "X-RateLimit-Remaining-Second": "8",
			"X-RateLimit-Limit-Minute": "3", "X-RateLimit-Remaining-Minute": "1",
			"X-RateLimit-Limit-Hour": "100", "X-RateLimit-Remaining-Hour": "98",
			"RateLimit-Limit": "3", "RateLimit-Remaining": "1", "RateLimit-Reset": "50",
		}},
		{"a tie goes to the longer window", map[string]any{"minute": 2.0, "hour": 2.0}, 2, 0, map[string]string{
			"RateLimit-Limit": "2", "RateLimit-Remaining": "0", "RateLimit-Reset": "3590",
		}},
		{"stopped by the hour: other periods keep their count", map[string]any{"minute": 5.0, "hour": 5.0, "day": 10.0}, 6, 429, map[string]string{
			"X-RateLimit-Remaining-Minute": "0", "X-RateLimit-Remaining-Hour": "0", "X-RateLimit-Remaining-Day": "5",
			"RateLimit-Reset": "3590", "Retry-After": "3590",
		}},
		{"hidden headers", map[string]any{"minute": 1.0, "hide_client_headers": true}, 2, 429, map[string]string{
			"X-RateLimit-Limit-Minute": "", "RateLimit-Limit": "", "Retry-After": "",
		}},
		{"own error code", map[string]any{"minute": 1.0, "error_code": 503.0, "error_message": "slow down"}, 2, 503, map[string]string{
			"Retry-After": "50",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := &rlClock{t0}
			h := newTestRateLimiter(t, c.conf, clock)
			var status int
			var got map[string]string
			for range c.requests {
				status, got = rlRequest(t, h, ipContext("10.0.0.1"))
			}
			if status != c.status {
				t.Fatalf("status %d; want %d", status, c.status)
			}
			for k, want := range c.want {
				if got[strings.ToLower(k)] != want {
					t.Errorf("%s = %q; want %q (all: %v)", k, got[k], want, got)
				}
			}
		})
	}
}

// Headers of the plugin's names that the upstream sent are replaced, in
// whatever case they came; the upstream's other headers stay.
func TestRateLimitingHeadersReplaceUpstreams(t *testing.T) {
	for _, tc := range []struct {
		name     string
		upstream [][2]string
		want     map[string][]string
	}{
		{"none from the upstream", [][2]string{{"X-Upstream", "1"}}, map[string][]string{
			"X-Ratelimit-Limit-Minute": {"3"}, "Ratelimit-Remaining": {"2"}, "X-Upstream": {"1"}}},
		{"the upstream's own limits", [][2]string{{"x-ratelimit-limit-minute", "99"}, {"RATELIMIT-REMAINING", "98"}}, map[string][]string{
			"X-Ratelimit-Limit-Minute": {"3"}, "Ratelimit-Remaining": {"2"}}},
		{"a Retry-After is the upstream's while the limit is not reached", [][2]string{{"Retry-After", "7"}}, map[string][]string{
			"Retry-After": {"7"}, "Ratelimit-Limit": {"3"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestRateLimiter(t, map[string]any{"minute": 3.0}, &rlClock{t0})
			pc := ipContext("10.0.0.1")
			if err := h.Access(pc); err != nil {
				t.Fatal(err)
			}
			pc.Response.SetStatusCode(200)
			for _, kv := range tc.upstream {
				pc.Response.Header.Add(kv[0], kv[1])
			}
			if err := h.HeaderFilter(pc); err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.want {
				var got []string
				for _, v := range pc.Response.Header.PeekAll(name) {
					got = append(got, string(v))
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: %q; want %q", name, got, want)
				}
			}
		})
	}
}

// The headers are found by name whatever its case, as other plugins (and
// response-transformer's removals) look them up.
func TestRateLimitingHeadersFound(t *testing.T) {
	h := newTestRateLimiter(t, map[string]any{"minute": 3.0}, &rlClock{t0})
	pc := ipContext("10.0.0.1")
	rlRequest(t, h, pc)
	for _, name := range []string{"X-RateLimit-Remaining-Minute", "x-ratelimit-remaining-minute", "RateLimit-Remaining"} {
		if got := string(pc.Response.Header.Peek(name)); got != "2" {
			t.Errorf("Peek(%q) = %q", name, got)
		}
	}
	pc.Response.Header.Del("ratelimit-limit")
	if got := pc.Response.Header.Peek("RateLimit-Limit"); got != nil {
		t.Errorf("not deleted: %q", got)
	}
}

func TestRateLimitingBody(t *testing.T) {
	clock := &rlClock{t0}
	for _, c := range []struct {
		conf map[string]any
		body string
	}{
		{map[string]any{"minute": 1.0}, `"message":"API rate limit exceeded"`},
		{map[string]any{"minute": 1.0, "error_code": 503.0, "error_message": "slow down"}, `"message":"slow down"`},
	} {
		h := newTestRateLimiter(t, c.conf, clock)
		rlRequest(t, h, ipContext("10.0.0.1"))
		pc := ipContext("10.0.0.1")
		pc.RequestID = []byte("rid")
		rlRequest(t, h, pc)
		if body := string(pc.Response.Body()); !strings.Contains(body, c.body) || !strings.Contains(body, `"request_id":"rid"`) {
			t.Errorf("body %s; want %s", body, c.body)
		}
	}
}

func TestRateLimitingWindows(t *testing.T) {
	clock := &rlClock{t0}
	h := newTestRateLimiter(t, map[string]any{"second": 1.0, "minute": 2.0}, clock)
	steps := []struct {
		advance int64
		status  int
	}{
		{0, 0},
		{0, 429}, // the second's limit
		{1, 0},   // next second
		{0, 429}, // the minute's limit is reached too now
		{1, 429}, // the minute still
		{50, 0},  // next minute
		{0, 429}, // one per second
		{60, 0},  // long after
		{120, 0}, // counts of old windows are gone
		{0, 429},
	}
	for i, s := range steps {
		clock.now += s.advance
		if got, _ := rlRequest(t, h, ipContext("10.0.0.1")); got != s.status {
			t.Fatalf("step %d: status %d; want %d", i, got, s.status)
		}
	}
}

func TestRateLimitingLimitBy(t *testing.T) {
	consumer := map[string]any{"id": "c1", "username": "alice"}
	credential := map[string]any{"id": "k1"}
	for _, c := range []struct {
		name string
		conf map[string]any
		// a and b are two requests; shared says whether they count
		// together.
		a, b   func(*plugins.Context)
		shared bool
	}{
		{"consumer", map[string]any{"limit_by": "consumer"},
			func(pc *plugins.Context) { pc.Consumer = consumer; pc.ClientIP = netip.MustParseAddr("10.0.0.1") },
			func(pc *plugins.Context) { pc.Consumer = consumer; pc.ClientIP = netip.MustParseAddr("10.0.0.2") }, true},
		{"consumer falls back to the credential", map[string]any{"limit_by": "consumer"},
			func(pc *plugins.Context) { pc.Credential = credential; pc.ClientIP = netip.MustParseAddr("10.0.0.1") },
			func(pc *plugins.Context) { pc.Credential = credential; pc.ClientIP = netip.MustParseAddr("10.0.0.2") }, true},
		{"consumer falls back to the ip", map[string]any{"limit_by": "consumer"},
			func(pc *plugins.Context) { pc.ClientIP = netip.MustParseAddr("10.0.0.1") },
			func(pc *plugins.Context) { pc.ClientIP = netip.MustParseAddr("10.0.0.2") }, false},
		{"credential", map[string]any{"limit_by": "credential"},
			func(pc *plugins.Context) { pc.Consumer, pc.Credential = consumer, credential },
			func(pc *plugins.Context) { pc.Consumer, pc.Credential = consumer, map[string]any{"id": "k2"} }, false},
		{"ip", map[string]any{"limit_by": "ip"},
			func(pc *plugins.Context) { pc.Consumer = consumer; pc.ClientIP = netip.MustParseAddr("10.0.0.1") },
			func(pc *plugins.Context) { pc.Consumer = consumer; pc.ClientIP = netip.MustParseAddr("10.0.0.2") }, false},
		{"ip (IPv4-mapped is IPv4)", map[string]any{"limit_by": "ip"},
			func(pc *plugins.Context) { pc.ClientIP = netip.MustParseAddr("10.0.0.1") },
			func(pc *plugins.Context) { pc.ClientIP = netip.MustParseAddr("::ffff:10.0.0.1") }, true},
		{"service", map[string]any{"limit_by": "service"},
			func(pc *plugins.Context) { pc.Service.ID = "s1"; pc.ClientIP = netip.MustParseAddr("10.0.0.1") },
			func(pc *plugins.Context) { pc.Service.ID = "s1"; pc.ClientIP = netip.MustParseAddr("10.0.0.2") }, true},
		{"header", map[string]any{"limit_by": "header", "header_name": "X-Tenant"},
			func(pc *plugins.Context) {
				pc.Request.Header.Set("X-Tenant", "t1")
				pc.ClientIP = netip.MustParseAddr("10.0.0.1")
			},
			func(pc *plugins.Context) {
				pc.Request.Header.Set("X-Tenant", "t1")
				pc.ClientIP = netip.MustParseAddr("10.0.0.2")
			}, true},
		{"header missing falls back to the ip", map[string]any{"limit_by": "header", "header_name": "X-Tenant"},
			func(pc *plugins.Context) { pc.ClientIP = netip.MustParseAddr("10.0.0.1") },
			func(pc *plugins.Context) { pc.ClientIP = netip.MustParseAddr("10.0.0.2") }, false},
		{"path", map[string]any{"limit_by": "path", "path": "/api"},
			func(pc *plugins.Context) {
				pc.Request.SetRequestURI("/api?x=1")
				pc.ClientIP = netip.MustParseAddr("10.0.0.1")
			},
			func(pc *plugins.Context) {
				pc.Request.SetRequestURI("/api")
				pc.ClientIP = netip.MustParseAddr("10.0.0.2")
			}, true},
		{"another path falls back to the ip", map[string]any{"limit_by": "path", "path": "/api"},
			func(pc *plugins.Context) {
				pc.Request.SetRequestURI("/other")
				pc.ClientIP = netip.MustParseAddr("10.0.0.1")
			},
			func(pc *plugins.Context) {
				pc.Request.SetRequestURI("/other")
				pc.ClientIP = netip.MustParseAddr("10.0.0.2")
			}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf := map[string]any{"minute": 1.0}
			for k, v := range c.conf {
				conf[k] = v
			}
			h := newTestRateLimiter(t, conf, &rlClock{t0})
			pa, pb := newContext("/", nil, ""), newContext("/", nil, "")
			c.a(pa)
			c.b(pb)
			if status, _ := rlRequest(t, h, pa); status != 0 {
				t.Fatalf("first request refused: %d", status)
			}
			status, _ := rlRequest(t, h, pb)
			if shared := status == 429; shared != c.shared {
				t.Fatalf("counted together: %v; want %v", shared, c.shared)
			}
		})
	}
}

func TestRateLimitingScope(t *testing.T) {
	clock := &rlClock{t0}
	local := ratelimit.NewLocal(clock.Now)
	build := func(route string) *rateLimiter {
		h, err := newRateLimiter(map[string]any{"minute": 1.0}, local, ratelimit.NewClients(), clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		h.(plugins.Scoped).SetScope(plugins.Scope{Route: route})
		return h.(*rateLimiter)
	}
	a := build("r1")
	rlRequest(t, a, ipContext("10.0.0.1"))
	// A rebuilt instance of the same row keeps counting.
	if status, _ := rlRequest(t, build("r1"), ipContext("10.0.0.1")); status != 429 {
		t.Fatalf("a rebuilt instance forgot the count: %d", status)
	}
	// Another route counts apart.
	if status, _ := rlRequest(t, build("r2"), ipContext("10.0.0.1")); status != 0 {
		t.Fatalf("another route's counter was used: %d", status)
	}
}

// recordingEvents records emitted events.
type recordingEvents struct {
	mu     sync.Mutex
	wanted bool
	got    []map[string]any
}

func (e *recordingEvents) Wants(source, event string) bool {
	return e.wanted && source == "rate-limiting" && event == "rate-limit-exceeded"
}

func (e *recordingEvents) Emit(source, event string, data map[string]any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, data)
}

func TestRateLimitingEvent(t *testing.T) {
	info := rateLimiting()
	if want := []plugins.Event{{Source: "rate-limiting", Name: "rate-limit-exceeded",
		Description: "Run an event when a rate limit has been exceeded",
		Fields:      []string{"consumer", "ip", "service", "rate", "limit", "window"},
		Unique:      []string{"consumer", "ip", "service"}}}; !reflect.DeepEqual(info.Events, want) {
		t.Fatalf("events %+v", info.Events)
	}
	for _, wanted := range []bool{true, false} {
		events := &recordingEvents{wanted: wanted}
		h := newTestRateLimiter(t, map[string]any{"second": 5.0, "hour": 2.0}, &rlClock{t0})
		service := map[string]any{"id": "s1", "name": "orders"}
		for range 3 {
			pc := ipContext("10.0.0.7")
			pc.Events = events
			pc.Service = plugins.Ref{ID: "s1", Row: service}
			rlRequest(t, h, pc)
		}
		if !wanted {
			if len(events.got) != 0 {
				t.Fatalf("an event nobody wants was emitted: %v", events.got)
			}
			continue
		}
		want := []map[string]any{{"consumer": map[string]any{}, "ip": "10.0.0.7", "service": service,
			"rate": int64(3), "limit": 2.0, "window": "hour"}}
		if !reflect.DeepEqual(events.got, want) {
			t.Fatalf("events %v; want %v", events.got, want)
		}
	}
}

func TestRateLimitingPolicyValidation(t *testing.T) {
	e, _ := installed(t)
	for _, c := range []struct {
		name   string
		config map[string]any
		want   []string
	}{
		{"cluster is refused by name", map[string]any{"minute": 5.0, "policy": "cluster"}, []string{"config.policy: " + msgClusterPolicy}},
		{"sync_rate with redis", map[string]any{"minute": 5.0, "policy": "redis", "sync_rate": 1.0, "redis": map[string]any{"host": "localhost"}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, name := range []string{"rate-limiting", "response-ratelimiting"} {
				conf := c.config
				if name == "response-ratelimiting" {
					if _, ok := conf["sync_rate"]; ok {
						continue
					}
					conf = map[string]any{"policy": conf["policy"], "limits": map[string]any{"video": map[string]any{"minute": 5.0}}}
				}
				_, errs := insert(t, e, map[string]any{"name": name, "config": conf})
				if got := errs.Flatten(); !reflect.DeepEqual(got, c.want) {
					t.Errorf("%s: errors = %q; want %q", name, got, c.want)
				}
			}
		})
	}
}

// TestRateLimitingRedisShorthands: both rate limiting plugins take Kong's
// deprecated flat redis_* options into config.redis, refuse them when they
// contradict it, and echo them on reads.
func TestRateLimitingRedisShorthands(t *testing.T) {
	e, _ := installed(t)
	flat := map[string]any{"redis_host": "redis.internal", "redis_port": 6380.0, "redis_password": "",
		"redis_username": "u", "redis_ssl": true, "redis_ssl_verify": true, "redis_server_name": "redis.example",
		"redis_timeout": 1500.0, "redis_database": 2.0}
	wantRedis := map[string]any{"host": "redis.internal", "port": 6380.0, "password": "", "username": "u", "ssl": true,
		"ssl_verify": true, "server_name": "redis.example", "timeout": 1500.0, "database": 2.0}
	for _, name := range []string{"rate-limiting", "response-ratelimiting"} {
		t.Run(name, func(t *testing.T) {
			conf := map[string]any{"policy": "redis"}
			if name == "rate-limiting" {
				conf["minute"] = 5.0
			} else {
				conf["limits"] = map[string]any{"video": map[string]any{"minute": 5.0}}
			}
			for k, v := range flat {
				conf[k] = v
			}
			row, errs := insert(t, e, map[string]any{"name": name, "config": conf})
			if errs != nil {
				t.Fatalf("flat redis options refused: %v", errs.Flatten())
			}
			stored := row["config"].(map[string]any)
			if !reflect.DeepEqual(stored["redis"], wantRedis) || stored["redis_host"] != nil {
				t.Errorf("stored config.redis = %v (redis_host %v)", stored["redis"], stored["redis_host"])
			}
			out := e.Output(row)["config"].(map[string]any)
			for k, v := range flat {
				if out[k] != v {
					t.Errorf("output config.%s = %v, want %v", k, out[k], v)
				}
			}
			conf["redis"] = map[string]any{"host": "other.internal"}
			_, errs = e.PrepareInsert(map[string]any{"name": name, "config": conf}, testAuto)
			want := []string{"config.redis_host: both deprecated and new field are used but their values mismatch: " +
				"redis_host = redis.internal vs redis.host = other.internal"}
			if got := errs.Flatten(); !reflect.DeepEqual(got, want) {
				t.Errorf("contradicting options: %q, want %q", got, want)
			}
		})
	}
}

func newTestResponseLimiter(t testing.TB, conf map[string]any, clock *rlClock) *responseLimiter {
	t.Helper()
	h, err := newResponseLimiter(conf, ratelimit.NewLocal(clock.Now), ratelimit.NewClients(), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return h.(*responseLimiter)
}

// rrlRequest runs one request whose upstream answers with the header
// x-kong-limit values given.
func rrlRequest(t testing.TB, h *responseLimiter, limitHeader ...string) (int, map[string]string, string) {
	t.Helper()
	pc := ipContext("10.0.0.1")
	if err := h.Access(pc); err != nil {
		t.Fatal(err)
	}
	if pc.Exited() {
		return pc.Response.StatusCode(), nil, string(pc.Response.Body())
	}
	pc.Response.Reset()
	pc.Response.SetStatusCode(200)
	pc.Response.SetBodyString("upstream body")
	for _, v := range limitHeader {
		pc.Response.Header.Add("X-Kong-Limit", v)
	}
	if err := h.HeaderFilter(pc); err != nil {
		t.Fatal(err)
	}
	headers := map[string]string{}
	for k, v := range pc.Response.Header.All() {
		headers[strings.ToLower(string(k))] = string(v)
	}
	return pc.Response.StatusCode(), headers, string(pc.Response.Body())
}

func TestResponseRateLimiting(t *testing.T) {
	limits := map[string]any{"video": map[string]any{"minute": 3.0, "hour": 10.0}, "image": map[string]any{"second": 2.0}}
	t.Run("headers and counting", func(t *testing.T) {
		h := newTestResponseLimiter(t, map[string]any{"limits": limits}, &rlClock{t0})
		status, headers, body := rrlRequest(t, h, "video=1, image=1")
		want := map[string]string{
			"X-RateLimit-Limit-video-minute": "3", "X-RateLimit-Remaining-video-minute": "2",
			"X-RateLimit-Limit-video-hour": "10", "X-RateLimit-Remaining-video-hour": "9",
			"X-RateLimit-Limit-image-second": "2", "X-RateLimit-Remaining-image-second": "1",
			"X-RateLimit-Remaining-video": "3", "X-RateLimit-Remaining-image": "2",
			"X-Kong-Limit": "",
		}
		if status != 200 || body != "upstream body" {
			t.Fatalf("%d %q", status, body)
		}
		for k, v := range want {
			if headers[strings.ToLower(k)] != v {
				t.Errorf("%s = %q; want %q (all %v)", k, headers[k], v, headers)
			}
		}
		// Several headers add up; names that are no limit and bad values
		// count nothing.
		rrlRequest(t, h, "video=1", "image=1, audio=4, video")
		_, headers, _ = rrlRequest(t, h)
		if headers["x-ratelimit-remaining-video-minute"] != "1" || headers["x-ratelimit-remaining-image-second"] != "0" ||
			headers["x-ratelimit-remaining-video"] != "1" {
			t.Fatalf("after three answers: %v", headers)
		}
		// A used-up limit: an answer that consumes it is replaced by a
		// bare 429; one that does not goes through.
		status, _, body = rrlRequest(t, h, "image=1")
		if status != 429 || body != "" {
			t.Fatalf("over the limit: %d %q", status, body)
		}
		if status, _, _ := rrlRequest(t, h, "video=1"); status != 200 {
			t.Fatalf("another limit: %d", status)
		}
		// video's minute is used up now too.
		if status, _, _ := rrlRequest(t, h, "video=1"); status != 429 {
			t.Fatalf("video's minute: %d", status)
		}
	})
	t.Run("block on first violation", func(t *testing.T) {
		h := newTestResponseLimiter(t, map[string]any{"limits": limits, "block_on_first_violation": true}, &rlClock{t0})
		rrlRequest(t, h, "image=2")
		status, _, body := rrlRequest(t, h)
		if status != 429 || !strings.Contains(body, `"message":"API rate limit exceeded for 'image'"`) {
			t.Fatalf("%d %s", status, body)
		}
	})
	t.Run("hidden headers", func(t *testing.T) {
		h := newTestResponseLimiter(t, map[string]any{"limits": limits, "hide_client_headers": true}, &rlClock{t0})
		_, headers, _ := rrlRequest(t, h, "video=1")
		if headers["x-ratelimit-limit-video-minute"] != "" || headers["x-ratelimit-remaining-video-minute"] != "" {
			t.Fatalf("headers shown: %v", headers)
		}
	})
	t.Run("a limit name that is no header name", func(t *testing.T) {
		h := newTestResponseLimiter(t, map[string]any{"limits": map[string]any{"my videos": map[string]any{"minute": 2.0}}}, &rlClock{t0})
		_, headers, _ := rrlRequest(t, h, "my videos=2")
		for k := range headers {
			if strings.Contains(k, "videos") {
				t.Fatalf("header %q sent", k)
			}
		}
		if status, _, _ := rrlRequest(t, h, "my videos=1"); status != 429 {
			t.Fatalf("not counted: %d", status)
		}
	})
	t.Run("own header name", func(t *testing.T) {
		h := newTestResponseLimiter(t, map[string]any{"limits": limits, "header_name": "X-Used"}, &rlClock{t0})
		pc := ipContext("10.0.0.1")
		h.Access(pc)
		pc.Response.Header.Set("X-Used", "video=3")
		h.HeaderFilter(pc)
		if got := string(pc.Response.Header.Peek("X-RateLimit-Remaining-video-minute")); got != "0" || len(pc.Response.Header.Peek("X-Used")) != 0 {
			t.Fatalf("remaining %q, header kept %q", got, pc.Response.Header.Peek("X-Used"))
		}
	})
}

// redisServer starts a redis-server of its own on a free port for the
// test, or skips (fails under CI=true) when there is none.
func redisServer(t testing.TB) (host string, port int) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed")
		}
		t.Skip("redis-server is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	cl := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), Protocol: 2})
	defer cl.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if cl.Ping(context.Background()).Err() == nil {
			return "127.0.0.1", port
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
	}
}

func TestRateLimitingRedis(t *testing.T) {
	host, port := redisServer(t)
	now := time.Now().Unix()
	clock := &rlClock{now}
	conf := map[string]any{"minute": 3.0, "policy": "redis", "redis": map[string]any{"host": host, "port": float64(port), "timeout": 2000.0}}
	// Two nodes: their own clients and counters, one Redis.
	node := func() *rateLimiter {
		h, err := newRateLimiter(conf, ratelimit.NewLocal(clock.Now), ratelimit.NewClients(), clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		h.(plugins.Scoped).SetScope(plugins.Scope{Route: "r1"})
		return h.(*rateLimiter)
	}
	a, b := node(), node()
	for i, h := range []*rateLimiter{a, b, a} {
		status, headers := rlRequest(t, h, ipContext("10.0.0.1"))
		if status != 0 || headers["x-ratelimit-remaining-minute"] != strconv.Itoa(2-i) {
			t.Fatalf("request %d: %d %v", i, status, headers)
		}
	}
	if status, headers := rlRequest(t, b, ipContext("10.0.0.1")); status != 429 || headers["retry-after"] == "" {
		t.Fatalf("over the limit on the other node: %d %v", status, headers)
	}
	// Kong's key, with its expiry.
	cl := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("%s:%d", host, port), Protocol: 2})
	defer cl.Close()
	key := fmt.Sprintf("ratelimit:r1:%s:10.0.0.1:%d:minute", emptyUUID, ratelimit.Minute.Start(now)*1000)
	if v, err := cl.Get(context.Background(), key).Int(); err != nil || v != 4 {
		t.Fatalf("%s = %d, %v", key, v, err)
	}
	if ttl := cl.TTL(context.Background(), key).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("ttl %v", ttl)
	}

	t.Run("fault tolerance", func(t *testing.T) {
		down := map[string]any{"minute": 3.0, "policy": "redis", "redis": map[string]any{"host": "127.0.0.1", "port": 1.0, "timeout": 200.0}}
		for _, tolerant := range []bool{true, false} {
			c := map[string]any{"fault_tolerant": tolerant}
			for k, v := range down {
				c[k] = v
			}
			h, err := newRateLimiter(c, ratelimit.NewLocal(clock.Now), ratelimit.NewClients(), clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			pc := ipContext("10.0.0.1")
			var logged []string
			pc.Log = func(level, format string, args ...any) {
				logged = append(logged, level+": "+fmt.Sprintf(format, args...))
			}
			err = h.(plugins.Accessor).Access(pc)
			if tolerant {
				if err != nil || pc.Exited() || len(logged) != 1 || !strings.Contains(logged[0], "failed to get usage") {
					t.Fatalf("fault tolerant: %v, exited %v, logged %q", err, pc.Exited(), logged)
				}
			} else if err == nil {
				t.Fatal("not fault tolerant: no error")
			}
		}
	})

	t.Run("sync_rate", func(t *testing.T) {
		sconf := map[string]any{"minute": 4.0, "policy": "redis", "sync_rate": 0.05, "redis": conf["redis"]}
		node := func() *rateLimiter {
			h, err := newRateLimiter(sconf, ratelimit.NewLocal(clock.Now), ratelimit.NewClients(), clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			h.(plugins.Scoped).SetScope(plugins.Scope{Route: "r-sync"})
			return h.(*rateLimiter)
		}
		a, b := node(), node()
		// Each node counts locally between syncs...
		for i := range 3 {
			if status, headers := rlRequest(t, a, ipContext("10.0.0.9")); status != 0 || headers["x-ratelimit-remaining-minute"] != strconv.Itoa(3-i) {
				t.Fatalf("node a, request %d: %d %v", i, status, headers)
			}
		}
		// ...and pushes its counts within sync_rate.
		time.Sleep(200 * time.Millisecond)
		if status, headers := rlRequest(t, b, ipContext("10.0.0.9")); status != 0 || headers["x-ratelimit-remaining-minute"] != "0" {
			t.Fatalf("node b after the sync: %d %v", status, headers)
		}
		time.Sleep(200 * time.Millisecond)
		if status, _ := rlRequest(t, a, ipContext("10.0.0.9")); status != 429 {
			t.Fatalf("node a after both synced: %d", status)
		}
		time.Sleep(200 * time.Millisecond)
		key := fmt.Sprintf("ratelimit:r-sync:%s:10.0.0.9:%d:minute", emptyUUID, ratelimit.Minute.Start(now)*1000)
		if v, err := cl.Get(context.Background(), key).Int(); err != nil || v != 4 {
			t.Fatalf("%s = %d, %v; want 4 (the refused request is taken back)", key, v, err)
		}
	})
}

func TestResponseRateLimitingRedis(t *testing.T) {
	host, port := redisServer(t)
	clock := &rlClock{time.Now().Unix()}
	conf := map[string]any{"policy": "redis", "redis": map[string]any{"host": host, "port": float64(port), "timeout": 2000.0},
		"limits": map[string]any{"video": map[string]any{"minute": 3.0}}}
	a := newTestResponseLimiter(t, conf, clock)
	b := newTestResponseLimiter(t, conf, clock)
	rrlRequest(t, a, "video=2")
	var headers map[string]string
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, headers, _ = rrlRequest(t, b); headers["x-ratelimit-remaining-video-minute"] == "1" {
			break
		}
	}
	if headers["x-ratelimit-remaining-video-minute"] != "1" {
		t.Fatalf("the other node does not see the count: %v", headers)
	}
	rrlRequest(t, b, "video=1")
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if status, _, _ := rrlRequest(t, a, "video=1"); status == 429 {
			return
		}
	}
	t.Fatal("the limit was not reached across nodes")
}

func BenchmarkRateLimitingAccessLocal(b *testing.B) {
	clock := &rlClock{time.Now().Unix()}
	h := newTestRateLimiter(b, map[string]any{"second": 1e12, "minute": 1e12, "hour": 1e12, "limit_by": "ip"}, clock)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		pc := ipContext("10.1.2.3")
		for pb.Next() {
			if err := h.Access(pc); err != nil {
				b.Fatal(err)
			}
			if err := h.HeaderFilter(pc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkResponseRateLimitingLocal(b *testing.B) {
	clock := &rlClock{time.Now().Unix()}
	h := newTestResponseLimiter(b, map[string]any{"limit_by": "ip",
		"limits": map[string]any{"video": map[string]any{"minute": 1e12, "hour": 1e12}}}, clock)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		pc := ipContext("10.1.2.3")
		for pb.Next() {
			if err := h.Access(pc); err != nil {
				b.Fatal(err)
			}
			pc.Response.Header.Set("X-Kong-Limit", "video=1")
			if err := h.HeaderFilter(pc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
