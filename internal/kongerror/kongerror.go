// Package kongerror writes the error answers Kong makes itself, as the
// proxy and plugins (kong.response.error) send them: Kong's templates
// (kong/tools/http.lua), chosen by the client's Accept header, with the
// request id, and Kong's default message per status (kong/pdk/response.lua).
package kongerror

import (
	"bytes"
	"strconv"

	"github.com/valyala/fasthttp"
)

// messages are Kong's default messages for error statuses.
var messages = map[int]string{
	400: "Bad request", 401: "Unauthorized", 402: "Payment required", 403: "Forbidden", 404: "Not found",
	405: "Method not allowed", 406: "Not acceptable", 407: "Proxy authentication required", 408: "Request timeout",
	409: "Conflict", 410: "Gone", 411: "Length required", 412: "Precondition failed", 413: "Payload too large",
	414: "URI too long", 415: "Unsupported media type", 416: "Range not satisfiable", 417: "Expectation failed",
	418: "I'm a teapot", 421: "Misdirected request", 422: "Unprocessable entity", 423: "Locked",
	424: "Failed dependency", 425: "Too early", 426: "Upgrade required", 428: "Precondition required",
	429: "Too many requests", 431: "Request header fields too large", 451: "Unavailable for legal reasons",
	494: "Request header or cookie too large", 500: "An unexpected error occurred", 501: "Not implemented",
	502: "An invalid response was received from the upstream server", 503: "The upstream server is currently unavailable",
	504: "The upstream server is timing out", 505: "HTTP version not supported", 506: "Variant also negotiates",
	507: "Insufficient storage", 508: "Loop detected", 510: "Not extended", 511: "Network authentication required",
}

// Message is Kong's default message for an error status.
func Message(status int) string {
	if m, ok := messages[status]; ok {
		return m
	}
	return "The upstream server responded with " + strconv.Itoa(status)
}

// errorFormat is one of Kong's error body templates with its content type
// (kong/tools/http.lua: ERROR_TEMPLATES and MIME_TYPES).
type errorFormat struct {
	contentType string
	before      string // text before the message
	middle      string // between the message and the request id
	after       string
}

var (
	formatJSON = errorFormat{"application/json; charset=utf-8", "{\n  \"message\":\"", "\",\n  \"request_id\":\"", "\"\n}"}
	formatHTML = errorFormat{"text/html; charset=utf-8",
		"<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n    <p>",
		".</p>\n    <p>request_id: ", "</p>\n  </body>\n</html>\n"}
	formatXML = errorFormat{"application/xml; charset=utf-8",
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>", "</message>\n  <requestid>", "</requestid>\n</error>\n"}
	formatPlain = errorFormat{"text/plain; charset=utf-8", "", "\nrequest_id: ", "\n"}
)

// negotiate picks Kong's error format from an Accept header: the media
// range with the highest q wins (the first on a tie); JSON by default and
// for anything Kong has no template for.
func negotiate(accept []byte) *errorFormat {
	best, bestQ := &formatJSON, 0.0
	for len(accept) > 0 {
		var item []byte
		item, accept, _ = bytes.Cut(accept, []byte{','})
		mediaRange, params, _ := bytes.Cut(item, []byte{';'})
		mediaRange = bytes.ToLower(bytes.TrimSpace(mediaRange))
		q := 1.0
		for len(params) > 0 {
			var p []byte
			p, params, _ = bytes.Cut(params, []byte{';'})
			k, v, ok := bytes.Cut(bytes.TrimSpace(p), []byte{'='})
			if ok && bytes.Equal(bytes.TrimSpace(k), []byte("q")) {
				if f, err := strconv.ParseFloat(string(bytes.TrimSpace(v)), 64); err == nil && f >= 0 && f <= 1 {
					q = f
				}
			}
		}
		if q <= bestQ {
			continue
		}
		if f, ok := mimeFormat(mediaRange); ok {
			best, bestQ = f, q
		} else if bytes.IndexByte(mediaRange, '/') > 0 {
			best, bestQ = &formatJSON, q
		}
	}
	return best
}

// mimeFormat maps a media range to Kong's template (get_mime_type).
func mimeFormat(mediaRange []byte) (*errorFormat, bool) {
	typ, sub, ok := bytes.Cut(mediaRange, []byte{'/'})
	if !ok {
		return nil, false
	}
	if string(sub) == "*" {
		switch string(typ) {
		case "*", "application":
			return &formatJSON, true
		case "text":
			return &formatPlain, true
		}
		return nil, false
	}
	switch string(mediaRange) {
	case "application/json":
		return &formatJSON, true
	case "text/html":
		return &formatHTML, true
	case "text/plain":
		return &formatPlain, true
	case "application/xml":
		return &formatXML, true
	}
	return nil, false
}

// Write answers with Kong's error body for status and message, in the
// format the client's Accept header asks for.
func Write(ctx *fasthttp.RequestCtx, status int, message string, requestID []byte) {
	f := negotiate(ctx.Request.Header.Peek(fasthttp.HeaderAccept))
	ctx.Response.ResetBody()
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetContentType(f.contentType)
	r := &ctx.Response
	r.AppendBodyString(f.before)
	r.AppendBodyString(message)
	r.AppendBodyString(f.middle)
	r.AppendBody(requestID)
	r.AppendBodyString(f.after)
}
