// Command portico is the Portico gateway: a Kong-compatible Admin API, proxy
// and event hooks in one binary.
//
//	portico start [-c FILE]                 run a node in the foreground
//	portico stop [-c FILE]                  stop the node running under the prefix
//	portico migrations bootstrap [-c FILE]  prepare the database
//	portico config [-c FILE]                print the effective configuration
//	portico version                         print the versions
//	portico bench sink [--listen ADDR]      a webhook receiver for load tests
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/portico-gw/portico/conf"
	"github.com/portico-gw/portico/node"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Usage: portico COMMAND [OPTIONS]

The available commands are:
  start                 Start a Portico node in the foreground.
  stop                  Stop the Portico node running in the prefix.
  migrations bootstrap  Prepare the database for a new node.
  config                Print the effective configuration (secrets masked).
  version               Print the Portico and Kong Admin API versions.
  bench sink            Receive webhooks and count them (load testing).

Options:
  -c, --conf FILE       Configuration file (kong.conf syntax).
  -p, --prefix DIR      Override the prefix directory.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	if cmd == "migrations" {
		if len(rest) == 0 || rest[0] != "bootstrap" {
			fmt.Fprintln(stderr, "Error: usage: portico migrations bootstrap [-c FILE]")
			return 2
		}
		cmd, rest = "migrations bootstrap", rest[1:]
	}
	switch cmd {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "version", "--version", "-v":
		kong := "unknown"
		if cfg, _, err := conf.Load("", os.Environ()); err == nil {
			kong = cfg.KongVersion
		}
		fmt.Fprintf(stdout, "Portico %s (Kong Admin API %s)\n", node.Version, kong)
		return 0
	case "bench":
		return runBench(rest, stdout, stderr)
	case "start", "stop", "config", "migrations bootstrap":
	default:
		fmt.Fprintf(stderr, "Error: unknown command %q\n\n%s", cmd, usage)
		return 2
	}

	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var file, prefix string
	fs.StringVar(&file, "c", "", "configuration file")
	fs.StringVar(&file, "conf", "", "configuration file")
	fs.StringVar(&prefix, "p", "", "prefix directory")
	fs.StringVar(&prefix, "prefix", "", "prefix directory")
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	environ := os.Environ()
	if prefix != "" {
		environ = append(environ, "PORTICO_PREFIX="+prefix)
	}
	cfg, notices, err := conf.Load(file, environ)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	for _, n := range notices {
		fmt.Fprintln(stderr, n.String())
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}

	switch cmd {
	case "config":
		for _, kv := range cfg.Effective() {
			fmt.Fprintf(stdout, "%s = %s\n", kv.Key, kv.Value)
		}
		return 0
	case "migrations bootstrap":
		if err := node.Bootstrap(context.Background(), cfg, notices); err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, "Database is up-to-date")
		return 0
	case "stop":
		if err := node.Stop(cfg); err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, "Portico stopped")
		return 0
	}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	err = node.Run(ctx, cfg, notices, func(n *node.Node) {
		fmt.Fprintf(stdout, "Portico started (admin %s, proxy %s)\n", n.AdminAddrs(), n.ProxyAddrs())
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}
