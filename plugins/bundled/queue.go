package bundled

import "github.com/portico-gw/portico/schema"

// queue is typedefs.queue (kong/tools/queue_schema.lua, 3.9): how a log
// plugin batches and retries its entries.
func queue() *schema.Field {
	return record("queue",
		&schema.Field{Name: "max_batch_size", Type: schema.Integer, Default: float64(1), Between: schema.Range(1, 1000000)},
		&schema.Field{Name: "max_coalescing_delay", Type: schema.Number, Default: float64(1), Between: schema.Range(0, 3600)},
		&schema.Field{Name: "max_entries", Type: schema.Integer, Default: float64(10000), Between: schema.Range(1, 1000000)},
		&schema.Field{Name: "max_bytes", Type: schema.Integer},
		&schema.Field{Name: "max_retry_time", Type: schema.Number, Default: float64(60)},
		&schema.Field{Name: "initial_retry_delay", Type: schema.Number, Default: 0.01, Between: schema.Range(0.001, 1000000)},
		&schema.Field{Name: "max_retry_delay", Type: schema.Number, Default: float64(60), Between: schema.Range(0.001, 1000000)},
		// Added in 3.8: -1 means one delivery timer per entry.
		&schema.Field{Name: "concurrency_limit", Type: schema.Integer, Default: float64(1), OneOf: schema.Ints(-1, 1)},
	)
}
