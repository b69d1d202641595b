package delivery

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// The hand-encoded rows decode to what encoding/json makes of the maps
// they replace, whatever the strings and times hold.
func TestEncodedRowsMatchJSON(t *testing.T) {
	now := time.UnixMilli(1764784512345)
	snap := map[string]any{"id": "h", "config": map[string]any{"url": "http://x/?a=1&b=<2>"}}
	cases := []newDelivery{
		{id: "0193f2c4-aaaa-7bbb-8ccc-000000000001", hookID: "hook-1", handler: "webhook", source: "crud",
			event: "consumers:create", payload: "p-1", at: unixMS(now)},
		{id: "d\"2\\", hookID: "h\u00e9\n", handler: "log", source: "dao:crud", event: "<&>\u2028", payload: "p\t2",
			at: 0.001, snapshot: snap},
		{id: "d3", hookID: "h", handler: "x", source: "s", event: "e", payload: "p", at: 1e-9},
	}
	for _, d := range cases {
		b, err := d.encode([]byte("junk"))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b[4:], &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		want := map[string]any{"id": d.id, "event_hook": map[string]any{"id": d.hookID}, "handler": d.handler,
			"source": d.source, "event": d.event, "payload": d.payload, "status": StatusPending,
			"created_at": d.at, "t": d.at}
		if d.snapshot != nil {
			want["hook"] = d.snapshot
		}
		wantJSON, _ := json.Marshal(want)
		var wantDecoded map[string]any
		_ = json.Unmarshal(wantJSON, &wantDecoded)
		if !reflect.DeepEqual(got, wantDecoded) {
			t.Errorf("encoded %s\ndecodes to %#v\nwant       %#v", b, got, wantDecoded)
		}
		if m, r := d.meta(), record(got).meta(); !reflect.DeepEqual(m, r) {
			t.Errorf("meta %+v, the record's %+v", m, r)
		}
		for _, f := range []string{"event_hook", "status", "t"} {
			if v := d.Field(f); f != "event_hook" && !reflect.DeepEqual(v, got[f]) {
				t.Errorf("Field(%q) = %#v, the row holds %#v", f, v, got[f])
			}
		}
	}

	raw, _ := json.Marshal(map[string]any{"entity": map[string]any{"username": "a\"b"}, "n": 1.5})
	p := &payload{id: "p-1", raw: raw, deliveries: []string{"d1", "d2"}}
	var got map[string]any
	if err := json.Unmarshal(encodePayload(p, now), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": "p-1", "data": map[string]any{"entity": map[string]any{"username": "a\"b"}, "n": 1.5},
		"deliveries": []any{"d1", "d2"}, "created_at": unixMS(now)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("payload %#v, want %#v", got, want)
	}
}
