package delivery

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkDispatcher measures one delivery's way through the dispatcher:
// pushed, made due, taken in its hook's turn, its attempt ended and its
// outcome recorded, with 10 hooks' deliveries interleaved.
func BenchmarkDispatcher(b *testing.B) {
	now := time.Now()
	d := newDispatcher(func() time.Time { return now }, 16, 4, 0)
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = "d" + strconv.Itoa(i)
	}
	hooks := []string{"h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9"}
	var out []item
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		it := item{id: ids[i%len(ids)], hook: hooks[i%len(hooks)], due: now, born: now}
		d.push(it)
		d.mu.Lock()
		out = d.next(now, out[:0])
		d.mu.Unlock()
		for _, s := range out {
			d.ended(s.hook, false)
			d.finish(s)
		}
	}
}
