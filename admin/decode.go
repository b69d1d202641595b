package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/portico-gw/portico/schema"
)

// Body kinds Kong's Admin API accepts (api_helpers before_filter).
const (
	mimeJSON      = "application/json"
	mimeForm      = "application/x-www-form-urlencoded"
	mimeMultipart = "multipart/form-data"
)

// Limits on form bodies, so a crafted key cannot allocate without bound.
const (
	maxFormIndex       = 1000 // highest explicit array index, key[1000]
	maxFormDepth       = 32   // nesting of dotted and bracketed keys
	maxMultipartMemory = 16 << 20
)

var (
	errUnsupportedMedia = errors.New("unsupported media type")
	errBadJSON          = errors.New("Cannot parse JSON body")
)

// decodeError is a form key that cannot be placed; it becomes a schema
// violation naming the key.
type decodeError struct {
	field string
	msg   string
}

func (e *decodeError) Error() string { return e.field + ": " + e.msg }

// body is a decoded request body: the nested arguments and whether they came
// from a form (whose string values must be inferred from the schema).
type body struct {
	args map[string]any
	form bool
}

// decodeBody turns a JSON, url-encoded or multipart body into one nested
// map. Form keys use Kong's syntax: dotted keys build records and maps
// (config.headers.x=1), key[] appends and key[N] sets element N (1-based)
// of an array, a repeated plain key builds an array.
func decodeBody(contentType string, raw []byte) (body, error) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if contentType == "" {
		if len(bytes.TrimSpace(raw)) == 0 {
			return body{args: map[string]any{}}, nil
		}
		return body{}, errUnsupportedMedia
	}
	if err != nil {
		return body{}, errUnsupportedMedia
	}
	switch mediaType {
	case mimeJSON:
		return decodeJSON(raw)
	case mimeForm:
		pairs, err := parseURLEncoded(raw)
		if err != nil {
			return body{}, &decodeError{field: "@body", msg: err.Error()}
		}
		args, err := buildArgs(pairs)
		return body{args: args, form: true}, err
	case mimeMultipart:
		if len(raw) == 0 {
			return body{args: map[string]any{}, form: true}, nil
		}
		pairs, err := parseMultipart(raw, params["boundary"])
		if err != nil {
			return body{}, &decodeError{field: "@body", msg: err.Error()}
		}
		args, err := buildArgs(pairs)
		return body{args: args, form: true}, err
	}
	return body{}, errUnsupportedMedia
}

// decodeJSON reads a JSON object; as in Kong, an empty body declared as JSON
// cannot be parsed.
func decodeJSON(raw []byte) (body, error) {
	if !utf8.Valid(raw) {
		return body{}, errBadJSON
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var v any
	if err := dec.Decode(&v); err != nil {
		return body{}, errBadJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return body{}, errBadJSON
	}
	args, ok := v.(map[string]any)
	if !ok {
		return body{}, errBadJSON
	}
	return body{args: args}, nil
}

type pair struct{ key, value string }

func parseURLEncoded(raw []byte) ([]pair, error) {
	var pairs []pair
	for _, part := range strings.Split(string(raw), "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("invalid url encoding in key %q", k)
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("invalid url encoding in value of %q", key)
		}
		pairs = append(pairs, pair{key, value})
	}
	return pairs, nil
}

func parseMultipart(raw []byte, boundary string) ([]pair, error) {
	if boundary == "" {
		return nil, errors.New("multipart body without boundary")
	}
	r := multipart.NewReader(bytes.NewReader(raw), boundary)
	var pairs []pair
	for {
		part, err := r.NextPart()
		if err == io.EOF {
			return pairs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading multipart body: %v", err)
		}
		name := part.FormName()
		// Files (curl -F key=@file) contribute their content as the value.
		value, err := io.ReadAll(io.LimitReader(part, maxMultipartMemory+1))
		part.Close()
		if err != nil {
			return nil, fmt.Errorf("reading multipart part %q: %v", name, err)
		}
		if len(value) > maxMultipartMemory {
			return nil, fmt.Errorf("multipart part %q is too large", name)
		}
		if name == "" {
			continue
		}
		pairs = append(pairs, pair{name, string(value)})
	}
}

// segment is one step of a form key path: a name, an index, or an append.
type segment struct {
	name    string
	index   int  // 1-based, when isIndex
	append  bool // key[]
	isIndex bool
}

// parseKey splits "config.headers[2].name" into segments.
func parseKey(key string) ([]segment, error) {
	var segs []segment
	i := 0
	for i < len(key) {
		switch key[i] {
		case '.':
			i++
			continue
		case '[':
			end := strings.IndexByte(key[i:], ']')
			if end < 0 {
				return nil, errors.New("unclosed '[' in key")
			}
			inner := key[i+1 : i+end]
			i += end + 1
			switch {
			case inner == "":
				segs = append(segs, segment{append: true, isIndex: true})
			default:
				n, err := strconv.Atoi(inner)
				if err != nil {
					// key[name] is Kong's alternative spelling of key.name.
					segs = append(segs, segment{name: inner})
					continue
				}
				if n < 1 || n > maxFormIndex {
					return nil, fmt.Errorf("array index must be between 1 and %d", maxFormIndex)
				}
				segs = append(segs, segment{index: n, isIndex: true})
			}
		default:
			j := i
			for j < len(key) && key[j] != '.' && key[j] != '[' {
				j++
			}
			segs = append(segs, segment{name: key[i:j]})
			i = j
		}
		if len(segs) > maxFormDepth {
			return nil, errors.New("key is nested too deeply")
		}
	}
	if len(segs) == 0 || segs[0].isIndex {
		return nil, errors.New("invalid key")
	}
	return segs, nil
}

// node is a form value under construction: a leaf, a map or an array.
type node struct {
	leaf     *string
	leaves   []string // a repeated plain key
	children map[string]*node
	order    []string
	items    map[int]*node // explicit indexes
	appended []*node       // key[] values, placed after explicit indexes
}

// buildArgs assembles form pairs into nested maps and arrays.
func buildArgs(pairs []pair) (map[string]any, error) {
	root := &node{children: map[string]*node{}}
	for _, p := range pairs {
		segs, err := parseKey(p.key)
		if err != nil {
			return nil, &decodeError{field: p.key, msg: err.Error()}
		}
		if err := root.put(segs, p.value); err != nil {
			return nil, &decodeError{field: p.key, msg: err.Error()}
		}
	}
	out, _ := root.value().(map[string]any)
	return out, nil
}

var errConflict = errors.New("conflicting value types for this key")

func (n *node) put(segs []segment, value string) error {
	if len(segs) == 0 {
		if n.children != nil || n.items != nil || n.appended != nil {
			return errConflict
		}
		if n.leaf == nil {
			v := value
			n.leaf = &v
			return nil
		}
		n.leaves = append(n.leaves, value)
		return nil
	}
	if n.leaf != nil {
		return errConflict
	}
	s := segs[0]
	if s.isIndex {
		if n.children != nil {
			return errConflict
		}
		child := &node{}
		if s.append {
			n.appended = append(n.appended, child)
			return child.put(segs[1:], value)
		}
		if n.items == nil {
			n.items = map[int]*node{}
		}
		if existing, ok := n.items[s.index]; ok {
			child = existing
		} else {
			n.items[s.index] = child
		}
		return child.put(segs[1:], value)
	}
	if n.items != nil || n.appended != nil {
		return errConflict
	}
	if n.children == nil {
		n.children = map[string]*node{}
	}
	child, ok := n.children[s.name]
	if !ok {
		child = &node{}
		n.children[s.name] = child
		n.order = append(n.order, s.name)
	}
	return child.put(segs[1:], value)
}

func (n *node) value() any {
	switch {
	case n.leaf != nil && n.leaves == nil:
		return *n.leaf
	case n.leaf != nil:
		out := []any{*n.leaf}
		for _, v := range n.leaves {
			out = append(out, v)
		}
		return out
	case n.children != nil:
		m := make(map[string]any, len(n.children))
		for _, k := range n.order {
			m[k] = n.children[k].value()
		}
		return m
	case n.items != nil || n.appended != nil:
		idx := make([]int, 0, len(n.items))
		for i := range n.items {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		out := make([]any, 0, len(idx)+len(n.appended))
		for _, i := range idx {
			out = append(out, n.items[i].value())
		}
		for _, c := range n.appended {
			out = append(out, c.value())
		}
		return out
	}
	return nil
}

// entityArgs prepares decoded arguments for an entity: form strings are
// inferred from the schema (and, for updates, the existing entity's
// subschema); JSON is used as is.
func entityArgs(e *schema.Entity, b body, existing map[string]any) map[string]any {
	if b.form {
		return e.InferUpdate(b.args, existing)
	}
	return b.args
}
