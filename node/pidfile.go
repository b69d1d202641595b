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

// Running returns the pid of the node running under cfg's prefix, and
// whether there is one.
func Running(cfg *conf.Config) (int, bool) { return readPID(cfg.PIDFile()) }

// Signal sends sig to the node running under cfg's prefix.
func Signal(cfg *conf.Config, sig syscall.Signal) (int, error) {
	pid, alive := readPID(cfg.PIDFile())
	if !alive {
		return 0, fmt.Errorf("Portico is not running at %s: %w", cfg.Prefix, ErrNotRunning)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return pid, fmt.Errorf("signalling pid %d: %w", pid, err)
	}
	return pid, nil
}

// WaitExit waits up to d for the node pid under cfg's prefix to exit and
// reports whether it did.
func WaitExit(cfg *conf.Config, pid int, d time.Duration) bool {
	path := cfg.PIDFile()
	deadline := time.Now().Add(d)
	for {
		// The node removes its pid file as its last act; checking it too
		// covers a parent that has not reaped the exited process yet.
		if _, err := os.Stat(path); os.IsNotExist(err) || !processAlive(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopWait is how long Stop waits: the node's own shutdown bound and time
// to close the store.
const stopWait = shutdownTimeout + 5*time.Second

// Stop asks the node running under cfg's prefix to shut down (SIGTERM) and
// waits for it to exit, as `kong stop` does.
func Stop(cfg *conf.Config) error {
	pid, err := Signal(cfg, syscall.SIGTERM)
	if err != nil {
		return err
	}
	if !WaitExit(cfg, pid, stopWait) {
		return fmt.Errorf("Portico (pid %d) did not stop within %s", pid, stopWait)
	}
	return nil
}
