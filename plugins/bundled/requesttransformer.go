package bundled

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"regexp"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// Transformer messages (kong/plugins/request-transformer/schema.lua).
const (
	msgNoValue       = "key '%s' has no value"
	msgInvalidHeader = "'%s' is not a valid header"
)

// colonPair matches "name:value" entries (Lua "^[^:]+:.*$").
var colonPair = regexp.MustCompile(`^[^:]+:.*$`)

// splitPair splits an entry as Lua's "^([^:]+):*(.-)$" does: the name runs to
// the first colon, the colons after it are dropped. ok is false when the
// entry starts with a colon.
func splitPair(entry string) (name, value string, ok bool) {
	i := strings.IndexByte(entry, ':')
	if i == 0 || entry == "" {
		return "", "", false
	}
	if i < 0 {
		return entry, "", true
	}
	return entry[:i], strings.TrimLeft(entry[i:], ":"), true
}

// checkForValue is request-transformer's check_for_value: "name:value" with a
// non-empty value, whose template Portico can render.
func checkForValue(v any) error {
	s, _ := v.(string)
	name, value, _ := splitPair(s)
	if value == "" {
		return fmt.Errorf(msgNoValue, name)
	}
	return checkTemplate(value)
}

// checkTemplate refuses a value with expressions Portico does not render.
func checkTemplate(value string) error {
	_, err := compileTemplate(value)
	return err
}

// renderable adds the template check to a value validator.
func renderable(check func(any) error) func(any) error {
	return func(v any) error {
		if err := check(v); err != nil {
			return err
		}
		s, _ := v.(string)
		_, value, _ := splitPair(s)
		return checkTemplate(value)
	}
}

// headerPair is the transformers' validate_headers: the name must be a valid
// header name and, when valueOK is given, the value must pass it.
func headerPair(valueOK func(string) bool) func(any) error {
	return func(v any) error {
		s, _ := v.(string)
		name, value, _ := splitPair(s)
		if !validHeaderName(name) {
			return fmt.Errorf(msgInvalidHeader, name)
		}
		if valueOK != nil && !valueOK(value) {
			return fmt.Errorf(msgInvalidHeader, value)
		}
		return nil
	}
}

// transformList is an array of strings defaulting to [] whose elements pass
// elem's constraints.
func transformList(name string, elem *schema.Field) *schema.Field {
	elem.Type = schema.String
	return &schema.Field{Name: name, Type: schema.Array, Required: true, Default: []any{}, Elements: elem}
}

// requestTransformer is Kong's request-transformer
// (kong/plugins/request-transformer/schema.lua).
func requestTransformer() plugins.Info {
	plain := func(name string) *schema.Field { return transformList(name, &schema.Field{}) }
	colon := func(name string) *schema.Field {
		return transformList(name, &schema.Field{Validator: checkForValue})
	}
	headerValues := func() *schema.Field {
		return transformList("headers", &schema.Field{Match: colonPair, Validator: renderable(headerPair(validHeaderValue))})
	}
	add := func(name string, uri bool) *schema.Field {
		fields := []*schema.Field{colon("body"), headerValues(), colon("querystring")}
		if uri {
			fields = append(fields, &schema.Field{Name: "uri", Type: schema.String, Validator: func(v any) error {
				s, _ := v.(string)
				return checkTemplate(s)
			}})
		}
		return record(name, fields...)
	}
	return runs(newRequestTransformer, info("request-transformer", 801, []*schema.Field{
		protocolsAny(),
		config(
			httpMethod("http_method"),
			record("remove",
				plain("body"),
				transformList("headers", &schema.Field{Validator: headerPair(nil)}),
				plain("querystring"),
			),
			record("rename",
				colon("body"),
				transformList("headers", &schema.Field{Match: colonPair, Validator: renderable(headerPair(validHeaderName))}),
				colon("querystring"),
			),
			add("replace", true),
			add("add", false),
			add("append", false),
		),
	}))
}

// tpair is one configured entry: a name and, for the lists that have
// one, its value.
type tpair struct {
	name  string
	key   []byte // name as bytes
	lower string // name in lower case
	value *template
	lit   []byte // a literal value
	slot  int    // where a rendered value is kept (templates only)
}

// tlists are the headers, querystring and body entries of one operation.
type tlists struct{ headers, query, body []tpair }

// reqTransformer is Kong's request-transformer: it changes the request
// before it goes upstream (kong/plugins/request-transformer/access.lua):
// the path (replace.uri), the method, then headers, body and query string,
// each by remove, rename, replace, add and append, in that order.
type reqTransformer struct {
	method                               string
	uri                                  *template
	uriSlot                              int
	remove, rename, replace, add, append tlists
	// templates are the values with expressions, rendered once per
	// request before anything changes (Kong's template environment is the
	// request as the plugin found it).
	templates []*template
	// queryEnv: some template reads query_params.
	queryEnv bool
	hasQuery bool
	hasBody  bool
	state    sync.Pool
}

// rtState is one request's working memory.
type rtState struct {
	env      tmplEnv
	envQuery argList
	query    argList
	form     argList
	obj      jsonObject
	rendered []byte
	spans    [][2]int
	out      []byte
	enc      []byte
	values   [][]byte
	sorted   sortScratch
}

func newRequestTransformer(conf map[string]any) (plugins.Handler, error) {
	t := &reqTransformer{method: row.String(conf, "http_method")}
	t.state.New = func() any { return &rtState{} }
	compile := func(op string, withValue bool) (tlists, error) {
		rec := row.Map(conf, op)
		var out tlists
		for _, kind := range []struct {
			field string
			dst   *[]tpair
		}{{"headers", &out.headers}, {"querystring", &out.query}, {"body", &out.body}} {
			for _, entry := range row.Strings(rec[kind.field]) {
				name, value, _ := splitPair(entry)
				p := tpair{name: name, key: []byte(name), lower: strings.ToLower(name), slot: -1}
				if withValue {
					tpl, err := compileTemplate(value)
					if err != nil {
						return out, fmt.Errorf("%s.%s: %w", op, kind.field, err)
					}
					p.value, p.lit = tpl, []byte(value)
					if !tpl.literal() {
						p.slot = len(t.templates)
						t.templates = append(t.templates, tpl)
					}
				}
				*kind.dst = append(*kind.dst, p)
			}
		}
		return out, nil
	}
	var err error
	if t.remove, err = compile("remove", false); err != nil {
		return nil, err
	}
	for _, op := range []struct {
		name string
		dst  *tlists
	}{{"rename", &t.rename}, {"replace", &t.replace}, {"add", &t.add}, {"append", &t.append}} {
		if *op.dst, err = compile(op.name, true); err != nil {
			return nil, err
		}
	}
	t.uriSlot = -1
	if uri := row.String(row.Map(conf, "replace"), "uri"); uri != "" {
		if t.uri, err = compileTemplate(uri); err != nil {
			return nil, err
		}
		if !t.uri.literal() {
			t.uriSlot = len(t.templates)
			t.templates = append(t.templates, t.uri)
		}
	}
	for _, tpl := range t.templates {
		for _, p := range tpl.parts {
			for _, op := range p.alts {
				t.queryEnv = t.queryEnv || op.kind == opQuery
			}
		}
	}
	for _, l := range []tlists{t.remove, t.rename, t.replace, t.add, t.append} {
		t.hasQuery = t.hasQuery || len(l.query) > 0
		t.hasBody = t.hasBody || len(l.body) > 0
	}
	return t, nil
}

// value is an entry's value for this request.
func (st *rtState) value(p *tpair) []byte {
	if p.slot < 0 {
		return p.lit
	}
	s := st.spans[p.slot]
	return st.rendered[s[0]:s[1]:s[1]]
}

func (t *reqTransformer) Access(c *plugins.Context) error {
	st := t.state.Get().(*rtState)
	defer t.state.Put(st)
	st.env = tmplEnv{c: c}
	if len(t.templates) > 0 {
		if t.queryEnv {
			st.envQuery.parse(rawQuery(c.Request))
			st.env.query = &st.envQuery
		}
		st.rendered, st.spans = st.rendered[:0], st.spans[:0]
		for _, tpl := range t.templates {
			start := len(st.rendered)
			var err error
			if st.rendered, err = tpl.render(st.rendered, &st.env); err != nil {
				return fmt.Errorf("[request-transformer] %w", err)
			}
			st.spans = append(st.spans, [2]int{start, len(st.rendered)})
		}
	}
	if t.uri != nil {
		path := []byte(t.uri.raw)
		if t.uriSlot >= 0 {
			s := st.spans[t.uriSlot]
			path = st.rendered[s[0]:s[1]]
		}
		if len(path) == 0 || path[0] != '/' {
			return fmt.Errorf("[request-transformer] replace.uri rendered %q: the path must start with /", path)
		}
		c.Upstream.SetPath(path)
	}
	t.transformMethod(c, st)
	t.transformHeaders(c, st)
	if t.hasBody {
		t.transformBody(c, st)
	}
	if t.hasQuery {
		t.transformQuery(c, st)
	}
	st.env = tmplEnv{}
	return nil
}

// Request body kinds by Content-Type, as Kong's PDK and plugins tell them
// apart (a case-insensitive search of the media type).
const (
	bodyOther = iota
	bodyJSON
	bodyMultipart
	bodyForm
)

func bodyKind(contentType []byte) int {
	switch {
	case containsFold(contentType, "application/json"):
		return bodyJSON
	case containsFold(contentType, "multipart/form-data"):
		return bodyMultipart
	case containsFold(contentType, "application/x-www-form-urlencoded"):
		return bodyForm
	}
	return bodyOther
}

// containsFold reports whether s contains sub (lower case), ignoring case.
func containsFold(s []byte, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if equalFoldASCII(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func equalFoldASCII(b []byte, lower string) bool {
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// transformMethod sets http_method; a GET, HEAD or TRACE gets a form
// body's arguments in its query string, as in Kong.
func (t *reqTransformer) transformMethod(c *plugins.Context, st *rtState) {
	if t.method == "" {
		return
	}
	c.Request.Header.SetMethod(t.method)
	switch t.method {
	case "GET", "HEAD", "TRACE":
	default:
		return
	}
	if bodyKind(c.Request.Header.ContentType()) != bodyForm || !bodyAtHand(c.Request) {
		return
	}
	st.form.parse(c.Request.Body())
	if len(st.form.args) == 0 {
		return
	}
	st.query.parse(rawQuery(c.Request))
	for _, a := range st.form.args {
		st.query.args = append(st.query.args, a)
	}
	st.out = st.query.appendSorted(st.out[:0], &st.sorted)
	c.SetRawQuery(st.out)
}

func hasHeader(h *fasthttp.RequestHeader, name string) bool { return len(h.PeekAll(name)) > 0 }

func headerCount(h *fasthttp.RequestHeader, name string) int { return len(h.PeekAll(name)) }

func (t *reqTransformer) transformHeaders(c *plugins.Context, st *rtState) {
	h := &c.Request.Header
	for i := range t.remove.headers {
		p := &t.remove.headers[i]
		if p.lower != "host" {
			h.Del(p.name)
		}
	}
	for i := range t.rename.headers {
		p := &t.rename.headers[i]
		to := st.value(p)
		if p.lower == "host" || strings.EqualFold(p.name, string(to)) {
			continue // Host is not among the headers; a change of case changes nothing
		}
		vals := h.PeekAll(p.name)
		if len(vals) == 0 {
			continue
		}
		st.values = st.values[:0]
		st.out = st.out[:0]
		for _, v := range vals {
			start := len(st.out)
			st.out = append(st.out, v...)
			st.values = append(st.values, st.out[start:len(st.out)])
		}
		h.Del(p.name)
		if equalFoldASCII(to, "host") && len(to) == 4 {
			c.Upstream.SetHost(st.values[0])
			continue
		}
		h.DelBytes(to)
		for _, v := range st.values {
			h.AddBytesKV(to, v)
		}
	}
	for i := range t.replace.headers {
		p := &t.replace.headers[i]
		switch {
		case p.lower == "host":
			c.Upstream.SetHost(st.value(p))
		case hasHeader(h, p.name):
			h.SetBytesKV(p.key, st.value(p))
		}
	}
	for i := range t.add.headers {
		p := &t.add.headers[i]
		if p.lower != "host" && !hasHeader(h, p.name) {
			h.SetBytesKV(p.key, st.value(p))
		}
	}
	for i := range t.append.headers {
		p := &t.append.headers[i]
		if p.lower != "host" {
			h.AddBytesKV(p.key, st.value(p))
		}
	}
}

func (t *reqTransformer) transformQuery(c *plugins.Context, st *rtState) {
	q := &st.query
	q.parse(rawQuery(c.Request))
	for i := range t.remove.query {
		q.remove(t.remove.query[i].name)
	}
	for i := range t.rename.query {
		p := &t.rename.query[i]
		to := st.value(p)
		q.rename(p.name, string(to), to)
	}
	for i := range t.replace.query {
		p := &t.replace.query[i]
		if _, n := q.lookup(p.name); n > 0 {
			q.set(p.key, st.value(p))
		}
	}
	for i := range t.add.query {
		p := &t.add.query[i]
		if _, n := q.lookup(p.name); n == 0 {
			q.add(p.key, st.value(p))
		}
	}
	for i := range t.append.query {
		p := &t.append.query[i]
		q.add(p.key, st.value(p))
	}
	st.out = q.appendSorted(st.out[:0], &st.sorted)
	c.SetRawQuery(st.out)
}

// maxTransformedBody is the largest request body the plugin reads to
// change it; larger ones, and bodies sent chunked, go upstream as they are.
const maxTransformedBody = 8 << 20

// bodyAtHand reports whether the request's body can be read whole: it is
// in memory already, or announced with a Content-Length up to
// maxTransformedBody (the proxy then sends it from memory).
func bodyAtHand(req *fasthttp.Request) bool {
	if !req.IsBodyStream() {
		return true
	}
	n := req.Header.ContentLength()
	return n >= 0 && n <= maxTransformedBody
}

// transformBody changes a JSON, form or multipart body read whole (see
// bodyAtHand).
func (t *reqTransformer) transformBody(c *plugins.Context, st *rtState) {
	kind := bodyKind(c.Request.Header.ContentType())
	if kind == bodyOther || !bodyAtHand(c.Request) {
		return
	}
	body := c.Request.Body()
	var changed bool
	switch kind {
	case bodyJSON:
		changed = t.transformJSON(body, st)
	case bodyForm:
		changed = t.transformForm(body, st)
	case bodyMultipart:
		var err error
		if st.out, changed, err = t.transformMultipart(st.out[:0], body, c.Request.Header.ContentType(), st); err != nil {
			return
		}
	}
	if changed {
		c.Request.SetBody(st.out)
		c.Request.Header.SetContentLength(len(st.out))
	}
}

func (t *reqTransformer) transformJSON(body []byte, st *rtState) bool {
	o := &st.obj
	if len(body) == 0 {
		o.reset()
	} else if !o.parse(body) {
		return false
	}
	changed := false
	st.values = st.values[:0]
	st.enc = st.enc[:0]
	encoded := func(p *tpair) []byte {
		start := len(st.enc)
		st.enc = appendJSONBytes(st.enc, st.value(p))
		return st.enc[start:len(st.enc):len(st.enc)]
	}
	if len(body) > 0 {
		for i := range t.remove.body {
			o.remove(t.remove.body[i].name)
			changed = true
		}
		for i := range t.rename.body {
			p := &t.rename.body[i]
			if to := string(st.value(p)); p.name != to && o.truthy(p.name) {
				o.rename(p.name, to)
				changed = true
			}
		}
		for i := range t.replace.body {
			p := &t.replace.body[i]
			if o.truthy(p.name) {
				o.set(p.name, encoded(p))
				changed = true
			}
		}
	}
	for i := range t.add.body {
		p := &t.add.body[i]
		if !o.truthy(p.name) {
			o.set(p.name, encoded(p))
			changed = true
		}
	}
	for i := range t.append.body {
		p := &t.append.body[i]
		o.appendValue(p.name, encoded(p))
		changed = true
	}
	if changed {
		st.out = o.appendTo(st.out[:0])
	}
	return changed
}

func (t *reqTransformer) transformForm(body []byte, st *rtState) bool {
	f := &st.form
	f.parse(body)
	changed := false
	if len(body) > 0 {
		for i := range t.remove.body {
			f.remove(t.remove.body[i].name)
			changed = true
		}
		for i := range t.rename.body {
			p := &t.rename.body[i]
			to := st.value(p)
			changed = f.rename(p.name, string(to), to) || changed
		}
		for i := range t.replace.body {
			p := &t.replace.body[i]
			if _, n := f.lookup(p.name); n > 0 {
				f.set(p.key, st.value(p))
				changed = true
			}
		}
	}
	for i := range t.add.body {
		p := &t.add.body[i]
		if _, n := f.lookup(p.name); n == 0 {
			f.add(p.key, st.value(p))
			changed = true
		}
	}
	for i := range t.append.body {
		p := &t.append.body[i]
		f.add(p.key, st.value(p))
		changed = true
	}
	if changed {
		st.out = f.appendEncoded(st.out[:0])
	}
	return changed
}

// formPart is one part of a multipart body.
type formPart struct {
	name   string
	header textproto.MIMEHeader
	value  []byte
}

// transformMultipart changes a multipart/form-data body as Kong's
// lua-multipart does (rename, remove, replace, add; append does not apply
// to multipart bodies in Kong): parts it writes are simple
// `form-data; name="..."` parts, the others keep their headers.
func (t *reqTransformer) transformMultipart(dst, body, contentType []byte, st *rtState) ([]byte, bool, error) {
	_, params, err := mime.ParseMediaType(string(contentType))
	boundary := params["boundary"]
	if err != nil || boundary == "" {
		return dst, false, errors.New("no boundary")
	}
	var parts []formPart
	if len(body) > 0 {
		r := multipart.NewReader(bytes.NewReader(body), boundary)
		for {
			p, err := r.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return dst, false, err
			}
			value, err := io.ReadAll(p)
			if err != nil {
				return dst, false, err
			}
			parts = append(parts, formPart{name: p.FormName(), header: p.Header, value: value})
		}
	}
	find := func(name string) int {
		for i := range parts {
			if parts[i].name == name {
				return i
			}
		}
		return -1
	}
	del := func(name string) {
		if i := find(name); i >= 0 {
			parts = append(parts[:i], parts[i+1:]...)
		}
	}
	setSimple := func(name string, value []byte) {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+name+`"`)
		if i := find(name); i >= 0 {
			parts[i].header, parts[i].value = h, value
			return
		}
		parts = append(parts, formPart{name: name, header: h, value: value})
	}
	changed := false
	if len(body) > 0 {
		for i := range t.rename.body {
			p := &t.rename.body[i]
			to := string(st.value(p))
			if j := find(p.name); j >= 0 && p.name != to {
				setSimple(to, parts[j].value)
				del(p.name)
				changed = true
			}
		}
		for i := range t.remove.body {
			del(t.remove.body[i].name)
			changed = true
		}
		for i := range t.replace.body {
			p := &t.replace.body[i]
			if find(p.name) >= 0 {
				del(p.name)
				setSimple(p.name, bytes.Clone(st.value(p)))
				changed = true
			}
		}
	}
	for i := range t.add.body {
		p := &t.add.body[i]
		if find(p.name) < 0 {
			setSimple(p.name, bytes.Clone(st.value(p)))
			changed = true
		}
	}
	if !changed {
		return dst, false, nil
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.SetBoundary(boundary); err != nil {
		return dst, false, err
	}
	for _, p := range parts {
		pw, err := w.CreatePart(p.header)
		if err != nil {
			return dst, false, err
		}
		pw.Write(p.value)
	}
	w.Close()
	return append(dst, buf.Bytes()...), true, nil
}

var _ plugins.Accessor = (*reqTransformer)(nil)
