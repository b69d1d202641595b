package eventhooks

import (
	"sort"
	"sync"

	"github.com/portico-gw/portico/schema"
)

// Kong's source and field names (kong/enterprise_edition/event_hooks.lua).
const (
	SourceCRUD    = "crud"
	SourceDAOCRUD = "dao:crud"
	SourcePing    = "kong:event_hooks"
	EventPing     = "ping"
)

// crudFields are the template fields of every crud and dao:crud event.
var crudFields = []string{"operation", "entity", "old_entity", "schema"}

// EventInfo describes one event of a source, as GET /event-hooks/sources
// shows it.
type EventInfo struct {
	Fields      []string `json:"fields"`
	Unique      []string `json:"unique,omitempty"`
	Description string   `json:"description,omitempty"`
}

// Sources is the registry every part of the product publishes its events
// into: the DAO (crud, dao:crud), later the proxy (balancer) and plugins
// (rate-limiting). It is safe for concurrent use.
type Sources struct {
	mu      sync.RWMutex
	sources map[string]map[string]EventInfo
}

// NewSources returns an empty registry.
func NewSources() *Sources {
	return &Sources{sources: map[string]map[string]EventInfo{}}
}

// Publish declares that source emits event with the given fields.
// Publishing again replaces the description.
func (s *Sources) Publish(source, event string, info EventInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	events := s.sources[source]
	if events == nil {
		events = map[string]EventInfo{}
		s.sources[source] = events
	}
	events[event] = info
}

// PublishCRUD declares Kong's crud and dao:crud sources for every entity of
// the registry but internal ones (whose rows change without events):
// events N, N:create, N:update and N:delete per entity, and create, update
// and delete.
func (s *Sources) PublishCRUD(reg *schema.Registry) {
	info := EventInfo{Fields: crudFields}
	for _, e := range reg.Entities() {
		if e.Internal {
			continue
		}
		s.Publish(SourceCRUD, e.Name, info)
		for _, op := range []string{"create", "update", "delete"} {
			s.Publish(SourceCRUD, e.Name+":"+op, info)
		}
	}
	for _, op := range []string{"create", "update", "delete"} {
		s.Publish(SourceDAOCRUD, op, info)
	}
}

// All returns a copy of every source and its events.
func (s *Sources) All() map[string]map[string]EventInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]map[string]EventInfo, len(s.sources))
	for src, events := range s.sources {
		cp := make(map[string]EventInfo, len(events))
		for k, v := range events {
			cp[k] = v
		}
		out[src] = cp
	}
	return out
}

// Source returns one source's events.
func (s *Sources) Source(source string) (map[string]EventInfo, bool) {
	all := s.All()
	events, ok := all[source]
	return events, ok
}

// Event returns one event's description.
func (s *Sources) Event(source, event string) (EventInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	info, ok := s.sources[source][event]
	return info, ok
}

// Names lists the published sources, sorted.
func (s *Sources) Names() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.sources))
	for n := range s.sources {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
