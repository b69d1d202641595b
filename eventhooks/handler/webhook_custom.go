package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"

	lua "github.com/yuin/gopher-lua"

	"github.com/portico-gw/portico/luatemplate"
	"github.com/portico-gw/portico/luavm"
)

// MultipartBoundary is the fixed boundary of Kong's multipart/form-data
// payloads (kong/enterprise_edition/utils.lua as_body).
const MultipartBoundary = "8fd84e9444e3946c"

// DefaultTemplateCacheSize is how many compiled templates a WebhookCustom
// keeps (least recently used first out).
const DefaultTemplateCacheSize = 1024

// templateCacheBytes bounds the template sources the cache holds.
const templateCacheBytes = 4 << 20

// errTemplateCodeOff refuses {% %} code blocks when untrusted_lua is off
// (expressions still render, in a sandbox of the handler's own).
var errTemplateCodeOff = errors.New("template code blocks ({% %}) are not allowed: 'untrusted_lua' is set to 'off'")

// WebhookCustom is Kong's "webhook-custom" handler: a request whose method,
// url, headers, payload and body come from the hook's config, the payload
// values, body and (with headers_format) header values rendered as
// lua-resty-template templates against the event data (plus "event" and
// "source"). It shares the transport, deadlines, signing and answer
// handling of a Webhook. It has no ping. It is safe for concurrent use.
type WebhookCustom struct {
	base   *Webhook
	vm     *luavm.VM
	noCode bool // untrusted_lua is off: {% %} is refused
	ownVM  bool // vm was made by NewWebhookCustom: Close closes it
	cache  *chunkCache
	// configs holds hooks' configs parsed, once per hook version.
	configs configCache[customConfig]
	// compiles counts templates compiled (the cache's misses), for tests.
	compiles atomic.Int64
}

var _ Handler = (*WebhookCustom)(nil)

// NewWebhookCustom returns a webhook-custom handler that sends through base
// (its connection pools, timeouts and options) and renders templates in vm.
// When vm is nil or its mode is off, templates are rendered in a sandbox
// VM of the handler's own and {% %} code blocks are refused, as the
// write-time validation does.
func NewWebhookCustom(vm *luavm.VM, base *Webhook) *WebhookCustom {
	h := &WebhookCustom{base: base, vm: vm}
	if vm == nil || vm.Mode() == luavm.ModeOff {
		own, err := luavm.New(luavm.Options{Mode: luavm.ModeSandbox})
		if err != nil { // not expected: default options
			panic("eventhooks: webhook-custom: " + err.Error())
		}
		h.vm, h.noCode, h.ownVM = own, true, true
	}
	h.cache = newChunkCache(DefaultTemplateCacheSize, templateCacheBytes)
	return h
}

// Close releases the Lua states of the sandbox the handler made for itself
// (when untrusted_lua is off); a VM given to NewWebhookCustom is left to its
// owner. Call it once deliveries have stopped; a delivery after Close still
// works, on a state made and closed for it.
func (h *WebhookCustom) Close() {
	if h.ownVM {
		h.vm.Close()
	}
}

// customConfig is a webhook-custom hook's config, checked.
type customConfig struct {
	webhookConfig
	method        string
	payload       map[string]string // nil: not set
	payloadFormat bool
	body          string
	hasBody       bool
	bodyFormat    bool
	headersFormat bool
}

func customError(format string, args ...any) error {
	return fmt.Errorf("webhook-custom: "+format, args...)
}

// parseCustomConfig reads Kong's webhook-custom config from its JSON
// model. url, headers, secret and ssl_verify are read as the webhook's.
func parseCustomConfig(cfg map[string]any) (customConfig, error) {
	var c customConfig
	wc, err := parseWebhookConfig(cfg)
	if err != nil {
		return c, customError("%s", strings.TrimPrefix(err.Error(), "webhook: "))
	}
	c.webhookConfig = wc

	c.method, _ = cfg["method"].(string)
	if c.method == "" {
		return c, customError("config.method: missing")
	}
	for i := 0; i < len(c.method); i++ {
		if ch := c.method[i]; ch < 'A' || ch > 'Z' {
			return c, customError("config.method: invalid value: %s", c.method)
		}
	}

	switch p := cfg["payload"].(type) {
	case nil:
	case map[string]string:
		c.payload = p
	case map[string]any:
		c.payload = make(map[string]string, len(p))
		for k, v := range p {
			s, ok := v.(string)
			if !ok {
				return c, customError("config.payload.%s: expected a string", k)
			}
			c.payload[k] = s
		}
	default:
		return c, customError("config.payload: expected a map of strings")
	}

	switch b := cfg["body"].(type) {
	case nil:
	case string:
		c.body, c.hasBody = b, true
	default:
		return c, customError("config.body: expected a string")
	}

	for _, f := range []struct {
		name string
		dst  *bool
		def  bool
	}{
		{"payload_format", &c.payloadFormat, true},
		{"body_format", &c.bodyFormat, true},
		{"headers_format", &c.headersFormat, false},
	} {
		switch v := cfg[f.name].(type) {
		case nil:
			*f.dst = f.def
		case bool:
			*f.dst = v
		default:
			return c, customError("config.%s: expected a boolean", f.name)
		}
	}
	return c, nil
}

// Deliver renders the hook's templates against d's event and sends the
// request Kong's webhook-custom sends (see the package reference, §4.3):
//
//   - GET: the payload, URL-encoded, is appended to the url's query ("?" or
//     "&" when the url already has one; Kong concatenates "?" blindly).
//   - POST, PUT, PATCH: a non-empty body is sent as is; else the payload is
//     encoded by the hook's content-type header: application/json as a
//     JSON object, www-form-urlencoded as a form, multipart/form-data or no
//     content-type as multipart with Kong's fixed boundary, anything else
//     as an empty body. With neither payload nor body the body is empty
//     (Kong raises a Lua error there and retries forever).
//   - Other methods: only the body.
//
// Signing, webhook-id/timestamp, timeouts and outcomes are the webhook's,
// the signatures computed over the final body. A config this handler
// cannot use, or a template that does not compile or fails to render, is a
// *PermanentError naming the field (config.payload.text).
func (h *WebhookCustom) Deliver(ctx context.Context, d Delivery) (Result, error) {
	cfg, err := h.configs.get(d.Hook, parseCustomConfig)
	if err != nil {
		return Result{}, &PermanentError{Err: err}
	}

	data := make(map[string]any, len(d.Event.Data)+2)
	maps.Copy(data, d.Event.Data) // a fresh map: Data is never modified
	data["event"] = d.Event.Name
	data["source"] = d.Event.Source

	payload := cfg.payload
	if payload != nil && cfg.payloadFormat {
		payload = make(map[string]string, len(cfg.payload))
		for k, v := range cfg.payload {
			if payload[k], err = h.render(ctx, "config.payload."+k, v, data); err != nil {
				return Result{}, err
			}
		}
	}
	body := cfg.body
	if cfg.hasBody && cfg.bodyFormat {
		if body, err = h.render(ctx, "config.body", cfg.body, data); err != nil {
			return Result{}, err
		}
	}
	headers := cfg.headers // never modified: it may be the config's own map
	if cfg.headersFormat && len(cfg.headers) > 0 {
		headers = make(map[string]string, len(cfg.headers))
		for k, v := range cfg.headers {
			if headers[k], err = h.render(ctx, "config.headers."+k, v, data); err != nil {
				return Result{}, err
			}
		}
	}

	req := webhookRequest{
		method:    cfg.method,
		url:       cfg.url,
		shown:     cfg.shown,
		headers:   headers,
		key:       cfg.key,
		sslVerify: cfg.sslVerify,
	}
	if cfg.hasBody {
		req.body = []byte(body)
	}
	switch cfg.method {
	case http.MethodGet:
		if len(payload) > 0 {
			req.url = appendQuery(cfg.url, encodeForm(payload))
		}
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		if body == "" && payload != nil {
			ct, hasCT := headerValue(headers, "Content-Type")
			req.body, req.contentType, err = encodePayload(payload, ct, hasCT)
			if err != nil {
				return Result{}, &PermanentError{Err: customError("config.payload: %v", err)}
			}
		}
	}
	return h.base.send(ctx, d.ID, req)
}

// headerValue looks name up in h, whatever the case of its keys.
func headerValue(h map[string]string, name string) (string, bool) {
	if v, ok := h[name]; ok {
		return v, true
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// encodePayload builds a POST/PUT/PATCH body from the payload, as Kong's
// as_body: by the content type the hook set, multipart when it set none.
// contentType is the Content-Type to send instead of the hook's, "" to keep
// the hook's.
func encodePayload(payload map[string]string, ct string, hasCT bool) (body []byte, contentType string, err error) {
	lower := strings.ToLower(ct)
	switch {
	case hasCT && strings.Contains(lower, "application/json"):
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(payload); err != nil {
			return nil, "", err
		}
		return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), "", nil
	case hasCT && strings.Contains(lower, "www-form-urlencoded"):
		return []byte(encodeForm(payload)), "", nil
	case !hasCT || strings.Contains(lower, "multipart/form-data"):
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if err := mw.SetBoundary(MultipartBoundary); err != nil {
			return nil, "", err
		}
		for _, k := range sortedKeys(payload) {
			if err := mw.WriteField(k, payload[k]); err != nil {
				return nil, "", err
			}
		}
		if err := mw.Close(); err != nil {
			return nil, "", err
		}
		contentType = "multipart/form-data; boundary=" + MultipartBoundary
		if hasCT && !strings.Contains(lower, "boundary=") {
			contentType = ct + "; boundary=" + MultipartBoundary // Kong's
		}
		return buf.Bytes(), contentType, nil
	default:
		return nil, "", nil // Kong sends an empty body
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// encodeForm URL-encodes m, keys sorted.
func encodeForm(m map[string]string) string {
	v := make(url.Values, len(m))
	for k, s := range m {
		v[k] = []string{s}
	}
	return v.Encode()
}

// appendQuery adds the encoded args to raw's query, before any fragment.
func appendQuery(raw, args string) string {
	base, frag, hasFrag := strings.Cut(raw, "#")
	switch {
	case !strings.Contains(base, "?"):
		base += "?" + args
	case strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&"):
		base += args
	default:
		base += "&" + args
	}
	if hasFrag {
		base += "#" + frag
	}
	return base
}

// hasTags reports whether src holds any template tag; a template without
// one renders as itself.
func hasTags(src string) bool {
	return strings.Contains(src, "{{") || strings.Contains(src, "{*") ||
		strings.Contains(src, "{%") || strings.Contains(src, "{#")
}

var luaEscape lua.LGFunction = luatemplate.LuaEscape

// render renders the template src (config field) against data in the VM.
func (h *WebhookCustom) render(ctx context.Context, field, src string, data map[string]any) (string, error) {
	if !hasTags(src) {
		return src, nil
	}
	chunk, err := h.template(src)
	if err != nil {
		return "", &PermanentError{Err: customError("%s: %v", field, err)}
	}
	res, err := h.vm.CallCached(ctx, chunk, data, luaEscape)
	if err != nil {
		var le *luavm.Error
		if errors.As(err, &le) && le.Kind == luavm.KindCanceled {
			return "", customError("%s: rendering: %v", field, err) // may be retried
		}
		return "", &PermanentError{Err: customError("%s: rendering: %v", field, err)}
	}
	if len(res) == 0 {
		return "", &PermanentError{Err: customError("%s: rendering: no result", field)}
	}
	s, ok := res[0].(string)
	if !ok {
		return "", &PermanentError{Err: customError("%s: rendering: got %T, not a string", field, res[0])}
	}
	return s, nil
}

// template returns src compiled for the VM, from the cache when it can.
func (h *WebhookCustom) template(src string) (*luavm.Chunk, error) {
	return h.cache.getOrCompile(src, h.compile)
}

func (h *WebhookCustom) compile(src string) (*luavm.Chunk, error) {
	h.compiles.Add(1)
	if h.noCode && strings.Contains(src, "{%") {
		return nil, errTemplateCodeOff
	}
	t, err := luatemplate.Compile(src)
	if err == nil {
		err = t.Check() // Lua syntax errors with their template line
	}
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "luatemplate: "))
	}
	return h.vm.Compile("=template", t.Lua)
}
