package luavm

// Limits. What is bounded, and what is not (honestly):
//
// Bounded:
//   - Memory: each call has a budget of its own (Options.MaxMemory, see
//     memory.go): `..` (rewritten by Compile, concat.go), the string
//     library's results, table.concat and every VM instruction are charged
//     to the call, which is stopped with ErrMemory when what its state
//     holds passes the budget. Nothing else in the process counts against
//     it.
//   - CPU time: every Run/Call executes under L.SetContext(ctx) with
//     Options.Timeout; gopher-lua checks the context before every VM
//     instruction, so loops (`while true do end`), deep pcall nests and Lua
//     callbacks from library functions (table.sort comparators, gsub
//     functions) stop with a timeout error. A state whose call timed out or
//     was cancelled is discarded, never pooled.
//   - Call depth: Options.CallStackSize frames (default 200); deeper
//     recursion raises "stack overflow" (a catchable Lua error, not a Go
//     crash).
//   - Data stack: the registry starts at 4K slots and may grow to 256K
//     (~4 MiB); beyond it "registry overflow" is raised (e.g. unpack of a
//     huge table, table.concat of millions of items).
//   - Strings built by `..`, string.rep, string.format (width/precision
//     limited to two digits, as in Lua 5.1, plus a result check),
//     string.gsub with a string replacement (exact size precomputed) and
//     table.concat (size precomputed) may not exceed Options.MaxStringBytes
//     (default 8 MiB). gsub with a function/table replacement is checked
//     after the fact.
//   - Coroutines: at most maxCoroutinesPerCall per call (each coroutine is a
//     full LState with its own stacks).
//   - Syntax depth: code nested deeper than MaxSyntaxDepth is refused when
//     compiled (gopher-lua's compiler is quadratic in it).
//
// NOT bounded (only the timeout limits them):
//   - Time spent inside one Go library call is not interruptible: pattern
//     matching (find/match/gmatch/gsub) on multi-megabyte strings and
//     table.sort without a Lua comparator run to completion before the
//     context is checked again.
//   - Transient allocations inside library functions (e.g. gsub/gmatch
//     collect all matches before producing a result), and values host
//     functions return, until the next count of the call's memory.

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/pm"
)

const maxCoroutinesPerCall = 1000

// installLimits replaces size-producing library functions in the state's
// real library tables (so they are guarded for method calls like
// ("x"):rep(n) and in every mode).
func installLimits(st *state) {
	L := st.L
	max := st.vm.opts.MaxStringBytes
	G := L.G.Global

	tooBig := func(L *lua.LState, fn string) {
		L.RaiseError("%s: resulting string too large (limit is %d bytes)", fn, max)
	}

	if strLib, ok := G.RawGetString("string").(*lua.LTable); ok {
		strLib.RawSetString("rep", L.NewFunction(func(L *lua.LState) int {
			s := L.CheckString(1)
			n := L.CheckInt(2)
			if n <= 0 || len(s) == 0 {
				L.Push(lua.LString(""))
				return 1
			}
			if int64(len(s))*int64(n) > int64(max) {
				tooBig(L, "string.rep")
			}
			L.Push(lua.LString(strings.Repeat(s, n)))
			return 1
		}))

		if orig, ok := strLib.RawGetString("format").(*lua.LFunction); ok && orig.IsG {
			origFn := orig.GFunction
			strLib.RawSetString("format", L.NewFunction(func(L *lua.LState) int {
				checkFormat(L, L.CheckString(1))
				n := origFn(L)
				if s, ok := L.Get(-n).(lua.LString); ok && len(s) > max {
					tooBig(L, "string.format")
				}
				return n
			}))
		}

		if orig, ok := strLib.RawGetString("gsub").(*lua.LFunction); ok && orig.IsG {
			origFn := orig.GFunction
			strLib.RawSetString("gsub", L.NewFunction(func(L *lua.LState) int {
				s := L.CheckString(1)
				pat := L.CheckString(2)
				if repl, ok := L.Get(3).(lua.LString); ok {
					limit := L.OptInt(4, -1)
					if mds, err := pm.Find(pat, []byte(s), 0, limit); err == nil {
						if gsubSize(s, string(repl), mds, int64(max)) > int64(max) {
							tooBig(L, "string.gsub")
						}
					}
				}
				n := origFn(L)
				if r, ok := L.Get(-n).(lua.LString); ok && len(r) > max {
					tooBig(L, "string.gsub")
				}
				return n
			}))
		}
	}

	if tblLib, ok := G.RawGetString("table").(*lua.LTable); ok {
		if orig, ok := tblLib.RawGetString("concat").(*lua.LFunction); ok && orig.IsG {
			origFn := orig.GFunction
			tblLib.RawSetString("concat", L.NewFunction(func(L *lua.LState) int {
				tbl := L.CheckTable(1)
				sep := L.OptString(2, "")
				n := tbl.Len()
				i := L.OptInt(3, 1)
				j := L.OptInt(4, n)
				if i < 1 {
					i = 1
				}
				if j > n {
					j = n
				}
				var size int64
				for k := i; k <= j; k++ {
					switch v := tbl.RawGetInt(k).(type) {
					case lua.LString:
						size += int64(len(v))
					case lua.LNumber:
						size += 24
					}
					if k != j {
						size += int64(len(sep))
					}
					if size > int64(max) {
						tooBig(L, "table.concat")
					}
				}
				return origFn(L)
			}))
		}
	}

	// Charge every string the string library and table.concat return to
	// the call's memory budget (after the size checks above).
	if strLib, ok := G.RawGetString("string").(*lua.LTable); ok {
		chargeResults(st, strLib, nil)
	}
	if tblLib, ok := G.RawGetString("table").(*lua.LTable); ok {
		chargeResults(st, tblLib, []string{"concat"})
	}
	st.concat = L.NewFunction(st.concatOp)

	if coLib, ok := G.RawGetString("coroutine").(*lua.LTable); ok {
		for _, name := range []string{"create", "wrap"} {
			orig, ok := coLib.RawGetString(name).(*lua.LFunction)
			if !ok || !orig.IsG {
				continue
			}
			origFn, fname := orig.GFunction, name
			coLib.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
				st.coroutines++
				if st.coroutines > maxCoroutinesPerCall {
					L.RaiseError("coroutine.%s: too many coroutines (limit is %d per call)", fname, maxCoroutinesPerCall)
				}
				// A coroutine is a state of its own: charge its stacks.
				if m := st.meter; m != nil && !m.reserve(threadBytes+slotBytes*registrySize+
					frameBytes*int64(st.vm.opts.CallStackSize)) {
					m.raiseMemory(L)
				}
				n := origFn(L)
				meterCoroutine(L, L.Get(-1))
				return n
			}))
		}
	}
}

// meterCoroutine gives a new coroutine (made by create, or inside the
// function wrap returns) the call's own context: gopher-lua gives it a
// context derived from it, whose Done would not charge the coroutine's
// instructions to the call (memory.go).
func meterCoroutine(L *lua.LState, made lua.LValue) {
	ctx, ok := L.Context().(*callContext)
	if !ok {
		return
	}
	switch v := made.(type) {
	case *lua.LState:
		v.SetContext(ctx)
	case *lua.LFunction:
		for _, uv := range v.Upvalues {
			if co, ok := uv.Value().(*lua.LState); ok {
				co.SetContext(ctx)
			}
		}
	}
}

// chargeResults wraps the Go functions of lib named in names (all of them
// when names is nil) so that the strings they return are charged to the
// running call's memory budget.
func chargeResults(st *state, lib *lua.LTable, names []string) {
	if names == nil {
		lib.ForEach(func(k, _ lua.LValue) {
			if ks, ok := k.(lua.LString); ok {
				names = append(names, string(ks))
			}
		})
	}
	for _, name := range names {
		orig, ok := lib.RawGetString(name).(*lua.LFunction)
		if !ok || !orig.IsG {
			continue
		}
		origFn := orig.GFunction
		lib.RawSetString(name, st.L.NewFunction(func(L *lua.LState) int {
			n := origFn(L)
			m := st.meter
			if m == nil {
				return n
			}
			var size int64
			for i := L.GetTop() - n + 1; i <= L.GetTop(); i++ {
				if s, ok := L.Get(i).(lua.LString); ok {
					size += int64(len(s))
				}
			}
			if size > 0 && !m.charge(size) {
				m.raiseMemory(L)
			}
			return n
		}))
	}
}

// checkFormat rejects width/precision fields longer than two digits, as Lua
// 5.1 does ("invalid format (width or precision too long)"); gopher-lua
// hands the format to Go's fmt, which accepts widths up to 10^6.
func checkFormat(L *lua.LState, f string) {
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			continue
		}
		for i < len(f) && (f[i] == '-' || f[i] == '+' || f[i] == ' ' || f[i] == '#' || f[i] == '0') {
			i++
		}
		digits := 0
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			i++
			digits++
		}
		if i < len(f) && f[i] == '.' {
			i++
			pd := 0
			for i < len(f) && f[i] >= '0' && f[i] <= '9' {
				i++
				pd++
			}
			if pd > digits {
				digits = pd
			}
		}
		if digits > 2 {
			L.RaiseError("invalid format (width or precision too long)")
		}
		if i < len(f) && f[i] == '*' {
			L.RaiseError("invalid format ('*' width is not supported)")
		}
	}
}

// gsubSize computes (an upper bound of) the length of gsub's result for a
// string replacement, without building it. It stops as soon as the bound
// exceeds max.
func gsubSize(s, repl string, mds []*pm.MatchData, max int64) int64 {
	// Parse repl once: literal bytes plus capture references.
	var lit int64
	var refs []int
	for i := 0; i < len(repl); i++ {
		if repl[i] != '%' || i+1 >= len(repl) {
			lit++
			continue
		}
		i++
		if c := repl[i]; c >= '0' && c <= '9' {
			refs = append(refs, 2*int(c-'0'))
		} else {
			lit += 2
		}
	}
	size := int64(len(s))
	for _, md := range mds {
		start, end := md.Capture(0), md.Capture(1)
		size += lit - int64(end-start)
		for _, idx := range refs {
			switch {
			case idx == 0 || (idx == 2 && md.CaptureLength() <= 2):
				size += int64(end - start)
			case idx+1 < md.CaptureLength():
				if md.IsPosCapture(idx) {
					size += 20
				} else {
					size += int64(md.Capture(idx+1) - md.Capture(idx))
				}
			}
		}
		if size > max {
			return size
		}
	}
	return size
}
