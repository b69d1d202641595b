package lua

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// null is ngx.null and cjson.null: one value every state shares, so that
// a value decoded by one state compares equal in another. It is never
// changed after init.
var null = func() *lua.LUserData {
	mt := &lua.LTable{}
	mt.RawSetString("__tostring", &lua.LFunction{IsG: true, GFunction: func(L *lua.LState) int {
		L.Push(lua.LString("userdata: NULL"))
		return 1
	}})
	return &lua.LUserData{Value: nil, Metatable: mt}
}()

// emptyArray is cjson.empty_array; arrayMT is cjson.array_mt (a table
// with it encodes as an array, even when empty).
var (
	emptyArray = &lua.LUserData{Value: "empty_array", Metatable: lua.LNil}
	arrayMT    = &lua.LTable{}
)

const maxJSONDepth = 1000

// encodeJSON writes v as lua-cjson does (the encoder Kong's PDK uses):
// tables whose keys are exactly 1..n are arrays, other tables objects
// (an empty table is {}), integers print without a fraction, other
// numbers with 14 significant digits, and "/" is escaped.
func encodeJSON(buf []byte, v lua.LValue, depth int) ([]byte, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("Cannot serialise, excessive nesting (1001)")
	}
	switch x := v.(type) {
	case *lua.LNilType:
		return append(buf, "null"...), nil
	case lua.LBool:
		if x {
			return append(buf, "true"...), nil
		}
		return append(buf, "false"...), nil
	case lua.LNumber:
		f := float64(x)
		switch {
		case math.IsNaN(f) || math.IsInf(f, 0):
			return nil, fmt.Errorf("Cannot serialise number: must not be NaN or Inf")
		case f == math.Trunc(f) && math.Abs(f) < 1e15:
			return strconv.AppendInt(buf, int64(f), 10), nil
		}
		return strconv.AppendFloat(buf, f, 'g', 14, 64), nil
	case lua.LString:
		return appendJSONString(buf, string(x)), nil
	case *lua.LUserData:
		switch x {
		case null:
			return append(buf, "null"...), nil
		case emptyArray:
			return append(buf, "[]"...), nil
		}
	case *lua.LTable:
		return encodeTable(buf, x, depth)
	}
	return nil, fmt.Errorf("Cannot serialise %s: type not supported", v.Type())
}

func encodeTable(buf []byte, t *lua.LTable, depth int) ([]byte, error) {
	n := t.Len()
	count := 0
	isArray := true
	t.ForEach(func(k, _ lua.LValue) {
		count++
		if kn, ok := k.(lua.LNumber); !ok || float64(kn) != math.Trunc(float64(kn)) || kn < 1 || int(kn) > n {
			isArray = false
		}
	})
	if count == 0 && t.Metatable != arrayMT {
		return append(buf, "{}"...), nil
	}
	var err error
	if isArray && count == n {
		buf = append(buf, '[')
		for i := 1; i <= n; i++ {
			if i > 1 {
				buf = append(buf, ',')
			}
			if buf, err = encodeJSON(buf, t.RawGetInt(i), depth+1); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	}
	type kv struct {
		k string
		v lua.LValue
	}
	entries := make([]kv, 0, count)
	t.ForEach(func(k, v lua.LValue) {
		switch kk := k.(type) {
		case lua.LString:
			entries = append(entries, kv{string(kk), v})
		case lua.LNumber:
			s, _ := encodeJSON(nil, kk, 0)
			entries = append(entries, kv{string(s), v})
		default:
			err = errors.New("Cannot serialise table: table key must be a number or string")
		}
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].k < entries[j].k })
	buf = append(buf, '{')
	for i, e := range entries {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, e.k)
		buf = append(buf, ':')
		if buf, err = encodeJSON(buf, e.v, depth+1); err != nil {
			return nil, err
		}
	}
	return append(buf, '}'), nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as lua-cjson does: control characters as
// \uXXXX (with \b \f \n \r \t), and "/" escaped.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			buf = append(buf, '\\', '"')
		case '\\':
			buf = append(buf, '\\', '\\')
		case '/':
			buf = append(buf, '\\', '/')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\b':
			buf = append(buf, '\\', 'b')
		case '\f':
			buf = append(buf, '\\', 'f')
		default:
			if c < 0x20 || c == 0x7f {
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				buf = append(buf, c)
			}
		}
	}
	return append(buf, '"')
}

// decodeJSON turns JSON text into Lua values: objects and arrays become
// tables, null becomes cjson.null.
func decodeJSON(L *lua.LState, data []byte) (lua.LValue, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(L, dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("Expected the end but found T_STRING at character " + strconv.Itoa(int(dec.InputOffset())))
	}
	return v, nil
}

func decodeValue(L *lua.LState, dec *json.Decoder, depth int) (lua.LValue, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("Found too many nested data structures (1001)")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(err)
	}
	switch x := tok.(type) {
	case nil:
		return null, nil
	case bool:
		return lua.LBool(x), nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil, err
		}
		return lua.LNumber(f), nil
	case string:
		if !utf8.ValidString(x) {
			return lua.LString(x), nil
		}
		return lua.LString(x), nil
	case json.Delim:
		t := L.NewTable()
		switch x {
		case '[':
			for i := 1; dec.More(); i++ {
				v, err := decodeValue(L, dec, depth+1)
				if err != nil {
					return nil, err
				}
				t.RawSetInt(i, v)
			}
		case '{':
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, jsonErr(err)
				}
				k, _ := kt.(string)
				v, err := decodeValue(L, dec, depth+1)
				if err != nil {
					return nil, err
				}
				t.RawSetString(k, v)
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, jsonErr(err)
		}
		return t, nil
	}
	return nil, errors.New("Expected value")
}

func jsonErr(err error) error {
	return fmt.Errorf("Expected value but found invalid token: %v", err)
}

// cjsonModule pushes cjson (safe: errors are returned as nil, message).
func cjsonModule(safe bool) lua.LGFunction {
	return func(L *lua.LState) int {
		mod := L.NewTable()
		mod.RawSetString("encode", L.NewFunction(func(L *lua.LState) int {
			out, err := encodeJSON(nil, L.Get(1), 0)
			if err != nil {
				if safe {
					L.Push(lua.LNil)
					L.Push(lua.LString(err.Error()))
					return 2
				}
				L.RaiseError("%s", err.Error())
			}
			L.Push(lua.LString(out))
			return 1
		}))
		mod.RawSetString("decode", L.NewFunction(func(L *lua.LState) int {
			v, err := decodeJSON(L, []byte(L.CheckString(1)))
			if err != nil {
				if safe {
					L.Push(lua.LNil)
					L.Push(lua.LString(err.Error()))
					return 2
				}
				L.RaiseError("%s", err.Error())
			}
			L.Push(v)
			return 1
		}))
		mod.RawSetString("null", null)
		mod.RawSetString("empty_array", emptyArray)
		mod.RawSetString("array_mt", arrayMT)
		mod.RawSetString("empty_array_mt", arrayMT)
		noop := L.NewFunction(func(L *lua.LState) int { return 0 })
		for _, n := range []string{"encode_empty_table_as_object", "decode_array_with_array_mt", "encode_escape_forward_slash",
			"encode_number_precision", "encode_max_depth", "decode_max_depth", "encode_sparse_array", "encode_keep_buffer", "encode_invalid_numbers", "decode_invalid_numbers"} {
			mod.RawSetString(n, noop)
		}
		mod.RawSetString("new", L.NewFunction(func(L *lua.LState) int {
			L.Push(mod)
			return 1
		}))
		L.Push(mod)
		return 1
	}
}
