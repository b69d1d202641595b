package luatemplate

import "strings"

var luaKeywords = map[string]bool{
	"and": true, "break": true, "do": true, "else": true, "elseif": true,
	"end": true, "false": true, "for": true, "function": true, "if": true,
	"in": true, "local": true, "nil": true, "not": true, "or": true,
	"repeat": true, "return": true, "then": true, "true": true,
	"until": true, "while": true, "goto": true,
}

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }

// longBracket reports the level of a long bracket opening at code[i] ("[",
// "=", ..., "[") or -1.
func longBracket(code string, i int) (level, width int) {
	if i >= len(code) || code[i] != '[' {
		return -1, 0
	}
	j := i + 1
	for j < len(code) && code[j] == '=' {
		j++
	}
	if j < len(code) && code[j] == '[' {
		return j - i - 1, j - i + 1
	}
	return -1, 0
}

// collect adds the free identifiers of a Lua code fragment to g.names. It is
// a lexer, not a parser: strings, comments and numbers are skipped, and a
// name directly after "." or ":" (but not "..") is a field, not a variable.
// Over-approximation (e.g. table constructor keys, local names) is harmless:
// such names just get an unused context/global lookup.
func (g *gen) collect(code string) {
	prev := byte(0)  // previous significant char
	prev2 := byte(0) // the one before
	for i := 0; i < len(code); {
		c := code[i]
		switch {
		case isSpace(c):
			i++
			continue
		case c == '-' && i+1 < len(code) && code[i+1] == '-':
			i += 2
			if lvl, w := longBracket(code, i); lvl >= 0 {
				end := strings.Index(code[i+w:], "]"+strings.Repeat("=", lvl)+"]")
				if end < 0 {
					return
				}
				i += w + end + lvl + 2
			} else {
				for i < len(code) && code[i] != '\n' {
					i++
				}
			}
			continue
		case c == '"' || c == '\'':
			i++
			for i < len(code) && code[i] != c && code[i] != '\n' {
				if code[i] == '\\' {
					i++
				}
				i++
			}
			i++
			prev2, prev = prev, '"'
			continue
		case c == '[':
			if lvl, w := longBracket(code, i); lvl >= 0 {
				end := strings.Index(code[i+w:], "]"+strings.Repeat("=", lvl)+"]")
				if end < 0 {
					return
				}
				i += w + end + lvl + 2
				prev2, prev = prev, '"'
				continue
			}
		case '0' <= c && c <= '9' || c == '.' && i+1 < len(code) && '0' <= code[i+1] && code[i+1] <= '9':
			for i < len(code) && (isIdentChar(code[i]) || code[i] == '.' ||
				(code[i] == '+' || code[i] == '-') && (code[i-1] == 'e' || code[i-1] == 'E')) {
				i++
			}
			prev2, prev = prev, '0'
			continue
		case isIdentStart(c):
			j := i
			for j < len(code) && isIdentChar(code[j]) {
				j++
			}
			name := code[i:j]
			field := prev == ':' || (prev == '.' && prev2 != '.')
			if !field && !luaKeywords[name] && name != "context" && !strings.HasPrefix(name, "___") {
				g.names[name] = struct{}{}
			}
			i = j
			prev2, prev = prev, 'a'
			continue
		}
		prev2, prev = prev, c
		i++
	}
}
