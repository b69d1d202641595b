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

const benchUsage = `Usage: portico bench sink [OPTIONS]

  sink    receive webhooks (event-hook deliveries) and count them per second

Options:
  --listen ADDR      address to listen on (default 127.0.0.1:9999)
  --status CODE      status to answer (default 200)
  --fail-first N     answer 503 to the first N requests
  --delay DURATION   hold every answer this long
`

// runBench runs `portico bench ...`.
func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "sink" {
		fmt.Fprint(stderr, benchUsage)
		return 2
	}
	fs := flag.NewFlagSet("bench sink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9999", "address to listen on")
	status := fs.Int("status", 200, "status to answer")
	failFirst := fs.Int64("fail-first", 0, "answer 503 to the first N requests")
	delay := fs.Duration("delay", 0, "hold every answer this long")
	if err := fs.Parse(args[1:]); err != nil {
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
