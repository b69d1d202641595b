package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/portico-gw/portico/conf"
)

// ErrNotRunning is returned by Stop when no node runs under the prefix.
var ErrNotRunning = errors.New("not running")

// readPID returns the pid recorded in the pid file and whether that process
// is alive.
func readPID(path string) (int, bool) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, processAlive(pid)
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func writePID(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating pid directory: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing pid file: %w", err)
	}
	return os.Rename(tmp, path)
}

// Stop asks the node running under cfg's prefix to shut down (SIGTERM) and
// waits for it to exit, as `kong stop` does.
func Stop(cfg *conf.Config) error {
	path := cfg.PIDFile()
	pid, alive := readPID(path)
	if !alive {
		return fmt.Errorf("Portico is not running in %s: %w", cfg.Prefix, ErrNotRunning)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("signalling pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		// The node removes its pid file as its last act; checking it too
		// covers a parent that has not reaped the exited process yet.
		if _, err := os.Stat(path); os.IsNotExist(err) || !processAlive(pid) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("Portico (pid %d) did not stop within 30s", pid)
}
