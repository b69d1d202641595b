package handler

import (
	"maps"
	"sync"
	"testing"
)

// TestConfigCache: a hook's config is parsed once per config map; a new map
// (a changed hook) is parsed again, errors are kept like values, a hook
// without an id is never cached, and the cache stays bounded.
func TestConfigCache(t *testing.T) {
	var c configCache[string]
	parses := 0
	parse := func(cfg map[string]any) (string, error) {
		parses++
		u, _ := cfg["url"].(string)
		if u == "" {
			return "", errTest
		}
		return u, nil
	}
	v1 := map[string]any{"url": "http://a"}
	h := Hook{ID: "h", Config: v1}
	for range 3 {
		if got, err := c.get(h, parse); got != "http://a" || err != nil {
			t.Fatalf("get = %q, %v", got, err)
		}
	}
	if parses != 1 {
		t.Errorf("%d parses for one version, want 1", parses)
	}
	// A changed hook: a new map, even with equal contents, is parsed anew.
	h.Config = maps.Clone(v1)
	h.Config["url"] = "http://b"
	if got, _ := c.get(h, parse); got != "http://b" || parses != 2 {
		t.Errorf("after a change: %q, %d parses; want http://b, 2", got, parses)
	}
	h.Config = map[string]any{}
	for range 2 {
		if _, err := c.get(h, parse); err != errTest {
			t.Errorf("bad config: err = %v", err)
		}
	}
	if parses != 3 {
		t.Errorf("%d parses, want 3 (an error is cached too)", parses)
	}
	for range 2 {
		_, _ = c.get(Hook{Config: v1}, parse)
	}
	if parses != 5 {
		t.Errorf("%d parses, want 5 (no id: never cached)", parses)
	}
	for i := range maxCachedConfigs + 10 {
		_, _ = c.get(Hook{ID: string(rune('a'+i%26)) + string(rune(i)), Config: v1}, parse)
	}
	if n := c.n.Load(); n > maxCachedConfigs {
		t.Errorf("%d entries, bound %d", n, maxCachedConfigs)
	}
}

type testError struct{}

func (testError) Error() string { return "bad" }

var errTest error = testError{}

// TestConfigCacheConcurrent runs attempts of changing hooks concurrently
// (for the race detector): each gets its own config's value.
func TestConfigCacheConcurrent(t *testing.T) {
	var c configCache[string]
	parse := func(cfg map[string]any) (string, error) { return cfg["url"].(string), nil }
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				cfg := map[string]any{"url": string(rune('a' + (g+i)%5))}
				for range 3 {
					if got, _ := c.get(Hook{ID: "h", Config: cfg}, parse); got != cfg["url"] {
						t.Errorf("got %q for %q", got, cfg["url"])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkWebhookConfig: a signed webhook's config parsed, against read
// from the cache as attempts at one hook version now do.
func BenchmarkWebhookConfig(b *testing.B) {
	d := delivery("http://127.0.0.1:9/hook", map[string]any{"secret": "hunter2", "headers": map[string]any{"X-Env": "bench"}})
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseWebhookConfig(d.Hook.Config); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		var c configCache[webhookConfig]
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.get(d.Hook, parseWebhookConfig); err != nil {
				b.Fatal(err)
			}
		}
	})
}
