package bench

import (
	"net/http"
	"strings"
	"testing"
)

func TestSink(t *testing.T) {
	tests := []struct {
		name      string
		opts      SinkOptions
		requests  int
		want      []int
		accepted  int64
		bodyBytes int64
	}{
		{"answers 200", SinkOptions{}, 2, []int{200, 200}, 2, 4},
		{"fails the first", SinkOptions{FailFirst: 2}, 3, []int{503, 503, 200}, 1, 6},
		{"fixed status", SinkOptions{Status: 410}, 1, []int{410}, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSink("127.0.0.1:0", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			go s.Serve()
			defer s.Close()
			for i := 0; i < tt.requests; i++ {
				resp, err := http.Post(s.URL(), "application/json", strings.NewReader("{}"))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.want[i] {
					t.Fatalf("request %d: status %d, want %d", i, resp.StatusCode, tt.want[i])
				}
			}
			if s.Received() != int64(tt.requests) || s.Accepted() != tt.accepted || s.Bytes() != tt.bodyBytes {
				t.Fatalf("received %d, accepted %d, bytes %d", s.Received(), s.Accepted(), s.Bytes())
			}
		})
	}
}
