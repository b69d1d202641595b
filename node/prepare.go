package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/portico-gw/portico/conf"
)

// Prepare creates the prefix tree a node runs in, as `kong prepare` does:
// the prefix, logs/ and pids/, the log files, the default certificates of
// the ssl listeners under ssl/, and .kong_env (the effective
// configuration). say is told what is created; it may be nil. It is what
// `portico prepare` runs, and the first step of a start.
func Prepare(cfg *conf.Config, say func(format string, args ...any)) error {
	if say == nil {
		say = func(string, ...any) {}
	}
	switch fi, err := os.Stat(cfg.Prefix); {
	case os.IsNotExist(err):
		say("prefix directory %s not found, trying to create it", cfg.Prefix)
		if err := os.MkdirAll(cfg.Prefix, 0o755); err != nil {
			return fmt.Errorf("creating prefix: %w", err)
		}
	case err != nil:
		return fmt.Errorf("reading prefix: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", cfg.Prefix)
	}
	for _, dir := range []string{"logs", "pids"} {
		if err := os.MkdirAll(cfg.Path(dir), 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", cfg.Path(dir), err)
		}
	}
	for _, path := range []string{cfg.ProxyErrorLog, cfg.ProxyAccessLog, cfg.AdminAccessLog, cfg.AdminErrorLog} {
		if path == "off" || strings.HasPrefix(path, "/dev/") {
			continue
		}
		if err := touch(path); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		kind string
		ls   []conf.Listener
	}{{"proxy", cfg.ProxyListen}, {"admin", cfg.AdminListen}, {"status", cfg.StatusListen}, {"admin_gui", cfg.AdminGUIListen}} {
		if certs, _, _ := listenerCertFiles(cfg, l.kind); !anySSL(l.ls) || len(certs) > 0 {
			continue
		}
		if _, err := defaultCertificate(cfg.Path("ssl"), defaultCertName(l.kind)); err != nil {
			return fmt.Errorf("preparing the default certificate of %s_listen: %w", l.kind, err)
		}
	}
	return writeEnvFile(cfg)
}

func anySSL(ls []conf.Listener) bool {
	for _, l := range ls {
		if l.SSL {
			return true
		}
	}
	return false
}

// touch creates an empty file (and its directory) if it does not exist.
func touch(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	return f.Close()
}
