package e2e

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// portico bench http loads a running node's Admin API and proxy; bench
// compare alternates the two and draws them.
func TestBenchHTTPAgainstTheGateway(t *testing.T) {
	g := startGateway(t)
	out, errOut, code := runBench(t, time.Minute, "http", "--json", "--quiet", "-c", "4", "-n", "300", g.adminURL("/status"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r struct {
		Requests int64            `json:"requests"`
		Statuses map[string]int64 `json:"statuses"`
		Latency  map[string]float64
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.Requests != 300 || r.Statuses["200"] != 300 {
		t.Fatalf("requests %d, statuses %v", r.Requests, r.Statuses)
	}

	// The proxy has no route yet: every answer is Kong's 404, counted.
	out, _, code = runBench(t, time.Minute, "http", "--quiet", "-n", "50", "-c", "2", g.proxyURL("/nothing"))
	if code != 0 || !strings.Contains(out, "404: 50") {
		t.Fatalf("exit %d:\n%s", code, out)
	}

	plot := filepath.Join(t.TempDir(), "compare.svg")
	out, errOut, code = runBench(t, time.Minute, "compare", "--quiet", "--rounds", "2", "-c", "2", "-n", "100",
		"--target", "admin="+g.adminURL("/status"), "--target", "proxy="+g.proxyURL("/nothing"), "--plot", plot)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "req/s ratio to admin") || !strings.Contains(out, "proxy") {
		t.Fatalf("compare printed:\n%s", out)
	}
	svg, err := os.ReadFile(plot)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Lines []struct{} `xml:"polyline"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil || len(doc.Lines) != 2 {
		t.Fatalf("plot: %v, %d curves", err, len(doc.Lines))
	}
}

// Bad input ends at once with a message and a non-zero exit.
func TestBenchHTTPBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"http", "http://127.0.0.1:1/"}, 1, "cannot connect"},
		{[]string{"http", "not a url"}, 2, "invalid URL"},
		{[]string{"http", "--rate", "0", "http://127.0.0.1:1/"}, 2, "rate must be a positive"},
		{[]string{"http", "--rate", "-3", "http://127.0.0.1:1/"}, 2, "rate must be a positive"},
		{[]string{"http"}, 2, "exactly one URL"},
		{[]string{"compare", "--target", "nonsense"}, 2, "want name=URL"},
		{[]string{"nope"}, 2, "unknown bench command"},
	} {
		_, errOut, code := runBench(t, time.Minute, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("bench %v: exit %d, stderr %q; want exit %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
}
