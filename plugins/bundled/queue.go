package bundled

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

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

// queueConf is a queue record's values (typedefs.queue), in Go units.
type queueConf struct {
	maxBatch     int
	coalesce     time.Duration
	maxEntries   int
	maxBytes     int // 0: no byte limit
	maxRetryTime time.Duration
	initialDelay time.Duration
	maxDelay     time.Duration
	// unlimited is concurrency_limit -1: every entry is sent at once, on
	// its own, with no queue.
	unlimited bool
	// once: a failed entry is reported and dropped, not tried again (the
	// tcp, udp and syslog plugins' sends, which Kong does not retry).
	once bool
}

func seconds(v any, dflt float64) time.Duration {
	return time.Duration(row.Number(v, dflt) * float64(time.Second))
}

// sendQueue is the queue of the tcp-log, udp-log and syslog plugins,
// which Kong sends from a timer per entry: entries go one at a time, off
// the log workers, without retries; a destination that cannot keep up
// loses the oldest entries past 10,000.
var sendQueue = queueConf{maxBatch: 1, maxEntries: 10000, once: true}

// parseQueue reads a plugin's queue record (defaults as Kong's).
func parseQueue(conf map[string]any) queueConf {
	q := row.Map(conf, "queue")
	c := queueConf{
		maxBatch:     row.Int(q, "max_batch_size", 1),
		coalesce:     seconds(q["max_coalescing_delay"], 1),
		maxEntries:   row.Int(q, "max_entries", 10000),
		maxBytes:     row.Int(q, "max_bytes", 0),
		maxRetryTime: seconds(q["max_retry_time"], 60),
		initialDelay: seconds(q["initial_retry_delay"], 0.01),
		maxDelay:     seconds(q["max_retry_delay"], 60),
		unlimited:    row.Int(q, "concurrency_limit", 1) == -1,
	}
	c.maxBatch = max(c.maxBatch, 1)
	c.maxEntries = max(c.maxEntries, 1)
	return c
}

// Kong's queue thresholds (kong/tools/queue.lua): the share of max_entries
// that warns, and the least coalescing time worth waiting for.
const (
	capacityWarning = 0.8
	coalesceMin     = 50 * time.Millisecond
)

// sendFunc delivers one batch of encoded entries; an error has the batch
// tried again later.
type sendFunc func(batch [][]byte) error

// queueSet is a node's queues by name (Kong's kong.tools.queue): plugin
// instances with the same name share a queue, and a queue outlives the
// configuration snapshots that feed it. A queue whose entries are all
// sent goes away; the next entry makes it again.
type queueSet struct {
	host *plugins.Host
	mu   sync.Mutex
	m    map[string]*batchQueue
}

func newQueueSet(host *plugins.Host) *queueSet {
	return &queueSet{host: host, m: map[string]*batchQueue{}}
}

// queueSetOf is the node's queue set.
func queueSetOf(host *plugins.Host) *queueSet {
	return host.State("queues", func() any { return newQueueSet(host) }).(*queueSet)
}

// batchQueue is one named queue: entries waiting, drained by one goroutine
// that runs while there are any.
type batchQueue struct {
	set  *queueSet
	key  string
	name string // as logs show it: no credentials
	// Guarded by set.mu: the latest configuration and handler seen, as in
	// Kong, and the entries.
	conf     queueConf
	send     sendFunc
	entries  [][]byte
	bytes    int
	running  bool
	warned   bool
	dropping bool
	wake     chan struct{}
	// dropped counts entries lost to a full queue or to max_retry_time.
	dropped atomic.Int64
}

func (q *batchQueue) logf(level, format string, args ...any) {
	q.set.host.Log(level, "queue "+q.name+": "+format, args...)
}

// enqueue adds an encoded entry to the queue key (shown in logs as name),
// made with conf and send if it does not exist, else given them.
func (s *queueSet) enqueue(key, name string, conf queueConf, send sendFunc, entry []byte) {
	s.mu.Lock()
	q := s.m[key]
	if q == nil {
		q = &batchQueue{set: s, key: key, name: name, wake: make(chan struct{}, 1)}
		s.m[key] = q
	}
	q.conf, q.send = conf, send
	if conf.unlimited {
		s.mu.Unlock()
		go q.handle([][]byte{entry}, conf, send)
		return
	}
	defer s.mu.Unlock()
	if float64(len(q.entries)) >= float64(conf.maxEntries)*capacityWarning {
		if !q.warned {
			q.logf("warn", "queue at %v%% capacity", capacityWarning*100)
			q.warned = true
		}
	} else {
		q.warned = false
	}
	dropped := 0
	for len(q.entries) >= conf.maxEntries {
		if !q.dropping {
			q.logf("error", "queue full, dropping old entries until processing is successful again")
		}
		q.dropOldest()
		q.dropping = true
		dropped++
	}
	if conf.maxBytes > 0 {
		if len(entry) > conf.maxBytes {
			q.logf("error", "string to be queued is longer (%d bytes) than the queue's max_bytes (%d bytes)", len(entry), conf.maxBytes)
			q.dropped.Add(1)
			return
		}
		n := 0
		for q.bytes+len(entry) > conf.maxBytes {
			q.dropOldest()
			n++
		}
		if n > 0 {
			q.dropping = true
			q.logf("error", "byte capacity exceeded, %d queue entries were dropped", n)
		}
	}
	q.entries = append(q.entries, entry)
	q.bytes += len(entry)
	select {
	case q.wake <- struct{}{}:
	default:
	}
	if !q.running {
		q.running = true
		go q.run()
	}
}

// dropOldest drops the entry at the front; set.mu is held.
func (q *batchQueue) dropOldest() {
	q.bytes -= len(q.entries[0])
	q.entries[0] = nil
	q.entries = q.entries[1:]
	q.dropped.Add(1)
}

// run sends batches while the queue has entries: each batch waits up to
// max_coalescing_delay after its first entry for max_batch_size entries.
func (q *batchQueue) run() {
	defer func() {
		if r := recover(); r != nil {
			q.logf("error", "queue handler failed: %v", r)
			q.set.mu.Lock()
			q.running = false
			q.set.mu.Unlock()
		}
	}()
	var timer *time.Timer
	for {
		s := q.set
		s.mu.Lock()
		if len(q.entries) == 0 {
			q.running = false
			if s.m[q.key] == q {
				delete(s.m, q.key)
			}
			s.mu.Unlock()
			return
		}
		conf := q.conf
		s.mu.Unlock()
		first := time.Now()
		for {
			s.mu.Lock()
			n := len(q.entries)
			s.mu.Unlock()
			wait := conf.coalesce - time.Since(first)
			if n >= conf.maxBatch || wait < coalesceMin {
				break
			}
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-q.wake:
				timer.Stop()
			case <-timer.C:
			}
		}
		s.mu.Lock()
		n := min(len(q.entries), conf.maxBatch)
		batch := make([][]byte, n)
		copy(batch, q.entries)
		clear(q.entries[:n])
		q.entries = q.entries[n:]
		for _, e := range batch {
			q.bytes -= len(e)
		}
		if len(q.entries) == 0 {
			q.entries = nil // let the array go
		}
		if q.dropping {
			q.logf("info", "queue resumed processing")
			q.dropping = false
		}
		send := q.send
		conf = q.conf
		s.mu.Unlock()
		q.handle(batch, conf, send)
	}
}

// handle sends a batch, trying again with exponential back-off
// (initial_retry_delay doubled each time, at most max_retry_delay) until
// max_retry_time has passed, when the batch is dropped.
func (q *batchQueue) handle(batch [][]byte, conf queueConf, send sendFunc) {
	start := time.Now()
	for retry := 0; ; retry++ {
		err := safeSend(send, batch)
		if err == nil {
			return
		}
		if conf.once {
			q.dropped.Add(int64(len(batch)))
			q.set.host.Errorf("%v", err)
			return
		}
		q.logf("warn", "handler could not process entries: %v", err)
		if time.Since(start) > conf.maxRetryTime {
			q.dropped.Add(int64(len(batch)))
			q.logf("error", "could not send entries due to max_retry_time exceeded. %d queue entries were lost", len(batch))
			return
		}
		delay := conf.maxDelay
		if retry < 62 {
			delay = min(conf.maxDelay, conf.initialDelay<<retry)
			if delay <= 0 { // overflow
				delay = conf.maxDelay
			}
		}
		time.Sleep(delay)
	}
}

// safeSend calls send; a panic is the batch's failure.
func safeSend(send sendFunc, batch [][]byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return send(batch)
}
