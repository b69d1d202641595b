package balancer

import "errors"

// Errors of Pick. The proxy renders both as Kong's 503 with the error's
// text as the message (kong/runloop/balancer/init.lua execute).
var (
	// ErrNoPeer means that no peer can take the request: every address is
	// unhealthy or has weight 0, no target resolved, or the upstream's
	// healthy weight is at or below healthchecks.threshold.
	ErrNoPeer = errors.New("failure to get a peer from the ring-balancer")
	// ErrNameResolution means that a service's host name has no addresses
	// (it did not resolve, or not yet).
	ErrNameResolution = errors.New("name resolution failed")
)

// ErrUnknownTarget is returned by SetHealth for a target the upstream's
// balancer does not have (the Admin API answers Kong's 404 "Not found").
var ErrUnknownTarget = errors.New("target not found")

// HealthError is a SetHealth request Kong refuses with 400; Message is
// Kong's message (for example "no healthchecker found for my-upstream").
type HealthError struct {
	Message string
}

func (e *HealthError) Error() string { return e.Message }

// Kong's messages of post_health (kong/runloop/balancer/init.lua).
const (
	msgNoBalancer      = "Upstream %s has no balancer"
	msgNoHealthchecker = "no healthchecker found for %s"
	msgBadAddress      = "Invalid address %q"
)
