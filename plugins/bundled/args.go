package bundled

import (
	"bytes"
	"slices"

	"github.com/valyala/fasthttp"
)

// maxArgs is how many arguments Kong reads of a query string or form body
// (lua_max_uri_args, lua_max_post_args: 100 by default); later ones are
// dropped when the plugin rewrites them.
const maxArgs = 100

// arg is one decoded argument of a query string or form body.
type arg struct {
	key, value []byte
	// noValue is an argument without "=" (Lua's true).
	noValue bool
	deleted bool
}

// argList is a decoded query string or form body in order, as
// ngx.decode_args reads it: '+' is a space, %XX a byte, an argument without
// a key is skipped. Its buffers are reused.
type argList struct {
	args []arg
	buf  []byte // the decoded keys and values
}

func (l *argList) reset() {
	for i := range l.args {
		l.args[i] = arg{}
	}
	l.args, l.buf = l.args[:0], l.buf[:0]
}

// parse decodes raw into l (which it resets).
func (l *argList) parse(raw []byte) {
	l.reset()
	// Decoded text goes into one buffer: size it first so that slices into
	// it stay valid.
	if cap(l.buf) < len(raw) {
		l.buf = make([]byte, 0, len(raw))
	}
	for len(raw) > 0 && len(l.args) < maxArgs {
		var item []byte
		if i := bytes.IndexByte(raw, '&'); i >= 0 {
			item, raw = raw[:i], raw[i+1:]
		} else {
			item, raw = raw, nil
		}
		k, v, hasValue := bytes.Cut(item, []byte{'='})
		if len(k) == 0 {
			continue
		}
		start := len(l.buf)
		l.buf = unescapeArg(l.buf, k)
		key := l.buf[start:len(l.buf):len(l.buf)]
		start = len(l.buf)
		l.buf = unescapeArg(l.buf, v)
		l.args = append(l.args, arg{key: key, value: l.buf[start:len(l.buf):len(l.buf)], noValue: !hasValue})
	}
}

// lookup returns the first live argument named key and how many there are.
func (l *argList) lookup(key string) (first *arg, n int) {
	for i := range l.args {
		a := &l.args[i]
		if !a.deleted && string(a.key) == key {
			if first == nil {
				first = a
			}
			n++
		}
	}
	return first, n
}

// remove deletes every argument named key; it reports whether one was.
func (l *argList) remove(key string) bool {
	found := false
	for i := range l.args {
		if a := &l.args[i]; !a.deleted && string(a.key) == key {
			a.deleted, found = true, true
		}
	}
	return found
}

// rename gives the arguments named from the name to (replacing those named
// to), as Lua's rename of a table key; ok is false when there is none.
func (l *argList) rename(from, to string, key []byte) bool {
	if from == to {
		return false
	}
	if _, n := l.lookup(from); n == 0 {
		return false
	}
	l.remove(to)
	for i := range l.args {
		if a := &l.args[i]; !a.deleted && string(a.key) == from {
			a.key = key
		}
	}
	return true
}

// set replaces the arguments named key by one with value.
func (l *argList) set(key, value []byte) {
	l.remove(string(key))
	l.args = append(l.args, arg{key: key, value: value})
}

// add appends an argument (Lua's append_value: the key gets one more value).
func (l *argList) add(key, value []byte) {
	l.args = append(l.args, arg{key: key, value: value})
}

// appendEncoded writes the live arguments as ngx.encode_args does, in
// order: keys and values escaped, an argument without a value as its key
// alone.
func (l *argList) appendEncoded(dst []byte) []byte {
	first := true
	for i := range l.args {
		a := &l.args[i]
		if a.deleted {
			continue
		}
		if !first {
			dst = append(dst, '&')
		}
		first = false
		dst = appendEscapedArg(dst, a.key)
		if !a.noValue {
			dst = appendEscapedArg(append(dst, '='), a.value)
		}
	}
	return dst
}

// appendSorted writes the arguments as kong.service.request.set_query
// does: each key's arguments encoded together ("k=a&k=b"), those strings
// sorted. scratch is reused between calls.
func (l *argList) appendSorted(dst []byte, scratch *sortScratch) []byte {
	scratch.reset()
	for i := range l.args {
		a := &l.args[i]
		if a.deleted || scratch.seen(a.key) {
			continue
		}
		start := len(scratch.buf)
		for j := i; j < len(l.args); j++ {
			b := &l.args[j]
			if b.deleted || !bytes.Equal(b.key, a.key) {
				continue
			}
			if len(scratch.buf) > start {
				scratch.buf = append(scratch.buf, '&')
			}
			scratch.buf = appendEscapedArg(scratch.buf, b.key)
			if !b.noValue {
				scratch.buf = appendEscapedArg(append(scratch.buf, '='), b.value)
			}
		}
		scratch.spans = append(scratch.spans, [2]int{start, len(scratch.buf)})
		scratch.keys = append(scratch.keys, a.key)
	}
	b := scratch.buf
	slices.SortFunc(scratch.spans, func(x, y [2]int) int { return bytes.Compare(b[x[0]:x[1]], b[y[0]:y[1]]) })
	for i, s := range scratch.spans {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, b[s[0]:s[1]]...)
	}
	return dst
}

// sortScratch is appendSorted's working memory.
type sortScratch struct {
	buf   []byte
	spans [][2]int
	keys  [][]byte
}

func (s *sortScratch) reset() { s.buf, s.spans, s.keys = s.buf[:0], s.spans[:0], s.keys[:0] }

func (s *sortScratch) seen(key []byte) bool {
	for _, k := range s.keys {
		if bytes.Equal(k, key) {
			return true
		}
	}
	return false
}

// unescapeArg appends s decoded as a form value: '+' is a space, %XX a
// byte (a malformed escape is kept as it is).
func unescapeArg(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			dst = append(dst, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// appendEscapedArg escapes as ngx.escape_uri does for a URI component:
// everything but letters, digits and "-._~".
func appendEscapedArg(dst, s []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hex[c>>4], hex[c&15])
	}
	return dst
}

// rawQuery is the query string of the request's target (after "?").
func rawQuery(req *fasthttp.Request) []byte {
	uri := req.Header.RequestURI()
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		return uri[i+1:]
	}
	return nil
}
