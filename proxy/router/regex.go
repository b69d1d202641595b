package router

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// Kong 3.9 runs route regexes on Rust's regex crate (the ATC router), whose
// syntax is nearly Go's: both are RE2 dialects without lookaround or
// backreferences, so a PCRE-only construct that Go rejects is a route Kong
// cannot load either. translateRegex bridges the few differences:
//
//   - Rust's \uXXXX, \u{X}, \UXXXXXXXX and \U{X} become Go's \x{X};
//   - Rust's always-on "u" flag is dropped from flag groups;
//   - constructs Go would read differently, rather than reject, are refused:
//     nested classes ([a[bc]]), class set operations (&&, --, ~~), the word
//     boundaries \<, \>, \b{...}, \B{...}, and the flags x, R and -u.
//
// Left as they are: Go's \d, \w, \s and \b are ASCII, Rust's are Unicode, so
// they differ on non-ASCII input only.
func translateRegex(src string) (string, error) {
	var b strings.Builder
	b.Grow(len(src) + 8)
	inClass := false
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\\':
			n, err := translateEscape(&b, src[i:])
			if err != nil {
				return "", err
			}
			i += n
			continue
		case inClass && c == '[':
			if !strings.HasPrefix(src[i:], "[:") {
				return "", errors.New("nested character classes are not supported")
			}
			end := strings.Index(src[i:], ":]")
			if end < 0 {
				return "", errors.New("unterminated POSIX character class")
			}
			b.WriteString(src[i : i+end+2])
			i += end + 2
			continue
		case inClass && (c == '&' || c == '-' || c == '~') && i+1 < len(src) && src[i+1] == c:
			return "", fmt.Errorf("character class set operation %q is not supported", src[i:i+2])
		case inClass && c == ']':
			inClass = false
		case !inClass && c == '[':
			inClass = true
			b.WriteByte(c)
			i++
			// "[]" and "[^]" start a class holding a literal "]".
			if i < len(src) && src[i] == '^' {
				b.WriteByte('^')
				i++
			}
			if i < len(src) && src[i] == ']' {
				b.WriteByte(']')
				i++
			}
			continue
		case !inClass && c == '(' && strings.HasPrefix(src[i:], "(?"):
			n, err := translateFlags(&b, src[i:])
			if err != nil {
				return "", err
			}
			if n > 0 {
				i += n
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String(), nil
}

// translateEscape writes the escape starting at s[0] == '\\' and returns
// how many bytes it consumed.
func translateEscape(b *strings.Builder, s string) (int, error) {
	if len(s) < 2 {
		b.WriteString(s)
		return len(s), nil
	}
	switch s[1] {
	case 'u', 'U':
		width := 4
		if s[1] == 'U' {
			width = 8
		}
		hex, n := s[2:], 0
		if strings.HasPrefix(hex, "{") {
			end := strings.IndexByte(hex, '}')
			if end < 0 {
				return 0, errors.New("unterminated unicode escape")
			}
			hex, n = hex[1:end], end+1
		} else {
			if len(hex) < width {
				return 0, errors.New("short unicode escape")
			}
			hex, n = hex[:width], width
		}
		b.WriteString(`\x{` + hex + `}`)
		return 2 + n, nil
	case '<', '>':
		return 0, fmt.Errorf("word boundary %q is not supported", s[:2])
	case 'b', 'B':
		if len(s) > 2 && s[2] == '{' {
			return 0, fmt.Errorf("word boundary %q is not supported", s[:3])
		}
	case 'Q', 'E':
		// Go would quote; Kong's Rust router rejects the route.
		return 0, fmt.Errorf("escape %q is not supported", s[:2])
	}
	b.WriteString(s[:2])
	return 2, nil
}

// translateFlags rewrites a flag group "(?flags)" or "(?flags:" at s and
// returns the bytes consumed, or 0 when s opens another kind of group.
func translateFlags(b *strings.Builder, s string) (int, error) {
	end := 2
	for end < len(s) && (isASCIILetter(s[end]) || s[end] == '-') {
		end++
	}
	if end == 2 || end == len(s) || (s[end] != ')' && s[end] != ':') {
		return 0, nil // "(?:", "(?P<", "(?<", or malformed: left to Go
	}
	var kept []byte
	negated := false
	for _, f := range []byte(s[2:end]) {
		switch f {
		case '-':
			negated = true
		case 'u':
			if negated {
				return 0, errors.New("flag -u is not supported")
			}
			continue // Unicode is always on in Go
		case 'x', 'R':
			return 0, fmt.Errorf("flag %c is not supported", f)
		}
		kept = append(kept, f)
	}
	switch {
	case len(kept) > 0:
		b.WriteString("(?" + string(kept) + s[end:end+1])
	case s[end] == ':':
		b.WriteString("(?:")
	}
	return end + 1, nil
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// compilePathRegex compiles a route path without its "~". Kong anchors it by
// prepending "^" (kong/router/transform.lua path_val_transform), so a
// top-level alternation is anchored in its first branch only, as in Kong.
func compilePathRegex(p string) (*regexp.Regexp, string, error) {
	expr, err := translateRegex(p)
	if err != nil {
		return nil, "", err
	}
	re, err := regexp.Compile("^" + expr)
	if err != nil {
		return nil, "", err
	}
	return re, literalPrefix(re.String()), nil
}

// compileHeaderRegex compiles a header value's "~*re": Kong lowercases the
// pattern (Lua's ASCII string.lower) and matches it, unanchored, against the
// lowercased header value.
func compileHeaderRegex(v string) (*regexp.Regexp, error) {
	expr, err := translateRegex(asciiLower(v))
	if err != nil {
		return nil, err
	}
	return regexp.Compile(expr)
}

// literalPrefix returns the literal text every match of the anchored expr
// starts with ("" when there is none), so that a regex path can be indexed
// with the plain prefixes. regexp.LiteralPrefix cannot serve: it reports
// nothing once a program starts with "^".
func literalPrefix(expr string) string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil || re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return ""
	}
	var b strings.Builder
	for _, sub := range re.Sub[1:] {
		if sub.Op != syntax.OpLiteral || sub.Flags&syntax.FoldCase != 0 {
			break
		}
		b.WriteString(string(sub.Rune))
	}
	return b.String()
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return string(appendLower(make([]byte, 0, len(s)), s))
		}
	}
	return s
}
