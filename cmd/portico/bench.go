package main

import (
	"flag"
	"fmt"
	"io"
)

const benchUsage = `Usage: portico bench COMMAND [OPTIONS]

Commands:
  http     load one URL: throughput, latency percentiles, statuses, errors
  compare  the same load against several targets in alternating rounds, as ratios
  sink     receive webhooks (event-hook deliveries): count, verify signatures, misbehave on purpose
  events   end-to-end event-hook benchmark against a running node: writes/s, deliveries/s, latency, loss

Run "portico bench COMMAND --help" for a command's options.
`

// benchCommands are the `portico bench` subcommands, each in its own file.
var benchCommands = map[string]func(args []string, stdout, stderr io.Writer) int{
	"sink":    runBenchSink,
	"http":    runBenchHTTP,
	"compare": runBenchCompare,
	"events":  runBenchEvents,
}

// runBench runs `portico bench ...`.
func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchUsage)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, benchUsage)
		return 0
	}
	run, ok := benchCommands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "Error: unknown bench command %q\n\n%s", args[0], benchUsage)
		return 2
	}
	return run(args[1:], stdout, stderr)
}

// benchFlags is a bench command's flag set: errors and --help go to
// stderr, the help being usage followed by the options.
func benchFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseBenchFlags parses a bench command that takes options only. When it returns
// false the command ends with code: 0 after --help, 2 for bad input.
func parseBenchFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "Error: unexpected argument %q\n", fs.Arg(0))
		return 2, false
	}
	return 0, true
}
