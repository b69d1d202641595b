package bundled

import (
	"bytes"
	"errors"
	"sync"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// msgNoLua refuses custom_fields_by_lua: the log plugins' Lua snippets
// would run in Kong's sandbox, which log plugins are not wired to.
const msgNoLua = "custom_fields_by_lua is not supported yet: Lua code does not run in log plugins"

// customFieldsByLua is the log plugins' custom_fields_by_lua (Kong's
// typedefs.lua_code), accepted empty or null and refused with a clear
// message otherwise, rather than stored and silently ignored.
func customFieldsByLua() *schema.Field {
	f := luaCode("custom_fields_by_lua")
	f.Validator = func(v any) error {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			return errors.New(msgNoLua)
		}
		return nil
	}
	return f
}

// entryBuffers are the buffers log entries are encoded into.
var entryBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// encodeEntry encodes e as Kong's serializer's JSON followed by suffix
// into a pooled buffer; give it back with releaseBuffer.
func encodeEntry(e *plugins.LogEntry, suffix string) *[]byte {
	b := entryBuffers.Get().(*[]byte)
	*b = append(e.AppendJSON((*b)[:0]), suffix...)
	return b
}

// encodedEntry is e's JSON followed by suffix, in a slice of its own (for
// a queue).
func encodedEntry(e *plugins.LogEntry, suffix string) []byte {
	buf := encodeEntry(e, suffix)
	defer releaseBuffer(buf)
	return bytes.Clone(*buf)
}

func releaseBuffer(b *[]byte) {
	if cap(*b) <= 1<<20 {
		entryBuffers.Put(b)
	}
}
