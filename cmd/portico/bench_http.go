package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/portico-gw/portico/bench"
)

const benchHTTPUsage = `Usage: portico bench http [OPTIONS] URL

Load one URL over HTTP/1.1 and report throughput, latency percentiles,
statuses and errors. Closed loop (as fast as answers come) by default;
--rate sends at a fixed arrival rate and measures latency from each
request's intended send time.

Options:
`

// loadFlags are the load options shared by bench http and bench compare.
type loadFlags struct {
	opts     bench.HTTPOptions
	headers  headerList
	data     string
	rate     float64
	keep     bool
	jsonOut  bool
	quiet    bool
	duration time.Duration
	threads  int
}

// headerList is a repeatable -H "Name: value".
type headerList [][2]string

func (h *headerList) String() string { return fmt.Sprint(*h) }

func (h *headerList) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want \"Name: value\", got %q", v)
	}
	*h = append(*h, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
	return nil
}

func (l *loadFlags) register(fs *flag.FlagSet) {
	for _, name := range []string{"m", "method"} {
		fs.StringVar(&l.opts.Method, name, "GET", "request method")
	}
	fs.Var(&l.headers, "H", "request header \"Name: value\" (repeatable)")
	for _, name := range []string{"d", "data"} {
		fs.StringVar(&l.data, name, "", "request body, or @FILE to read it from a file")
	}
	fs.IntVar(&l.opts.Concurrency, "c", 50, "connections (and concurrent requests)")
	for _, name := range []string{"t", "threads"} {
		fs.IntVar(&l.threads, name, 0, "OS threads running the load, as wrk's -t (default: one per CPU)")
	}
	for _, name := range []string{"z", "duration"} {
		fs.DurationVar(&l.duration, name, 0, "how long to run (default 10s unless -n is given)")
	}
	fs.Int64Var(&l.opts.Requests, "n", 0, "stop after this many requests")
	fs.DurationVar(&l.opts.Warmup, "warmup", 0, "run this long before measuring")
	fs.Float64Var(&l.rate, "rate", 0, "fixed arrival rate in requests per second (open loop)")
	fs.BoolVar(&l.keep, "keepalive", true, "reuse connections (--keepalive=false opens one per request)")
	fs.BoolVar(&l.opts.Insecure, "insecure", false, "do not verify an https target's certificate")
	fs.DurationVar(&l.opts.Timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.BoolVar(&l.jsonOut, "json", false, "print the result as JSON")
	fs.BoolVar(&l.quiet, "quiet", false, "no progress lines")
}

// options completes the load options after parsing.
func (l *loadFlags) options(fs *flag.FlagSet) (bench.HTTPOptions, error) {
	if l.threads < 0 {
		return l.opts, fmt.Errorf("threads must be at least 1, got %d", l.threads)
	}
	if l.threads > 0 {
		// The generator's goroutines run on this many threads (on a
		// small machine, one thread leaves the other CPUs to the target).
		runtime.GOMAXPROCS(l.threads)
	}
	o := l.opts
	o.Headers = l.headers
	o.NoKeepAlive = !l.keep
	o.Duration = l.duration
	if o.Duration == 0 && o.Requests == 0 {
		o.Duration = 10 * time.Second
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "rate" {
			o.SetRate(l.rate)
		}
	})
	if strings.HasPrefix(l.data, "@") {
		b, err := os.ReadFile(l.data[1:])
		if err != nil {
			return o, fmt.Errorf("reading the body: %w", err)
		}
		o.Body = b
	} else if l.data != "" {
		o.Body = []byte(l.data)
	}
	return o, nil
}

// progressPrinter shows a live line on a terminal, plain lines elsewhere.
func progressPrinter(w io.Writer, quiet bool, label string) func(bench.Progress) {
	if quiet {
		return nil
	}
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	var last bench.Progress
	return func(p bench.Progress) {
		if p.Warmup != last.Warmup || p.Elapsed < last.Elapsed {
			last = bench.Progress{Warmup: p.Warmup}
		}
		rate := float64(p.Requests-last.Requests) / (p.Elapsed - last.Elapsed).Seconds()
		phase := ""
		if p.Warmup {
			phase = " (warm-up)"
		}
		line := fmt.Sprintf("%s%s %6.1fs  %9.0f req/s  %d requests  %d errors", label, phase, p.Elapsed.Seconds(), rate, p.Requests, p.Errors)
		if tty {
			fmt.Fprintf(w, "\r\033[K%s", line)
		} else {
			fmt.Fprintln(w, line)
		}
		last = p
	}
}

// endProgress ends a live line on a terminal.
func endProgress(w io.Writer, quiet bool) {
	if f, ok := w.(*os.File); ok && !quiet && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintln(w)
	}
}

// runBenchHTTP runs `portico bench http`.
func runBenchHTTP(args []string, stdout, stderr io.Writer) int {
	fs := benchFlags("bench http", benchHTTPUsage, stderr)
	var l loadFlags
	l.register(fs)
	url, err := parseInterspersed(fs, args)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if len(url) != 1 {
		fmt.Fprintf(stderr, "Error: give exactly one URL\n\n")
		fs.Usage()
		return 2
	}
	o, err := l.options(fs)
	if err == nil {
		o.URL = url[0]
		err = o.Validate()
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 2
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	r, err := bench.RunHTTP(ctx, o, time.Second, progressPrinter(stderr, l.quiet, ""))
	endProgress(stderr, l.quiet)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	if l.jsonOut {
		r.WriteJSON(stdout)
	} else {
		r.WriteTable(stdout)
	}
	if r.Requests == 0 {
		fmt.Fprintln(stderr, "Error: no request was answered")
		return 1
	}
	return 0
}

// parseInterspersed parses flags that may come before or after the
// positional arguments, which it returns.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
