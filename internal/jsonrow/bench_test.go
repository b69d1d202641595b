package jsonrow

import (
	"encoding/json"
	"testing"
)

// row is a delivery record as the outcome recorder reads and rewrites it.
var row = []byte(`{"id":"0193a2b4-0000-7000-8000-000000000001","event_hook":{"id":"0193a2b4-0000-7000-8000-000000000002"},` +
	`"handler":"webhook","source":"crud","event":"consumers","payload":"0193a2b4-0000-7000-8000-000000000003",` +
	`"status":"delivered","created_at":1733250000123,"t":1733250000456,"since":1733250000123,` +
	`"updated_at":1733250000456,"attempts":[{"at":1733250000400,"status_code":200,"duration_ms":1.5}],"retry_from":0}`)

func BenchmarkDecode(b *testing.B) {
	b.Run("jsonrow", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Unmarshal(row); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var x any
			if err := json.Unmarshal(row, &x); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	x, _ := Unmarshal(row)
	b.Run("jsonrow", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Marshal(x); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(x); err != nil {
				b.Fatal(err)
			}
		}
	})
}
