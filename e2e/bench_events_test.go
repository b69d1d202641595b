package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runBench runs `portico bench ARGS...` with a deadline, returning its
// stdout, stderr and exit code.
func runBench(t *testing.T, timeout time.Duration, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"bench"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("portico bench %v did not finish within %v; stderr:\n%s", args, timeout, stderr.String())
	}
	var exit *exec.ExitError
	code := 0
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("running portico bench: %v", err)
	}
	return stdout.String(), stderr.String(), code
}

// TestBenchEvents runs `portico bench events` against a node: every
// acknowledged write reaches each hook exactly once, and the run leaves
// nothing behind.
func TestBenchEvents(t *testing.T) {
	g := startGateway(t)
	stdout, stderr, code := runBench(t, 90*time.Second, "events", "--admin", g.adminURL(""),
		"--hooks", "2", "-n", "200", "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "--json")
	if code != 0 {
		t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var res struct {
		Acknowledged int64 `json:"writes_acknowledged"`
		Expected     int64 `json:"expected"`
		Deliveries   int64 `json:"deliveries"`
		Lost         int64 `json:"lost"`
		Duplicated   int64 `json:"duplicated"`
		Latency      struct {
			Count int64   `json:"count"`
			P99   float64 `json:"p99_ms"`
		} `json:"latency"`
		Sink struct {
			Kong     struct{ Valid, Invalid, Unsigned int64 } `json:"kong_signature"`
			Standard struct{ Valid, Invalid, Unsigned int64 } `json:"standard_signature"`
		} `json:"sink"`
		Cleanup struct {
			Hooks     int   `json:"hooks_deleted"`
			Consumers int64 `json:"consumers_deleted"`
			Errors    int64 `json:"errors"`
		} `json:"cleanup"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("stdout is not the JSON result: %v\n%s", err, stdout)
	}
	if res.Acknowledged != 200 || res.Expected != 400 || res.Deliveries != 400 || res.Lost != 0 || res.Duplicated != 0 {
		t.Errorf("acknowledged %d, expected %d, delivered %d, lost %d, duplicated %d; want 200, 400, 400, 0, 0",
			res.Acknowledged, res.Expected, res.Deliveries, res.Lost, res.Duplicated)
	}
	if res.Latency.Count != 400 || res.Latency.P99 <= 0 {
		t.Errorf("latency %+v", res.Latency)
	}
	// Portico signs every request (pings too) with both schemes.
	if res.Sink.Kong.Valid < 400 || res.Sink.Kong.Invalid+res.Sink.Kong.Unsigned != 0 ||
		res.Sink.Standard.Valid < 400 || res.Sink.Standard.Invalid+res.Sink.Standard.Unsigned != 0 {
		t.Errorf("signatures: kong %+v, standard %+v", res.Sink.Kong, res.Sink.Standard)
	}
	if res.Cleanup.Hooks != 2 || res.Cleanup.Consumers < 200 || res.Cleanup.Errors != 0 {
		t.Errorf("cleanup %+v", res.Cleanup)
	}
	for _, path := range []string{"/event-hooks", "/consumers"} {
		if r := g.get(path); len(r.body["data"].([]any)) != 0 {
			t.Errorf("GET %s after the run: %s", path, r.raw)
		}
	}
}

// TestBenchBadInput: bad options and an unreachable node end at once with a
// message naming the problem and a non-zero exit.
func TestBenchBadInput(t *testing.T) {
	closed := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"zero rate", []string{"events", "--rate", "0"}, 2, "--rate: must be a positive number"},
		{"negative rate", []string{"events", "--rate", "-10"}, 2, "--rate"},
		{"zero hooks", []string{"events", "--hooks", "0"}, 2, "--hooks: must be positive"},
		{"-n and --duration", []string{"events", "-n", "5", "--duration", "1s"}, 2, "choose one"},
		{"admin URL without a scheme", []string{"events", "--admin", "localhost:8001"}, 2, "--admin"},
		{"unreachable admin", []string{"events", "--admin", closed}, 1, "reaching the Admin API at " + closed},
		{"sink fail rate above 1", []string{"sink", "--fail-rate", "1.5"}, 2, "--fail-rate"},
		{"sink gone and throttle", []string{"sink", "--gone", "--throttle", "5s"}, 2, "--gone and --throttle"},
		{"unknown bench command", []string{"nope"}, 2, "unknown bench command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runBench(t, 20*time.Second, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

// TestBenchEventsInterrupted: Ctrl-C stops the run, prints the partial
// result, and the run's hooks and consumers are still deleted.
func TestBenchEventsInterrupted(t *testing.T) {
	g := startGateway(t)
	cmd := exec.Command(binary, "bench", "events", "--admin", g.adminURL(""), "--rate", "50", "--duration", "1m")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	progress, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once the first progress line shows writes under way.
	writing := make(chan struct{})
	stderr := make(chan string, 1)
	go func() {
		var all strings.Builder
		seen := false
		sc := bufio.NewScanner(progress)
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if !seen && strings.Contains(sc.Text(), "writing") {
				seen = true
				close(writing)
			}
		}
		stderr <- all.String()
	}()
	select {
	case <-writing:
	case <-time.After(20 * time.Second):
		t.Error("no progress line within 20s")
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("still running 30s after Ctrl-C; stderr:\n%s", <-stderr)
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(stdout.String(), "interrupted: partial result") {
		t.Errorf("exit %d; stdout:\n%s\nstderr:\n%s", code, stdout.String(), <-stderr)
	}
	for _, path := range []string{"/event-hooks", "/consumers"} {
		if r := g.get(path); len(r.body["data"].([]any)) != 0 {
			t.Errorf("GET %s after the run: %s", path, r.raw)
		}
	}
}
