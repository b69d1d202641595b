// Package eventhooks implements Kong's event hooks with durable delivery.
//
// The package is in three rooms:
//
//   - eventhooks (this package) is what the node and the Admin API see: the
//     Service, the Sources registry, the configured hooks (an immutable
//     snapshot rebuilt whenever event_hooks change) and their matching,
//     snooze/on_change, the outbox TxHook that every entity write runs
//     inside its own transaction, Emit for other sources, and the Admin API
//     operations (test, ping, delivery records, retry, redrive).
//   - eventhooks/delivery is the delivery engine: the outbox rows, the
//     per-hook queues and their attempts, the retry policy, the recording of outcomes,
//     trimming and the engine's metrics.
//   - eventhooks/handler holds the Handler contract and Kong's handlers
//     (webhook, webhook-custom, log, lambda), with signing, egress checks
//     and the write-time checks of templates and functions.
//
// A write's matching hooks get their delivery rows in the write's own
// transaction, so nothing acknowledged is lost; after commit the engine
// queues them.
package eventhooks
