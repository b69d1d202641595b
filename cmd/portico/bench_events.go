package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/portico-gw/portico/bench"
)

const benchEventsUsage = `Usage: portico bench events [OPTIONS]

Measure event hooks end to end against a running node: start a webhook sink,
create --hooks webhook hooks on consumer writes pointing at it, write consumers
through the Admin API at --rate (or flat out with --writers), wait up to
--drain for the deliveries, and report writes/s, deliveries/s, write→delivery
latency, and every event lost or duplicated. The run's hooks and consumers are
deleted afterwards, also on Ctrl-C (which prints the partial result).

Exit status: 0, or 1 when an event was lost or duplicated (or the run failed),
2 for bad options, 130 when interrupted.

Options:
`

// runBenchEvents runs `portico bench events`.
func runBenchEvents(args []string, stdout, stderr io.Writer) int {
	fs := benchFlags("bench events", benchEventsUsage, stderr)
	var opts bench.EventsOptions
	fs.StringVar(&opts.Admin, "admin", "http://127.0.0.1:8001", "the node's Admin API URL")
	fs.StringVar(&opts.Token, "token", "", "RBAC token, sent as Kong-Admin-Token")
	fs.IntVar(&opts.Hooks, "hooks", bench.DefaultEventsHooks, "webhook hooks to create (each gets every event)")
	fs.Float64Var(&opts.Rate, "rate", 0, "consumer writes per second (default: flat out)")
	fs.IntVar(&opts.Writers, "writers", bench.DefaultEventsWriters, "writes under way at once")
	fs.DurationVar(&opts.Duration, "duration", bench.DefaultEventsDuration, "how long to write")
	fs.Int64Var(&opts.Writes, "n", 0, "how many writes to make (instead of --duration)")
	fs.DurationVar(&opts.Drain, "drain", bench.DefaultEventsDrain, "how long to wait for deliveries after the last write")
	fs.StringVar(&opts.Listen, "listen", "127.0.0.1:0", "the sink's address")
	fs.StringVar(&opts.SinkURL, "sink-url", "", "the sink's URL as the node reaches it (default http://<listen address>)")
	fs.StringVar(&opts.Secret, "secret", "", "sign the hooks with this secret and verify both signatures")
	fs.Float64Var(&opts.Sink.FailRate, "fail-rate", 0, "the sink answers 503 to this fraction of attempts (0-1)")
	fs.Float64Var(&opts.Sink.ResetRate, "reset-rate", 0, "the sink resets the connection for this fraction of attempts (0-1)")
	fs.DurationVar(&opts.Sink.Delay, "delay", 0, "the sink holds every answer this long")
	fs.DurationVar(&opts.Timeout, "timeout", bench.DefaultEventsTimeout, "bound on each Admin API request")
	fs.DurationVar(&opts.Interval, "interval", time.Second, "time between progress lines")
	fs.IntVar(&opts.HangingHooks, "hanging-hooks", 0, "also create this many hooks whose receiver never answers (not counted)")
	fs.IntVar(&opts.FailingHooks, "failing-hooks", 0, "also create this many hooks whose receiver answers 500 (not counted)")
	fs.BoolVar(&opts.Compare, "compare", false, "then run the same scenario through an in-memory fire-and-forget pipeline and compare")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, ok := parseBenchFlags(fs, args, stderr); !ok {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["rate"] && opts.Rate <= 0 {
		fmt.Fprintf(stderr, "Error: --rate: must be a positive number of writes per second, got %v (leave it out to write flat out)\n", opts.Rate)
		return 2
	}
	for _, c := range []struct {
		name     string
		positive bool
	}{
		{"hooks", opts.Hooks > 0}, {"writers", opts.Writers > 0}, {"n", opts.Writes > 0},
		{"duration", opts.Duration > 0}, {"timeout", opts.Timeout > 0}, {"interval", opts.Interval > 0},
	} {
		if set[c.name] && !c.positive {
			fmt.Fprintf(stderr, "Error: -%s: must be positive, got %s\n", flagName(c.name), fs.Lookup(c.name).Value)
			return 2
		}
	}
	if set["n"] && set["duration"] {
		fmt.Fprintln(stderr, "Error: -n and --duration: choose one")
		return 2
	}
	if set["n"] {
		opts.Duration = 0
	}

	// Progress and notices go to stderr, so that stdout is the result.
	opts.Progress = func(p bench.EventsProgress) {
		if p.Notice != "" {
			fmt.Fprintln(stderr, p.Notice)
			return
		}
		fmt.Fprintf(stderr, "%6s %-8s %6.0f writes/s %6.0f deliveries/s  %d written, %d delivered, %d due  latency %s\n",
			p.Elapsed.Round(time.Second), p.Phase, p.WritesPerSecond, p.DeliveriesPerSecond,
			p.Acknowledged, p.Deliveries, p.Pending, p.Latency)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		fmt.Fprintln(stderr, "interrupted: stopping the writes and deleting the run's hooks and consumers (Ctrl-C again to quit at once)")
		cancel()
		if _, ok := <-sigs; ok {
			fmt.Fprintln(stderr, "quitting without cleaning up: hooks pointing at the sink and consumers named bench-<run>-* remain")
			os.Exit(130)
		}
	}()

	res, err := bench.RunEvents(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		if ctx.Err() != nil {
			return 130
		}
		if isUsageError(err) {
			return 2
		}
		return 1
	}
	if *asJSON {
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		printEventsResult(stdout, res)
	}
	switch {
	case res.Interrupted:
		return 130
	case res.Failed():
		return 1
	}
	return 0
}

// flagName is how a flag is written in messages: -n, --hooks.
func flagName(name string) string {
	if len(name) == 1 {
		return name
	}
	return "-" + name
}

// isUsageError reports whether err is about an option (its message starts
// with the flag's name).
func isUsageError(err error) bool {
	msg := err.Error()
	return len(msg) > 1 && msg[0] == '-'
}

func printEventsResult(w io.Writer, r *bench.EventsResult) {
	status := ""
	switch {
	case r.Interrupted:
		status = " (interrupted: partial result)"
	case r.DrainTimedOut:
		status = " (the drain timed out)"
	}
	fmt.Fprintf(w, "run %s: %d hooks%s\n", r.Run, r.Hooks, status)
	fmt.Fprintf(w, "writes:      %d acknowledged of %d in %.2fs: %.0f writes/s; %d failed; write latency %s\n",
		r.Acknowledged, r.Attempted, r.WriteSeconds, r.WritesPerSecond, r.FailedWrites, r.WriteLatency)
	if r.TargetRate > 0 && r.WritesPerSecond < 0.95*r.TargetRate {
		fmt.Fprintf(w, "             below the --rate of %g writes/s: the node did not keep up\n", r.TargetRate)
	}
	if r.FirstWriteError != "" {
		fmt.Fprintf(w, "             first failure: %s\n", r.FirstWriteError)
	}
	fmt.Fprintf(w, "deliveries:  %d of %d expected in %.2fs: %.0f deliveries/s\n",
		r.Deliveries, r.Expected, r.DeliverySeconds, r.DeliveriesPerSecond)
	fmt.Fprintf(w, "latency:     write → delivery %s\n", r.Latency)
	if r.DrainTimedOut && r.Lost > 0 {
		fmt.Fprintf(w, "lost:        %d (not delivered within --drain; the node may still retry them later)\n", r.Lost)
	} else {
		fmt.Fprintf(w, "lost:        %d\n", r.Lost)
	}
	fmt.Fprintf(w, "duplicated:  %d (%d with a webhook-id already accepted)\n", r.Duplicated, r.Redelivered)
	if r.Unacknowledged > 0 || r.Refused > 0 {
		fmt.Fprintf(w, "also:        %d deliveries of failed writes, %d attempts refused by the sink\n", r.Unacknowledged, r.Refused)
	}
	if sig := signatureLine(r.Sink); sig != "" {
		fmt.Fprintf(w, "signatures: %s\n", sig[1:])
	}
	if m := r.Memory; m != nil {
		fmt.Fprintf(w, "in memory:   %d of %d deliveries in %.2fs: %.0f deliveries/s, latency %s; %d lost, %d duplicated\n",
			m.Deliveries, m.Expected, m.Seconds, m.DeliveriesPerSecond, m.Latency, m.Lost, m.Duplicated)
		fmt.Fprintf(w, "ratio:       the node delivered %.2f× the in-memory pipeline's deliveries/s\n", m.Ratio)
	}
	fmt.Fprintf(w, "cleanup:     %d hooks and %d consumers deleted", r.Cleanup.Hooks, r.Cleanup.Consumers)
	if r.Cleanup.Errors > 0 {
		fmt.Fprintf(w, "; %d errors, first: %s", r.Cleanup.Errors, r.Cleanup.FirstError)
	}
	fmt.Fprintln(w)
}
