package handler

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
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
// concurrent use; its connections are pooled per ssl_verify value.
type Webhook struct {
	opts     WebhookOptions
	verify   *http.Client // ssl_verify = true
	insecure *http.Client // ssl_verify = false, Kong's default
	now      func() time.Time
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

func newWebhookClient(opts WebhookOptions, verify bool) *http.Client {
	dialer := &net.Dialer{Timeout: opts.ConnectTimeout, KeepAlive: 30 * time.Second}
	if opts.DenyPrivate {
		dialer.Control = denyPrivate
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true) // HTTP/1.1 only, as Kong (lua-resty-http)
	t := &http.Transport{
		// No proxy: Kong's webhook does not read HTTP_PROXY either.
		Proxy:       nil,
		DialContext: dialer.DialContext,
		TLSClientConfig: &tls.Config{
			// ssl_verify defaults to false in Kong's schema: a hook that
			// did not ask for verification gets none.
			InsecureSkipVerify: !verify, //nolint:gosec // the hook's ssl_verify
			RootCAs:            opts.RootCAs,
		},
		TLSHandshakeTimeout:   opts.ConnectTimeout,
		ResponseHeaderTimeout: opts.ReadTimeout,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		// The body is kept as the receiver sent it, and no gzip bomb can
		// be expanded on our side.
		DisableCompression: true,
		Protocols:          &protocols,
	}
	return &http.Client{
		Transport: t,
		// A redirect is not followed (Kong does not either): the 3xx is
		// the answer, and not a 2xx.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
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
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("webhook: encoding the event: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
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
	cfg, err := parseWebhookConfig(d.Hook.Config)
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
// webhook-id.
func (w *Webhook) send(ctx context.Context, id string, r webhookRequest) (Result, error) {
	// The attempt's own deadlines, one phase at a time (see attemptTimer).
	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	at := newAttemptTimer(w.opts, cancel)
	defer at.stop()
	reqCtx = httptrace.WithClientTrace(reqCtx, at.trace())

	req, err := http.NewRequestWithContext(reqCtx, r.method, r.url, bytes.NewReader(r.body))
	if err != nil { // not expected: the url was parsed above
		return Result{}, errors.New("webhook: config.url: could not build a request for it")
	}
	for k, v := range r.headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if req.Header.Get("User-Agent") == "" {
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

	client := w.insecure
	if r.sslVerify {
		client = w.verify
	}
	resp, err := client.Do(req)
	if err != nil {
		var denied *DeniedDestinationError
		if errors.As(err, &denied) {
			// The receiver's address will not change its nature: final.
			return Result{}, &PermanentError{Err: fmt.Errorf("posting to %s: %w", r.shown, denied)}
		}
		return Result{}, w.transportError(ctx, r.shown, at, err)
	}
	defer resp.Body.Close()

	at.enter(phaseReading)
	res := Result{
		Status:     resp.StatusCode,
		Headers:    firstValues(resp.Header),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), w.now()),
	}
	b, err := readCapped(resp.Body, resp.ContentLength, w.opts.MaxResponseBody)
	res.Body = string(b)
	if err != nil {
		return res, w.transportError(ctx, r.shown, at, err)
	}
	// The rest is read and dropped, up to a bound, so that the connection
	// can go back to the pool; a larger answer closes it instead.
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return res, &StatusError{Status: resp.StatusCode}
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

// firstValues returns the first value of each header, under its canonical
// name (as net/http parsed it).
func firstValues(h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	m := make(map[string]string, len(h))
	for k, v := range h {
		if len(v) > 0 {
			m[k] = v[0]
		}
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

// The phases of an attempt, for its deadlines and its error messages.
const (
	phaseConnecting = iota // DNS, connect, TLS handshake
	phaseSending           // writing the request
	phaseWaiting           // waiting for the answer's headers
	phaseReading           // reading the answer's body
)

// attemptTimer enforces one deadline per phase of an attempt: the connect
// timeout while connecting, then the read timeout for sending, for the
// answer's headers and for its body, each from the start of its phase. The
// transport's own dial, TLS and response-header timeouts say the same; this
// also bounds sending and the body, which net/http does not, so that a
// receiver that stalls anywhere cannot hold a worker. The caller's ctx
// deadline applies on top.
type attemptTimer struct {
	opts   WebhookOptions
	cancel context.CancelFunc

	mu      sync.Mutex
	timer   *time.Timer
	phase   int
	expired bool // the timer fired, in phase
}

func newAttemptTimer(opts WebhookOptions, cancel context.CancelFunc) *attemptTimer {
	at := &attemptTimer{opts: opts, cancel: cancel}
	at.timer = time.AfterFunc(opts.ConnectTimeout, at.fire)
	return at
}

func (at *attemptTimer) fire() {
	at.mu.Lock()
	at.expired = true
	at.mu.Unlock()
	at.cancel()
}

// enter starts phase p with its own deadline, unless the attempt has
// already timed out.
func (at *attemptTimer) enter(p int) {
	at.mu.Lock()
	defer at.mu.Unlock()
	if at.expired || p <= at.phase {
		return
	}
	at.phase = p
	at.timer.Reset(at.opts.ReadTimeout)
}

func (at *attemptTimer) stop() { at.timer.Stop() }

// state returns the phase the attempt is in, and whether its deadline fired.
func (at *attemptTimer) state() (int, bool) {
	at.mu.Lock()
	defer at.mu.Unlock()
	return at.phase, at.expired
}

func (at *attemptTimer) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn:      func(httptrace.GotConnInfo) { at.enter(phaseSending) },
		WroteRequest: func(httptrace.WroteRequestInfo) { at.enter(phaseWaiting) },
	}
}

// webhookError is a transport failure: "posting to <url>: <what failed>".
// It unwraps to the underlying error (errors.Is(err, context.Canceled),
// net.Error's Timeout, ...).
type webhookError struct {
	msg string
	err error
}

func (e *webhookError) Error() string { return e.msg }
func (e *webhookError) Unwrap() error { return e.err }

func (w *Webhook) transportError(ctx context.Context, shown string, at *attemptTimer, err error) error {
	phase, expired := at.state()
	var what string
	switch {
	case ctx.Err() != nil: // the caller's deadline or cancellation
		what = describePhase(phase) + ": " + context.Cause(ctx).Error()
	case expired || isTimeout(err):
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
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
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
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
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
