package jsonrow

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

func encodingJSON(v any, html bool) ([]byte, error) {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(html)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

var values = []any{
	nil, "", "plain", "quo\"te", "back\\slash", "<a&b>", "tab\there", "\b\f\x01", "é", "\u2028", "bad\xffutf8",
	true, false, 0.0, -0.0, 1.5, -3.25, 1e-7, 1e21, 123456789012345.0, 1e20, 0.1, 1700000000123.0,
	1, -42, int64(1 << 60), int32(7), uint8(3), float32(1.1),
	[]any{}, []any(nil), []any{1.0, "x", nil, map[string]any{}},
	[]string{"a", "<b>"}, []string(nil), map[string]any(nil),
	map[string]any{"b": 1.0, "a": "x", "<k>": true, "nested": map[string]any{"z": []any{"q"}, "é": 2.0}},
	map[string]string{"k": "v"}, time.Unix(1, 0).UTC(), json.RawMessage(`{"b":1, "a":2}`),
	map[string]any{"raw": json.RawMessage(`[1, 2]`)},
}

func TestAppendMatchesEncodingJSON(t *testing.T) {
	for _, html := range []bool{true, false} {
		for _, v := range values {
			want, werr := encodingJSON(v, html)
			got, err := Append(nil, v, html)
			if (err != nil) != (werr != nil) || !bytes.Equal(got, want) {
				t.Errorf("Append(%#v, html=%v) = %s, %v; want %s, %v", v, html, got, err, want, werr)
			}
		}
	}
	for _, bad := range []any{math.NaN(), math.Inf(1), map[string]any{"x": math.NaN()}, []any{func() {}}} {
		_, werr := json.Marshal(bad)
		if _, err := Marshal(bad); err == nil || err.Error() != werr.Error() {
			t.Errorf("Marshal(%v) error %v, want %v", bad, err, werr)
		}
	}
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	if _, err := Marshal(cyclic); err == nil {
		t.Error("a cyclic map encoded")
	}
}

func TestUnmarshalMatchesEncodingJSON(t *testing.T) {
	docs := []string{
		`{}`, `[]`, `null`, `true`, ` {"a" : [1, 2.5, -0, -0.125, "x", null, false, {"b":{}}] } `,
		`{"s":"esc\"aped","u":"\u00e9","raw":"é","big":1e300,"exp":1E-7,"dup":1,"dup":2}`,
		`{"n":12345678901234567890123}`, `{"f":1.7976931348623157e309}`, `01`, `{"a":1,}`, `[1 2]`, `{"a":tru}`,
		`{"a":-}`, `{"a":1.}`, `"bad` + "\xff" + `"`, `{"a":"ctl` + "\x01" + `"}`, ``, `{} x`, `[1,]`, `{"a"}`,
	}
	for _, doc := range docs {
		var want any
		werr := json.Unmarshal([]byte(doc), &want)
		got, err := Unmarshal([]byte(doc))
		if (err != nil) != (werr != nil) || err != nil && err.Error() != werr.Error() || !reflect.DeepEqual(got, want) {
			t.Errorf("Unmarshal(%s) = %#v, %v; want %#v, %v", doc, got, err, want, werr)
		}
	}
	// Round trip of the encoder's output.
	for _, v := range values {
		enc, err := json.Marshal(v)
		if err != nil {
			continue
		}
		var want any
		_ = json.Unmarshal(enc, &want)
		got, err := Unmarshal(enc)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Unmarshal(%s) = %#v, %v; want %#v", enc, got, err, want)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(`{"a":[1,"x",null,{"b":-2.5}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		var want any
		werr := json.Unmarshal(doc, &want)
		got, err := Unmarshal(doc)
		if (err != nil) != (werr != nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("Unmarshal(%q) = %#v, %v; want %#v, %v", doc, got, err, want, werr)
		}
		if werr == nil {
			a, aerr := json.Marshal(want)
			b, berr := Marshal(want)
			if (aerr != nil) != (berr != nil) || !bytes.Equal(a, b) {
				t.Errorf("Marshal(%#v) = %s, %v; want %s, %v", want, b, berr, a, aerr)
			}
		}
	})
}
