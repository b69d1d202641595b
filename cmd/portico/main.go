// Command portico is the Portico gateway: a Kong-compatible Admin API, proxy,
// Status API and event hooks in one binary.
//
//	portico start [-c FILE] [-p DIR]        run a node in the foreground
//	portico stop [-p DIR]                   stop the node running under the prefix
//	portico quit [-p DIR] [-t N] [-w N]     stop it gracefully (forced after N s)
//	portico restart [-c FILE] [-p DIR]      stop it, then start in the foreground
//	portico reload [-c FILE] [-p DIR]       re-read the configuration, reopen logs
//	portico health [-p DIR]                 is a node running under the prefix
//	portico check [FILE]                    validate a configuration file
//	portico plugin check DIR [--schema]     load Lua plugins and check their schemas
//	portico prepare [-c FILE] [-p DIR]      create the prefix tree
//	portico migrations bootstrap [-c FILE]  prepare the database
//	portico config [-c FILE]                print the effective configuration
//	portico version                         print the versions
//	portico bench sink [--listen ADDR]      a webhook receiver for load tests
//
// A running node stops gracefully on SIGINT, SIGTERM or SIGQUIT (a second
// one cuts the requests in flight), reloads on SIGHUP and reopens its log
// files on SIGUSR1.
package main

import (
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Usage: portico COMMAND [OPTIONS]

The available commands are:
  start                 Start a Portico node in the foreground.
  stop                  Stop the Portico node running in the prefix.
  quit                  Gracefully stop the node (-t, --timeout N: forced after N s, default 10;
                        -w, --wait N: wait N s first).
  restart               Stop the node running in the prefix, then start one in the foreground.
  reload                Re-read the configuration (-c FILE) and reopen the log files.
  health                Check that a node runs in the prefix.
  check [FILE]          Check the validity of a configuration file (default /etc/kong/kong.conf).
  plugin check DIR      Load the Lua plugins of DIR (a kong/plugins/NAME directory or a
                        lua_package_path root) and check their handlers and schemas.
  prepare               Create the prefix directory tree and files.
  migrations bootstrap  Prepare the database for a new node.
  config                Print the effective configuration (secrets masked).
  config db_import FILE Import a declarative configuration file (YAML or JSON) into
                        the store of the prefix (the node must be stopped).
  config db_export [FILE]
                        Export the store into a declarative configuration file
                        (default ./kong.yml; never overwritten; -w WORKSPACE).
  config parse FILE     Parse and validate a declarative configuration file.
  config init [FILE]    Write an example declarative configuration file to start from
                        (default ./kong.yml; never overwritten).
  version               Print the Portico and Kong Admin API versions.
  bench sink            Receive webhooks and count them (load testing).

Options:
  -c, --conf FILE       Configuration file (kong.conf syntax).
  -p, --prefix DIR      Override the prefix directory.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		writeString(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	if cmd == "migrations" {
		if len(rest) == 0 || rest[0] != "bootstrap" {
			writeString(stderr, "Error: usage: portico migrations bootstrap [-c FILE]\n")
			return 2
		}
		cmd, rest = "migrations bootstrap", rest[1:]
	}
	switch cmd {
	case "-h", "--help", "help":
		writeString(stdout, usage)
		return 0
	case "bench":
		return runBench(rest, stdout, stderr)
	}
	c, ok := commands[cmd]
	if !ok {
		writeString(stderr, "Error: unknown command \""+cmd+"\"\n\n"+usage)
		return 2
	}
	return c(rest, stdout, stderr)
}

func writeString(w io.Writer, s string) { _, _ = io.WriteString(w, s) }
