package bench

import (
	"bytes"
	"context"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestParseTarget(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    Target
		wantErr bool
	}{
		{"nginx=http://127.0.0.1:8080/", Target{"nginx", "http://127.0.0.1:8080/"}, false},
		{"a=http://h/?x=1", Target{"a", "http://h/?x=1"}, false},
		{"http://127.0.0.1/", Target{}, true},
		{"=http://h/", Target{}, true},
		{"name=", Target{}, true},
	} {
		got, err := ParseTarget(c.in)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("ParseTarget(%q) = %v, %v", c.in, got, err)
		}
	}
}

// A slower target shows as a ratio below 1 to the first target, in every
// round, and the plot draws both.
func TestRunCompare(t *testing.T) {
	fast, _ := testServer(t, func(*fasthttp.RequestCtx) {})
	slow, _ := testServer(t, func(*fasthttp.RequestCtx) { time.Sleep(2 * time.Millisecond) })
	results, err := RunCompare(context.Background(), CompareOptions{
		Targets: []Target{{"fast", fast}, {"slow", slow}},
		Load:    HTTPOptions{Concurrency: 2, Duration: 200 * time.Millisecond},
		Rounds:  3,
	}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || len(results[0].Runs) != 3 || len(results[1].Runs) != 3 {
		t.Fatalf("results %+v", results)
	}
	if r := results[0].ThroughputRatio; r.Median != 1 || r.Min != 1 || r.Max != 1 {
		t.Fatalf("the reference's own ratio is %+v", r)
	}
	if r := results[1].ThroughputRatio; r.Max >= 1 || r.Median <= 0 {
		t.Fatalf("slow/fast throughput ratio %+v, want below 1 in every round", r)
	}
	if results[1].P50 < 2*time.Millisecond {
		t.Fatalf("slow p50 %v", results[1].P50)
	}
	var table bytes.Buffer
	WriteCompareTable(&table, results)
	if !strings.Contains(table.String(), "req/s ratio to fast") || !strings.Contains(table.String(), "slow") {
		t.Fatalf("table:\n%s", table.String())
	}
	var svg bytes.Buffer
	if err := WriteLatencyPlot(&svg, "a <test>", results); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Polylines []struct {
			Points string `xml:"points,attr"`
		} `xml:"polyline"`
		Texts []string `xml:"text"`
	}
	if err := xml.Unmarshal(svg.Bytes(), &doc); err != nil {
		t.Fatalf("the plot is not well-formed SVG: %v", err)
	}
	if len(doc.Polylines) != 2 || len(strings.Fields(doc.Polylines[1].Points)) < 100 {
		t.Fatalf("%d curves", len(doc.Polylines))
	}
	if !strings.Contains(strings.Join(doc.Texts, "|"), "a <test>") {
		t.Fatalf("title missing from %q", doc.Texts)
	}
}

func TestRunCompareRefuses(t *testing.T) {
	url, _ := testServer(t, func(*fasthttp.RequestCtx) {})
	load := HTTPOptions{Concurrency: 1, Requests: 1}
	for _, c := range []struct {
		name string
		o    CompareOptions
		want string
	}{
		{"no target", CompareOptions{Load: load, Rounds: 1}, "at least one"},
		{"no rounds", CompareOptions{Targets: []Target{{"a", url}}, Load: load}, "rounds"},
		{"the same name twice", CompareOptions{Targets: []Target{{"a", url}, {"a", url}}, Load: load, Rounds: 1}, "two targets"},
		{"a bad URL", CompareOptions{Targets: []Target{{"a", url}, {"b", "nope"}}, Load: load, Rounds: 1}, "target b: invalid URL"},
		{"an unreachable target", CompareOptions{Targets: []Target{{"a", url}, {"b", "http://127.0.0.1:1/"}}, Load: load, Rounds: 1}, "target b, round 1: cannot connect"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := RunCompare(context.Background(), c.o, 0, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestNiceScale(t *testing.T) {
	for _, c := range []struct{ max, top, step float64 }{
		{0, 1, 0.2}, {0.83, 0.9, 0.1}, {4.06, 4.5, 0.5}, {12.5, 14, 2}, {97, 100, 10}, {1000, 1000, 100},
	} {
		top, step := niceScale(c.max)
		if top < c.max || top/step > 10.0001 || top/step < 1 {
			t.Errorf("niceScale(%g) = %g, %g", c.max, top, step)
		}
		if top != c.top || step != c.step {
			t.Errorf("niceScale(%g) = %g, %g, want %g, %g", c.max, top, step, c.top, c.step)
		}
	}
}
