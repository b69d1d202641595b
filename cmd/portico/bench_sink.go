package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/portico-gw/portico/bench"
)

const benchSinkUsage = `Usage: portico bench sink [OPTIONS]

Receive webhooks (event-hook deliveries): count them per second and per path,
verify their signatures, time them from their write, and misbehave on purpose.
A request meets the misbehaviours in this order: --hang, --reset-rate,
--fail-first, --fail-rate, --gone, --throttle; otherwise it gets --status.

Options:
`

// runBenchSink runs `portico bench sink`.
func runBenchSink(args []string, stdout, stderr io.Writer) int {
	fs := benchFlags("bench sink", benchSinkUsage, stderr)
	var opts bench.SinkOptions
	listen := fs.String("listen", "127.0.0.1:9999", "address to listen on")
	fs.IntVar(&opts.Status, "status", 200, "status to answer")
	fs.Int64Var(&opts.FailFirst, "fail-first", 0, "answer 503 to the first N requests")
	fs.Float64Var(&opts.FailRate, "fail-rate", 0, "answer 503 to this fraction of requests (0-1), spread evenly")
	fs.DurationVar(&opts.Delay, "delay", 0, "hold every answer this long")
	fs.BoolVar(&opts.Hang, "hang", false, "never answer: hold each connection until the client gives up")
	fs.Float64Var(&opts.ResetRate, "reset-rate", 0, "reset the connection (TCP RST) for this fraction of requests (0-1)")
	fs.BoolVar(&opts.Gone, "gone", false, "answer 410 Gone")
	fs.DurationVar(&opts.Throttle, "throttle", 0, "answer 429 with Retry-After of this many whole seconds (e.g. 5s)")
	fs.StringVar(&opts.Secret, "secret", "", "verify X-Kong-Signature with this secret")
	fs.StringVar(&opts.WebhookSecret, "webhook-secret", "", "verify the Standard Webhooks signature with this secret (whsec_...)")
	interval := fs.Duration("interval", time.Second, "time between progress lines")
	asJSON := fs.Bool("json", false, "print the final summary as JSON")
	if code, ok := parseBenchFlags(fs, args, stderr); !ok {
		return code
	}
	if *interval <= 0 {
		fmt.Fprintf(stderr, "Error: --interval: must be positive, got %v\n", *interval)
		return 2
	}
	if err := opts.Validate(); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 2
	}
	sink, err := bench.NewSink(*listen, opts)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	go sink.Serve()
	// Progress goes to stderr with --json, so that stdout is the summary.
	progress := stdout
	if *asJSON {
		progress = stderr
	}
	fmt.Fprintf(progress, "webhook sink listening on %s (POST %s)\n", sink.Addr(), sink.URL())
	start := time.Now()
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	var last int64
	for {
		select {
		case <-ctx.Done():
			sink.Close()
			st := sink.Stats()
			if *asJSON {
				out := struct {
					Seconds float64 `json:"seconds"`
					bench.SinkStats
				}{time.Since(start).Round(time.Millisecond).Seconds(), st}
				b, _ := json.MarshalIndent(out, "", "  ")
				fmt.Fprintf(stdout, "%s\n", b)
			} else {
				printSinkSummary(stdout, st, time.Since(start))
			}
			return 0
		case <-tick.C:
			st := sink.Stats()
			if st.Received != last {
				rate := float64(st.Received-last) / interval.Seconds()
				fmt.Fprintf(progress, "%.0f req/s, %d received, %d accepted%s, latency %s\n",
					rate, st.Received, st.Accepted, signatureLine(st), st.Latency)
				last = st.Received
			}
		}
	}
}

// signatureLine is ", kong sig 10 valid/0 invalid/0 unsigned" for the
// schemes being verified.
func signatureLine(st bench.SinkStats) string {
	var b strings.Builder
	for _, s := range []struct {
		name string
		c    *bench.SignatureCounts
	}{{"kong sig", st.KongSignature}, {"standard sig", st.StandardSignature}} {
		if s.c != nil {
			fmt.Fprintf(&b, ", %s %d valid/%d invalid/%d unsigned", s.name, s.c.Valid, s.c.Invalid, s.c.Unsigned)
		}
	}
	return b.String()
}

func printSinkSummary(w io.Writer, st bench.SinkStats, elapsed time.Duration) {
	fmt.Fprintf(w, "received %d requests in %s (%d accepted, %d body bytes, %d resets, %d hung)\n",
		st.Received, elapsed.Round(time.Millisecond), st.Accepted, st.Bytes, st.Resets, st.Hangs)
	fmt.Fprintf(w, "answers: %s\n", bench.CountList(st.Statuses, "%v %d"))
	fmt.Fprintf(w, "paths: %s\n", bench.CountList(st.Paths, "%v %d"))
	if sig := signatureLine(st); sig != "" {
		fmt.Fprintf(w, "signatures: %s\n", strings.TrimPrefix(sig, ", "))
	}
	fmt.Fprintf(w, "write→delivery latency (timestamps in whole seconds): %s; %d requests untimed\n", st.Latency, st.Untimed)
}
