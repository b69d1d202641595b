package dbless_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico/catalog"
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/dbless"
	"github.com/portico-gw/portico/declarative"
	"github.com/portico-gw/portico/store"
	"github.com/portico-gw/portico/store/badger"
)

const (
	configA = "_format_version: '3.0'\nservices:\n- name: a\n  url: http://a.test\n  routes:\n  - name: ra\n    paths: [/a]\n"
	configB = "_format_version: '3.0'\nconsumers:\n- username: bob\n  keyauth_credentials: [{key: bob-key}]\nservices:\n- name: b\n  url: http://b.test\n"
)

// node is a Manager served as a node serves it: a read-only DAO over the
// swapped store, caches dropped on commit.
type node struct {
	m       *dbless.Manager
	live    *db.DB
	lookups *db.Lookups
	applied int
	opened  []store.Store
}

func start(t *testing.T, src func(m *dbless.Manager) *dbless.Source) *node {
	t.Helper()
	reg, _, err := catalog.Build([]string{"bundled"})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{}
	var mu sync.Mutex
	n.m = dbless.New(dbless.Options{Registry: reg, Open: func() (store.Store, error) {
		st, err := badger.Open("", db.Tables(reg), badger.Options{InMemory: true})
		mu.Lock()
		n.opened = append(n.opened, st)
		mu.Unlock()
		return st, err
	}})
	st, err := n.m.Start(context.Background(), src(n.m))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n.live = db.New(reg, st, db.Options{ReadOnly: true, CacheSize: 1 << 20})
	n.lookups = db.NewLookups(n.live, 0)
	n.m.Serve(n.live, func(_ context.Context, _ store.Store, commit func()) error {
		n.applied++
		commit()
		return nil
	}, func() { n.live.Invalidate(); n.lookups.InvalidateAll() })
	return n
}

func parse(t *testing.T, m *dbless.Manager, text string) *dbless.Source {
	t.Helper()
	src, err := m.Parse([]byte(text), "")
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestManager(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"starts empty with Kong's empty hash", func(t *testing.T) {
			n := start(t, func(*dbless.Manager) *dbless.Source { return nil })
			if h := n.m.Hash(); h != dbless.EmptyHash {
				t.Errorf("hash %s", h)
			}
			if rows, _, _ := n.live.Page(ctx, n.live.Entity("services"), db.PageOptions{Size: 10}); len(rows) != 0 {
				t.Errorf("services: %v", rows)
			}
		}},
		{"a load replaces the whole configuration", func(t *testing.T) {
			n := start(t, func(m *dbless.Manager) *dbless.Source { return parse(t, m, configA) })
			wsBefore, _ := n.live.DefaultWorkspaceID(ctx)
			if r, _ := n.live.Select(ctx, n.live.Entity("services"), "a", nil); r == nil {
				t.Fatal("service a is not loaded")
			}
			// Cached before the load: must not be served after it.
			if r, _ := n.lookups.Lookup("keyauth_credentials", "key", "bob-key", ""); r != nil {
				t.Fatal("bob's key before the load")
			}
			src := parse(t, n.m, configB)
			ents, err := n.m.Load(ctx, src, true)
			if err != nil {
				t.Fatal(err)
			}
			if n.m.Hash() != dbless.HashOf([]byte(configB)) || n.applied != 1 {
				t.Errorf("hash %s, applied %d", n.m.Hash(), n.applied)
			}
			if r, _ := n.live.Select(ctx, n.live.Entity("services"), "a", nil); r != nil {
				t.Error("service a survived the load")
			}
			if r, _ := n.live.Select(ctx, n.live.Entity("services"), "b", nil); r == nil {
				t.Error("service b is not loaded")
			}
			if r, _ := n.lookups.Lookup("keyauth_credentials", "key", "bob-key", ""); r == nil {
				t.Error("bob's key is not found after the load")
			}
			if ws, _ := n.live.DefaultWorkspaceID(ctx); ws != wsBefore {
				t.Errorf("default workspace %s, was %s", ws, wsBefore)
			}
			svc := ents["services"]
			if len(svc) != 1 || len(ents["consumers"]) != 1 || len(ents["keyauth_credentials"]) != 1 || ents["workspaces"] != nil {
				t.Fatalf("entities: %v", ents)
			}
			for _, row := range svc {
				if row.(map[string]any)["port"] != float64(80) || row.(map[string]any)["ws_id"] != nil {
					t.Errorf("service as answered: %v", row)
				}
			}
			var buf bytes.Buffer
			if err := n.m.Export(ctx, &buf); err != nil || !strings.Contains(buf.String(), "username: bob") || strings.Contains(buf.String(), "name: a\n") {
				t.Errorf("export: %v\n%s", err, buf.String())
			}
		}},
		{"the previous engine is closed once replaced", func(t *testing.T) {
			n := start(t, func(m *dbless.Manager) *dbless.Source { return parse(t, m, configA) })
			if _, err := n.m.Load(ctx, parse(t, n.m, configB), false); err != nil {
				t.Fatal(err)
			}
			first := n.opened[0]
			for i := 0; ; i++ {
				err := first.View(ctx, func(store.Tx) error { return nil })
				if err != nil {
					break
				}
				if i > 1000 {
					t.Fatal("the first engine still serves")
				}
				waitABit()
			}
		}},
		{"a bad configuration is refused before anything changes", func(t *testing.T) {
			n := start(t, func(m *dbless.Manager) *dbless.Source { return parse(t, m, configA) })
			_, err := n.m.Parse([]byte("_format_version: '3.0'\nservices:\n- port: -12\n"), "")
			if _, ok := err.(*declarative.Error); !ok {
				t.Fatalf("err = %v", err)
			}
			if r, _ := n.live.Select(ctx, n.live.Entity("services"), "a", nil); r == nil || n.applied != 0 {
				t.Error("the configuration in force changed")
			}
		}},
		{"concurrent loads are serialised", func(t *testing.T) {
			n := start(t, func(*dbless.Manager) *dbless.Source { return nil })
			var wg sync.WaitGroup
			for _, text := range []string{configA, configB, configA, configB} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					src, err := n.m.Parse([]byte(text), "")
					if err == nil {
						_, err = n.m.Load(ctx, src, false)
					}
					if err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			a, _ := n.live.Select(ctx, n.live.Entity("services"), "a", nil)
			b, _ := n.live.Select(ctx, n.live.Entity("services"), "b", nil)
			if (a == nil) == (b == nil) {
				t.Errorf("a mix of configurations: a %v, b %v", a != nil, b != nil)
			}
		}},
		{"a JSON value is hashed", func(t *testing.T) {
			n := start(t, func(*dbless.Manager) *dbless.Source { return nil })
			src, err := n.m.ParseValue(map[string]any{"_format_version": "3.0", "consumers": []any{map[string]any{"username": "x"}}})
			if err != nil || len(src.Hash) != 32 || src.Hash == dbless.EmptyHash {
				t.Fatalf("%v %v", src, err)
			}
		}},
	} {
		t.Run(tc.name, tc.run)
	}
}

func waitABit() { <-time.After(time.Millisecond) }
