package bench

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// MemoryResult is what the in-memory fire-and-forget pipeline measured in
// the same scenario as the node (`bench events --compare`): the same
// number of events, hooks and writers, the same sink, but the events are
// handed from the writers to the senders in memory, with nothing written,
// synced or recorded. It is what delivery costs without durability: the
// bound the node's pipeline is compared with.
type MemoryResult struct {
	Events              int64          `json:"events"`
	Expected            int64          `json:"expected"`
	Deliveries          int64          `json:"deliveries"`
	Seconds             float64        `json:"seconds"`
	DeliveriesPerSecond float64        `json:"deliveries_per_second"`
	Latency             LatencySummary `json:"latency"`
	Lost                int64          `json:"lost"`
	Duplicated          int64          `json:"duplicated"`
	// Ratio is the node's deliveries per second over these.
	Ratio float64 `json:"ratio"`
}

// memorySenders is how many requests the in-memory pipeline has under way
// per hook: the node's default per-hook cap (event_hooks_max_in_flight).
const memorySenders = 4

// runMemory runs the in-memory pipeline: writers make events (the
// consumer creation's crud event) and queue one delivery per hook; senders
// POST them to the sink, signed as the node signs, without retries.
func (r *eventsRun) runMemory(events int64) (*MemoryResult, error) {
	sink, err := NewSink(r.opts.Listen, r.opts.Sink)
	if err != nil {
		return nil, fmt.Errorf("starting the in-memory pipeline's sink: %w", err)
	}
	prefix := "/memory/" + r.run + "/"
	hooks := r.opts.Hooks
	type job struct {
		seq  int64
		body []byte
		at   time.Time
	}
	seen := make([]atomic.Int32, events*int64(hooks))
	lat := newLatencyHistogram()
	var latMu sync.Mutex
	var accepted, dup atomic.Int64
	var last atomic.Int64
	sent := make([]time.Time, events)
	sink.Observe(func(d Delivery) {
		rest, ok := strings.CutPrefix(d.Path, prefix)
		if !ok || d.Status < 200 || d.Status > 299 {
			return
		}
		slash := strings.IndexByte(rest, '/')
		if slash < 0 {
			return
		}
		hook, err1 := strconv.Atoi(rest[:slash])
		seq, err2 := strconv.ParseInt(rest[slash+1:], 10, 64)
		if err1 != nil || err2 != nil || hook < 0 || hook >= hooks || seq < 0 || seq >= events {
			return
		}
		if seen[seq*int64(hooks)+int64(hook)].Add(1) > 1 {
			dup.Add(1)
			return
		}
		accepted.Add(1)
		last.Store(d.At.UnixNano())
		latMu.Lock()
		_ = lat.RecordValue(max(1, d.At.Sub(sent[seq]).Microseconds()))
		latMu.Unlock()
	})
	go sink.Serve()
	defer sink.Close()
	url := "http://" + reachableAddr(sink.Addr())

	client := &fasthttp.Client{MaxConnsPerHost: hooks*memorySenders + 16, ReadTimeout: r.opts.Timeout,
		WriteTimeout: r.opts.Timeout, NoDefaultUserAgentHeader: true}
	queues := make([]chan job, hooks)
	for i := range queues {
		queues[i] = make(chan job, 1024)
	}
	var senders sync.WaitGroup
	for h := 0; h < hooks; h++ {
		for s := 0; s < memorySenders; s++ {
			senders.Add(1)
			go func() {
				defer senders.Done()
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				for j := range queues[h] {
					req.Reset()
					req.SetRequestURI(url + prefix + strconv.Itoa(h) + "/" + strconv.FormatInt(j.seq, 10))
					req.Header.SetMethod(fasthttp.MethodPost)
					req.Header.SetContentType("application/json")
					req.Header.Set("Webhook-Id", r.run+"-"+strconv.FormatInt(j.seq, 10)+"-"+strconv.Itoa(h))
					req.SetBodyRaw(j.body)
					_ = client.Do(req, resp) // fire and forget: a failure is lost
				}
			}()
		}
	}

	start := time.Now()
	var next atomic.Int64
	var writers sync.WaitGroup
	for w := 0; w < r.opts.Writers; w++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for {
				seq := next.Add(1) - 1
				if seq >= events {
					return
				}
				sent[seq] = time.Now()
				body, _ := json.Marshal(map[string]any{
					"source": "crud", "event": "consumers", "operation": "create", "schema": "consumers",
					"entity": map[string]any{"id": r.run + strconv.FormatInt(seq, 10), "username": r.username(seq),
						"created_at": sent[seq].Unix(), "updated_at": sent[seq].Unix(), "type": 0},
				})
				for h := range queues {
					queues[h] <- job{seq: seq, body: body}
				}
			}
		}()
	}
	writers.Wait()
	for _, q := range queues {
		close(q)
	}
	senders.Wait()
	// The sink may still be reading the last requests.
	want := events * int64(hooks)
	for deadline := time.Now().Add(2 * time.Second); accepted.Load() < want && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	res := &MemoryResult{Events: events, Expected: want, Deliveries: accepted.Load(), Duplicated: dup.Load()}
	res.Lost = want - res.Deliveries
	end := time.Unix(0, last.Load())
	if res.Deliveries > 0 {
		res.Seconds = end.Sub(start).Seconds()
		res.DeliveriesPerSecond = float64(res.Deliveries) / res.Seconds
	}
	res.Latency = summarize(lat)
	return res, nil
}
