// Package jsonrow encodes and decodes rows (map[string]any as the store and
// the schema engine hand them out) without reflection. Every write encodes
// its row, every read and update decodes one, and encoding/json's
// reflection was a tenth of a node's CPU under writes.
//
// The output is byte for byte encoding/json's (keys sorted, the same
// escaping and number formats), and decoding gives the same values (objects
// map[string]any, arrays []any, numbers float64). Anything off the common
// path (a type other than the JSON ones and Go's ints and []string, a
// string needing escapes, a number in exponent form, malformed input) is
// handed to encoding/json, so results and errors stay exactly its own.
package jsonrow

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// maxDepth is where encoding gives up on its own and lets encoding/json
// (which detects cycles) report the value.
const maxDepth = 500

// Marshal is json.Marshal(v).
func Marshal(v any) ([]byte, error) {
	return Append(make([]byte, 0, 256), v, true)
}

// Append appends v's JSON to b, as json.Marshal writes it, or as an
// Encoder with SetEscapeHTML(false) does when escapeHTML is false (without
// its newline).
func Append(b []byte, v any, escapeHTML bool) ([]byte, error) {
	return appendValue(b, v, escapeHTML, 0)
}

func appendValue(b []byte, v any, html bool, depth int) ([]byte, error) {
	if depth > maxDepth {
		return fallback(b, v, html)
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x, html), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		if a := math.Abs(x); a != 0 && (a < 1e-6 || a >= 1e21) || math.IsNaN(x) || math.IsInf(x, 0) {
			return fallback(b, v, html)
		}
		return strconv.AppendFloat(b, x, 'f', -1, 64), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case map[string]any:
		if x == nil {
			return append(b, "null"...), nil
		}
		return appendObject(b, x, html, depth)
	case []any:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e, html, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case []string:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e, html)
		}
		return append(b, ']'), nil
	}
	return fallback(b, v, html)
}

func appendObject(b []byte, m map[string]any, html bool, depth int) ([]byte, error) {
	var arr [32]string
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k, html)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, m[k], html, depth+1); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendString writes strings of plain printable ASCII itself; others
// (escapes, non-ASCII: U+2028, invalid UTF-8) go through encoding/json.
func appendString(b []byte, s string, html bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || html && (c == '<' || c == '>' || c == '&') {
			b, _ = fallback(b, s, html) // a string always encodes
			return b
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// fallback appends v as encoding/json encodes it.
func fallback(b []byte, v any, html bool) ([]byte, error) {
	if html {
		enc, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return append(b, enc...), nil
	}
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...), nil
}

// Unmarshal decodes data as json.Unmarshal(data, &v) with v an any.
func Unmarshal(data []byte) (any, error) {
	// One copy of the input, of which every key and string is a part: one
	// allocation instead of one a string.
	d := decoder{data: data, s: string(data)}
	v, ok := d.value(0)
	if ok {
		d.space()
		ok = d.i == len(d.data)
	}
	if !ok {
		// Off the fast path, or malformed: encoding/json decides, with its
		// own error.
		var x any
		err := json.Unmarshal(data, &x)
		return x, err
	}
	return v, nil
}

type member struct {
	k string
	v any
}

type decoder struct {
	data []byte
	s    string // data
	i    int
}

func (d *decoder) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// value decodes the value at d.i; ok is false when the fast path cannot.
func (d *decoder) value(depth int) (any, bool) {
	if depth > maxDepth {
		return nil, false
	}
	d.space()
	if d.i >= len(d.data) {
		return nil, false
	}
	switch c := d.data[d.i]; {
	case c == '{':
		d.i++
		// The members are gathered first and the map made at its size:
		// rows have more fields than a small map holds, and growing it
		// cost as much as the decoding.
		var arr [16]member
		ms := arr[:0]
		d.space()
		if d.i < len(d.data) && d.data[d.i] == '}' {
			d.i++
			return map[string]any{}, true
		}
		for {
			d.space()
			if d.i >= len(d.data) || d.data[d.i] != '"' {
				return nil, false
			}
			k, ok := d.str()
			if !ok {
				return nil, false
			}
			d.space()
			if d.i >= len(d.data) || d.data[d.i] != ':' {
				return nil, false
			}
			d.i++
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			ms = append(ms, member{k, v})
			d.space()
			if d.i >= len(d.data) {
				return nil, false
			}
			switch d.data[d.i] {
			case ',':
				d.i++
			case '}':
				d.i++
				m := make(map[string]any, len(ms))
				for _, e := range ms {
					m[e.k] = e.v // a repeated key: the last wins, as in encoding/json
				}
				return m, true
			default:
				return nil, false
			}
		}
	case c == '[':
		d.i++
		a := make([]any, 0)
		d.space()
		if d.i < len(d.data) && d.data[d.i] == ']' {
			d.i++
			return a, true
		}
		for {
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			a = append(a, v)
			d.space()
			if d.i >= len(d.data) {
				return nil, false
			}
			switch d.data[d.i] {
			case ',':
				d.i++
			case ']':
				d.i++
				return a, true
			default:
				return nil, false
			}
		}
	case c == '"':
		return d.str()
	case c == 't':
		return true, d.word("true")
	case c == 'f':
		return false, d.word("false")
	case c == 'n':
		return nil, d.word("null")
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return nil, false
}

func (d *decoder) word(w string) bool {
	if len(d.data)-d.i < len(w) || string(d.data[d.i:d.i+len(w)]) != w {
		return false
	}
	d.i += len(w)
	return true
}

// str decodes a string of printable ASCII without escapes.
func (d *decoder) str() (string, bool) {
	start := d.i + 1
	for j := start; j < len(d.data); j++ {
		switch c := d.data[j]; {
		case c == '"':
			d.i = j + 1
			return d.s[start:j], true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return "", false
		}
	}
	return "", false
}

// number decodes an integer or decimal fraction in JSON's grammar (no
// exponent: encoding/json writes none below 1e21).
func (d *decoder) number() (float64, bool) {
	start, j := d.i, d.i
	if d.data[j] == '-' {
		j++
	}
	switch {
	case j < len(d.data) && d.data[j] == '0':
		j++
	case j < len(d.data) && d.data[j] >= '1' && d.data[j] <= '9':
		for j < len(d.data) && d.data[j] >= '0' && d.data[j] <= '9' {
			j++
		}
	default:
		return 0, false
	}
	if j < len(d.data) && d.data[j] == '.' {
		j++
		k := j
		for j < len(d.data) && d.data[j] >= '0' && d.data[j] <= '9' {
			j++
		}
		if j == k {
			return 0, false
		}
	}
	if j < len(d.data) && (d.data[j] == 'e' || d.data[j] == 'E') {
		return 0, false
	}
	f, err := strconv.ParseFloat(d.s[start:j], 64)
	if err != nil {
		return 0, false
	}
	d.i = j
	return f, true
}
