package luavm

// Limits. What is bounded, and what is not (honestly):
//
// Bounded:
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
//   - Strings built by string.rep, string.format (width/precision limited
//     to two digits, as in Lua 5.1, plus a result check), string.gsub with a
//     string replacement (exact size precomputed) and table.concat (size
//     precomputed) may not exceed Options.MaxStringBytes (default 8 MiB).
//     gsub with a function/table replacement is checked after the fact.
//   - Coroutines: at most maxCoroutinesPerCall per call (each coroutine is a
//     full LState with its own stacks).
//
// NOT bounded (only the timeout limits them):
//   - The `..` operator is executed inside the VM and cannot be hooked:
//     `s = s .. s` doubles a string per iteration, so ~30 iterations can
//     allocate gigabytes well within a 1s timeout. Go has no per-goroutine
//     memory cap; this is the main remaining memory hazard.
//   - Table growth (`t[#t+1] = x` in a loop), closures and other heap
//     objects: limited only by how much the timeout lets the code allocate.
//   - Time spent inside one Go library call is not interruptible: pattern
//     matching (find/match/gmatch/gsub) on multi-megabyte strings and
//     table.sort without a Lua comparator run to completion before the
//     context is checked again.
//   - Transient allocations inside library functions (e.g. gsub/gmatch
//     collect all matches before producing a result).

import (
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
			buf := make([]byte, 0, len(s)*n)
			for i := 0; i < n; i++ {
				buf = append(buf, s...)
			}
			L.Push(lua.LString(buf))
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
				return origFn(L)
			}))
		}
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
