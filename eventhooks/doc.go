// Package eventhooks implements Kong's event hooks with durable delivery.
//
// Sources (crud, dao:crud, and later balancer, rate-limiting ...) publish
// their events into a Sources registry. Every entity write runs the outbox
// TxHook inside its own store transaction: it matches the change against the
// configured hooks (an immutable snapshot rebuilt whenever event_hooks
// change), applies snooze/on_change, and writes one delivery row per
// matching hook in the same transaction, so nothing acknowledged is lost.
// After commit the new deliveries are queued in memory; at start the queue is
// rebuilt from the store.
//
// A bounded pool of workers takes due deliveries (with a per-hook in-flight
// cap, so one slow receiver cannot stall the others) and runs the hook's
// Handler (webhook, log). Outcomes are recorded in batches: delivered,
// retried on a schedule with jitter, or failed (kept as a dead letter).
// Delivery records are listed and redriven through the Admin API and
// trimmed by age.
package eventhooks
