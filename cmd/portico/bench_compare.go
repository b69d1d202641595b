package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/portico-gw/portico/bench"
)

const benchCompareUsage = `Usage: portico bench compare --target NAME=URL --target NAME=URL ... [OPTIONS]

Run the same load against every target, alternating them in rounds (the
order rotates each round), and print each target's figures as ratios to
the first target's (medians of the per-round ratios, with their range),
then absolute figures. --plot draws latency by percentile as an SVG.

Options:
`

// targetList is a repeatable --target name=URL.
type targetList []bench.Target

func (t *targetList) String() string { return fmt.Sprint(*t) }

func (t *targetList) Set(v string) error {
	target, err := bench.ParseTarget(v)
	if err == nil {
		*t = append(*t, target)
	}
	return err
}

// runBenchCompare runs `portico bench compare`.
func runBenchCompare(args []string, stdout, stderr io.Writer) int {
	fs := benchFlags("bench compare", benchCompareUsage, stderr)
	var l loadFlags
	l.register(fs)
	var targets targetList
	fs.Var(&targets, "target", "a target as name=URL (repeatable; the first is the reference)")
	rounds := fs.Int("rounds", 3, "rounds (each target once per round)")
	plot := fs.String("plot", "", "write latency by percentile to this SVG file")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "Error: unexpected %q: targets are given with --target NAME=URL\n", rest[0])
		return 2
	}
	load, err := l.options(fs)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 2
	}
	o := bench.CompareOptions{Targets: targets, Load: load, Rounds: *rounds}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	var report func(bench.CompareProgress)
	if !l.quiet {
		report = labelled(stderr)
	}
	results, err := bench.RunCompare(ctx, o, time.Second, report)
	endProgress(stderr, l.quiet)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	if l.jsonOut {
		bench.WriteCompareJSON(stdout, results)
	} else {
		bench.WriteCompareTable(stdout, results)
	}
	if *plot != "" {
		f, err := os.Create(*plot)
		if err == nil {
			err = bench.WriteLatencyPlot(f, "Latency by percentile", results)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "Error: writing the plot: %v\n", err)
			return 1
		}
	}
	for _, tr := range results {
		if len(tr.Runs) == 0 || tr.Throughput == 0 {
			fmt.Fprintf(stderr, "Error: target %s answered no request\n", tr.Name)
			return 1
		}
	}
	return 0
}

// labelled shows progress lines prefixed with the round and target.
func labelled(w io.Writer) func(bench.CompareProgress) {
	printers := map[string]func(bench.Progress){}
	return func(p bench.CompareProgress) {
		label := fmt.Sprintf("round %d %s", p.Round, p.Target)
		show := printers[label]
		if show == nil {
			show = progressPrinter(w, false, label)
			printers[label] = show
		}
		show(p.Progress)
	}
}
