package bench

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portico-gw/portico/eventhooks/handler"
)

// startSink starts a sink for one test and closes it at the end.
func startSink(t *testing.T, opts SinkOptions) *Sink {
	t.Helper()
	s, err := NewSink("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return s
}

// outcome is what a client saw of one request: a status, or "reset" or
// "timeout".
func post(t *testing.T, client *http.Client, url string, header http.Header, body string) (string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	switch {
	case err == nil:
		resp.Body.Close()
		return strconv.Itoa(resp.StatusCode), resp.Header
	case errors.Is(err, syscall.ECONNRESET):
		return "reset", nil
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout"):
		return "timeout", nil
	}
	t.Fatalf("POST %s: %v", url, err)
	return "", nil
}

func TestSinkMisbehaviour(t *testing.T) {
	tests := []struct {
		name     string
		opts     SinkOptions
		requests int
		// want is the outcome of each request in turn ("200", "reset",
		// "timeout"); wantCounts the totals when the list would be long.
		want       []string
		wantCounts map[string]int
		accepted   int64
		retryAfter string
	}{
		{name: "answers 200", requests: 2, want: []string{"200", "200"}, accepted: 2},
		{name: "fixed status", opts: SinkOptions{Status: 500}, requests: 1, want: []string{"500"}},
		{name: "fails the first", opts: SinkOptions{FailFirst: 2}, requests: 3, want: []string{"503", "503", "200"}, accepted: 1},
		{name: "fails a fraction", opts: SinkOptions{FailRate: 0.1}, requests: 200,
			wantCounts: map[string]int{"503": 20, "200": 180}, accepted: 180},
		{name: "fails everything at rate 1", opts: SinkOptions{FailRate: 1}, requests: 3, want: []string{"503", "503", "503"}},
		{name: "gone", opts: SinkOptions{Gone: true}, requests: 2, want: []string{"410", "410"}},
		{name: "throttles with Retry-After", opts: SinkOptions{Throttle: 7 * time.Second}, requests: 1,
			want: []string{"429"}, retryAfter: "7"},
		{name: "fail-first before gone", opts: SinkOptions{FailFirst: 1, Gone: true}, requests: 2, want: []string{"503", "410"}},
		{name: "resets a fraction", opts: SinkOptions{ResetRate: 0.25}, requests: 40,
			wantCounts: map[string]int{"reset": 10, "200": 30}, accepted: 30},
		{name: "resets every connection", opts: SinkOptions{ResetRate: 1}, requests: 2, want: []string{"reset", "reset"}},
		{name: "hangs until the client gives up", opts: SinkOptions{Hang: true}, requests: 2, want: []string{"timeout", "timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSink(t, tt.opts)
			// No keep-alive: each request gets its own connection, so a
			// reset or a hang affects one request only.
			client := &http.Client{Timeout: 300 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
			got := map[string]int{}
			for i := 0; i < tt.requests; i++ {
				outcome, header := post(t, client, s.URL(), nil, "{}")
				got[outcome]++
				if tt.want != nil && outcome != tt.want[i] {
					t.Fatalf("request %d: %s, want %s", i+1, outcome, tt.want[i])
				}
				if tt.retryAfter != "" && header.Get("Retry-After") != tt.retryAfter {
					t.Errorf("Retry-After %q, want %q", header.Get("Retry-After"), tt.retryAfter)
				}
			}
			for k, want := range tt.wantCounts {
				if got[k] != want {
					t.Errorf("%d × %s, want %d (all: %v)", got[k], k, want, got)
				}
			}
			st := s.Stats()
			if st.Received != int64(tt.requests) || st.Accepted != tt.accepted || st.Bytes != int64(2*tt.requests) {
				t.Errorf("received %d, accepted %d, bytes %d; want %d, %d, %d",
					st.Received, st.Accepted, st.Bytes, tt.requests, tt.accepted, 2*tt.requests)
			}
			if int(st.Resets) != got["reset"] || int(st.Hangs) != got["timeout"] {
				t.Errorf("sink counted %d resets and %d hangs; the client saw %v", st.Resets, st.Hangs, got)
			}
			var answered int64
			for code, n := range st.Statuses {
				answered += n
				if n != int64(got[code]) {
					t.Errorf("sink counted %d × %s, the client saw %d", n, code, got[code])
				}
			}
			if answered+st.Resets+st.Hangs != st.Received {
				t.Errorf("answers %d + resets %d + hangs %d != received %d", answered, st.Resets, st.Hangs, st.Received)
			}
		})
	}
}

func TestSinkCloseReleasesHungConnections(t *testing.T) {
	s, err := NewSink("127.0.0.1:0", SinkOptions{Hang: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Post(s.URL(), "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Hangs == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return while a connection was held")
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("the held request got an answer")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the held request was not released by Close")
	}
}

func TestSinkOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts SinkOptions
		want string // "" = valid
	}{
		{"defaults", SinkOptions{}, ""},
		{"everything sane", SinkOptions{FailRate: 0.5, ResetRate: 0.1, Throttle: 2 * time.Second, Secret: "s", WebhookSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, ""},
		{"status out of range", SinkOptions{Status: 42}, "--status"},
		{"negative fail-first", SinkOptions{FailFirst: -1}, "--fail-first"},
		{"fail-rate above 1", SinkOptions{FailRate: 1.5}, "--fail-rate"},
		{"negative reset-rate", SinkOptions{ResetRate: -0.1}, "--reset-rate"},
		{"negative delay", SinkOptions{Delay: -time.Second}, "--delay"},
		{"sub-second throttle", SinkOptions{Throttle: 500 * time.Millisecond}, "--throttle"},
		{"gone and throttle", SinkOptions{Gone: true, Throttle: time.Second}, "--gone and --throttle"},
		{"bad whsec secret", SinkOptions{WebhookSecret: "whsec_!!!"}, "--webhook-secret"},
		{"bad whsec kong secret", SinkOptions{Secret: "whsec_"}, "--secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Fatalf("Validate = %v, want an error starting %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "!!!") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

// TestSinkVerifiesPorticoSignatures delivers through Portico's own webhook
// handler, which signs as a node does, and checks the sink's verdicts.
func TestSinkVerifiesPorticoSignatures(t *testing.T) {
	const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	tests := []struct {
		name       string
		hookSecret string // "" = an unsigned hook
		sink       SinkOptions
		kong       *SignatureCounts
		standard   *SignatureCounts
	}{
		{name: "kong secret, both verified", hookSecret: "hunter2",
			sink: SinkOptions{Secret: "hunter2", WebhookSecret: "hunter2"},
			kong: &SignatureCounts{Valid: 1}, standard: &SignatureCounts{Valid: 1}},
		{name: "whsec secret, both verified", hookSecret: whsec,
			sink: SinkOptions{Secret: whsec, WebhookSecret: whsec},
			kong: &SignatureCounts{Valid: 1}, standard: &SignatureCounts{Valid: 1}},
		{name: "wrong secrets", hookSecret: "hunter2",
			sink: SinkOptions{Secret: "hunter3", WebhookSecret: whsec},
			kong: &SignatureCounts{Invalid: 1}, standard: &SignatureCounts{Invalid: 1}},
		{name: "unsigned hook", hookSecret: "",
			sink: SinkOptions{Secret: "hunter2", WebhookSecret: whsec},
			kong: &SignatureCounts{Unsigned: 1}, standard: &SignatureCounts{Unsigned: 1}},
		{name: "only the standard scheme checked", hookSecret: whsec,
			sink:     SinkOptions{WebhookSecret: whsec},
			standard: &SignatureCounts{Valid: 1}},
		{name: "nothing checked", hookSecret: whsec},
	}
	wh := handler.NewWebhook(handler.WebhookOptions{})
	defer wh.CloseIdleConnections()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSink(t, tt.sink)
			cfg := map[string]any{"url": s.URL()}
			if tt.hookSecret != "" {
				cfg["secret"] = tt.hookSecret
			}
			_, err := wh.Deliver(context.Background(), handler.Delivery{
				ID: "msg_1", Attempt: 1,
				Hook: handler.Hook{ID: "h1", Source: "crud", Event: "consumers", Handler: "webhook", Config: cfg},
				Event: handler.Event{Source: "crud", Name: "consumers", Data: map[string]any{
					"operation": "create", "schema": "consumers",
					"entity": map[string]any{"username": "ada", "created_at": time.Now().Unix()},
				}},
			})
			if err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			st := s.Stats()
			assertCounts(t, "kong", st.KongSignature, tt.kong)
			assertCounts(t, "standard", st.StandardSignature, tt.standard)
		})
	}
}

func assertCounts(t *testing.T, scheme string, got, want *SignatureCounts) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s signature counts %v, want %v", scheme, got, want)
	case *got != *want:
		t.Errorf("%s signature counts %+v, want %+v", scheme, *got, *want)
	}
}

// TestSinkRejectsForgedSignatures tampers with correctly signed requests
// one header or byte at a time.
func TestSinkRejectsForgedSignatures(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, err := handler.SigningKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"event":"consumers"}`
	now := time.Now().Unix()
	signed := func(id string, ts int64, signedBody string) http.Header {
		return http.Header{
			"X-Kong-Signature":  {handler.KongSignature(key, []byte(signedBody))},
			"Webhook-Id":        {id},
			"Webhook-Timestamp": {strconv.FormatInt(ts, 10)},
			"Webhook-Signature": {handler.StandardSignature(key, id, ts, []byte(signedBody))},
		}
	}
	tests := []struct {
		name           string
		header         http.Header
		kong, standard verdict
	}{
		{"intact", signed("msg_1", now, body), valid, valid},
		{"body changed", signed("msg_1", now, body+" "), invalid, invalid},
		{"id changed", func() http.Header { h := signed("msg_1", now, body); h.Set("Webhook-Id", "msg_2"); return h }(), valid, invalid},
		{"timestamp changed", func() http.Header {
			h := signed("msg_1", now, body)
			h.Set("Webhook-Timestamp", strconv.FormatInt(now+1, 10))
			return h
		}(), valid, invalid},
		{"timestamp too old", signed("msg_1", now-int64(webhookTolerance/time.Second)-60, body), valid, invalid},
		{"several signatures, one right", func() http.Header {
			h := signed("msg_1", now, body)
			h.Set("Webhook-Signature", "v1,AAAA "+h.Get("Webhook-Signature"))
			return h
		}(), valid, valid},
		{"uppercase hex", func() http.Header {
			h := signed("msg_1", now, body)
			h.Set("X-Kong-Signature", strings.ToUpper(h.Get("X-Kong-Signature")))
			return h
		}(), invalid, valid},
		{"no id", func() http.Header { h := signed("msg_1", now, body); h.Del("Webhook-Id"); return h }(), valid, invalid},
		{"unsigned", http.Header{}, unsigned, unsigned},
	}
	s := startSink(t, SinkOptions{Secret: secret, WebhookSecret: secret})
	want := map[string]*SignatureCounts{"kong": {}, "standard": {}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := post(t, http.DefaultClient, s.URL(), tt.header, body); got != "200" {
				t.Fatalf("status %s", got)
			}
			tt.kong.add(want["kong"])
			tt.standard.add(want["standard"])
			st := s.Stats()
			assertCounts(t, "kong", st.KongSignature, want["kong"])
			assertCounts(t, "standard", st.StandardSignature, want["standard"])
		})
	}
}

func TestSinkPathsAndLatency(t *testing.T) {
	s := startSink(t, SinkOptions{MaxPaths: 2})
	clock := time.Unix(1_700_000_010, 500_000_000)
	s.now = func() time.Time { return clock }
	var mu sync.Mutex
	var seen []Delivery
	s.Observe(func(d Delivery) {
		mu.Lock()
		defer mu.Unlock()
		d.Body = nil
		seen = append(seen, d)
	})
	requests := []struct {
		path, body string
		header     http.Header
	}{
		// created 10.5 s before the clock
		{"/a", `{"operation":"create","entity":{"created_at":1700000000,"updated_at":1700000000}}`, nil},
		// updated 2.5 s before
		{"/a", `{"operation":"update","entity":{"created_at":1600000000,"updated_at":1700000008}}`, nil},
		// a delete: the attempt's webhook-timestamp, 0.5 s before
		{"/b", `{"operation":"delete","entity":{"created_at":1600000000}}`, http.Header{"Webhook-Timestamp": {"1700000010"}, "Webhook-Id": {"msg_9"}}},
		// no time at all
		{"/c", `not json`, nil},
	}
	for _, r := range requests {
		post(t, http.DefaultClient, "http://"+s.Addr()+r.path, r.header, r.body)
	}
	st := s.Stats()
	if want := map[string]int64{"/a": 2, "/b": 1, otherPaths: 1}; !equalCounts(st.Paths, want) {
		t.Errorf("paths %v, want %v", st.Paths, want)
	}
	if st.Latency.Count != 3 || st.Untimed != 1 {
		t.Errorf("%d timed, %d untimed; want 3, 1", st.Latency.Count, st.Untimed)
	}
	// HDR keeps 3 significant digits.
	if st.Latency.Max < 10490 || st.Latency.Max > 10510 || st.Latency.P50 < 2495 || st.Latency.P50 > 2505 {
		t.Errorf("latency %s, want p50 2500ms, max 10500ms", st.Latency)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 4 || seen[2].Path != "/b" || seen[2].ID != "msg_9" || seen[2].Status != 200 || !seen[2].At.Equal(clock) {
		t.Errorf("observed %+v", seen)
	}
}

func equalCounts(got, want map[string]int64) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func TestSpreadIsEven(t *testing.T) {
	for _, rate := range []float64{0.01, 0.1, 0.25, 0.5, 0.9} {
		for _, phase := range []float64{failPhase, resetPhase} {
			var n int
			for i := int64(1); i <= 1000; i++ {
				if spread(i, rate, phase) {
					n++
				}
			}
			if want := int(rate * 1000); n < want-1 || n > want+1 {
				t.Errorf("rate %v phase %v: %d of 1000, want %d±1", rate, phase, n, want)
			}
		}
	}
}
