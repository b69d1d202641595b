package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// WriteTable prints a run's result for people.
func (r *Result) WriteTable(w io.Writer) {
	failed := int64(0)
	for _, n := range r.Errors {
		failed += n
	}
	if r.Interrupted {
		fmt.Fprintln(w, "interrupted: partial result")
	}
	fmt.Fprintf(w, "target       %s\n", r.URL)
	fmt.Fprintf(w, "duration     %.2f s\n", r.Duration.Seconds())
	fmt.Fprintf(w, "requests     %d answered, %d failed\n", r.Requests, failed)
	fmt.Fprintf(w, "throughput   %.1f req/s", r.Throughput)
	if r.Rate > 0 {
		fmt.Fprintf(w, " (target rate %.0f req/s: %.1f%%)", r.Rate, 100*r.Throughput/r.Rate)
	}
	fmt.Fprintln(w)
	if r.Requests > 0 {
		l := r.Latency
		fmt.Fprintf(w, "latency      mean %s  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
			Millis(l.Mean), Millis(l.P50), Millis(l.P90), Millis(l.P99), Millis(l.P999), Millis(l.Max))
	}
	fmt.Fprintf(w, "statuses     %s\n", statusList(r.Statuses))
	fmt.Fprintf(w, "errors       connect %d, timeout %d, reset %d, other %d\n",
		r.Errors[ErrConnect], r.Errors[ErrTimeout], r.Errors[ErrReset], r.Errors[ErrOther])
	fmt.Fprintf(w, "bytes        read %s, sent %s\n", Bytes(r.BytesRead), Bytes(r.BytesSent))
}

func statusList(m map[int]int64) string { return CountList(m, "%v: %d") }

// CountList is a map of counts in key order, each as format renders key
// and count ("200: 5, 404: 1"), or "none".
func CountList[K cmp.Ordered](m map[K]int64, format string) string {
	if len(m) == 0 {
		return "none"
	}
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf(format, k, m[k])
	}
	return strings.Join(parts, ", ")
}

// WriteJSON prints a run's result for scripts; durations are in
// milliseconds.
func (r *Result) WriteJSON(w io.Writer) error {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	errs := map[string]int64{ErrConnect: 0, ErrTimeout: 0, ErrReset: 0, ErrOther: 0}
	for k, n := range r.Errors {
		errs[k] = n
	}
	statuses := map[string]int64{}
	for c, n := range r.Statuses {
		statuses[fmt.Sprint(c)] = n
	}
	out := map[string]any{
		"url": r.URL, "duration_s": r.Duration.Seconds(), "requests": r.Requests, "errors": errs,
		"statuses": statuses, "requests_per_second": r.Throughput, "bytes_read": r.BytesRead,
		"bytes_sent": r.BytesSent, "interrupted": r.Interrupted,
		"latency_ms": map[string]float64{"mean": ms(r.Latency.Mean), "p50": ms(r.Latency.P50), "p90": ms(r.Latency.P90),
			"p99": ms(r.Latency.P99), "p99.9": ms(r.Latency.P999), "max": ms(r.Latency.Max)},
	}
	if r.Rate > 0 {
		out["target_rate"] = r.Rate
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// Millis formats a latency in milliseconds with three significant digits
// or so.
func Millis(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0fms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.2fms", ms)
}

// Bytes formats a byte count with a binary unit.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[i])
}
