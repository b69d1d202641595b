package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/portico-gw/portico/conf"
	"github.com/portico-gw/portico/logger"
)

// reopener is a log file that can be reopened after logrotate moved it.
type reopener interface{ Reopen() error }

var (
	_ reopener = (*logger.Logger)(nil)
	_ reopener = (*logger.AccessLog)(nil)
)

// ReopenLogs closes and reopens every log file of the node, as nginx does on
// SIGUSR1, so that logrotate can move them away.
func (n *Node) ReopenLogs() error {
	var errs []error
	for _, l := range n.logs {
		if err := l.Reopen(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		err = fmt.Errorf("reopening log files: %w", err)
		n.log.Errorf("%v", err) // the log that failed may be another one
		return err
	}
	n.log.Noticef("log files reopened")
	return nil
}

// reloadable are the keys a running node applies on reload; every other
// key takes effect at the next start.
var reloadable = map[string]bool{"log_level": true}

// Reloadable reports whether a running node applies key on reload.
func Reloadable(key string) bool { return reloadable[key] }

// ReloadResult is what a reload did.
type ReloadResult struct {
	Applied      []string // keys whose new value is in effect
	NeedsRestart []string // changed keys kept at their running value
}

// Reload re-reads the configuration the node was told to reload
// (<prefix>/.kong_env, written by `portico reload -c FILE`), applies what can
// change while running (log_level), names every other changed key as
// needing a restart, and reopens the log files. A configuration that does
// not load changes nothing.
func (n *Node) Reload() (ReloadResult, error) {
	var res ReloadResult
	next, _, err := conf.Load(n.cfg.Path(conf.EnvFile), nil)
	if err == nil {
		err = next.Validate()
	}
	if err != nil {
		n.log.Errorf("reload refused, the running configuration is kept: %v", err)
		return res, fmt.Errorf("loading %s: %w", n.cfg.Path(conf.EnvFile), err)
	}
	for _, key := range n.cfg.Changed(next) {
		if !reloadable[key] {
			res.NeedsRestart = append(res.NeedsRestart, key)
			n.log.Warnf("reload: '%s' changed: it takes effect after a restart (portico restart); the running value is kept", key)
			continue
		}
		res.Applied = append(res.Applied, key)
	}
	if len(res.Applied) > 0 {
		lvl, err := logger.ParseLevel(next.LogLevel)
		if err != nil {
			return res, fmt.Errorf("log_level: %w", err)
		}
		for _, l := range n.logs {
			if lg, ok := l.(*logger.Logger); ok {
				lg.SetLevel(lvl)
			}
		}
		n.log.Noticef("reload: log_level is now %s", next.LogLevel)
	}
	if err := n.ReopenLogs(); err != nil {
		return res, err
	}
	return res, nil
}

// writeEnvFile writes cfg as <prefix>/.kong_env, readable by its owner
// only (it holds secrets), on disk before it is renamed into place.
func writeEnvFile(cfg *conf.Config) error {
	return WriteEnvFile(cfg.Path(conf.EnvFile), cfg)
}

// WriteEnvFile writes cfg to path atomically, mode 0600, fsynced.
func WriteEnvFile(path string, cfg *conf.Config) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kong_env-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(cfg.Render()); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
