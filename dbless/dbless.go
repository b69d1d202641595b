// Package dbless is Kong's DB-less mode (database = off): the node's whole
// configuration comes from a declarative configuration, at start
// (declarative_config, declarative_config_string) or through POST /config,
// and lives in memory.
//
// A configuration is never written into the store that serves: it is
// parsed and validated (package declarative), loaded into a fresh
// in-memory engine, and that engine is swapped in whole behind the node's
// store (store/swap), together with the proxy's new snapshot. Readers see
// the old configuration or the new one, never a half-loaded mix; a bad
// configuration leaves the one in force untouched. Loads are serialised.
package dbless

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/declarative"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
	"github.com/portico-gw/portico/store/swap"
)

// EmptyHash is the configuration hash of an empty configuration (Kong's
// DECLARATIVE_EMPTY_CONFIG_HASH).
const EmptyHash = "00000000000000000000000000000000"

// Options configure a Manager.
type Options struct {
	Registry *schema.Registry
	// Open opens a fresh, empty engine holding the registry's tables.
	Open func() (store.Store, error)
	// Log reports what happens in the background (closing an old engine).
	Log func(format string, args ...any)
}

// Apply puts a loaded engine in force: it prepares what serves from it
// (the proxy's snapshot), runs commit, which swaps the engine in and drops
// every cache of the old one, and serves the new snapshot at once.
type Apply func(ctx context.Context, next store.Store, commit func()) error

// Manager holds a DB-less node's configuration. It is safe for concurrent
// use.
type Manager struct {
	opts   Options
	parser *declarative.Parser

	// mu serialises loads and exports.
	mu    sync.Mutex
	store *swap.Store
	live  *db.DB
	apply Apply
	// invalidate drops the caches of the store's contents.
	invalidate func()
	// workspace is the loaded configuration's `_workspace` ("" default).
	workspace string
	// defaultWS is the default workspace's id, kept across loads.
	defaultWS string

	hash atomic.Pointer[string]
}

// New returns a Manager for the registry's entities.
func New(opts Options) *Manager {
	if opts.Log == nil {
		opts.Log = func(string, ...any) {}
	}
	m := &Manager{opts: opts, parser: declarative.New(opts.Registry)}
	empty := EmptyHash
	m.hash.Store(&empty)
	return m
}

// Source is a configuration parsed and validated, with its hash.
type Source struct {
	Config *declarative.Config
	// Hash is Kong's configuration hash: the MD5 of the text given, or of
	// the document given as a value.
	Hash string
}

// Parse decodes and validates a configuration's text; filename ("" when
// there is none) chooses JSON or YAML as Kong does. A bad one is a
// *declarative.Error.
func (m *Manager) Parse(data []byte, filename string) (*Source, error) {
	cfg, err := m.parser.Parse(data, filename)
	if err != nil {
		return nil, err
	}
	return &Source{Config: cfg, Hash: HashOf(data)}, nil
}

// ParseValue validates a decoded configuration (a JSON body).
func (m *Manager) ParseValue(doc map[string]any) (*Source, error) {
	// Hashed before the parser writes the ids it derives into doc.
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("hashing the configuration: %w", err)
	}
	cfg, err := m.parser.ParseValue(doc)
	if err != nil {
		return nil, err
	}
	return &Source{Config: cfg, Hash: HashOf(raw)}, nil
}

// HashOf is the configuration hash of a configuration's text.
func HashOf(data []byte) string {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

// Hash is the hash of the configuration in force (EmptyHash when it holds
// no entity).
func (m *Manager) Hash() string { return *m.hash.Load() }

// Start loads the first configuration (nil: an empty one) and returns the
// store serving it, whose engine later loads replace. Serve must follow
// before Load.
func (m *Manager) Start(ctx context.Context, src *Source) (*swap.Store, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if src == nil {
		src = &Source{Config: &declarative.Config{FormatVersion: "3.0", Transform: true}}
	}
	st, _, err := m.build(ctx, src.Config, false)
	if err != nil {
		return nil, err
	}
	m.store = swap.New(st)
	m.loaded(src)
	return m.store, nil
}

// Serve gives the Manager the node's DAO over Start's store (read for
// GET /config), how to put a new engine in force, and how to drop the
// caches of the old one.
func (m *Manager) Serve(live *db.DB, apply Apply, invalidate func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.live, m.apply, m.invalidate = live, apply, invalidate
}

// Entities are the entities of a loaded configuration as Kong's POST
// /config answers them: by entity name, then by id, each as the Admin API
// shows it.
type Entities map[string]map[string]any

// Load replaces the configuration in force with src's, whole: when it
// cannot be loaded, the configuration in force stays, untouched. With
// entities, the loaded entities are returned.
func (m *Manager) Load(ctx context.Context, src *Source, entities bool) (Entities, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.apply == nil {
		return nil, fmt.Errorf("loading a configuration: the node does not serve yet")
	}
	st, out, err := m.build(ctx, src.Config, entities)
	if err != nil {
		return nil, err
	}
	var closeOld func() error
	err = m.apply(ctx, st, func() {
		closeOld = m.store.Swap(st)
		m.invalidate()
	})
	if err != nil {
		if closeOld == nil {
			st.Close()
		}
		return nil, fmt.Errorf("putting the configuration in force: %w", err)
	}
	m.loaded(src)
	// Calls still running on the old engine finish first.
	go func() {
		if err := closeOld(); err != nil {
			m.opts.Log("closing the previous configuration's store: %v", err)
		}
	}()
	return out, nil
}

// loaded records the configuration in force.
func (m *Manager) loaded(src *Source) {
	h := src.Hash
	if h == "" || len(src.Config.Tables) == 0 {
		h = EmptyHash
	}
	m.hash.Store(&h)
	m.workspace = src.Config.Workspace
}

// build loads cfg into a fresh engine; the caller holds mu. Nothing of it
// is seen until it is swapped in.
func (m *Manager) build(ctx context.Context, cfg *declarative.Config, entities bool) (store.Store, Entities, error) {
	st, err := m.opts.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("opening an in-memory store: %w", err)
	}
	out, err := m.fill(ctx, st, cfg, entities)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, out, nil
}

func (m *Manager) fill(ctx context.Context, st store.Store, cfg *declarative.Config, entities bool) (Entities, error) {
	if err := st.Bootstrap(ctx); err != nil {
		return nil, fmt.Errorf("preparing an in-memory store: %w", err)
	}
	d := db.New(m.opts.Registry, st, db.Options{})
	// The default workspace keeps its id from one configuration to the
	// next, as rows and clients refer to it.
	if ws := d.Workspaces(); ws != nil && m.defaultWS != "" {
		err := d.Batch(ctx, db.BatchOptions{}, func(b *db.Batch) error {
			_, err := b.Upsert(ws, map[string]any{schema.FieldID: m.defaultWS, ws.EndpointKey: db.DefaultWorkspace})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("creating the default workspace: %w", err)
		}
	}
	if err := d.Bootstrap(ctx); err != nil {
		return nil, fmt.Errorf("preparing an in-memory store: %w", err)
	}
	if d.Workspaces() != nil {
		id, err := d.DefaultWorkspaceID(ctx)
		if err != nil {
			return nil, err
		}
		m.defaultWS = id
	}
	if err := declarative.Load(ctx, d, cfg); err != nil {
		return nil, err
	}
	if !entities {
		return nil, nil
	}
	return loadedEntities(ctx, d, cfg)
}

// loadedEntities reads back what cfg loaded into d, as stored (defaults
// and derived fields included).
func loadedEntities(ctx context.Context, d *db.DB, cfg *declarative.Config) (Entities, error) {
	if cfg.Workspace != "" && d.Workspaces() != nil {
		w, found, err := d.LookupWorkspace(ctx, cfg.Workspace)
		if err != nil {
			return nil, err
		}
		if found {
			ctx = db.InWorkspace(ctx, w.ID)
		}
	}
	out := Entities{}
	for _, t := range cfg.Tables {
		rows, err := d.All(ctx, t.Entity, db.PageOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading %s back: %w", t.Entity.Name, err)
		}
		byID := make(map[string]any, len(rows))
		for _, r := range rows {
			id, _ := r[schema.FieldID].(string)
			byID[id] = t.Entity.Output(r)
		}
		out[t.Entity.Name] = byID
	}
	return out, nil
}

// Export writes the configuration in force as a declarative YAML
// document (GET /config).
func (m *Manager) Export(ctx context.Context, w io.Writer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.live == nil {
		return fmt.Errorf("exporting the configuration: the node does not serve yet")
	}
	return declarative.WriteExport(ctx, m.live, m.workspace, w)
}
