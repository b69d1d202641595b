package router

// Captures of a regex path, Kong's uri_captures (kong.request.get_uri_captures):
// group 0 is the whole match, groups are numbered from 1 and may be named
// with (?<name>...) or (?P<name>...). A group that took no part in the match
// is absent, as in Kong.

// HasCaptures reports whether Kong would hand out uri_captures: the route
// matched by a regex and at least one of its groups took part in the match.
func (m *Match) HasCaptures() bool {
	for i := 2; i+1 < len(m.caps); i += 2 {
		if m.caps[i] >= 0 {
			return true
		}
	}
	return false
}

// NumCaptures returns the number of groups of the winning regex (0 for a
// route matched otherwise).
func (m *Match) NumCaptures() int {
	if m.re == nil {
		return 0
	}
	return m.re.NumSubexp()
}

// CaptureAt returns group i (0: the whole match); ok is false when there is
// no such group or it took no part in the match.
func (m *Match) CaptureAt(i int) (value []byte, ok bool) {
	if i < 0 || 2*i+1 >= len(m.caps) || m.caps[2*i] < 0 {
		return nil, false
	}
	return m.Path[m.caps[2*i]:m.caps[2*i+1]], true
}

// Capture returns the named group; ok is false when there is no such name
// or the group took no part in the match.
func (m *Match) Capture(name string) (value []byte, ok bool) {
	if m.re == nil || name == "" {
		return nil, false
	}
	for i, n := range m.re.SubexpNames() {
		if n == name {
			return m.CaptureAt(i)
		}
	}
	return nil, false
}

// CaptureNames returns the name of each group, indexed like CaptureAt ("" for
// unnamed groups and group 0); nil for a route matched otherwise. The slice is
// shared: do not modify it.
func (m *Match) CaptureNames() []string {
	if m.re == nil {
		return nil
	}
	return m.re.SubexpNames()
}
