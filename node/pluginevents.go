package node

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/portico-gw/portico/eventhooks"
	"github.com/portico-gw/portico/logger"
	"github.com/portico-gw/portico/plugins"
)

// pluginEventsQueue bounds the plugin events waiting to be recorded.
const pluginEventsQueue = 1024

// pluginEvents carries the events emitted on the request's path (the
// rate-limiting plugin's rate-limit-exceeded, the balancer's health
// transitions) to event hooks: a bounded queue drained by one goroutine,
// so that recording an event (a durable write) never holds a request. When
// the queue is full, events are dropped and counted.
type pluginEvents struct {
	hooks   *eventhooks.Service
	log     *logger.Logger
	ch      chan pluginEvent
	dropped atomic.Int64
	stop    chan struct{}
	done    sync.WaitGroup
}

type pluginEvent struct {
	source, event string
	data          map[string]any
}

// publishPluginEvents lists the enabled plugins' events among the event
// hooks sources (Kong: kong.event_hooks.publish in the plugins'
// init_worker) and starts the queue that records them.
func publishPluginEvents(hooks *eventhooks.Service, enabled *plugins.Registry, log *logger.Logger) *pluginEvents {
	for _, p := range enabled.All() {
		for _, ev := range p.Events {
			hooks.Sources().Publish(ev.Source, ev.Name, eventhooks.EventInfo{
				Fields: ev.Fields, Unique: ev.Unique, Description: ev.Description,
			})
		}
	}
	pe := &pluginEvents{hooks: hooks, log: log, ch: make(chan pluginEvent, pluginEventsQueue), stop: make(chan struct{})}
	pe.done.Go(pe.run)
	return pe
}

func (pe *pluginEvents) Wants(source, event string) bool { return pe.hooks.Wants(source, event) }

func (pe *pluginEvents) Emit(source, event string, data map[string]any) {
	select {
	case pe.ch <- pluginEvent{source, event, data}:
	default:
		if pe.dropped.Add(1)%1000 == 1 {
			pe.log.Warnf("event hooks: plugin events are behind: %d dropped so far", pe.dropped.Load())
		}
	}
}

func (pe *pluginEvents) run() {
	for {
		select {
		case <-pe.stop:
			return
		case ev := <-pe.ch:
			if err := pe.hooks.Emit(context.Background(), ev.source, ev.event, ev.data); err != nil {
				pe.log.Errorf("%v", err)
			}
		}
	}
}

// close stops the queue; events still waiting are dropped (they were
// never durable).
func (pe *pluginEvents) close() {
	close(pe.stop)
	pe.done.Wait()
}

var _ plugins.Events = (*pluginEvents)(nil)
