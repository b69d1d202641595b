package plugins

import "bytes"

// Captures are a regex route's captures (Kong's uri_captures): group 0 is
// the whole match, groups are numbered from 1 and may be named. ok is false
// for a group that does not exist or took no part in the match.
type Captures interface {
	CaptureAt(i int) (value []byte, ok bool)
	Capture(name string) (value []byte, ok bool)
}

// UpstreamRequest is what plugins set of the request sent to the service
// that the client's request does not carry (kong.service.request): the
// path, replacing the one Kong derives from the route and service, and the
// Host header. Method, headers, query string and body are changed on
// Context.Request itself. Its buffers are kept from one request to the
// next.
type UpstreamRequest struct {
	path, host       []byte
	hasPath, hasHost bool
	scratch          []byte
}

func (u *UpstreamRequest) reset() {
	u.path, u.host, u.scratch = u.path[:0], u.host[:0], u.scratch[:0]
	u.hasPath, u.hasHost = false, false
}

// SetPath sets the upstream path (kong.service.request.set_path): the
// query string still follows it. Characters that may not appear in a
// request target are percent-encoded, as Kong's escape does; '%' is kept,
// so an encoded path stays as it is.
func (u *UpstreamRequest) SetPath(path []byte) {
	u.path = appendPathEscaped(u.path[:0], path)
	u.hasPath = true
}

// Path is the path a plugin set; ok is false when none did.
func (u *UpstreamRequest) Path() (path []byte, ok bool) { return u.path, u.hasPath }

// SetHost sets the upstream Host header (kong.service.request.set_header
// with "host"), overriding preserve_host and the peer's name.
func (u *UpstreamRequest) SetHost(host []byte) {
	u.host = append(u.host[:0], host...)
	u.hasHost = true
}

// Host is the Host header a plugin set; ok is false when none did.
func (u *UpstreamRequest) Host() (host []byte, ok bool) { return u.host, u.hasHost }

// appendPathEscaped percent-encodes what Kong's kong.tools.uri escape
// does: every byte but the unreserved and reserved characters and '%'.
func appendPathEscaped(dst, path []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range path {
		if pathSafe[c] {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hex[c>>4], hex[c&15])
	}
	return dst
}

var pathSafe = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$&'()*+,/:;=?@[]-_.~%" {
		t[c] = true
	}
	return t
}()

// SetRawQuery replaces the request's query string (ngx.req.set_uri_args):
// the upstream receives it, and later plugins see it. An empty query drops
// the "?". The path part of the request target is kept byte for byte.
func (c *Context) SetRawQuery(query []byte) {
	u := &c.Upstream
	target := c.Request.Header.RequestURI()
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	u.scratch = append(u.scratch[:0], target...)
	if len(query) > 0 {
		u.scratch = append(append(u.scratch, '?'), query...)
	}
	c.Request.SetRequestURIBytes(u.scratch)
}

// BufferBody asks the host for the answer's whole body: the BodyFilter
// phase then runs with it. Answers larger than the proxy's buffer limit
// (8 MiB by default) are not buffered: they go to the client unmodified,
// streamed, and BodyFilter does not run.
func (c *Context) BufferBody() { c.bodyWanted = true }

// BodyWanted reports whether a plugin asked for the answer's body.
func (c *Context) BodyWanted() bool { return c.bodyWanted }
