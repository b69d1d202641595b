// Package delivery is the event hooks delivery engine.
//
// A Writer adds the deliveries of one write into that write's store
// transaction (the outbox): the event's data once in PayloadTable, a small
// row of state per hook in Table. Once the transaction commits they are
// queued in the dispatcher, which keeps one queue per hook; hooks with a
// delivery due take turns, each attempt runs on a goroutine of its own, and
// a hook has at most MaxInFlight attempts under way (one while its
// receiver fails), so a slow, hanging or failing receiver holds its own
// share only. The Policy decides whether an attempt's outcome is delivered,
// retried (on a schedule with jitter) or failed (kept as a dead letter).
// Outcomes are recorded in batches, tried until written.
//
// Memory is bounded: the dispatcher holds at most QueueCapacity deliveries,
// those due within a minute; the others wait in the store and are read in
// due order through the (status, t) index as room frees up and as they come
// due. Delivery records are listed and redriven through the Engine, and
// trimmed by age through the same index.
package delivery
