package bundled

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/portico-gw/portico/internal/row"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// msgUserinfoAuth is http-log's message for credentials given twice.
const msgUserinfoAuth = "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed"

// httpLog is Kong's http-log (kong/plugins/http-log/schema.lua).
//
// retry_count, queue_size and flush_timeout are deprecated since 3.3 (the
// queue record replaces them): accepted, stored, and shown by /schemas with
// Kong's deprecation notes.
func httpLog() plugins.Info {
	endpoint := required(urlField("http_endpoint"))
	endpoint.Encrypted, endpoint.Referenceable = true, true
	return runs(newHTTPLog, info("http-log", 12, []*schema.Field{
		protocolsAny(),
		withValidator(config(
			endpoint,
			&schema.Field{Name: "method", Type: schema.String, Default: "POST", OneOf: schema.Strings("POST", "PUT", "PATCH")},
			&schema.Field{Name: "content_type", Type: schema.String, Default: "application/json",
				OneOf: schema.Strings("application/json", "application/json; charset=utf-8")},
			// Milliseconds.
			&schema.Field{Name: "timeout", Type: schema.Number, Default: float64(10000)},
			&schema.Field{Name: "keepalive", Type: schema.Number, Default: float64(60000)},
			&schema.Field{Name: "retry_count", Type: schema.Integer, Deprecation: &schema.Deprecation{
				Message:          "http-log: config.retry_count no longer works, please use config.queue.max_retry_time instead",
				RemovalInVersion: "4.0", OldDefault: float64(10)}},
			&schema.Field{Name: "queue_size", Type: schema.Integer, Deprecation: &schema.Deprecation{
				Message:          "http-log: config.queue_size is deprecated, please use config.queue.max_batch_size instead",
				RemovalInVersion: "4.0", OldDefault: float64(1)}},
			&schema.Field{Name: "flush_timeout", Type: schema.Number, Deprecation: &schema.Deprecation{
				Message:          "http-log: config.flush_timeout is deprecated, please use config.queue.max_coalescing_delay instead",
				RemovalInVersion: "4.0", OldDefault: float64(2)}},
			&schema.Field{Name: "headers", Type: schema.Map, Keys: logHeaderName(),
				Values: &schema.Field{Type: schema.String, Referenceable: true}},
			queue(),
			customFieldsByLua(),
		), validateHTTPLog),
	}))
}

// logHeaderName is a header name that may not be one the plugin sets itself.
// Kong's Lua patterns are case-insensitive letter by letter, except for a
// typo in Content-Length's ("[nn]"), kept here: "Content-LENGTH" passes.
func logHeaderName() *schema.Field {
	f := headerName("")
	f.MatchNone = []schema.PatternError{
		{Pattern: regexp.MustCompile(`^[Hh][Oo][Ss][Tt]$`), Err: "cannot contain 'Host' header"},
		{Pattern: regexp.MustCompile(`^[Cc][Oo][Nn][Tt][Ee][Nn][Tt]-[Ll][Ee][n][Gg][Tt][Hh]$`), Err: "cannot contain 'Content-Length' header"},
		{Pattern: regexp.MustCompile(`^[Cc][Oo][Nn][Tt][Ee][Nn][Tt]-[Tt][Yy][Pp][Ee]$`), Err: "cannot contain 'Content-Type' header"},
	}
	return f
}

// validateHTTPLog is http-log's config custom_validator.
func validateHTTPLog(v any) error {
	conf, _ := v.(map[string]any)
	endpoint, _ := conf["http_endpoint"].(string)
	headers, _ := conf["headers"].(map[string]any)
	u, err := url.Parse(endpoint)
	if err != nil || u.User == nil {
		return nil
	}
	for name := range headers {
		if strings.EqualFold(name, "authorization") {
			return errors.New(msgUserinfoAuth)
		}
	}
	return nil
}

// httpLogger sends log entries to an HTTP endpoint through a queue
// (kong/plugins/http-log/handler.lua): one entry per request body when
// queue.max_batch_size is 1, else a JSON array of the batch.
type httpLogger struct {
	// key names the queue: instances with the same endpoint and
	// settings share one, as in Kong; name is the key as logs show it
	// (without the endpoint's credentials).
	key, name   string
	queue       queueConf
	url         string // scheme://host:port/path: Kong sends no query
	hostPort    string
	method      string
	contentType string
	auth        string // Basic credentials from the endpoint's userinfo
	headers     [][2]string
	timeout     time.Duration
	keepalive   time.Duration
	client      *http.Client
	queues      *queueSet
}

func newHTTPLog(conf map[string]any) (plugins.Handler, error) {
	endpoint := row.String(conf, "http_endpoint")
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("http_endpoint: invalid url %q", redactURL(endpoint))
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	h := &httpLogger{
		hostPort:    net.JoinHostPort(u.Hostname(), port),
		method:      row.StringOr(conf, "method", "POST"),
		contentType: row.StringOr(conf, "content_type", "application/json"),
		timeout:     time.Duration(row.Number(conf["timeout"], 10000)) * time.Millisecond,
		keepalive:   time.Duration(row.Number(conf["keepalive"], 60000)) * time.Millisecond,
		queue:       parseQueue(conf),
	}
	h.url = u.Scheme + "://" + h.hostPort + path
	if u.User != nil {
		pass, _ := u.User.Password()
		h.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass))
	}
	for name, v := range row.Map(conf, "headers") {
		if s, ok := v.(string); ok {
			h.headers = append(h.headers, [2]string{name, s})
		}
	}
	// The deprecated fields still apply when set, as in Kong 3.9
	// (Queue.get_plugin_params): queue_size is the batch size and
	// flush_timeout the coalescing delay; retry_count no longer does
	// anything (max_retry_time bounds retries).
	if n := row.Int(conf, "queue_size", 1); n != 1 && n > 0 {
		h.queue.maxBatch = n
	}
	if v, ok := conf["flush_timeout"]; ok && v != nil && row.Number(v, 2) != 2 {
		h.queue.coalesce = seconds(v, 2)
	}
	legacy := func(field string) string {
		if v, ok := conf[field]; ok && v != nil {
			return strconv.FormatFloat(row.Number(v, 0), 'f', -1, 64)
		}
		return "nil"
	}
	settings := fmt.Sprintf(":%s:%s:%d:%d:%s:%s:%s", h.method, h.contentType, h.timeout.Milliseconds(), h.keepalive.Milliseconds(),
		legacy("retry_count"), legacy("queue_size"), legacy("flush_timeout"))
	h.key = endpoint + settings
	h.name = "http-log " + redactURL(endpoint) + settings
	return h, nil
}

// Provision finds the node's queues and a client for the endpoint's
// timeout and keep-alive (shared, so connections outlive snapshots).
func (h *httpLogger) Provision(host *plugins.Host) error {
	h.queues = queueSetOf(host)
	key := fmt.Sprintf("http-log client %d %d", h.timeout, h.keepalive)
	h.client = host.State(key, func() any { return newLogClient(h.timeout, h.keepalive) }).(*http.Client)
	return nil
}

// newLogClient is an HTTP client whose connect, send and read each get
// timeout (lua-resty-http's set_timeout) and whose idle connections are
// kept keepalive; servers' certificates are not verified, as Kong's
// http-log does not.
func newLogClient(timeout, keepalive time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			IdleConnTimeout:       keepalive,
			MaxIdleConnsPerHost:   16,
			TLSClientConfig:       &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // Kong's http-log: ssl_verify = false
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Log queues the entry as Kong's serializer's JSON.
func (h *httpLogger) Log(e *plugins.LogEntry) {
	if h.queues == nil {
		return
	}
	h.queues.enqueue(h.key, h.name, h.queue, h.send, encodedEntry(e, ""))
}

// send posts one batch; a status of 300 or more is a failure, retried.
func (h *httpLogger) send(batch [][]byte) error {
	var body []byte
	if h.queue.maxBatch == 1 && len(batch) == 1 {
		body = batch[0]
	} else {
		n := 1
		for _, e := range batch {
			n += len(e) + 1
		}
		body = make([]byte, 0, n)
		body = append(body, '[')
		for i, e := range batch {
			if i > 0 {
				body = append(body, ',')
			}
			body = append(body, e...)
		}
		body = append(body, ']')
	}
	// The whole exchange is bounded too, in case a server trickles.
	ctx, cancel := context.WithTimeout(context.Background(), 3*h.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, h.method, h.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("failed request to %s: %w", h.hostPort, err)
	}
	req.Header.Set("Content-Type", h.contentType)
	if h.auth != "" {
		req.Header.Set("Authorization", h.auth)
	}
	for _, kv := range h.headers {
		// Kong's own headers are not overridden.
		if req.Header.Get(kv[0]) == "" {
			req.Header.Set(kv[0], kv[1])
		}
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("failed request to %s: %v", h.hostPort, unwrapURLError(err))
	}
	defer resp.Body.Close()
	// The body is always read, so the connection can be reused.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 300 {
		return nil
	}
	return fmt.Errorf("request to %s returned status code %d and body %s", h.hostPort, resp.StatusCode, answer)
}

// unwrapURLError drops net/http's "Post <url>:" prefix, which would show
// the endpoint's credentials.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redactURL hides a URL's password, for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid url)"
	}
	return u.Redacted()
}

var (
	_ plugins.Logger      = (*httpLogger)(nil)
	_ plugins.Provisioner = (*httpLogger)(nil)
)
