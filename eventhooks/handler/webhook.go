package handler

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/internal/jsonrow"
)

// WebhookOptions tune the webhook handler. Zero values take the defaults.
type WebhookOptions struct {
	// ConnectTimeout bounds DNS, TCP connect and the TLS handshake
	// (default 10s).
	ConnectTimeout time.Duration
	// ReadTimeout bounds, each in turn, sending the request, waiting for
	// the answer's headers, and reading the kept part of its body
	// (default 10s).
	ReadTimeout time.Duration
	// MaxResponseBody is how much of the answer is kept in Result.Body
	// (default 4096 bytes; negative keeps nothing).
	MaxResponseBody int
	// UserAgent is sent unless the hook's headers set one (default
	// "Portico event hooks").
	UserAgent string
	// RootCAs verifies receivers when a hook has ssl_verify (Kong's
	// lua_ssl_trusted_certificate); nil uses the system's roots.
	RootCAs *x509.CertPool
	// DenyPrivate refuses receivers at loopback, private, link-local,
	// carrier-grade NAT, unique-local and cloud metadata addresses
	// (event_hooks_deny_private), checked on the address connected to.
	DenyPrivate bool
}

// Webhook defaults.
const (
	DefaultWebhookConnectTimeout  = 10 * time.Second
	DefaultWebhookReadTimeout     = 10 * time.Second
	DefaultWebhookMaxResponseBody = 4096
	DefaultWebhookUserAgent       = "Portico event hooks"

	// maxDrain is how much of an answer beyond MaxResponseBody is read and
	// thrown away so that the connection can be reused; past that the
	// connection is closed instead.
	maxDrain = 64 << 10
	// maxRetryAfter caps a receiver's Retry-After.
	maxRetryAfter = 24 * time.Hour
)

// Webhook is Kong's "webhook" handler: it POSTs the event as JSON to the
// hook's config.url, signed when the hook has a secret. It is safe for
// concurrent use. Requests go through fasthttp clients (one per ssl_verify
// value), which keep a pool of connections per receiver host: a request
// costs no goroutine of its own and reuses its buffers.
type Webhook struct {
	opts     WebhookOptions
	verify   *fasthttp.Client // ssl_verify = true
	insecure *fasthttp.Client // ssl_verify = false, Kong's default
	now      func() time.Time
	configs  configCache[webhookConfig] // parsed once per hook version
}

var (
	_ Handler = (*Webhook)(nil)
	_ Pinger  = (*Webhook)(nil)
)

// NewWebhook returns a webhook handler.
func NewWebhook(opts WebhookOptions) *Webhook {
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultWebhookConnectTimeout
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = DefaultWebhookReadTimeout
	}
	if opts.MaxResponseBody == 0 {
		opts.MaxResponseBody = DefaultWebhookMaxResponseBody
	} else if opts.MaxResponseBody < 0 {
		opts.MaxResponseBody = 0
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultWebhookUserAgent
	}
	return &Webhook{
		opts:     opts,
		verify:   newWebhookClient(opts, true),
		insecure: newWebhookClient(opts, false),
		now:      time.Now,
	}
}

// maxConnsPerHost bounds the connections to one receiver host; the
// engine's per-hook cap keeps far fewer in use.
const maxConnsPerHost = 1024

func newWebhookClient(opts WebhookOptions, verify bool) *fasthttp.Client {
	dialer := &net.Dialer{Timeout: opts.ConnectTimeout, KeepAlive: 30 * time.Second}
	if opts.DenyPrivate {
		dialer.Control = denyPrivate
	}
	return &fasthttp.Client{
		// No proxy: Kong's webhook does not read HTTP_PROXY either.
		Dial: func(addr string) (net.Conn, error) { return dialer.Dial("tcp", addr) },
		TLSConfig: &tls.Config{
			// ssl_verify defaults to false in Kong's schema: a hook that
			// did not ask for verification gets none.
			InsecureSkipVerify: !verify, //nolint:gosec // the hook's ssl_verify
			RootCAs:            opts.RootCAs,
		},
		NoDefaultUserAgentHeader: true,
		MaxConnsPerHost:          maxConnsPerHost,
		MaxIdleConnDuration:      90 * time.Second,
		ReadTimeout:              opts.ReadTimeout,
		WriteTimeout:             opts.ReadTimeout,
		// An attempt is made once: the engine retries on its schedule.
		MaxIdemponentCallAttempts: 1,
		// The answer is read as a stream, so that only its kept part is
		// buffered whatever its size.
		StreamResponseBody: true,
		// The path goes as configured.
		DisablePathNormalizing: true,
	}
}

// Pings reports that webhook hooks are announced to their receiver.
func (w *Webhook) Pings() bool { return true }

// CloseIdleConnections closes the pooled connections that are idle (at
// shutdown, and in tests).
func (w *Webhook) CloseIdleConnections() {
	w.verify.CloseIdleConnections()
	w.insecure.CloseIdleConnections()
}

// webhookConfig is a webhook hook's config, checked.
type webhookConfig struct {
	url       string // as configured, for the request
	shown     string // for messages: the password redacted
	headers   map[string]string
	key       []byte // the signing key; nil when the hook is not signed
	sslVerify bool
}

// parseWebhookConfig reads Kong's webhook config from its JSON model.
func parseWebhookConfig(cfg map[string]any) (webhookConfig, error) {
	var c webhookConfig
	raw, _ := cfg["url"].(string)
	if raw == "" {
		return c, errors.New("webhook: config.url: missing")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold credentials
		}
		return c, fmt.Errorf("webhook: config.url: could not parse url: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return c, fmt.Errorf("webhook: config.url: unsupported scheme %q (http or https)", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return c, errors.New("webhook: config.url: missing host in url")
	}
	c.url, c.shown = raw, u.Redacted()

	switch h := cfg["headers"].(type) {
	case nil:
	case map[string]string:
		c.headers = h
	case map[string]any:
		c.headers = make(map[string]string, len(h))
		for k, v := range h {
			s, ok := v.(string)
			if !ok {
				return c, fmt.Errorf("webhook: config.headers.%s: expected a string", k)
			}
			c.headers[k] = s
		}
	default:
		return c, errors.New("webhook: config.headers: expected a map of strings")
	}

	switch s := cfg["secret"].(type) {
	case nil:
	case string:
		if s != "" {
			if c.key, err = SigningKey(s); err != nil {
				return c, fmt.Errorf("webhook: %w", err)
			}
		}
	default:
		return c, errors.New("webhook: config.secret: expected a string")
	}

	switch v := cfg["ssl_verify"].(type) {
	case nil:
	case bool:
		c.sslVerify = v
	default:
		return c, errors.New("webhook: config.ssl_verify: expected a boolean")
	}
	return c, nil
}

// webhookBody is the JSON a webhook receives: the event's data plus
// "event" and "source" (which win over data keys of the same names, as in
// Kong). Go sorts map keys, so every attempt of a delivery sends the same
// bytes, and the signatures stay verifiable over them. HTML characters are
// not escaped: receivers see the data as it is.
func webhookBody(ev Event) ([]byte, error) {
	m := make(map[string]any, len(ev.Data)+2)
	maps.Copy(m, ev.Data) // a fresh map: Data is never modified
	m["event"] = ev.Name
	m["source"] = ev.Source
	// An Encoder's bytes without HTML escaping, encoded without reflection.
	b, err := jsonrow.Append(make([]byte, 0, 512), m, false)
	if err != nil {
		return nil, fmt.Errorf("webhook: encoding the event: %w", err)
	}
	return b, nil
}

// Deliver POSTs d's event to the hook's url. A 2xx answer is a delivery;
// any other answer (a 3xx included: redirects are not followed) is a
// *StatusError with the Result filled in; a transport failure is an error
// naming the url and what failed ("posting to http://x: connect: connection
// refused"), with Result.Status 0. An answer whose kept part of the body
// cannot be read (reset, read timeout) is a failure too, with the status,
// headers and partial body in the Result. A config that is not a valid
// webhook config is an error before any request.
//
// Signed hooks (a non-empty config.secret) carry X-Kong-Signature and the
// Standard Webhooks headers: Webhook-Id (d.ID, the same on every attempt),
// Webhook-Timestamp (this attempt's time) and Webhook-Signature. The body is
// the same bytes on every attempt. Neither the secret nor the key appears in
// errors.
func (w *Webhook) Deliver(ctx context.Context, d Delivery) (Result, error) {
	cfg, err := w.configs.get(d.Hook, parseWebhookConfig)
	if err != nil {
		return Result{}, &PermanentError{Err: err}
	}
	body, err := webhookBody(d.Event)
	if err != nil {
		return Result{}, &PermanentError{Err: err}
	}
	return w.send(ctx, d.ID, webhookRequest{
		method:      http.MethodPost,
		url:         cfg.url,
		shown:       cfg.shown,
		headers:     cfg.headers,
		contentType: "application/json",
		body:        body,
		key:         cfg.key,
		sslVerify:   cfg.sslVerify,
	})
}

// webhookRequest is one request of the webhook family of handlers (webhook,
// webhook-custom), ready to send.
type webhookRequest struct {
	method string
	url    string // as configured
	shown  string // for messages: the password redacted
	// headers are the hook's headers (a "Host" entry sets the request's
	// Host); contentType, when not empty, is set after them and wins.
	headers     map[string]string
	contentType string
	body        []byte
	key         []byte // the signing key; nil when the hook is not signed
	sslVerify   bool
}

// send makes one attempt of r under the webhook's transport, deadlines,
// signing and answer handling (see Deliver); id is the delivery's
// webhook-id. Deadlines: the connect timeout bounds connecting (DNS, TCP,
// TLS); the read timeout bounds sending the request, then waiting for and
// reading the answer; the caller's ctx deadline applies on top.
func (w *Webhook) send(ctx context.Context, id string, r webhookRequest) (Result, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer func() {
		_ = resp.CloseBodyStream()
		fasthttp.ReleaseResponse(resp)
	}()
	req.Header.DisableSpecialHeader() // every header as given, none made up
	req.SetRequestURI(r.url)
	req.Header.SetMethod(r.method)
	host := ""
	hasUA := false
	for k, v := range r.headers {
		switch {
		case strings.EqualFold(k, "Host"):
			host = v
			continue
		case strings.EqualFold(k, "User-Agent"):
			hasUA = true
		case strings.EqualFold(k, "Content-Length"), strings.EqualFold(k, "Transfer-Encoding"),
			strings.EqualFold(k, "Connection"):
			continue // framing is ours
		case r.contentType != "" && strings.EqualFold(k, "Content-Type"):
			continue
		}
		req.Header.Set(k, v)
	}
	uri := req.URI()
	if host == "" {
		host = string(uri.Host())
	}
	req.Header.Set("Host", host)
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if !hasUA {
		req.Header.Set("User-Agent", w.opts.UserAgent)
	}
	// webhook-id and webhook-timestamp go with every delivery, so any
	// receiver can drop duplicates; the signatures need a secret.
	ts := w.now().Unix()
	req.Header.Set(HeaderWebhookID, id)
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts, 10))
	if r.key != nil {
		req.Header.Set(HeaderKongSignature, KongSignature(r.key, r.body))
		req.Header.Set(HeaderWebhookSignature, StandardSignature(r.key, id, ts, r.body))
	}
	if len(r.body) > 0 || r.method == fasthttp.MethodPost || r.method == fasthttp.MethodPut || r.method == fasthttp.MethodPatch {
		req.Header.Set("Content-Length", strconv.Itoa(len(r.body)))
	}
	req.SetBodyRaw(r.body)

	client := w.insecure
	if r.sslVerify {
		client = w.verify
	}
	// The whole exchange up to the answer's headers: connecting, sending,
	// waiting (each bounded on its own by the client's timeouts).
	timeout := w.opts.ConnectTimeout + 2*w.opts.ReadTimeout
	callerBound := false
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			timeout, callerBound = max(left, time.Millisecond), true
		}
	}
	start := time.Now()
	err := client.DoTimeout(req, resp, timeout)
	if err != nil {
		var denied *DeniedDestinationError
		if errors.As(err, &denied) {
			// The receiver's address will not change its nature: final.
			return Result{}, &PermanentError{Err: fmt.Errorf("posting to %s: %w", r.shown, denied)}
		}
		return Result{}, w.transportError(ctx, r.shown, phaseWaiting, callerBound && time.Since(start) >= timeout, err)
	}

	res := Result{
		Status:     resp.StatusCode(),
		Headers:    firstValues(&resp.Header),
		RetryAfter: parseRetryAfter(string(resp.Header.Peek("Retry-After")), w.now()),
	}
	if body := resp.BodyStream(); body != nil {
		b, err := readCapped(body, int64(resp.Header.ContentLength()), w.opts.MaxResponseBody)
		res.Body = string(b)
		if err != nil {
			return res, w.transportError(ctx, r.shown, phaseReading, callerBound && ctx.Err() != nil, err)
		}
		// The rest is read and dropped, up to a bound, so that the
		// connection can go back to the pool; a larger answer closes it.
		_, _ = io.CopyN(io.Discard, body, maxDrain)
	} else {
		b := resp.Body()
		res.Body = string(b[:min(len(b), w.opts.MaxResponseBody)])
	}

	if res.Status < 200 || res.Status > 299 {
		return res, &StatusError{Status: res.Status}
	}
	return res, nil
}

// readCapped reads at most limit bytes of r.
func readCapped(r io.Reader, length int64, limit int) ([]byte, error) {
	if limit <= 0 || length == 0 {
		return nil, nil
	}
	size := limit
	if length >= 0 && length < int64(limit) {
		size = int(length)
	} else if length < 0 && size > 4096 {
		size = 4096 // unknown length: grow as it comes
	}
	b := make([]byte, 0, size)
	for len(b) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		end := min(cap(b), limit)
		n, err := r.Read(b[len(b):end])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

// firstValues returns the first value of each header of the answer, under
// its canonical name.
func firstValues(h *fasthttp.ResponseHeader) map[string]string {
	m := make(map[string]string, h.Len())
	for k, v := range h.All() {
		name := http.CanonicalHeaderKey(string(k))
		if _, ok := m[name]; !ok {
			m[name] = string(v)
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date,
// capped at 24h. Anything else, and a date in the past, is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if allDigits(v) {
		if len(v) > 6 { // more than 11 days, and no overflow
			return maxRetryAfter
		}
		n, _ := strconv.Atoi(v)
		return min(time.Duration(n)*time.Second, maxRetryAfter)
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// The phases of an attempt, for its error messages.
const (
	phaseConnecting = iota // DNS, connect, TLS handshake
	phaseSending           // writing the request
	phaseWaiting           // waiting for the answer's headers
	phaseReading           // reading the answer's body
)

// webhookError is a transport failure: "posting to <url>: <what failed>".
// It unwraps to the underlying error (errors.Is(err, context.Canceled),
// net.Error's Timeout, ...).
type webhookError struct {
	msg string
	err error
}

func (e *webhookError) Error() string { return e.msg }
func (e *webhookError) Unwrap() error { return e.err }

// transportError describes a failed exchange: phase is how far it got
// (waiting: up to the answer's headers; reading: the body); callerExpired
// says that the caller's deadline, not ours, ended it.
func (w *Webhook) transportError(ctx context.Context, shown string, phase int, callerExpired bool, err error) error {
	var what string
	if errors.Is(err, fasthttp.ErrDialTimeout) {
		phase = phaseConnecting
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		phase = phaseConnecting
	}
	switch {
	case callerExpired || ctx.Err() != nil: // the caller's deadline or cancellation
		cause := ctx.Err()
		if cause == nil {
			cause = context.DeadlineExceeded
		}
		what = describePhase(phase) + ": " + cause.Error()
		err = cause
	case isTimeout(err):
		switch phase {
		case phaseConnecting:
			what = "connect: timed out after " + w.opts.ConnectTimeout.String()
		case phaseSending:
			what = "sending request: timed out after " + w.opts.ReadTimeout.String()
		case phaseWaiting:
			what = "no answer within " + w.opts.ReadTimeout.String() + " (read timeout)"
		default:
			what = "reading response: timed out after " + w.opts.ReadTimeout.String()
		}
	default:
		what = describeError(err)
		if phase == phaseReading {
			what = "reading response: " + what
		}
	}
	return &webhookError{msg: "posting to " + shown + ": " + what, err: err}
}

func describePhase(phase int) string {
	switch phase {
	case phaseConnecting:
		return "connect"
	case phaseSending:
		return "sending request"
	case phaseWaiting:
		return "waiting for the answer"
	default:
		return "reading response"
	}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// describeError shortens a net/http error to what failed: "connect:
// connection refused", "read: connection reset by peer", "lookup x: no such
// host", "tls: failed to verify certificate: ...".
func describeError(err error) string {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "lookup " + dnsErr.Name + ": " + dnsErr.Err
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Error()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, fasthttp.ErrConnectionClosed) {
		return "connection closed by the receiver"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Op + ": " + oe.Err.Error()
	}
	return err.Error()
}
