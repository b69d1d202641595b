package admin

// Golden error bodies, in the spirit of Caddy's .caddyfiletest files. Each
// testdata/errors/*.txt holds:
//
//	# comments (where Kong's behaviour comes from)
//	METHOD /path
//	Header: value
//
//	body
//	----------
//	status
//	{ pretty JSON body }
//
// Requests before the last one, each ended by a "++++++++++" line, set the
// store up and must succeed. Ids and timestamps in the answer are replaced by
// placeholders. Run `go test ./admin -run TestGoldenErrors -update` to rewrite
// the expected halves (then review the diff against Kong).

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/db"
)

var updateGolden = flag.Bool("update", false, "rewrite the expected halves of admin/testdata golden files")

const (
	goldenResponseSep = "----------"
	goldenRequestSep  = "++++++++++"
)

type goldenRequest struct {
	method, path string
	headers      [][2]string
	body         []byte
}

// parseGoldenRequests reads the request half of a golden file.
func parseGoldenRequests(tb testing.TB, text string) []goldenRequest {
	tb.Helper()
	var out []goldenRequest
	for _, chunk := range strings.Split(text, "\n"+goldenRequestSep+"\n") {
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(chunk), "\n") {
			if !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
		if len(lines) == 0 {
			tb.Fatal("empty request")
		}
		method, path, ok := strings.Cut(lines[0], " ")
		if !ok {
			tb.Fatalf("request line %q: want METHOD /path", lines[0])
		}
		req := goldenRequest{method: method, path: path}
		i := 1
		for ; i < len(lines) && lines[i] != ""; i++ {
			name, value, ok := strings.Cut(lines[i], ":")
			if !ok {
				tb.Fatalf("header line %q", lines[i])
			}
			req.headers = append(req.headers, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
		}
		if i < len(lines) {
			req.body = []byte(strings.Join(lines[i+1:], "\n"))
		}
		out = append(out, req)
	}
	return out
}

func (h *harness) sendGolden(req goldenRequest) *response {
	h.tb.Helper()
	ct := ""
	for _, kv := range req.headers {
		if strings.EqualFold(kv[0], "Content-Type") {
			ct = kv[1]
		} else {
			h.tb.Fatalf("unsupported header %q in golden request", kv[0])
		}
	}
	return h.do(req.method, req.path, ct, req.body)
}

var uuidRE = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// normalise replaces ids (numbered by first appearance) and timestamps by
// placeholders, and pretty-prints the body with sorted keys.
func normalise(tb testing.TB, r *response) string {
	tb.Helper()
	seen := map[string]string{}
	var walk func(key string, v any) any
	walk = func(key string, v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				v[k] = walk(k, x)
			}
			return v
		case []any:
			for i, x := range v {
				v[i] = walk("", x)
			}
			return v
		case float64:
			if key == "created_at" || key == "updated_at" {
				return "<timestamp>"
			}
			return v
		case string:
			return uuidRE.ReplaceAllStringFunc(v, func(id string) string {
				if _, ok := seen[id]; !ok {
					seen[id] = fmt.Sprintf("<uuid-%d>", len(seen)+1)
				}
				return seen[id]
			})
		}
		return v
	}
	out := strconv.Itoa(r.status) + "\n"
	if r.body == nil {
		return out
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(walk("", r.body)); err != nil {
		tb.Fatal(err)
	}
	return out + buf.String()
}

func TestGoldenErrors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "errors", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden files in testdata/errors")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			text := string(raw)
			reqText, want, ok := strings.Cut(text, "\n"+goldenResponseSep+"\n")
			if !ok {
				t.Fatalf("no %q line", goldenResponseSep)
			}
			reqs := parseGoldenRequests(t, reqText)
			ids := 0
			h := newHarnessWith(t, db.Options{
				Now:   func() time.Time { return time.Unix(1700000000, 0) },
				NewID: func() string { ids++; return fmt.Sprintf("00000000-0000-4000-8000-%012d", ids) },
			})
			for _, req := range reqs[:len(reqs)-1] {
				if r := h.sendGolden(req); r.status >= 300 {
					t.Fatalf("setup %s %s: %d %s", req.method, req.path, r.status, r.raw)
				}
			}
			got := normalise(t, h.sendGolden(reqs[len(reqs)-1]))
			if *updateGolden {
				if err := os.WriteFile(file, []byte(reqText+"\n"+goldenResponseSep+"\n"+got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != want {
				t.Errorf("%s: answer differs (run with -update to rewrite, then check against Kong)\n--- got\n%s--- want\n%s",
					file, got, want)
			}
		})
	}
}
