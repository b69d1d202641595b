package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/portico-gw/portico/conf"
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/dbless"
	"github.com/portico-gw/portico/declarative"
	"github.com/portico-gw/portico/logger"
	"github.com/portico-gw/portico/proxy"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
	"github.com/portico-gw/portico/store/badger"
)

// Kong's DB-less mode (database = off): the configuration lives in memory,
// loaded at start from declarative_config or declarative_config_string and
// replaced whole through POST /config (package dbless).

// dblessConfig is a DB-less node's configuration.
type dblessConfig struct {
	*dbless.Manager
	store store.Store
}

// errDBlessImport and errDBlessExport are Kong's refusals of `kong config
// db_import|db_export` with database = off.
var (
	errDBlessImport = errors.New("'portico config db_import' only works with a database.\n" +
		"When using database=off, reload your declarative configuration\n" +
		"using the /config endpoint.")
	errDBlessExport = errors.New("'portico config db_export' only works with a database.")
)

// openDBless loads the configuration the node starts with: the file of
// declarative_config, the text of declarative_config_string, or none. A
// configuration that cannot be read or loaded stops the start, naming the
// setting and Kong's error.
func openDBless(ctx context.Context, cfg *conf.Config, reg *schema.Registry, log *logger.Logger) (*dblessConfig, error) {
	tables := db.Tables(reg)
	m := dbless.New(dbless.Options{
		Registry: reg,
		Open: func() (store.Store, error) {
			return badger.Open("", tables, badger.Options{InMemory: true,
				Logger: func(level, msg string) { log.Warnf("[badger] %s: %s", level, strings.TrimSpace(msg)) }})
		},
		Log: log.Errorf,
	})
	var src *dbless.Source
	var err error
	switch {
	case cfg.DeclarativeConfig != "":
		path := cfg.DeclarativeConfig
		data, rerr := os.ReadFile(path)
		if rerr != nil {
			return nil, fmt.Errorf("declarative_config: error parsing declarative config file %s:\n%v", path, rerr)
		}
		if src, err = m.Parse(data, path); err != nil {
			return nil, fmt.Errorf("declarative_config: error parsing declarative config file %s:\n%v", path, err)
		}
	case cfg.DeclarativeConfigString != "":
		// The text is not repeated: it may hold secrets.
		if src, err = m.Parse([]byte(cfg.DeclarativeConfigString), ""); err != nil {
			return nil, fmt.Errorf("declarative_config_string: error parsing declarative string:\n%v", err)
		}
	}
	st, err := m.Start(ctx, src)
	if err != nil {
		var de *declarative.Error
		if errors.As(err, &de) {
			err = fmt.Errorf("%s", de.Error())
		}
		return nil, fmt.Errorf("%s: loading the declarative configuration: %w", dblessSetting(cfg), err)
	}
	switch {
	case cfg.DeclarativeConfig != "":
		log.Noticef("declarative config loaded from %s", cfg.DeclarativeConfig)
	case cfg.DeclarativeConfigString != "":
		log.Noticef("declarative config loaded from declarative_config_string")
	default:
		log.Noticef("database = off: no declarative_config, the node starts with an empty configuration (load one with POST /config)")
	}
	return &dblessConfig{Manager: m, store: st}, nil
}

// dblessSetting names the setting the start configuration came from.
func dblessSetting(cfg *conf.Config) string {
	if cfg.DeclarativeConfigString != "" {
		return "declarative_config_string"
	}
	return "declarative_config"
}

// serve lets POST /config replace the configuration: the proxy builds its
// snapshot from the new engine and swaps it in with the engine; every cache
// of the old engine's rows is dropped in that same step.
func (c *dblessConfig) serve(d *db.DB, lookups *db.Lookups, px *proxy.Proxy) {
	c.Serve(d, px.Reload, func() {
		d.Invalidate()
		lookups.InvalidateAll()
	})
}

// manager is the Admin API's /config, nil with a database.
func (c *dblessConfig) manager() *dbless.Manager {
	if c == nil {
		return nil
	}
	return c.Manager
}

// noticeDBless reports the settings a DB-less node does not apply, as Kong
// does.
func noticeDBless(cfg *conf.Config, log *logger.Logger) {
	if cfg.EnforceRBAC != "off" {
		log.Warnf("enforce_rbac = %s is not enforced with database = off: Kong disables RBAC in DB-less mode "+
			"(no RBAC user can be stored); keep admin_listen on a trusted address", cfg.EnforceRBAC)
	}
	if cfg.EventHooksEnabled {
		log.Noticef("event_hooks_enabled: event hooks do not run with database = off (Kong runs them on nodes " +
			"with a database); event_hooks of a declarative configuration are listed, never fired")
	}
}

// noticeDeclarative reports declarative settings a node with a database
// ignores, as Kong does.
func noticeDeclarative(cfg *conf.Config, log *logger.Logger) {
	for _, s := range []struct{ key, value string }{
		{"declarative_config", cfg.DeclarativeConfig},
		{"declarative_config_string", cfg.DeclarativeConfigString},
	} {
		if s.value != "" {
			log.Noticef("%s is ignored: database = %s (it is loaded only when database = off; "+
				"portico config db_import loads a file into a database)", s.key, cfg.Database)
		}
	}
}
