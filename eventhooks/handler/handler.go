package handler

import (
	"context"
	"strconv"
	"time"
)

// Event is one event owed to one hook: what its handler delivers.
type Event struct {
	// Source and Name are Kong's: "crud" and "consumers" (or
	// "consumers:create", as the hook subscribed), "kong:event_hooks" and
	// "ping" for pings.
	Source string
	Name   string
	// Data is the event's payload without "event" and "source" (Kong's
	// crud data: operation, entity, old_entity, schema). Handlers must not
	// modify it.
	Data map[string]any
}

// Hook is an event_hooks entity as handlers see it.
type Hook struct {
	ID      string
	Source  string
	Event   string // "" = every event of the source
	Handler string
	// Config is the hook's config. It is never modified: a changed hook
	// comes with a new map, so a handler may keep what it parsed from a
	// config for as long as it is given the same map (configCache).
	Config map[string]any
	// Entity is the hook as the Admin API prints it (sent in pings, with
	// its secret redacted).
	Entity map[string]any
}

// Delivery is one attempt at delivering an event to a hook.
type Delivery struct {
	// ID is stable across the attempts of one delivery (Standard Webhooks'
	// webhook-id), so receivers can drop duplicates.
	ID      string
	Attempt int // 1 for the first attempt
	Hook    Hook
	Event   Event
}

// Result is what an attempt got back from the receiver, if anything.
type Result struct {
	// Status is the HTTP status, 0 when the handler makes no request.
	Status int
	// Headers and Body are the receiver's answer; Body is capped (see the
	// handler) so a huge answer cannot grow memory.
	Headers map[string]string
	Body    string
	// RetryAfter is the receiver's Retry-After, 0 when absent.
	RetryAfter time.Duration
}

// Handler delivers events for one kind of hook (Kong's handler field).
// Deliver makes one attempt within ctx's deadline; a nil error means the
// event was delivered, any error that the attempt failed and may be retried
// (the dispatcher decides, per policy). Implementations are safe for
// concurrent use.
type Handler interface {
	Deliver(ctx context.Context, d Delivery) (Result, error)
}

// Pinger is implemented by handlers that announce a hook to its receiver
// when the hook is created, updated or deleted, and on GET .../ping (Kong:
// webhook only).
type Pinger interface {
	Handler
	Pings() bool
}

// StatusError is a delivery that reached the receiver but was not accepted
// (a non-2xx answer).
type StatusError struct{ Status int }

func (e *StatusError) Error() string { return "receiver answered HTTP " + strconv.Itoa(e.Status) }

// PermanentError is a failure no retry can mend (a hook's config the
// handler cannot use): the delivery fails at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }

func (e *PermanentError) Unwrap() error { return e.Err }
