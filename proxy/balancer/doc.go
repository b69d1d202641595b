// Package balancer is Kong 3.9's upstream load balancing: the ring balancer
// of an Upstream entity (round-robin, consistent-hashing, least-connections,
// latency), DNS resolution of its targets, and active and passive health
// checks (lua-resty-healthcheck's model). It also balances over the
// addresses of a Service whose host is a plain name.
//
// # Model
//
// A Manager owns everything that lives longer than one configuration:
// per-address health state (counters and status), least-connections counts,
// latency averages, the DNS cache with its background refresher, and the
// active checkers. Manager.Update installs a configuration and returns an
// immutable Set that maps upstream names and service hosts to Balancers.
// Health state is keyed by (upstream id, target host name, ip, port), so it
// survives configuration changes and DNS refreshes, as Kong's shm-held
// health state survives balancer re-creation.
//
// A Balancer serves one upstream configuration. Its peer list (a "ring":
// the resolved addresses with their weights and the algorithm's tables) is
// immutable and swapped atomically when DNS answers change or a peer's
// health flips. Pick and Done read the current ring and update per-address
// atomics only: they take no lock and allocate nothing on the request path.
// Done takes the upstream's lock only on the rare report that flips a peer's
// health.
//
// # Concurrency
//
// Manager, Set and Balancer are safe for concurrent use. Update calls are
// serialised; they run off the hot path (on configuration changes) and may
// block on the first resolution of new host names. OnHealth is called from
// one goroutine, in the order transitions happen. The Manager runs a DNS
// refresher, an event dispatcher, a coarse clock (for latency averages)
// and two loops per upstream with active checks; Close stops every
// goroutine it started and waits for them.
//
// Kong sources this follows: kong/runloop/balancer/*.lua,
// kong/db/dao/targets.lua (health reports), lua-resty-healthcheck
// (counters, thresholds, probes).
package balancer
