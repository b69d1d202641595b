package proxy

import (
	"bytes"
	"strconv"

	"github.com/valyala/fasthttp"
)

// Kong's messages for answers the proxy makes itself
// (kong/runloop/handler.lua, kong/init.lua and nginx's error pages as Kong
// configures them).
const (
	msgNoRoute         = "no Route matched with those values"
	msgNoService       = "no Service found with those values"
	msgUseHTTPS        = "Please use HTTPS protocol"
	msgUseHTTP2        = "Please use HTTP2 protocol"
	msgNotGRPC         = "Non-gRPC request matched gRPC route"
	msgBadGateway      = "An invalid response was received from the upstream server"
	msgTimeout         = "The upstream server is timing out"
	msgNoPeer          = "failure to get a peer from the ring-balancer"
	msgNameResolution  = "name resolution failed"
	msgBodyTooLarge    = "Request size limit exceeded"
	msgBadRequest      = "Bad request"
	msgServiceDisabled = "Service unavailable"
)

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

// writeError answers with Kong's error body for status and message, in the
// format the client's Accept header asks for.
func writeError(ctx *fasthttp.RequestCtx, status int, message string, requestID []byte) {
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
