package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/portico-gw/portico/bench"
)

// runBenchSink runs `portico bench sink`.
func runBenchSink(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench sink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: portico bench sink [OPTIONS]\n\nReceive webhooks (event-hook deliveries) and count them per second.\n\nOptions:\n")
		fs.PrintDefaults()
	}
	listen := fs.String("listen", "127.0.0.1:9999", "address to listen on")
	status := fs.Int("status", 200, "status to answer")
	failFirst := fs.Int64("fail-first", 0, "answer 503 to the first N requests")
	delay := fs.Duration("delay", 0, "hold every answer this long")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	sink, err := bench.NewSink(*listen, bench.SinkOptions{Status: *status, FailFirst: *failFirst, Delay: *delay})
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	go sink.Serve()
	fmt.Fprintf(stdout, "webhook sink listening on %s (POST %s)\n", sink.Addr(), sink.URL())
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last int64
	for {
		select {
		case <-ctx.Done():
			sink.Close()
			fmt.Fprintf(stdout, "received %d requests (%d accepted, %d body bytes)\n", sink.Received(), sink.Accepted(), sink.Bytes())
			return 0
		case <-tick.C:
			n := sink.Received()
			if n != last {
				fmt.Fprintf(stdout, "%d req/s, %d received\n", n-last, n)
				last = n
			}
		}
	}
}
