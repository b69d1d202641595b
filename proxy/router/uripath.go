package router

// UpstreamPath appends the path Kong sends upstream for a matched request
// (kong/router/utils.lua get_upstream_uri_v0; Kong 3.9's
// traditional_compatible flavor builds path_handling "v1" routes as "v0"
// too) and returns the extended slice. servicePath is the Service's path
// ("" means "/"), stripPath the Route's strip_path; m is the result of a
// successful Match. The result is escaped as Kong escapes upstream_uri
// (kong/tools/uri.lua escape: what the normalisation decoded, such as a
// space, is encoded again); the query string is not included.
func UpstreamPath(dst []byte, servicePath string, stripPath bool, m *Match) []byte {
	base := servicePath
	if base == "" {
		base = "/"
	}
	uri := m.Path
	// Kong strips the matched path's length from the request path; a route
	// without paths, or one that does not strip, removes only "/".
	prefixLen := 1
	if stripPath && m.Prefix != nil {
		prefixLen = len(m.Prefix)
	}
	postfix := sanitizePostfix(uri[min(prefixLen, len(uri)):])

	if base[len(base)-1] == '/' {
		switch {
		case !stripPath:
			return appendEscaped(appendEscaped(dst, base), uri[1:])
		case len(postfix) == 0 && base == "/":
			return append(dst, '/')
		case len(postfix) == 0 && uri[len(uri)-1] == '/':
			return appendEscaped(dst, base)
		case len(postfix) == 0:
			return appendEscaped(dst, base[:len(base)-1])
		case postfix[0] == '/':
			return appendEscaped(appendEscaped(dst, base[:len(base)-1]), postfix)
		}
		return appendEscaped(appendEscaped(dst, base), postfix)
	}
	switch {
	case !stripPath && len(uri) == 1:
		return appendEscaped(dst, base)
	case !stripPath:
		return appendEscaped(appendEscaped(dst, base), uri)
	case len(postfix) == 0 && len(uri) > 1 && uri[len(uri)-1] == '/':
		return append(appendEscaped(dst, base), '/')
	case len(postfix) == 0:
		return appendEscaped(dst, base)
	case postfix[0] == '/':
		return appendEscaped(appendEscaped(dst, base), postfix)
	}
	return appendEscaped(append(appendEscaped(dst, base), '/'), postfix)
}

// sanitizePostfix drops a leading dot segment the stripped prefix left
// behind: "/route./req" less "/route" is "./req", sent as "req"
// (kong/router/utils.lua sanitize_uri_postfix).
func sanitizePostfix(p []byte) []byte {
	switch {
	case string(p) == "." || string(p) == "..":
		return nil
	case len(p) >= 2 && string(p[:2]) == "./":
		return p[2:]
	case len(p) >= 3 && string(p[:3]) == "../":
		return p[3:]
	}
	return p
}

// unescaped marks the bytes Kong sends as they are; others are
// percent-encoded (kong/tools/uri.lua ESCAPE_PATTERN).
var unescaped = func() (t [256]bool) {
	for _, c := range []byte("!#$&'()*+,/:;=?@[]-_.~%") {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	return t
}()

func appendEscaped[T string | []byte](dst []byte, s T) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unescaped[c] {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
	}
	return dst
}
