package node

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/portico-gw/portico/conf"
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/declarative"
	"github.com/portico-gw/portico/logger"
)

// The `portico config` subcommands: declarative configuration files
// parsed with the node's catalog (its enabled plugins), loaded into and
// exported from the prefix's store.

// ParseConfigFile parses and validates a declarative file
// (`portico config parse`); a bad one is a *declarative.Error.
func ParseConfigFile(cfg *conf.Config, path string) (*declarative.Config, error) {
	log, err := openErrorLog(cfg)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	reg, _, host, err := buildCatalog(cfg, log)
	if err != nil {
		return nil, err
	}
	defer host.Close()
	return declarative.New(reg).ParseFile(path)
}

// ImportConfigFile parses a declarative file and loads it into the
// prefix's store (`portico config db_import`); parsed is called between
// the two. A parse failure is a *declarative.Error; a load failure is
// wrapped in *LoadError.
func ImportConfigFile(ctx context.Context, cfg *conf.Config, path string, parsed func()) error {
	if cfg.Database == "off" {
		return errDBlessImport
	}
	return withStore(ctx, cfg, func(d *db.DB, _ *logger.Logger) error {
		dc, err := declarative.New(d.Registry()).ParseFile(path)
		if err != nil {
			return err
		}
		parsed()
		if err := declarative.Load(ctx, d, dc); err != nil {
			return &LoadError{Err: err}
		}
		return nil
	})
}

// LoadError is a parsed configuration the store refused.
type LoadError struct{ Err error }

func (e *LoadError) Error() string { return e.Err.Error() }
func (e *LoadError) Unwrap() error { return e.Err }

// ExportConfig writes the entities of a workspace ("" is the default one)
// of the prefix's store as a declarative YAML file (`portico config
// db_export`).
func ExportConfig(ctx context.Context, cfg *conf.Config, workspace string, w io.Writer) error {
	if cfg.Database == "off" {
		return errDBlessExport
	}
	return withStore(ctx, cfg, func(d *db.DB, _ *logger.Logger) error {
		return declarative.WriteExport(ctx, d, workspace, w)
	})
}

// withStore opens the prefix's store for a command, bootstrapped and
// seeded as a node's start would, and runs fn with its DAO and the error
// log. A running node holds the store's lock: the command says so instead
// of waiting.
func withStore(ctx context.Context, cfg *conf.Config, fn func(d *db.DB, log *logger.Logger) error) error {
	log, err := openErrorLog(cfg)
	if err != nil {
		return err
	}
	defer log.Close()
	reg, _, host, err := buildCatalog(cfg, log)
	if err != nil {
		return err
	}
	defer host.Close()
	if pid, alive := readPID(cfg.PIDFile()); alive {
		return fmt.Errorf("Portico is running in %s (pid %d) and holds its store %s: stop it first",
			cfg.Prefix, pid, cfg.DataDir())
	}
	st, err := openStore(cfg, reg, log)
	if err != nil {
		if strings.Contains(err.Error(), "directory lock") {
			return fmt.Errorf("%w: another process (a running node?) holds the store; stop it first", err)
		}
		return err
	}
	defer st.Close()
	ok, err := st.Bootstrapped(ctx)
	if err == nil && !ok {
		err = st.Bootstrap(ctx)
	}
	if err != nil {
		return fmt.Errorf("preparing the database: %w", err)
	}
	d := db.New(reg, st, db.Options{})
	if err := seed(ctx, d); err != nil {
		return fmt.Errorf("preparing the database: %w", err)
	}
	return fn(d, log)
}
