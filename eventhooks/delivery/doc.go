// Package delivery is the event hooks delivery engine.
//
// A Writer adds the deliveries of one write into that write's store
// transaction (the outbox); once it commits they are queued. A dispatcher
// hands due deliveries to a bounded pool of workers, with a per-hook
// in-flight cap, so one slow receiver cannot stall the others. Each
// worker runs the hook's handler.Handler once; the Policy decides whether
// the outcome is delivered, retried (on a schedule with jitter) or failed
// (kept as a dead letter). Outcomes are recorded in batches. Delivery
// records are listed and redriven through the Engine and trimmed by age.
package delivery
