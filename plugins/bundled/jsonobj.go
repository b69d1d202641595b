package bundled

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unsafe"

	"github.com/portico-gw/portico/plugins"
)

// jsonObject is a JSON object's members in order, their values kept as
// the raw JSON they were: the transformers change members and write the
// object back without decoding what they do not touch (Kong decodes and
// re-encodes the whole body with cjson, losing the members' order, which
// JSON does not give a meaning to).
type jsonObject struct {
	members []member
	out     []byte
}

type member struct {
	key   string // decoded
	value []byte // raw JSON
	gone  bool
}

func (o *jsonObject) reset() {
	for i := range o.members {
		o.members[i] = member{}
	}
	o.members, o.out = o.members[:0], o.out[:0]
}

// parse reads body, which must be a JSON object; ok is false for anything
// else (invalid JSON, an array, a scalar), which the transformers leave as
// it is. The object borrows body's bytes: body must not change while the
// object is in use.
func (o *jsonObject) parse(body []byte) bool {
	o.reset()
	if !json.Valid(body) {
		return false
	}
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	i = skipSpace(body, i+1)
	if body[i] == '}' {
		return true
	}
	for {
		end := stringEnd(body, i)
		key := body[i+1 : end-1]
		var k string
		if bytes.IndexByte(key, '\\') >= 0 {
			json.Unmarshal(body[i:end], &k)
		} else {
			// Borrowed from body, which outlives the object's use.
			k = unsafe.String(unsafe.SliceData(key), len(key))
		}
		i = skipSpace(body, end)
		i = skipSpace(body, i+1) // ':'
		vend := valueEnd(body, i)
		o.set(k, body[i:vend])
		i = skipSpace(body, vend)
		if body[i] == '}' {
			return true
		}
		i = skipSpace(body, i+1) // ','
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string starting at i (valid JSON).
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// valueEnd returns the index after the value starting at i (valid JSON).
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = stringEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}

// find returns the member named key, nil when absent.
func (o *jsonObject) find(key string) *member {
	for i := range o.members {
		if m := &o.members[i]; !m.gone && m.key == key {
			return m
		}
	}
	return nil
}

// truthy reports a member Lua sees as true: present, and neither null's
// absence nor false (cjson's null is a value, so it counts).
func (o *jsonObject) truthy(key string) bool {
	m := o.find(key)
	return m != nil && string(m.value) != "false"
}

// remove deletes key; it reports whether it was there.
func (o *jsonObject) remove(key string) bool {
	if m := o.find(key); m != nil {
		m.gone = true
		return true
	}
	return false
}

// set gives key the raw value, in place when it exists.
func (o *jsonObject) set(key string, value []byte) {
	if m := o.find(key); m != nil {
		m.value = value
		return
	}
	o.members = append(o.members, member{key: key, value: value})
}

// rename moves from's value to to, replacing to's.
func (o *jsonObject) rename(from, to string) {
	m := o.find(from)
	if m == nil || from == to {
		return
	}
	if t := o.find(to); t != nil {
		t.value = m.value
		m.gone = true
		return
	}
	m.key = to
}

// appendValue adds value to key as Lua's append_value does: a string
// becomes an array of it and value, an array gets value at its end, an
// object gets it as member "1", anything else (absent, a number, a boolean,
// null) is replaced by an array of value alone.
func (o *jsonObject) appendValue(key string, value []byte) {
	m := o.find(key)
	if m == nil {
		o.members = append(o.members, member{key: key, value: o.arrayOf(nil, value)})
		return
	}
	switch m.value[0] {
	case '"':
		m.value = o.arrayOf(m.value, value)
	case '[':
		inner := bytes.TrimSpace(m.value[1 : len(m.value)-1])
		m.value = o.arrayOf(inner, value)
	case '{':
		inner := bytes.TrimSpace(m.value[1 : len(m.value)-1])
		start := len(o.out)
		o.out = append(o.out, '{')
		if len(inner) > 0 {
			o.out = append(append(o.out, inner...), ',')
		}
		o.out = append(append(append(o.out, `"1":`...), value...), '}')
		m.value = o.out[start:len(o.out):len(o.out)]
	default:
		m.value = o.arrayOf(nil, value)
	}
}

// arrayOf writes [first, value] (first may be nil or several elements).
func (o *jsonObject) arrayOf(first, value []byte) []byte {
	start := len(o.out)
	o.out = append(o.out, '[')
	if len(first) > 0 {
		o.out = append(append(o.out, first...), ',')
	}
	o.out = append(append(o.out, value...), ']')
	return o.out[start:len(o.out):len(o.out)]
}

// appendTo writes the object.
func (o *jsonObject) appendTo(dst []byte) []byte {
	dst = append(dst, '{')
	first := true
	for i := range o.members {
		m := &o.members[i]
		if m.gone {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, m.key)
		dst = append(append(dst, ':'), m.value...)
	}
	return append(dst, '}')
}

// appendJSONBytes is appendJSONString of a byte slice.
func appendJSONBytes(dst, b []byte) []byte {
	return appendJSONString(dst, unsafe.String(unsafe.SliceData(b), len(b)))
}

// appendJSONString writes s as a JSON string ("/" unescaped, as the
// transformers put it back).
func appendJSONString(dst []byte, s string) []byte { return plugins.AppendJSONString(dst, s) }

// jsonTypedValue is response-transformer's json_value: the configured text
// as a JSON string, or cast to a number (nil when it is not one) or a
// boolean ("true" is true, anything else false) when json_types says so.
func jsonTypedValue(text, typ string) []byte {
	switch typ {
	case "number":
		f, ok := luaNumber(text)
		if !ok {
			return nil
		}
		return strconv.AppendFloat(nil, f, 'g', 14, 64)
	case "boolean":
		if text == "true" {
			return []byte("true")
		}
		return []byte("false")
	}
	return appendJSONString(nil, text)
}

// luaNumber is Lua's tonumber on a string: decimal or hexadecimal, spaces
// around allowed.
func luaNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		n, err := strconv.ParseUint(s[2:], 16, 64)
		return float64(n), err == nil
	}
	if s == "" || strings.Trim(s, "0123456789.eE+-") != "" {
		return 0, false // no inf, nan or underscores, which Lua refuses
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}
