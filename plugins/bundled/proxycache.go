package bundled

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"mime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/maypok86/otter/v2"
	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// proxyCache is Kong's proxy-cache (kong/plugins/proxy-cache/schema.lua).
//
// Kong checks that memory.dictionary_name names an nginx shared dict ("missing
// shared dict '...'"); Portico makes a dictionary for any name it is given:
// every instance naming it shares it, as nginx's shared dicts are shared.
func proxyCache() plugins.Info {
	flag := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Boolean, Default: true}
	}
	dicts := &cacheDicts{byName: map[string]*cacheDict{}, size: cacheDictSize}
	return runs(dicts.newHandler, info("proxy-cache", 100, []*schema.Field{
		protocolsAny(),
		config(
			&schema.Field{Name: "response_code", Type: schema.Array, Required: true, LenMin: 1,
				Elements: &schema.Field{Type: schema.Integer, Between: schema.Range(100, 900)},
				Default:  schema.Ints(200, 301, 404)},
			&schema.Field{Name: "request_method", Type: schema.Array, Required: true,
				Elements: &schema.Field{Type: schema.String, OneOf: schema.Strings("HEAD", "GET", "POST", "PATCH", "PUT")},
				Default:  schema.Strings("GET", "HEAD")},
			&schema.Field{Name: "content_type", Type: schema.Array, Required: true,
				Elements: &schema.Field{Type: schema.String},
				Default:  schema.Strings("text/plain", "application/json")},
			// Seconds.
			&schema.Field{Name: "cache_ttl", Type: schema.Integer, Default: float64(300), Gt: schema.Float(0)},
			// Kong OSS has the memory strategy only.
			&schema.Field{Name: "strategy", Type: schema.String, Required: true, OneOf: schema.Strings("memory")},
			&schema.Field{Name: "cache_control", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "ignore_uri_case", Type: schema.Boolean, Default: false},
			&schema.Field{Name: "storage_ttl", Type: schema.Integer},
			record("memory",
				&schema.Field{Name: "dictionary_name", Type: schema.String, Required: true, Default: "kong_db_cache"},
			),
			stringArray("vary_query_params"),
			stringArray("vary_headers"),
			// Diagnostic headers added to cached responses.
			record("response_headers", flag("age"), flag("X-Cache-Status"), flag("X-Cache-Key")),
		),
	}))
}

// cacheDictSize bounds each memory dictionary, in bytes of cached answers
// (Kong's kong_db_cache shared dict is mem_cache_size, 128 MiB by
// default). The least recently used answers make room for new ones.
const cacheDictSize = 128 << 20

// maxKeptRequestBody is the largest request body stored with an answer.
const maxKeptRequestBody = 64 << 10

// cacheVersion is the stored format (Kong's CACHE_VERSION).
const cacheVersion = 1

// cacheDicts are the memory strategy's dictionaries by name, shared by
// every proxy-cache instance of one plugin registry (one node).
type cacheDicts struct {
	mu     sync.Mutex
	byName map[string]*cacheDict
	size   uint64
}

// cacheDict is one dictionary: cached answers by cache key, bounded in
// bytes, each expiring after its storage TTL.
type cacheDict struct {
	c *otter.Cache[string, *cachedAnswer]
}

func (d *cacheDicts) get(name string) (*cacheDict, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dict := d.byName[name]; dict != nil {
		return dict, nil
	}
	c, err := otter.New(&otter.Options[string, *cachedAnswer]{
		MaximumWeight: d.size,
		Weigher: func(key string, a *cachedAnswer) uint32 {
			return uint32(min(a.weight()+len(key), 1<<31))
		},
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, *cachedAnswer]) time.Duration {
			return e.Value.storageTTL
		}),
	})
	if err != nil {
		return nil, err
	}
	dict := &cacheDict{c: c}
	d.byName[name] = dict
	return dict, nil
}

// cachedAnswer is a stored answer (Kong's cached object).
type cachedAnswer struct {
	status    int
	headers   [][2]string // in the order they came, repeated names repeated
	body      []byte
	reqBody   []byte
	timestamp int64 // seconds since the epoch
	ttl       int64 // seconds the answer is fresh
	// storageTTL is how long the dictionary keeps it.
	storageTTL time.Duration
}

func (a *cachedAnswer) weight() int {
	n := len(a.body) + len(a.reqBody) + 64
	for _, h := range a.headers {
		n += len(h[0]) + len(h[1]) + 32
	}
	return n
}

// object is the answer as the Admin API shows it (Kong's stored table).
func (a *cachedAnswer) object() map[string]any {
	headers := map[string]any{}
	for _, h := range a.headers {
		switch v := headers[h[0]].(type) {
		case nil:
			headers[h[0]] = h[1]
		case string:
			headers[h[0]] = []string{v, h[1]}
		case []string:
			headers[h[0]] = append(v, h[1])
		}
	}
	return map[string]any{
		"status": a.status, "headers": headers, "body": string(a.body), "body_len": len(a.body),
		"timestamp": a.timestamp, "ttl": a.ttl, "version": cacheVersion, "req_body": string(a.reqBody),
	}
}

// mediaType is a configured content_type.
type mediaType struct {
	typ, sub string
	params   map[string]string
}

// proxyCacher is one proxy-cache instance.
type proxyCacher struct {
	dict          *cacheDict
	codes         []int
	methods       []string
	contentTypes  []mediaType
	cacheTTL      int64
	storageTTL    int64 // 0: none configured
	cacheControl  bool
	ignoreURICase bool
	varyQuery     []string
	varyHeaders   []string
	// Which diagnostic headers are sent (a Kong-Debug request gets them
	// all).
	hdrAge, hdrStatus, hdrKey bool
	states                    sync.Pool
}

// msgStrategy refuses a strategy Portico does not have.
const msgStrategy = "strategy '%s' is not supported: Portico's proxy-cache has the memory strategy only"

func (d *cacheDicts) newHandler(conf map[string]any) (plugins.Handler, error) {
	if s := row.String(conf, "strategy"); s != "memory" {
		return nil, errors.New(strings.Replace(msgStrategy, "%s", s, 1))
	}
	dict, err := d.get(row.StringOr(row.Map(conf, "memory"), "dictionary_name", "kong_db_cache"))
	if err != nil {
		return nil, err
	}
	p := &proxyCacher{dict: dict, cacheTTL: int64(row.Int(conf, "cache_ttl", 300)),
		storageTTL: int64(row.Int(conf, "storage_ttl", 0)), cacheControl: row.Bool(conf, "cache_control", false),
		ignoreURICase: row.Bool(conf, "ignore_uri_case", false),
		methods:       row.Strings(conf["request_method"]),
		varyQuery:     row.Strings(conf["vary_query_params"]), varyHeaders: row.Strings(conf["vary_headers"])}
	if l, ok := conf["response_code"].([]any); ok {
		for _, v := range l {
			p.codes = append(p.codes, int(row.Number(v, 0)))
		}
	}
	for _, ct := range row.Strings(conf["content_type"]) {
		typ, params, err := mime.ParseMediaType(ct)
		if err != nil {
			continue // Kong skips what it cannot parse
		}
		t, sub, _ := strings.Cut(typ, "/")
		p.contentTypes = append(p.contentTypes, mediaType{typ: t, sub: sub, params: params})
	}
	rh := row.Map(conf, "response_headers")
	p.hdrAge, p.hdrStatus, p.hdrKey = row.Bool(rh, "age", true), row.Bool(rh, "X-Cache-Status", true), row.Bool(rh, "X-Cache-Key", true)
	p.states.New = func() any { return &cacheState{} }
	return p, nil
}

// cacheState is one request's proxy-cache state (Kong's
// kong.ctx.plugin.proxy_cache), kept in Context.Shared under stateKey.
type cacheState struct {
	key     [64]byte // hex SHA-256
	status  string   // X-Cache-Status: Miss, Refresh or Bypass
	store   bool     // the answer may be stored
	ttl     int64
	headers [][2]string
	reqBody []byte
	debug   bool
	buf     []byte
	args    argList
	keys    [][]byte
	vals    [][]byte
}

// stateKey holds a request's cacheState in Context.Shared.
const stateKey = "portico.proxy_cache"

// Kong's cache statuses.
const (
	statusMiss    = "Miss"
	statusHit     = "Hit"
	statusRefresh = "Refresh"
	statusBypass  = "Bypass"
)

func (p *proxyCacher) Access(c *plugins.Context) error {
	st := p.states.Get().(*cacheState)
	*st = cacheState{buf: st.buf[:0], args: st.args, keys: st.keys[:0], vals: st.vals[:0], headers: st.headers[:0]}
	st.debug = len(c.Request.Header.Peek("Kong-Debug")) > 0
	c.Shared[stateKey] = st
	req := &c.Request.Header
	var cc directives
	cc.parse(req.PeekAll("Cache-Control"))
	if !p.cacheableRequest(c, &cc) {
		st.status = statusBypass
		return nil
	}
	p.cacheKey(c, st)
	a, ok := p.dict.c.GetIfPresent(unsafe.String(&st.key[0], len(st.key)))
	now := time.Now().Unix()
	switch {
	case !ok:
		if p.cacheControl && cc.has("only-if-cached") {
			c.Exit(fasthttp.StatusGatewayTimeout, nil, nil)
			st.status = ""
			return nil
		}
		// Kept with the answer, as Kong does (req_body), when small.
		if n := c.Request.Header.ContentLength(); !c.Request.IsBodyStream() || n > 0 && n <= maxKeptRequestBody {
			st.reqBody = append([]byte(nil), c.Request.Body()...)
		}
		st.status, st.store = statusMiss, true
		return nil
	case p.cacheControl:
		age := now - a.timestamp
		if v, ok := cc.number("max-age"); ok && float64(age) > v {
			st.status, st.store = statusRefresh, true
			return nil
		}
		if v, ok := cc.number("max-stale"); ok && float64(age-a.ttl) > v {
			st.status, st.store = statusRefresh, true
			return nil
		}
		if v, ok := cc.number("min-fresh"); ok && float64(a.ttl-age) < v {
			st.status, st.store = statusRefresh, true
			return nil
		}
	case now-a.timestamp > p.cacheTTL:
		// Not served stale: it may be kept up to storage_ttl.
		st.status, st.store = statusRefresh, true
		return nil
	}
	// A hit: the stored answer, without its hop-by-hop headers.
	st.status = ""
	c.Exit(a.status, a.body, nil)
	h := &c.Response.Header
	for _, kv := range a.headers {
		if overwritable(kv[0]) {
			h.Add(kv[0], kv[1])
		}
	}
	if p.hdrAge || st.debug {
		h.Set("Age", strconv.FormatInt(now-a.timestamp, 10))
	}
	if p.hdrStatus || st.debug {
		h.Set("X-Cache-Status", statusHit)
	}
	if p.hdrKey || st.debug {
		h.SetBytesV("X-Cache-Key", st.key[:])
	}
	return nil
}

// cacheableRequest is Kong's cacheable_request.
func (p *proxyCacher) cacheableRequest(c *plugins.Context, cc *directives) bool {
	if !slices.Contains(p.methods, string(c.Request.Header.Method())) {
		return false
	}
	if p.cacheControl && (cc.has("no-store") || cc.has("no-cache") || len(c.Request.Header.Peek("Authorization")) > 0) {
		return false
	}
	return true
}

// cacheKey computes Kong's cache key (kong/plugins/proxy-cache/cache_key.lua):
// the SHA-256, in hex, of "prefix|method|uri|params|headers", where prefix
// is "consumer:route", the route or "default", uri is nginx's request line
// up to its "?" (the whole line when there is no query string), params are
// the vary_query_params (or all arguments, sorted) and headers the
// vary_headers, each as "name=value" joined by ":".
func (p *proxyCacher) cacheKey(c *plugins.Context, st *cacheState) {
	b := st.buf[:0]
	consumer, _ := c.Consumer["id"].(string)
	switch {
	case consumer != "" && c.Route.ID != "":
		b = append(append(append(b, consumer...), ':'), c.Route.ID...)
	case c.Route.ID != "":
		b = append(b, c.Route.ID...)
	default:
		b = append(b, "default"...)
	}
	method := c.Request.Header.Method()
	b = append(append(append(b, '|'), method...), '|')
	start := len(b)
	target := c.Request.Header.RequestURI()
	b = append(append(b, method...), ' ')
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		b = append(b, target[:i]...)
	} else {
		b = append(append(append(b, target...), ' '), c.Request.Header.Protocol()...)
	}
	if p.ignoreURICase {
		lowerASCII(b[start:])
	}
	b = append(b, '|')
	b = p.paramsKey(b, c, st)
	b = append(b, '|')
	b = p.headersKey(b, c)
	sum := sha256.Sum256(b)
	hex.Encode(st.key[:], sum[:])
	st.buf = b
}

func lowerASCII(b []byte) {
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}

// paramsKey writes the query arguments' part of the key.
func (p *proxyCacher) paramsKey(b []byte, c *plugins.Context, st *cacheState) []byte {
	args := &st.args
	args.parse(rawQuery(c.Request))
	st.keys = st.keys[:0]
	if len(p.varyQuery) == 0 {
		for _, a := range args.args {
			if !slices.ContainsFunc(st.keys, func(k []byte) bool { return bytes.Equal(k, a.key) }) {
				st.keys = append(st.keys, a.key)
			}
		}
		slices.SortFunc(st.keys, bytes.Compare)
	} else {
		for _, name := range p.varyQuery {
			st.keys = append(st.keys, []byte(name))
		}
	}
	first := true
	for _, name := range st.keys {
		st.vals = st.vals[:0]
		noValue := false
		for _, a := range args.args {
			if bytes.Equal(a.key, name) {
				st.vals = append(st.vals, a.value)
				noValue = a.noValue
			}
		}
		if len(st.vals) == 0 {
			continue
		}
		if !first {
			b = append(b, ':')
		}
		first = false
		if len(st.vals) == 1 && noValue {
			b = append(b, name...)
			continue
		}
		b = append(append(b, name...), '=')
		slices.SortFunc(st.vals, bytes.Compare)
		for i, v := range st.vals {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, v...)
		}
	}
	return b
}

// headersKey writes the vary_headers' part of the key.
func (p *proxyCacher) headersKey(b []byte, c *plugins.Context) []byte {
	first := true
	for _, name := range p.varyHeaders {
		lookup := strings.ReplaceAll(name, "_", "-")
		vals := c.Request.Header.PeekAll(lookup)
		if len(vals) == 0 {
			continue
		}
		if !first {
			b = append(b, ':')
		}
		first = false
		b = append(append(b, name...), '=')
		if len(vals) == 1 {
			b = append(b, vals[0]...)
			continue
		}
		sorted := make([]string, len(vals))
		for i, v := range vals {
			sorted[i] = string(v)
		}
		slices.Sort(sorted)
		b = append(b, strings.Join(sorted, ",")...)
	}
	return b
}

func (p *proxyCacher) HeaderFilter(c *plugins.Context) error {
	st, _ := c.Shared[stateKey].(*cacheState)
	if st == nil {
		return nil
	}
	if st.status == "" { // a hit, or Kong's 504 for only-if-cached
		p.release(c, st)
		return nil
	}
	h := &c.Response.Header
	if st.store {
		var cc directives
		cc.parse(h.PeekAll("Cache-Control"))
		if p.cacheableResponse(c, &cc) {
			st.ttl = p.cacheTTL
			if p.cacheControl {
				st.ttl = resourceTTL(&cc, h)
			}
			if p.hdrKey || st.debug {
				h.SetBytesV("X-Cache-Key", st.key[:])
			}
			if p.hdrStatus || st.debug {
				h.Set("X-Cache-Status", st.status)
			}
			for k, v := range h.All() {
				st.headers = append(st.headers, [2]string{string(k), string(v)})
			}
			c.BufferBody()
			return nil
		}
		st.status, st.store = statusBypass, false
	}
	if p.hdrKey && st.key[0] != 0 || st.debug && st.key[0] != 0 {
		h.SetBytesV("X-Cache-Key", st.key[:])
	}
	if p.hdrStatus || st.debug {
		h.Set("X-Cache-Status", st.status)
	}
	p.release(c, st)
	return nil
}

// release ends the request's use of its state.
func (p *proxyCacher) release(c *plugins.Context, st *cacheState) {
	delete(c.Shared, stateKey)
	p.states.Put(st)
}

func (p *proxyCacher) BodyFilter(c *plugins.Context) error {
	st, _ := c.Shared[stateKey].(*cacheState)
	if st == nil || !st.store {
		return nil
	}
	st.store = false
	storage := p.storageTTL
	if storage == 0 {
		storage = p.cacheTTL
		if p.cacheControl {
			storage = st.ttl
		}
	}
	a := &cachedAnswer{status: c.Response.StatusCode(), headers: slices.Clone(st.headers),
		body: bytes.Clone(c.Response.Body()), reqBody: st.reqBody, timestamp: time.Now().Unix(), ttl: st.ttl,
		storageTTL: time.Duration(storage) * time.Second}
	if a.body == nil {
		a.body = []byte{}
	}
	if storage > 0 {
		p.dict.c.Set(string(st.key[:]), a)
	}
	p.release(c, st)
	return nil
}

// cacheableResponse is Kong's cacheable_response.
func (p *proxyCacher) cacheableResponse(c *plugins.Context, cc *directives) bool {
	if !slices.Contains(p.codes, c.Response.StatusCode()) {
		return false
	}
	cts := c.Response.Header.PeekAll("Content-Type")
	if len(cts) != 1 || len(cts[0]) == 0 {
		return false
	}
	typ, params, err := mime.ParseMediaType(string(cts[0]))
	if err != nil {
		return false
	}
	t, sub, _ := strings.Cut(typ, "/")
	match := false
	for _, want := range p.contentTypes {
		if (want.typ == "*" || want.typ == t) && (want.sub == "*" || want.sub == sub) && len(want.params) == len(params) {
			same := true
			for k, v := range want.params {
				if params[k] != v {
					same = false
					break
				}
			}
			if same {
				match = true
				break
			}
		}
	}
	if !match {
		return false
	}
	if p.cacheControl && (cc.has("private") || cc.has("no-store") || cc.has("no-cache")) {
		return false
	}
	if p.cacheControl && resourceTTL(cc, &c.Response.Header) <= 0 {
		return false
	}
	return true
}

// resourceTTL is Kong's calculate_resource_ttl: s-maxage, else max-age,
// else what Expires leaves; never negative.
func resourceTTL(cc *directives, h *fasthttp.ResponseHeader) int64 {
	v, ok := cc.number("s-maxage")
	if !ok {
		v, ok = cc.number("max-age")
	}
	if !ok {
		exp := h.PeekAll("Expires")
		if len(exp) == 0 {
			return 0
		}
		t, err := time.Parse(time.RFC1123, string(exp[len(exp)-1]))
		if err != nil {
			return 0
		}
		v = float64(t.Unix() - time.Now().Unix())
	}
	return max(int64(v), 0)
}

// overwritable reports the stored headers a hit sends again: not the
// hop-by-hop ones, Content-Length or rate-limit counters.
func overwritable(name string) bool {
	switch strings.ToLower(name) {
	case "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
		"transfer-encoding", "upgrade", "content-length", "age", "x-cache-status", "x-cache-key":
		return false
	}
	return !strings.Contains(strings.ToLower(name), "ratelimit-remaining")
}

// directives is a parsed Cache-Control header (Kong's
// parse_directive_header): lower-case names, with their values.
type directives struct {
	names  [16]string
	values [16]string
	n      int
}

func (d *directives) parse(headers [][]byte) {
	d.n = 0
	for _, h := range headers {
		for len(h) > 0 && d.n < len(d.names) {
			var item []byte
			if i := bytes.IndexByte(h, ','); i >= 0 {
				item, h = h[:i], h[i+1:]
			} else {
				item, h = h, nil
			}
			k, v, _ := bytes.Cut(item, []byte{'='})
			k = bytes.TrimSpace(k)
			if len(k) == 0 {
				continue
			}
			d.names[d.n] = strings.ToLower(string(k))
			d.values[d.n] = string(bytes.TrimSpace(v))
			d.n++
		}
	}
}

func (d *directives) has(name string) bool {
	for i := 0; i < d.n; i++ {
		if d.names[i] == name {
			return true
		}
	}
	return false
}

// number is a directive's numeric value.
func (d *directives) number(name string) (float64, bool) {
	for i := 0; i < d.n; i++ {
		if d.names[i] == name {
			f, ok := luaNumber(d.values[i])
			return f, ok
		}
	}
	return 0, false
}

// CacheFetch returns a stored answer as Kong's Admin API shows it.
func (p *proxyCacher) CacheFetch(key string) (map[string]any, bool) {
	a, ok := p.dict.c.GetIfPresent(key)
	if !ok {
		return nil, false
	}
	return a.object(), true
}

// CachePurge drops one stored answer; it reports whether there was one.
func (p *proxyCacher) CachePurge(key string) bool {
	_, ok := p.dict.c.Invalidate(key)
	return ok
}

// CacheFlush drops every answer of the instance's dictionary.
func (p *proxyCacher) CacheFlush() { p.dict.c.InvalidateAll() }

var (
	_ plugins.Accessor       = (*proxyCacher)(nil)
	_ plugins.HeaderFilterer = (*proxyCacher)(nil)
	_ plugins.BodyFilterer   = (*proxyCacher)(nil)
)
