package bundled

import (
	"bytes"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// responseTransformer is Kong's response-transformer
// (kong/plugins/response-transformer/schema.lua).
func responseTransformer() plugins.Info {
	plain := func(name string) *schema.Field { return transformList(name, &schema.Field{}) }
	colon := func(name string) *schema.Field { return transformList(name, &schema.Field{Match: colonPair}) }
	colonRecord := func(name string) *schema.Field {
		return record(name,
			colon("json"),
			// JSON types of the values added, appended or replaced, in order.
			transformList("json_types", &schema.Field{OneOf: schema.Strings("boolean", "number", "string")}),
			transformList("headers", &schema.Field{Match: colonPair, Validator: headerPair(validHeaderValue)}),
		)
	}
	return runs(newResponseTransformer, info("response-transformer", 800, []*schema.Field{
		protocolsHTTP(),
		config(
			record("remove", plain("json"), plain("headers")),
			// rename.json was added in 3.8.
			record("rename",
				colon("json"),
				transformList("headers", &schema.Field{Match: colonPair, Validator: headerPair(validHeaderName)}),
			),
			colonRecord("replace"),
			colonRecord("add"),
			colonRecord("append"),
		),
	}))
}

// respTransformer is Kong's response-transformer: it changes the answer's
// headers in header_filter and, for a JSON answer, its body in body_filter
// (kong/plugins/response-transformer). Operations run in Kong's order:
// remove, rename, replace, add, append; rename, replace and add look at the
// headers as the upstream sent them.
type respTransformer struct {
	removeHeaders                        []string
	renameHeaders                        []respPair
	replaceHeaders, addHeaders, appendHs []respPair
	removeJSON                           []string
	renameJSON                           []respPair
	replaceJSON, addJSON, appendJSON     []respPair
	// bodySet: some JSON operation is configured.
	bodySet bool
	// snapshot: rename, replace or add headers need the headers as they
	// came.
	snapshot bool
	headers  sync.Pool
}

// respPair is a configured name and value; value is nil when the entry
// has none (Kong skips those), and for JSON it is the JSON to write.
type respPair struct {
	name  string
	value []byte
}

func newResponseTransformer(conf map[string]any) (plugins.Handler, error) {
	t := &respTransformer{}
	t.headers.New = func() any { return &fasthttp.ResponseHeader{} }
	pairs := func(op, field string, types []string) []respPair {
		var out []respPair
		for i, entry := range row.Strings(row.Map(conf, op)[field]) {
			name, value, _ := splitPair(entry)
			p := respPair{name: name}
			if value != "" {
				switch {
				case field == "headers":
					p.value = []byte(value)
				case types != nil:
					typ := ""
					if i < len(types) {
						typ = types[i]
					}
					p.value = jsonTypedValue(value, typ)
				default: // rename.json: the new name
					p.value = []byte(value)
				}
			}
			out = append(out, p)
		}
		return out
	}
	types := func(op string) []string {
		if ts := row.Strings(row.Map(conf, op)["json_types"]); ts != nil {
			return ts
		}
		return []string{}
	}
	t.removeHeaders = row.Strings(row.Map(conf, "remove")["headers"])
	t.removeJSON = row.Strings(row.Map(conf, "remove")["json"])
	t.renameHeaders = pairs("rename", "headers", nil)
	t.renameJSON = pairs("rename", "json", nil)
	t.replaceHeaders = pairs("replace", "headers", nil)
	t.addHeaders = pairs("add", "headers", nil)
	t.appendHs = pairs("append", "headers", nil)
	t.replaceJSON = pairs("replace", "json", types("replace"))
	t.addJSON = pairs("add", "json", types("add"))
	t.appendJSON = pairs("append", "json", types("append"))
	t.bodySet = len(t.removeJSON)+len(t.renameJSON)+len(t.replaceJSON)+len(t.addJSON)+len(t.appendJSON) > 0
	t.snapshot = len(t.renameHeaders)+len(t.replaceHeaders)+len(t.addHeaders) > 0
	return t, nil
}

func (t *respTransformer) HeaderFilter(c *plugins.Context) error {
	h := &c.Response.Header
	var orig *fasthttp.ResponseHeader
	if t.snapshot {
		orig = t.headers.Get().(*fasthttp.ResponseHeader)
		defer t.headers.Put(orig)
		h.CopyTo(orig)
	}
	for _, name := range t.removeHeaders {
		h.Del(name)
	}
	for _, p := range t.renameHeaders {
		vals := orig.PeekAll(p.name)
		if len(vals) == 0 || p.value == nil {
			continue
		}
		h.DelBytes(p.value)
		for _, v := range vals {
			h.AddBytesKV(p.value, v)
		}
		h.Del(p.name)
	}
	for _, p := range t.replaceHeaders {
		if p.value != nil && len(orig.PeekAll(p.name)) > 0 {
			h.SetBytesV(p.name, p.value)
		}
	}
	for _, p := range t.addHeaders {
		if p.value != nil && len(orig.PeekAll(p.name)) == 0 {
			h.SetBytesV(p.name, p.value)
		}
	}
	for _, p := range t.appendHs {
		if p.value != nil {
			h.AddBytesV(p.name, p.value)
		}
	}
	if t.bodySet && isJSONType(h.ContentType()) {
		c.BufferBody()
	}
	return nil
}

func (t *respTransformer) BodyFilter(c *plugins.Context) error {
	if !t.bodySet || !isJSONType(c.Response.Header.ContentType()) {
		return nil
	}
	st := jsonObjects.Get().(*jsonObject)
	defer jsonObjects.Put(st)
	if !st.parse(c.Response.Body()) {
		return nil // Kong: "body transform failed", the body goes as it is
	}
	for _, name := range t.removeJSON {
		st.remove(name)
	}
	for _, p := range t.renameJSON {
		if p.value != nil {
			st.rename(p.name, string(p.value))
		}
	}
	for _, p := range t.replaceJSON {
		if p.value != nil && st.truthy(p.name) {
			st.set(p.name, p.value)
		}
	}
	for _, p := range t.addJSON {
		if p.value != nil && !st.truthy(p.name) {
			st.set(p.name, p.value)
		}
	}
	for _, p := range t.appendJSON {
		if p.value != nil {
			st.appendValue(p.name, p.value)
		}
	}
	body := st.appendTo(st.out[len(st.out):])
	c.Response.SetBody(body)
	st.out = body[:0]
	return nil
}

var jsonObjects = sync.Pool{New: func() any { return &jsonObject{} }}

// isJSONType reports a Content-Type naming JSON, as Kong's is_json_body:
// any of its comma-separated media types is application/json or
// application/*+json.
func isJSONType(ct []byte) bool {
	for len(ct) > 0 {
		var item []byte
		if i := bytes.IndexByte(ct, ','); i >= 0 {
			item, ct = ct[:i], ct[i+1:]
		} else {
			item, ct = ct, nil
		}
		if i := bytes.IndexByte(item, ';'); i >= 0 {
			item = item[:i]
		}
		item = bytes.TrimSpace(item)
		typ, sub, ok := bytes.Cut(item, []byte{'/'})
		if !ok || !equalFoldASCII(typ, "application") || len(typ) != len("application") {
			continue
		}
		sub = bytes.TrimSpace(sub)
		if len(sub) == 4 && equalFoldASCII(sub, "json") {
			return true
		}
		if len(sub) > 5 && equalFoldASCII(sub[len(sub)-5:], "+json") {
			return true
		}
	}
	return false
}

var (
	_ plugins.HeaderFilterer = (*respTransformer)(nil)
	_ plugins.BodyFilterer   = (*respTransformer)(nil)
)
