package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/portico-gw/portico/conf"
	"github.com/portico-gw/portico/node"
)

// commands are the subcommands, by name.
var commands = map[string]func(args []string, stdout, stderr io.Writer) int{
	"start":                cmdStart,
	"restart":              cmdRestart,
	"stop":                 cmdStop,
	"quit":                 cmdQuit,
	"reload":               cmdReload,
	"health":               cmdHealth,
	"check":                cmdCheck,
	"prepare":              cmdPrepare,
	"config":               cmdConfig,
	"migrations bootstrap": cmdBootstrap,
	"plugin":               cmdPlugin,
	"version":              cmdVersion,
	"--version":            cmdVersion,
	"-v":                   cmdVersion,
}

// Kong's messages (kong/cmd/*.lua), with Portico for Kong.
const (
	msgStopped          = "Portico stopped"
	msgQuitGraceful     = "Portico stopped (gracefully)"
	msgQuitForced       = "Timeout, Portico stopped forcefully"
	msgReloaded         = "Portico reloaded"
	msgHealthy          = "Portico is healthy at %s"
	msgNotRunning       = "Portico is not running at %s"
	msgNoPrefix         = "no such prefix: %s"
	msgValid            = "configuration at %s is valid"
	msgPrepareFailed    = "could not prepare Portico prefix at %s: %v"
	msgRestartNeeded    = "reload: '%s' changed: it takes effect after 'portico restart'; the node keeps its running value"
	defaultCheckedFile  = "/etc/kong/kong.conf"
	defaultQuitTimeout  = 10
	restartStopDeadline = 5 * time.Second
)

// options are the flags the commands share.
type options struct {
	file, prefix  string
	workspace     string // config db_export
	timeout, wait int
	args          []string // positional arguments
}

func parseOptions(cmd string, args []string, stderr io.Writer) (options, bool) {
	var o options
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.file, "c", "", "configuration file")
	fs.StringVar(&o.file, "conf", "", "configuration file")
	fs.StringVar(&o.prefix, "p", "", "prefix directory")
	fs.StringVar(&o.prefix, "prefix", "", "prefix directory")
	if cmd == "quit" {
		fs.IntVar(&o.timeout, "t", defaultQuitTimeout, "seconds before a forced shutdown")
		fs.IntVar(&o.timeout, "timeout", defaultQuitTimeout, "seconds before a forced shutdown")
		fs.IntVar(&o.wait, "w", 0, "seconds to wait before the shutdown")
		fs.IntVar(&o.wait, "wait", 0, "seconds to wait before the shutdown")
	}
	if cmd == "config" {
		fs.StringVar(&o.workspace, "w", "", "workspace to export")
		fs.StringVar(&o.workspace, "workspace", "", "workspace to export")
		// `portico config db_import FILE -p DIR`: flags may follow.
		var err error
		if o.args, err = parseInterspersed(fs, args); err != nil {
			return o, false
		}
		return o, true
	}
	if err := fs.Parse(args); err != nil {
		return o, false
	}
	o.args = fs.Args()
	return o, true
}

// load reads the configuration (file, then KONG_* and PORTICO_* variables)
// and prints its notices.
func load(o options, stderr io.Writer) (*conf.Config, []conf.Notice, error) {
	environ := os.Environ()
	if o.prefix != "" {
		environ = append(environ, "PORTICO_PREFIX="+o.prefix)
	}
	cfg, notices, err := conf.Load(o.file, environ)
	for _, n := range notices {
		fmt.Fprintln(stderr, n.String())
	}
	if err != nil {
		return nil, notices, err
	}
	return cfg, notices, cfg.Validate()
}

// setup parses the flags and loads the configuration; ok is false when the
// command must exit with code.
func setup(cmd string, args []string, stderr io.Writer) (o options, cfg *conf.Config, notices []conf.Notice, code int, ok bool) {
	o, ok = parseOptions(cmd, args, stderr)
	if !ok {
		return o, nil, nil, 2, false
	}
	cfg, notices, err := load(o, stderr)
	if err != nil {
		fail(stderr, "%v", err)
		return o, nil, nil, 1, false
	}
	return o, cfg, notices, 0, true
}

func fail(stderr io.Writer, format string, args ...any) {
	fmt.Fprintf(stderr, "Error: "+format+"\n", args...)
}

func cmdVersion(_ []string, stdout, _ io.Writer) int {
	kong := "unknown"
	if cfg, _, err := conf.Load("", os.Environ()); err == nil {
		kong = cfg.KongVersion
	}
	fmt.Fprintf(stdout, "Portico %s (Kong Admin API %s)\n", node.Version, kong)
	return 0
}

// cmdConfig prints the effective configuration, or runs one of Kong's
// `kong config` subcommands on declarative files (config_declarative.go).
func cmdConfig(args []string, stdout, stderr io.Writer) int {
	o, cfg, _, code, ok := setup("config", args, stderr)
	if !ok {
		return code
	}
	if len(o.args) > 0 {
		return configSubcommand(o, cfg, stdout, stderr)
	}
	for _, kv := range cfg.Effective() {
		fmt.Fprintf(stdout, "%s = %s\n", kv.Key, kv.Value)
	}
	return 0
}

func cmdBootstrap(args []string, stdout, stderr io.Writer) int {
	_, cfg, notices, code, ok := setup("migrations bootstrap", args, stderr)
	if !ok {
		return code
	}
	if err := node.Bootstrap(context.Background(), cfg, notices); err != nil {
		fail(stderr, "%v", err)
		return 1
	}
	fmt.Fprintln(stdout, "Database is up-to-date")
	return 0
}

// cmdCheck validates a configuration file as `kong check` does: every
// problem on its own line, exit 1; "configuration at FILE is valid", exit 0.
func cmdCheck(args []string, stdout, stderr io.Writer) int {
	o, ok := parseOptions("check", args, stderr)
	if !ok {
		return 2
	}
	file := defaultCheckedFile
	if len(o.args) > 0 {
		file = o.args[0]
	}
	if o.file != "" {
		file = o.file
	}
	o.file = file
	if _, _, err := load(o, stderr); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "%s [error] %s\n", time.Now().Format("2006/01/02 15:04:05"), line)
		}
		return 1
	}
	fmt.Fprintf(stdout, msgValid+"\n", file)
	return 0
}

// cmdHealth reports whether a node runs under the prefix, as `kong health`.
func cmdHealth(args []string, stdout, stderr io.Writer) int {
	_, cfg, _, code, ok := setup("health", args, stderr)
	if !ok {
		return code
	}
	if _, err := os.Stat(cfg.Prefix); err != nil {
		fail(stderr, msgNoPrefix, cfg.Prefix)
		return 1
	}
	_, running := node.Running(cfg)
	state := "not running"
	if running {
		state = "running"
	}
	fmt.Fprintf(stdout, "%s%s\n\n", padDots("portico", 12), state)
	if !running {
		fail(stderr, msgNotRunning, cfg.Prefix)
		return 1
	}
	fmt.Fprintf(stdout, msgHealthy+"\n", cfg.Prefix)
	return 0
}

// padDots left-justifies s with dots to width, as Kong's health output.
func padDots(s string, width int) string {
	if len(s) >= width {
		return s
	}
	return s + strings.Repeat(".", width-len(s))
}

func cmdStop(args []string, stdout, stderr io.Writer) int {
	_, cfg, _, code, ok := setup("stop", args, stderr)
	if !ok {
		return code
	}
	if err := node.Stop(cfg); err != nil {
		fail(stderr, "%v", err)
		return 1
	}
	fmt.Fprintln(stdout, msgStopped)
	return 0
}

// cmdQuit stops the node gracefully (SIGQUIT); after --timeout seconds (at
// least 1) a second signal cuts the requests still in flight.
func cmdQuit(args []string, stdout, stderr io.Writer) int {
	o, cfg, _, code, ok := setup("quit", args, stderr)
	if !ok {
		return code
	}
	if _, err := os.Stat(cfg.Prefix); err != nil {
		fail(stderr, msgNoPrefix, cfg.Prefix)
		return 1
	}
	pid, running := node.Running(cfg)
	if !running {
		fail(stderr, msgNotRunning, cfg.Prefix)
		return 1
	}
	if o.wait > 0 && node.WaitExit(cfg, pid, time.Duration(o.wait)*time.Second) {
		fail(stderr, "Portico stopped while waiting (unexpected)")
		return 1
	}
	if _, err := node.Signal(cfg, syscall.SIGQUIT); err != nil {
		fail(stderr, "%v", err)
		return 1
	}
	if node.WaitExit(cfg, pid, time.Duration(max(o.timeout, 1))*time.Second) {
		fmt.Fprintln(stdout, msgQuitGraceful)
		return 0
	}
	if _, err := node.Signal(cfg, syscall.SIGTERM); err != nil && !errors.Is(err, node.ErrNotRunning) {
		fail(stderr, "%v", err)
		return 1
	}
	if !node.WaitExit(cfg, pid, restartStopDeadline) {
		fail(stderr, "Portico (pid %d) did not stop", pid)
		return 1
	}
	fmt.Fprintln(stdout, msgQuitForced)
	return 0
}

// cmdReload writes the configuration of -c FILE (if given) as the one the
// node runs with, then asks the node to reload it (SIGHUP): log_level is
// applied, log files are reopened, and every other changed key is named as
// needing a restart.
func cmdReload(args []string, stdout, stderr io.Writer) int {
	o, cfg, _, code, ok := setup("reload", args, stderr)
	if !ok {
		return code
	}
	if _, err := os.Stat(cfg.Prefix); err != nil {
		fail(stderr, msgNoPrefix, cfg.Prefix)
		return 1
	}
	if _, running := node.Running(cfg); !running {
		fail(stderr, msgNotRunning, cfg.Prefix)
		return 1
	}
	if o.file != "" {
		envFile := cfg.Path(conf.EnvFile)
		if old, _, err := conf.Load(envFile, nil); err == nil {
			for _, key := range old.Changed(cfg) {
				if !node.Reloadable(key) {
					fmt.Fprintf(stderr, "[warn] "+msgRestartNeeded+"\n", key)
				}
			}
		}
		if err := node.WriteEnvFile(envFile, cfg); err != nil {
			fail(stderr, "%v", err)
			return 1
		}
	}
	if _, err := node.Signal(cfg, syscall.SIGHUP); err != nil {
		fail(stderr, "%v", err)
		return 1
	}
	fmt.Fprintln(stdout, msgReloaded)
	return 0
}

func cmdPrepare(args []string, stdout, stderr io.Writer) int {
	_, cfg, _, code, ok := setup("prepare", args, stderr)
	if !ok {
		return code
	}
	say := func(format string, args ...any) { fmt.Fprintf(stdout, format+"\n", args...) }
	if err := node.Prepare(cfg, say); err != nil {
		fail(stderr, msgPrepareFailed, cfg.Prefix, err)
		return 1
	}
	return 0
}

// cmdRestart stops the node running under the prefix, if any, and starts
// one in the foreground.
func cmdRestart(args []string, stdout, stderr io.Writer) int {
	_, cfg, notices, code, ok := setup("restart", args, stderr)
	if !ok {
		return code
	}
	if pid, running := node.Running(cfg); running {
		if err := node.Stop(cfg); err != nil && !errors.Is(err, node.ErrNotRunning) {
			fail(stderr, "%v", err)
			return 1
		}
		node.WaitExit(cfg, pid, restartStopDeadline)
	}
	return serve(cfg, notices, stdout, stderr)
}

func cmdStart(args []string, stdout, stderr io.Writer) int {
	_, cfg, notices, code, ok := setup("start", args, stderr)
	if !ok {
		return code
	}
	return serve(cfg, notices, stdout, stderr)
}

// serve runs a node in the foreground. SIGINT, SIGTERM and SIGQUIT stop it
// gracefully, and a second one at once; SIGHUP reloads its configuration;
// SIGUSR1 reopens its log files.
func serve(cfg *conf.Config, notices []conf.Notice, stdout, stderr io.Writer) int {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var running atomic.Pointer[node.Node]
	go func() {
		stopping := false
		for sig := range sigs {
			n := running.Load()
			switch sig {
			case syscall.SIGHUP:
				if n != nil {
					_, _ = n.Reload() // the node logs what it did and refused
				}
			case syscall.SIGUSR1:
				if n != nil {
					_ = n.ReopenLogs() // logged by the node
				}
			default:
				if stopping && n != nil {
					n.ForceStop()
				}
				stopping = true
				cancel()
			}
		}
	}()
	err := node.Run(ctx, cfg, notices, func(n *node.Node) {
		running.Store(n)
		fmt.Fprintf(stdout, "Portico started (admin %s, proxy %s, status %s, manager %s)\n", n.AdminAddrs(), n.ProxyAddrs(), n.StatusAddrs(), n.ManagerAddrs())
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		fail(stderr, "%v", err)
		return 1
	}
	return 0
}
