package luavm

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// MaxDepth bounds the nesting of converted values in both directions.
const MaxDepth = 100

func convErr(format string, args ...any) error {
	return &Error{Kind: KindConversion, Message: "luavm: " + fmt.Sprintf(format, args...)}
}

// ToLua converts a Go JSON-model value (nil, bool, numbers, string, []any,
// map[string]any, plus a few common typed slices/maps, lua.LValue and
// lua.LGFunction) to a Lua value owned by L.
func ToLua(L *lua.LState, v any) (lua.LValue, error) { return toLua(L, v, 0) }

func toLua(L *lua.LState, v any, depth int) (lua.LValue, error) {
	if depth > MaxDepth {
		return nil, convErr("value nested deeper than %d levels", MaxDepth)
	}
	switch x := v.(type) {
	case nil:
		return lua.LNil, nil
	case lua.LValue:
		return x, nil
	case bool:
		return lua.LBool(x), nil
	case string:
		return lua.LString(x), nil
	case float64:
		return lua.LNumber(x), nil
	case float32:
		return lua.LNumber(x), nil
	case int:
		return lua.LNumber(x), nil
	case int8:
		return lua.LNumber(x), nil
	case int16:
		return lua.LNumber(x), nil
	case int32:
		return lua.LNumber(x), nil
	case int64:
		return lua.LNumber(x), nil
	case uint:
		return lua.LNumber(x), nil
	case uint8:
		return lua.LNumber(x), nil
	case uint16:
		return lua.LNumber(x), nil
	case uint32:
		return lua.LNumber(x), nil
	case uint64:
		return lua.LNumber(x), nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil, convErr("invalid number %q", string(x))
		}
		return lua.LNumber(f), nil
	case []byte:
		return lua.LString(x), nil
	case lua.LGFunction:
		return L.NewFunction(x), nil
	case func(*lua.LState) int:
		return L.NewFunction(x), nil
	case []any:
		t := L.CreateTable(len(x), 0)
		for i, e := range x {
			lv, err := toLua(L, e, depth+1)
			if err != nil {
				return nil, err
			}
			t.RawSetInt(i+1, lv)
		}
		return t, nil
	case []string:
		t := L.CreateTable(len(x), 0)
		for i, e := range x {
			t.RawSetInt(i+1, lua.LString(e))
		}
		return t, nil
	case []float64:
		t := L.CreateTable(len(x), 0)
		for i, e := range x {
			t.RawSetInt(i+1, lua.LNumber(e))
		}
		return t, nil
	case map[string]any:
		t := L.CreateTable(0, len(x))
		for k, e := range x {
			lv, err := toLua(L, e, depth+1)
			if err != nil {
				return nil, err
			}
			t.RawSetString(k, lv)
		}
		return t, nil
	case map[string]string:
		t := L.CreateTable(0, len(x))
		for k, e := range x {
			t.RawSetString(k, lua.LString(e))
		}
		return t, nil
	default:
		return nil, convErr("cannot convert %T to Lua", v)
	}
}

// FromLua converts a Lua value to the Go JSON model: nil, bool, float64,
// string, []any (tables whose keys are exactly 1..n, n > 0) or
// map[string]any (other tables, including the empty table; number and
// boolean keys are stringified). Functions, userdata, threads, cycles and
// nesting deeper than MaxDepth are errors.
func FromLua(v lua.LValue) (any, error) { return fromLua(v, 0, nil) }

func fromLua(v lua.LValue, depth int, visiting map[*lua.LTable]bool) (any, error) {
	switch x := v.(type) {
	case nil, *lua.LNilType:
		return nil, nil
	case lua.LBool:
		return bool(x), nil
	case lua.LNumber:
		return float64(x), nil
	case lua.LString:
		return string(x), nil
	case *lua.LTable:
		if depth >= MaxDepth {
			return nil, convErr("table nested deeper than %d levels", MaxDepth)
		}
		if visiting == nil {
			visiting = map[*lua.LTable]bool{}
		}
		if visiting[x] {
			return nil, convErr("cannot convert a table that contains itself (cycle)")
		}
		visiting[x] = true
		defer delete(visiting, x)
		return tableFromLua(x, depth, visiting)
	default:
		return nil, convErr("cannot convert a Lua %s to Go", v.Type().String())
	}
}

func tableFromLua(t *lua.LTable, depth int, visiting map[*lua.LTable]bool) (any, error) {
	count, isArray := 0, true
	t.ForEach(func(k, _ lua.LValue) {
		count++
		if !isArray {
			return
		}
		n, ok := k.(lua.LNumber)
		if !ok || float64(n) != math.Trunc(float64(n)) || n < 1 {
			isArray = false
		}
	})
	if count == 0 {
		return map[string]any{}, nil
	}
	if isArray {
		// all keys are positive integers; they are 1..count iff each of
		// 1..count is present.
		arr := make([]any, count)
		for i := 1; i <= count; i++ {
			lv := t.RawGetInt(i)
			if lv == lua.LNil {
				isArray = false
				break
			}
			gv, err := fromLua(lv, depth+1, visiting)
			if err != nil {
				return nil, err
			}
			arr[i-1] = gv
		}
		if isArray {
			return arr, nil
		}
	}
	m := make(map[string]any, count)
	var ferr error
	t.ForEach(func(k, lv lua.LValue) {
		if ferr != nil {
			return
		}
		var key string
		switch kk := k.(type) {
		case lua.LString:
			key = string(kk)
		case lua.LNumber:
			f := float64(kk)
			if f == math.Trunc(f) && math.Abs(f) < 1e15 {
				key = strconv.FormatInt(int64(f), 10)
			} else {
				key = strconv.FormatFloat(f, 'g', 14, 64)
			}
		case lua.LBool:
			key = strconv.FormatBool(bool(kk))
		default:
			ferr = convErr("cannot convert a table key of type %s", k.Type().String())
			return
		}
		gv, err := fromLua(lv, depth+1, visiting)
		if err != nil {
			ferr = err
			return
		}
		m[key] = gv
	})
	if ferr != nil {
		return nil, ferr
	}
	return m, nil
}
