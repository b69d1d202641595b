package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// adminClient speaks to a Kong-compatible Admin API: the few calls `bench
// events` makes, each bounded by a timeout so that a node that stops
// answering cannot hang the run.
type adminClient struct {
	base    string // scheme://host[:port][/path], no trailing slash
	token   string
	timeout time.Duration
	client  *fasthttp.Client
}

// tokenHeader is Kong's RBAC header.
const tokenHeader = "Kong-Admin-Token"

// parseAdminURL checks an Admin API URL: http or https, with a host.
func parseAdminURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("--admin: %q is not an http:// or https:// URL with a host (e.g. http://127.0.0.1:8001)", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("--admin: %q: a query or fragment makes no sense here", raw)
	}
	return strings.TrimSuffix(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

func newAdminClient(base, token string, timeout time.Duration, conns int) *adminClient {
	return &adminClient{
		base:    base,
		token:   token,
		timeout: timeout,
		client: &fasthttp.Client{
			Name:                      "portico-bench",
			MaxConnsPerHost:           conns,
			MaxIdemponentCallAttempts: 1, // a write is never sent twice
			ReadTimeout:               timeout,
			WriteTimeout:              timeout,
		},
	}
}

// adminError is an answer other than the one expected.
type adminError struct {
	method, path string
	status       int
	body         string
}

func (e *adminError) Error() string {
	msg := fmt.Sprintf("%s %s: status %d", e.method, e.path, e.status)
	if e.status == fasthttp.StatusUnauthorized || e.status == fasthttp.StatusForbidden {
		msg += " (RBAC: pass an admin token with --token)"
	}
	if e.body != "" {
		msg += ": " + e.body
	}
	return msg
}

// do sends one request; body, when not nil, is sent as JSON. It returns the
// answer's status and body, or an error when the node could not be reached.
func (c *adminClient) do(method, path string, body any) (int, []byte, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(c.base + path)
	req.Header.SetMethod(method)
	if c.token != "" {
		req.Header.Set(tokenHeader, c.token)
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("encoding %s %s: %w", method, path, err)
		}
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(b)
	}
	if err := c.client.DoTimeout(req, resp, c.timeout); err != nil {
		if errors.Is(err, fasthttp.ErrTimeout) {
			err = fmt.Errorf("no answer within %v", c.timeout)
		}
		return 0, nil, fmt.Errorf("%s %s%s: %w", method, c.base, path, err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}

// expect sends one request and fails unless the answer has one of the
// statuses; it decodes a JSON answer into out when out is not nil.
func (c *adminClient) expect(method, path string, body, out any, statuses ...int) error {
	status, raw, err := c.do(method, path, body)
	if err != nil {
		return err
	}
	for _, s := range statuses {
		if status == s {
			if out != nil {
				if err := json.Unmarshal(raw, out); err != nil {
					return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
				}
			}
			return nil
		}
	}
	const maxShown = 300
	shown := strings.TrimSpace(string(raw))
	if len(shown) > maxShown {
		shown = shown[:maxShown] + "..."
	}
	return &adminError{method: method, path: path, status: status, body: shown}
}

// probe checks that the Admin API answers, and that the token (if any) is
// accepted.
func (c *adminClient) probe() error {
	if err := c.expect(fasthttp.MethodGet, "/", nil, nil, fasthttp.StatusOK); err != nil {
		return fmt.Errorf("reaching the Admin API at %s: %w", c.base, err)
	}
	return nil
}

// createHook creates a webhook hook on consumer writes and returns its id.
func (c *adminClient) createHook(sinkURL, secret string) (string, error) {
	cfg := map[string]any{"url": sinkURL}
	if secret != "" {
		cfg["secret"] = secret
	}
	var hook struct {
		ID string `json:"id"`
	}
	err := c.expect(fasthttp.MethodPost, "/event-hooks", map[string]any{
		"source": "crud", "event": "consumers", "handler": "webhook", "config": cfg,
	}, &hook, fasthttp.StatusCreated, fasthttp.StatusOK)
	if err == nil && hook.ID == "" {
		err = errors.New("POST /event-hooks: the answer has no id")
	}
	if err != nil {
		return "", fmt.Errorf("creating an event hook: %w", err)
	}
	return hook.ID, nil
}

// deleteHook deletes a hook; one already gone is not an error.
func (c *adminClient) deleteHook(id string) error {
	return c.expect(fasthttp.MethodDelete, "/event-hooks/"+url.PathEscape(id), nil, nil,
		fasthttp.StatusNoContent, fasthttp.StatusOK, fasthttp.StatusNotFound)
}

// createConsumer writes one consumer; nil means the node acknowledged it.
func (c *adminClient) createConsumer(username string) error {
	return c.expect(fasthttp.MethodPost, "/consumers", map[string]any{"username": username}, nil,
		fasthttp.StatusCreated, fasthttp.StatusOK)
}

// deleteConsumer deletes a consumer by username; one that is not there is
// not an error (its write may have failed).
func (c *adminClient) deleteConsumer(username string) error {
	return c.expect(fasthttp.MethodDelete, "/consumers/"+url.PathEscape(username), nil, nil,
		fasthttp.StatusNoContent, fasthttp.StatusOK, fasthttp.StatusNotFound)
}
