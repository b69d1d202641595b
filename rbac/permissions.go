package rbac

import (
	"strings"

	"github.com/portico-gw/portico/schema/entities"
)

// Action is one RBAC action bit (Kong's read 1, create 2, update 4,
// delete 8); a negative permission sets the action shifted by 4.
type Action uint8

// Kong's actions.
const (
	Read Action = 1 << iota
	Create
	Update
	Delete
)

// AllActions is every action ("*").
const AllActions = Read | Create | Update | Delete

// ActionNames are Kong's words for the actions, in bit order.
var actionNames = entities.RBACActions

// String is Kong's word for a single action.
func (a Action) String() string {
	for i, n := range actionNames {
		if a == 1<<i {
			return n
		}
	}
	return "unknown"
}

// Names lists the actions set in a, in Kong's order.
func (a Action) Names() []string {
	var out []string
	for i, n := range actionNames {
		if a&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// List is Names as a JSON-model list (the stored form of actions).
func (a Action) List() []any {
	out := []any{}
	for _, n := range a.Names() {
		out = append(out, n)
	}
	return out
}

// ParseAction reads one action word.
func ParseAction(s string) (Action, bool) {
	for i, n := range actionNames {
		if s == n {
			return 1 << i, true
		}
	}
	return 0, false
}

// ActionFor maps an HTTP method to the action it performs, as Kong does.
func ActionFor(method string) Action {
	switch method {
	case "POST":
		return Create
	case "PUT", "PATCH":
		return Update
	case "DELETE":
		return Delete
	}
	return Read // GET, HEAD, OPTIONS
}

// EndpointPermission is one rbac_role_endpoints row.
type EndpointPermission struct {
	Workspace string // a workspace name or "*"
	Endpoint  string // "/consumers", "/consumers/*", or "*"
	Actions   Action
	Negative  bool
}

// Permissions are a user's endpoint permissions, merged over its roles:
// per workspace, per endpoint, the allowed actions in the low bits and the
// denied ones in the high bits (a denial on the same workspace, endpoint
// and action wins over any role's grant). It is immutable.
type Permissions struct {
	byWorkspace map[string]map[string]uint8
}

// NewPermissions merges endpoint permissions.
func NewPermissions(perms []EndpointPermission) *Permissions {
	p := &Permissions{byWorkspace: map[string]map[string]uint8{}}
	for _, e := range perms {
		m := p.byWorkspace[e.Workspace]
		if m == nil {
			m = map[string]uint8{}
			p.byWorkspace[e.Workspace] = m
		}
		bits := m[e.Endpoint]
		if e.Negative {
			bits |= uint8(e.Actions) << 4
		} else {
			bits |= uint8(e.Actions)
		}
		// Negative wins: a denied action is not also allowed.
		bits &^= bits >> 4
		m[e.Endpoint] = bits
	}
	return p
}

// Empty reports whether the user holds no permission at all.
func (p *Permissions) Empty() bool { return len(p.byWorkspace) == 0 }

// Allows decides whether action on the request path of workspace ws is
// allowed. pattern is the path of the endpoint that serves it with its
// parameters as "*" (/consumers/*). As Kong does, the request's workspace
// is tried before "*", and within one the candidates go from the exact
// path, to the endpoint's pattern, to the path with its right-most segments
// turned into "*" one by one, to "*": the first candidate that holds a
// permission decides when it denies or allows the action.
func (p *Permissions) Allows(ws, path, pattern string, action Action) bool {
	for _, w := range [2]string{ws, "*"} {
		m := p.byWorkspace[w]
		if m == nil {
			continue
		}
		decided, allowed := decide(m, path, action)
		if !decided {
			decided, allowed = decide(m, pattern, action)
		}
		for wild := path; !decided; {
			var ok bool
			if wild, ok = wildcardLast(wild); !ok {
				break
			}
			decided, allowed = decide(m, wild, action)
		}
		if !decided {
			decided, allowed = decide(m, "*", action)
		}
		if decided {
			return allowed
		}
	}
	return false
}

func decide(m map[string]uint8, key string, action Action) (decided, allowed bool) {
	bits, ok := m[key]
	if !ok {
		return false, false
	}
	switch {
	case bits == 0 || bits&(uint8(action)<<4) != 0:
		return true, false
	case bits&uint8(action) != 0:
		return true, true
	}
	return false, false
}

// wildcardLast turns the right-most segment that is not "*" into "*":
// /a/b/c → /a/b/* → /a/*/* → /*/*/*.
func wildcardLast(path string) (string, bool) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i] != "*" {
			segs[i] = "*"
			return "/" + strings.Join(segs, "/"), true
		}
	}
	return "", false
}

// Readable renders the permissions as Kong's /userinfo and
// /rbac/roles/{r}/permissions do: workspace → endpoint → action →
// {"negative": bool}.
func (p *Permissions) Readable() map[string]any {
	out := map[string]any{}
	for ws, m := range p.byWorkspace {
		eps := map[string]any{}
		for ep, bits := range m {
			acts := map[string]any{}
			for i, n := range actionNames {
				switch {
				case bits&(1<<(i+4)) != 0:
					acts[n] = map[string]any{"negative": true}
				case bits&(1<<i) != 0:
					acts[n] = map[string]any{"negative": false}
				}
			}
			eps[ep] = acts
		}
		out[ws] = eps
	}
	return out
}

// NormalizeEndpoint is Kong's form of a permission's endpoint: trimmed,
// without a trailing "/", with a leading one ("*" stays as it is).
func NormalizeEndpoint(s string) string {
	s = strings.TrimSpace(s)
	if s == "*" {
		return s
	}
	s = strings.TrimSuffix(s, "/")
	if !strings.HasPrefix(s, "/") {
		s = "/" + s
	}
	return s
}
