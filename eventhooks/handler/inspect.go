package handler

import (
	"cmp"
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
)

// Inspect returns v as Kong's kong.log.inspect prints a value: the
// algorithm of inspect.lua (kikito's, which Kong bundles), applied to v as
// the Lua value that the same JSON would decode to.
//
//   - Maps and slices are tables. A table's sequence part (the values of
//     keys 1, 2, ... up to the first missing one) is printed inline,
//     "{ a, b }"; its other keys follow, one "key = value" per line,
//     indented by two spaces per level, sorted numbers first (numerically),
//     then booleans, then strings (bytewise); the closing brace of such a
//     table goes on a line of its own. An empty table is "{}".
//   - Keys that are Lua identifiers (and not Lua keywords) are bare; other
//     keys are bracketed values: ["key-x"] = 1, [10] = 2.
//   - Strings are quoted as inspect.lua does: double quotes, or single
//     quotes when the string has a double quote and no single quote;
//     backslashes doubled; control characters as \n, \t, ... or \<decimal>
//     (three digits when a digit follows); other bytes as they are.
//   - Floats print as LuaJIT's tostring does (%.14g, so integral floats
//     print without decimals, "inf", "-inf", "nan"); Go integers print
//     exactly (LuaJIT would round those beyond 2^53).
//   - nil values in maps are left out, as a Lua table cannot hold nil (Kong
//     entities drop their nulls the same way); in slices a nil ends the
//     sequence part and the later elements get bracketed keys, as in Lua.
//   - A table that appears more than once is printed the first time with
//     an id, "<1>{ ... }", and as "<table 1>" after that, so cycles end.
//   - Values that marshal to text (uuid.UUID, time.Time, net.IP) print as
//     that text, quoted, as they would be in JSON; other Go values as their
//     fmt string, quoted, except functions and channels ("<function 1>",
//     "<userdata 1>").
func Inspect(v any) string {
	return string(appendInspect(nil, v))
}

// appendInspect appends Inspect(v) to b.
func appendInspect(b []byte, v any) []byte {
	if b == nil {
		b = make([]byte, 0, 256)
	}
	ins := inspector{buf: b}
	ins.count(v, 0)
	ins.putValue(v)
	return ins.buf
}

// maxInspectDepth bounds the nesting Inspect follows (inspect.lua's depth
// option, unset in Kong). Deeper tables print as "{...}". Go data cannot
// hold more than this without being pathological; the bound keeps the stack
// and the output finite whatever is passed.
const maxInspectDepth = 100

type inspector struct {
	buf   []byte
	level int

	// How often each table appears: the first few tables in small (no
	// allocation for typical event data), the others in appearances.
	small       [16]tableCount
	nsmall      int
	appearances map[tableID]int
	ids         map[tableID]int // tables seen more than once have an id
	maxIDs      [3]int          // per kind: table, function, userdata
}

type tableCount struct {
	id tableID
	n  int
}

// tableID identifies a Go map or slice, as Lua identifies a table.
type tableID struct {
	ptr   uintptr
	n     int // slices: the length (two slices of one array differ)
	isMap bool
}

func idOf(rv reflect.Value) (tableID, bool) {
	switch rv.Kind() {
	case reflect.Map:
		if rv.IsNil() {
			return tableID{}, false
		}
		return tableID{ptr: rv.Pointer(), isMap: true}, true
	case reflect.Slice:
		if rv.Len() == 0 || rv.Type().Elem().Kind() == reflect.Uint8 {
			return tableID{}, false
		}
		return tableID{ptr: rv.Pointer(), n: rv.Len()}, true
	}
	return tableID{}, false
}

// count is inspect.lua's countCycles: how often each table appears.
func (ins *inspector) count(v any, depth int) {
	if depth > maxInspectDepth {
		return
	}
	switch x := v.(type) {
	case nil, string, bool, float64, int, int64, json.Number:
	case map[string]any: // JSON's types first, without reflect
		if x == nil || ins.seen(tableID{ptr: reflect.ValueOf(x).Pointer(), isMap: true}) > 1 {
			return
		}
		for _, e := range x {
			ins.count(e, depth+1)
		}
	case []any:
		if len(x) == 0 || ins.seen(tableID{ptr: reflect.ValueOf(x).Pointer(), n: len(x)}) > 1 {
			return
		}
		for _, e := range x {
			ins.count(e, depth+1)
		}
	default:
		rv := reflect.ValueOf(v)
		for rv.Kind() == reflect.Pointer && !rv.IsNil() {
			rv = rv.Elem()
		}
		id, ok := idOf(rv)
		if !ok || ins.seen(id) > 1 {
			return
		}
		switch rv.Kind() {
		case reflect.Map:
			it := rv.MapRange()
			for it.Next() {
				ins.count(it.Value().Interface(), depth+1)
			}
		case reflect.Slice:
			for i := 0; i < rv.Len(); i++ {
				ins.count(rv.Index(i).Interface(), depth+1)
			}
		}
	}
}

// seen counts one more appearance of table id and returns the count.
func (ins *inspector) seen(id tableID) int {
	for i := range ins.small[:ins.nsmall] {
		if ins.small[i].id == id {
			ins.small[i].n++
			return ins.small[i].n
		}
	}
	if ins.nsmall < len(ins.small) {
		ins.small[ins.nsmall] = tableCount{id, 1}
		ins.nsmall++
		return 1
	}
	if ins.appearances == nil {
		ins.appearances = make(map[tableID]int)
	}
	ins.appearances[id]++
	return ins.appearances[id]
}

// appearancesOf returns how often table id appears.
func (ins *inspector) appearancesOf(id tableID) int {
	for i := range ins.small[:ins.nsmall] {
		if ins.small[i].id == id {
			return ins.small[i].n
		}
	}
	return ins.appearances[id]
}

func (ins *inspector) getID(kind int, id tableID) int {
	if n, ok := ins.ids[id]; ok {
		return n
	}
	if ins.ids == nil {
		ins.ids = make(map[tableID]int)
	}
	ins.maxIDs[kind]++
	ins.ids[id] = ins.maxIDs[kind]
	return ins.maxIDs[kind]
}

const (
	idTable = iota
	idFunction
	idUserdata
)

func (ins *inspector) puts(s string) { ins.buf = append(ins.buf, s...) }

func (ins *inspector) tabify() {
	ins.buf = append(ins.buf, '\n')
	for i := 0; i < ins.level; i++ {
		ins.buf = append(ins.buf, "  "...)
	}
}

func (ins *inspector) putValue(v any) {
	switch x := v.(type) {
	case nil:
		ins.puts("nil")
	case string:
		ins.buf = appendLuaString(ins.buf, x)
	case bool:
		ins.buf = strconv.AppendBool(ins.buf, x)
	case float64:
		ins.buf = appendLuaNumber(ins.buf, x)
	case int:
		ins.buf = strconv.AppendInt(ins.buf, int64(x), 10)
	case int64:
		ins.buf = strconv.AppendInt(ins.buf, x, 10)
	case json.Number:
		ins.buf = appendJSONNumber(ins.buf, x)
	case map[string]any:
		ins.putStringMap(x)
	case []any:
		ins.putSlice(reflect.ValueOf(x), x)
	case encoding.TextMarshaler: // uuid.UUID, net.IP, ...: a string, as in JSON
		if isNil(v) {
			ins.puts("nil")
			return
		}
		t, err := x.MarshalText()
		if err != nil {
			ins.buf = appendLuaString(ins.buf, fmt.Sprint(v))
			return
		}
		ins.buf = appendLuaString(ins.buf, string(t))
	default:
		ins.putReflect(reflect.ValueOf(v))
	}
}

// putReflect prints the values the fast cases of putValue do not cover.
func (ins *inspector) putReflect(rv reflect.Value) {
	switch rv.Kind() {
	case reflect.Invalid:
		ins.puts("nil")
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			ins.puts("nil")
			return
		}
		ins.putValue(rv.Elem().Interface())
	case reflect.String:
		ins.buf = appendLuaString(ins.buf, rv.String())
	case reflect.Bool:
		ins.buf = strconv.AppendBool(ins.buf, rv.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		ins.buf = strconv.AppendInt(ins.buf, rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		ins.buf = strconv.AppendUint(ins.buf, rv.Uint(), 10)
	case reflect.Float32:
		// Through its shortest decimal form, so 0.1 stays 0.1.
		f, _ := strconv.ParseFloat(strconv.FormatFloat(rv.Float(), 'g', -1, 32), 64)
		ins.buf = appendLuaNumber(ins.buf, f)
	case reflect.Float64:
		ins.buf = appendLuaNumber(ins.buf, rv.Float())
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String && rv.Type().Elem().Kind() == reflect.Interface {
			if m, ok := rv.Interface().(map[string]any); ok {
				ins.putStringMap(m)
				return
			}
		}
		ins.putMap(rv)
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 { // bytes: a string
			if rv.Kind() == reflect.Slice {
				ins.buf = appendLuaString(ins.buf, string(rv.Bytes()))
				return
			}
		}
		ins.putSlice(rv, nil)
	case reflect.Func:
		ins.putOpaque("function", idFunction, rv)
	case reflect.Chan, reflect.UnsafePointer:
		ins.putOpaque("userdata", idUserdata, rv)
	default: // structs, complex numbers: their fmt form
		ins.buf = appendLuaString(ins.buf, fmt.Sprint(rv.Interface()))
	}
}

func (ins *inspector) putOpaque(name string, kind int, rv reflect.Value) {
	ins.puts("<" + name + " ")
	ins.buf = strconv.AppendInt(ins.buf, int64(ins.getID(kind, tableID{ptr: rv.Pointer(), n: -1 - kind})), 10)
	ins.puts(">")
}

// openTable starts a table, or prints what stands for it (a reference to
// a table printed before, "{...}" past the depth) and returns false.
func (ins *inspector) openTable(rv reflect.Value) bool {
	id, tracked := idOf(rv)
	if tracked {
		if n, ok := ins.ids[id]; ok {
			ins.puts("<table ")
			ins.buf = strconv.AppendInt(ins.buf, int64(n), 10)
			ins.puts(">")
			return false
		}
	}
	if ins.level >= maxInspectDepth {
		ins.puts("{...}")
		return false
	}
	if tracked && ins.appearancesOf(id) > 1 {
		ins.puts("<")
		ins.buf = strconv.AppendInt(ins.buf, int64(ins.getID(idTable, id)), 10)
		ins.puts(">")
	}
	ins.puts("{")
	ins.level++
	return true
}

// closeTable ends a table: on its own line when it had keys other than
// its sequence, after a space when it had only a sequence.
func (ins *inspector) closeTable(seqLen, keysLen int) {
	ins.level--
	if keysLen > 0 {
		ins.tabify()
	} else if seqLen > 0 {
		ins.puts(" ")
	}
	ins.puts("}")
}

// putStringMap is the common case: a JSON object. No sequence part.
func (ins *inspector) putStringMap(m map[string]any) {
	if !ins.openTable(reflect.ValueOf(m)) {
		return
	}
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v != nil {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			ins.puts(",")
		}
		ins.tabify()
		ins.putKey(luaKey{typ: keyString, s: k})
		ins.puts(" = ")
		ins.putValue(m[k])
	}
	ins.closeTable(0, len(keys))
}

// putSlice prints a slice or array (elems is rv's []any when it is one).
func (ins *inspector) putSlice(rv reflect.Value, elems []any) {
	if !ins.openTable(rv) {
		return
	}
	n := rv.Len()
	at := func(i int) any {
		if elems != nil {
			return elems[i]
		}
		return rv.Index(i).Interface()
	}
	seqLen := 0
	for seqLen < n && !isNil(at(seqLen)) {
		if seqLen > 0 {
			ins.puts(",")
		}
		ins.puts(" ")
		ins.putValue(at(seqLen))
		seqLen++
	}
	keysLen := 0
	for i := seqLen; i < n; i++ { // after a nil: keys [i+1]
		v := at(i)
		if isNil(v) {
			continue
		}
		if seqLen+keysLen > 0 {
			ins.puts(",")
		}
		ins.tabify()
		ins.putKey(luaKey{typ: keyNumber, isInt: true, i: int64(i + 1)})
		ins.puts(" = ")
		ins.putValue(v)
		keysLen++
	}
	ins.closeTable(seqLen, keysLen)
}

// putMap prints any other map: keys of any kind, an integer-keyed map has
// a sequence part as a Lua table would.
func (ins *inspector) putMap(rv reflect.Value) {
	if !ins.openTable(rv) {
		return
	}
	type entry struct {
		k luaKey
		v any
	}
	entries := make([]entry, 0, rv.Len())
	ints := make(map[int64]any)
	it := rv.MapRange()
	for it.Next() {
		v := it.Value().Interface()
		if isNil(v) {
			continue
		}
		k := toLuaKey(it.Key())
		if k.typ == keyNumber && k.isInt {
			ints[k.i] = v
		}
		entries = append(entries, entry{k, v})
	}
	seqLen := 0
	for {
		v, ok := ints[int64(seqLen+1)]
		if !ok {
			break
		}
		if seqLen > 0 {
			ins.puts(",")
		}
		ins.puts(" ")
		ins.putValue(v)
		seqLen++
	}
	entries = slices.DeleteFunc(entries, func(e entry) bool {
		return e.k.typ == keyNumber && e.k.isInt && e.k.i >= 1 && e.k.i <= int64(seqLen)
	})
	slices.SortFunc(entries, func(a, b entry) int { return compareLuaKeys(a.k, b.k) })
	for i, e := range entries {
		if seqLen+i > 0 {
			ins.puts(",")
		}
		ins.tabify()
		ins.putKey(e.k)
		ins.puts(" = ")
		ins.putValue(e.v)
	}
	ins.closeTable(seqLen, len(entries))
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// A luaKey is a table key as Lua sees it.
type luaKey struct {
	typ   int
	isInt bool
	i     int64
	f     float64
	b     bool
	s     string
}

// Key types, in inspect.lua's sort order.
const (
	keyNumber = iota
	keyBoolean
	keyString
)

func toLuaKey(rv reflect.Value) luaKey {
	for rv.Kind() == reflect.Interface && !rv.IsNil() {
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.String:
		return luaKey{typ: keyString, s: rv.String()}
	case reflect.Bool:
		return luaKey{typ: keyBoolean, b: rv.Bool()}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return luaKey{typ: keyNumber, isInt: true, i: rv.Int()}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u <= math.MaxInt64 {
			return luaKey{typ: keyNumber, isInt: true, i: int64(u)}
		}
		return luaKey{typ: keyNumber, f: float64(u)}
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 { // 1.0 is the key 1
			return luaKey{typ: keyNumber, isInt: true, i: int64(f)}
		}
		return luaKey{typ: keyNumber, f: f}
	}
	if !rv.IsValid() {
		return luaKey{typ: keyString, s: "<nil>"}
	}
	return luaKey{typ: keyString, s: fmt.Sprint(rv.Interface())}
}

func (k luaKey) num() float64 {
	if k.isInt {
		return float64(k.i)
	}
	return k.f
}

func compareLuaKeys(a, b luaKey) int {
	if a.typ != b.typ {
		return cmp.Compare(a.typ, b.typ)
	}
	switch a.typ {
	case keyNumber:
		if a.isInt && b.isInt {
			return cmp.Compare(a.i, b.i)
		}
		return cmp.Compare(a.num(), b.num())
	case keyBoolean: // inspect.lua leaves them unordered; false first here
		switch {
		case a.b == b.b:
			return 0
		case !a.b:
			return -1
		}
		return 1
	}
	return cmp.Compare(a.s, b.s)
}

func (ins *inspector) putKey(k luaKey) {
	switch {
	case k.typ == keyString && isLuaIdentifier(k.s):
		ins.puts(k.s)
		return
	}
	ins.puts("[")
	switch k.typ {
	case keyString:
		ins.buf = appendLuaString(ins.buf, k.s)
	case keyBoolean:
		ins.buf = strconv.AppendBool(ins.buf, k.b)
	default:
		if k.isInt {
			ins.buf = strconv.AppendInt(ins.buf, k.i, 10)
		} else {
			ins.buf = appendLuaNumber(ins.buf, k.f)
		}
	}
	ins.puts("]")
}

var luaKeywords = map[string]bool{
	"and": true, "break": true, "do": true, "else": true, "elseif": true,
	"end": true, "false": true, "for": true, "function": true, "goto": true,
	"if": true, "in": true, "local": true, "nil": true, "not": true,
	"or": true, "repeat": true, "return": true, "then": true, "true": true,
	"until": true, "while": true,
}

// isLuaIdentifier matches ^[_%a][_%a%d]*$ (C locale) and is no keyword.
func isLuaIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return !luaKeywords[s]
}

// appendLuaString appends s quoted as inspect.lua's smartQuote(escape(s)).
func appendLuaString(b []byte, s string) []byte {
	hasDouble, hasSingle := false, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			hasDouble = true
		case '\'':
			hasSingle = true
		}
	}
	quote := byte('"')
	if hasDouble && !hasSingle {
		quote = '\''
	}
	b = append(b, quote)
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != 0x7f && c != '\\' && !(c == '"' && quote == '"') {
			continue
		}
		b = append(b, s[start:i]...)
		start = i + 1
		switch c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\a':
			b = append(b, `\a`...)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case '\v':
			b = append(b, `\v`...)
		case 0x7f:
			b = append(b, `\127`...)
		default:
			b = append(b, '\\')
			if i+1 < len(s) && '0' <= s[i+1] && s[i+1] <= '9' {
				// \0011 would read as \001 and 1: three digits, always.
				b = append(b, '0'+c/100, '0'+c/10%10, '0'+c%10)
			} else {
				b = strconv.AppendInt(b, int64(c), 10)
			}
		}
	}
	b = append(b, s[start:]...)
	return append(b, quote)
}

// appendLuaNumber appends f as LuaJIT's tostring does ("%.14g").
func appendLuaNumber(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	if isDecimalTie14(f) {
		// strconv rounds an exact tie to even, LuaJIT away from zero: the
		// next float away from zero rounds the same way at 14 digits.
		f = math.Nextafter(f, math.Copysign(math.Inf(1), f))
	}
	return strconv.AppendFloat(b, f, 'g', 14, 64)
}

// isDecimalTie14 reports whether f, in decimal, is exactly halfway between
// two 14-digit numbers (as 123456789012345 is).
func isDecimalTie14(f float64) bool {
	if f == math.Trunc(f) && math.Abs(f) < 1e14 {
		return false // an integer of 14 digits at most: nothing to round
	}
	var tmp [64]byte
	// 41 significant digits: "d.<40 digits>e+XX". Digit 15 is s[15], the
	// digits after it s[16:42]; a double whose exact expansion has a
	// non-zero digit past the 41st but zeros from the 16th to the 41st does
	// not occur in practice.
	s := strconv.AppendFloat(tmp[:0], math.Abs(f), 'e', 40, 64)
	if s[15] != '5' {
		return false
	}
	for _, c := range s[16:42] {
		if c != '0' {
			return false
		}
	}
	return true
}

func appendJSONNumber(b []byte, n json.Number) []byte {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return strconv.AppendInt(b, i, 10)
	}
	if f, err := strconv.ParseFloat(string(n), 64); err == nil {
		return appendLuaNumber(b, f)
	}
	return appendLuaString(b, string(n))
}
