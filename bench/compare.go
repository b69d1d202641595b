package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Target is one gateway in a comparison.
type Target struct {
	Name, URL string
}

// ParseTarget reads "name=URL".
func ParseTarget(s string) (Target, error) {
	name, u, ok := strings.Cut(s, "=")
	if !ok || name == "" || u == "" {
		return Target{}, fmt.Errorf("target %q: want name=URL", s)
	}
	return Target{Name: name, URL: u}, nil
}

// CompareOptions describe a comparison: the same load against each target,
// in rounds.
type CompareOptions struct {
	Targets []Target
	// Load is the scenario; its URL is replaced by each target's.
	Load   HTTPOptions
	Rounds int
}

// TargetResult is one target's figures over the rounds: medians of the
// rounds, and ratios to the first target (the median of the per-round
// ratios, with their range).
type TargetResult struct {
	Target
	Runs       []*Result
	Throughput float64
	P50, P99   time.Duration
	Errors     int64
	// Ratios to the first target, per round and their median.
	ThroughputRatio, P99Ratio Spread
	// Latency is every round's latency merged (for plots).
	Latency *hdrhistogram.Histogram
}

// Spread is a median with the range it was taken from.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func spreadOf(v []float64) Spread {
	if len(v) == 0 {
		return Spread{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return Spread{Median: median(s), Min: s[0], Max: s[len(s)-1]}
}

// median of sorted values.
func median(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// CompareProgress says which run is under way.
type CompareProgress struct {
	Round  int
	Target string
	Progress
}

// RunCompare runs the load against every target in each round, rotating
// the order from round to round so that a noisy moment does not always
// fall on the same target. A cancelled comparison returns the rounds done
// so far (the run under way included, marked interrupted).
func RunCompare(ctx context.Context, o CompareOptions, interval time.Duration, progress func(CompareProgress)) ([]*TargetResult, error) {
	if len(o.Targets) < 1 {
		return nil, errors.New("give at least one --target name=URL")
	}
	if o.Rounds < 1 {
		return nil, fmt.Errorf("rounds must be at least 1, got %d", o.Rounds)
	}
	results := make([]*TargetResult, len(o.Targets))
	seen := map[string]bool{}
	for i, t := range o.Targets {
		if seen[t.Name] {
			return nil, fmt.Errorf("two targets are named %q", t.Name)
		}
		seen[t.Name] = true
		load := o.Load
		load.URL = t.URL
		if err := load.Validate(); err != nil {
			return nil, fmt.Errorf("target %s: %w", t.Name, err)
		}
		results[i] = &TargetResult{Target: t, Latency: newLatencyHistogram()}
	}
	for round := 1; round <= o.Rounds && ctx.Err() == nil; round++ {
		for k := range o.Targets {
			i := (k + round - 1) % len(o.Targets)
			tr := results[i]
			load := o.Load
			load.URL = tr.URL
			var report func(Progress)
			if progress != nil {
				report = func(p Progress) { progress(CompareProgress{Round: round, Target: tr.Name, Progress: p}) }
			}
			r, err := RunHTTP(ctx, load, interval, report)
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				return nil, fmt.Errorf("target %s, round %d: %w", tr.Name, round, err)
			}
			tr.Runs = append(tr.Runs, r)
			tr.Latency.Merge(r.hist)
			if ctx.Err() != nil {
				break
			}
		}
	}
	summarizeRounds(results)
	return results, nil
}

// summarizeRounds computes each target's medians and its ratios to the first
// target, round by round.
func summarizeRounds(results []*TargetResult) {
	base := results[0]
	for _, tr := range results {
		var rps, p50, p99, ratio, p99ratio []float64
		tr.Errors = 0
		for i, r := range tr.Runs {
			rps = append(rps, r.Throughput)
			p50 = append(p50, float64(r.Latency.P50))
			p99 = append(p99, float64(r.Latency.P99))
			for _, n := range r.Errors {
				tr.Errors += n
			}
			if i < len(base.Runs) && base.Runs[i].Throughput > 0 && base.Runs[i].Latency.P99 > 0 {
				ratio = append(ratio, r.Throughput/base.Runs[i].Throughput)
				p99ratio = append(p99ratio, float64(r.Latency.P99)/float64(base.Runs[i].Latency.P99))
			}
		}
		tr.Throughput = spreadOf(rps).Median
		tr.P50 = time.Duration(spreadOf(p50).Median)
		tr.P99 = time.Duration(spreadOf(p99).Median)
		tr.ThroughputRatio, tr.P99Ratio = spreadOf(ratio), spreadOf(p99ratio)
	}
}

// WriteCompareTable prints a comparison for people: ratios to the first
// target first, absolute figures second.
func WriteCompareTable(w io.Writer, results []*TargetResult) {
	if len(results) == 0 {
		return
	}
	base := results[0].Name
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "target\treq/s ratio to %s (per-round range)\tp99 ratio (range)\treq/s\tp50\tp99\terrors\trounds\n", base)
	for _, tr := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%s\t%s\t%d\t%d\n", tr.Name, tr.ThroughputRatio.format(), tr.P99Ratio.format(),
			tr.Throughput, Millis(tr.P50), Millis(tr.P99), tr.Errors, len(tr.Runs))
	}
	tw.Flush()
}

func (s Spread) format() string {
	if s.Min == s.Max {
		return fmt.Sprintf("%.2f", s.Median)
	}
	return fmt.Sprintf("%.2f (%.2f-%.2f)", s.Median, s.Min, s.Max)
}

// WriteCompareJSON prints a comparison for scripts (milliseconds).
func WriteCompareJSON(w io.Writer, results []*TargetResult) error {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	var out []map[string]any
	for _, tr := range results {
		var rounds []map[string]any
		for _, r := range tr.Runs {
			rounds = append(rounds, map[string]any{"requests_per_second": r.Throughput, "p50_ms": ms(r.Latency.P50),
				"p99_ms": ms(r.Latency.P99), "requests": r.Requests, "errors": r.Errors, "interrupted": r.Interrupted})
		}
		out = append(out, map[string]any{
			"name": tr.Name, "url": tr.URL, "requests_per_second": tr.Throughput, "p50_ms": ms(tr.P50), "p99_ms": ms(tr.P99),
			"errors": tr.Errors, "rounds": rounds,
			"ratio_to_first": map[string]any{
				"requests_per_second": tr.ThroughputRatio, "p99": tr.P99Ratio,
			},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
