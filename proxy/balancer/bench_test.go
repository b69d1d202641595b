package balancer

import (
	"fmt"
	"testing"
)

// benchInput is a HashInput that allocates nothing, like the proxy's.
type benchInput struct {
	ip     string
	header []byte
}

func (in *benchInput) ConsumerID() string       { return "" }
func (in *benchInput) ClientIP() string         { return in.ip }
func (in *benchInput) Header(string) []byte     { return in.header }
func (in *benchInput) Cookie(string) []byte     { return nil }
func (in *benchInput) Path() []byte             { return nil }
func (in *benchInput) QueryArg(string) []byte   { return nil }
func (in *benchInput) URICapture(string) []byte { return nil }

var benchCases = []struct {
	name, algorithm, hashOn string
}{
	{"round-robin", AlgorithmRoundRobin, "none"},
	{"consistent-hashing/ip", AlgorithmConsistentHashing, "ip"},
	{"consistent-hashing/header", AlgorithmConsistentHashing, "header"},
	{"least-connections", AlgorithmLeastConnections, "none"},
	{"latency", AlgorithmLatency, "none"},
}

// benchBalancer is an upstream of 10 weighted targets with passive health
// checks, so that Done runs the health counters too.
func benchBalancer(t testing.TB, algorithm, hashOn string) *Balancer {
	var targets []string
	for i := 1; i <= 10; i++ {
		targets = append(targets, fmt.Sprintf("10.0.0.%d:80@%d", i, 10*i))
	}
	u := upstream("u", algorithm, targets...)
	u.HashOn, u.HashOnHeader = hashOn, "x-user"
	u.Healthchecks = passiveChecks(5, 5, 5, 5)
	m := newManager(Options{Resolver: newFakeResolver()}, fastTuning)
	t.Cleanup(m.Close)
	return m.Update([]Upstream{u}, nil).Upstream("ws", "u")
}

// Pick and Done allocate nothing.
func TestPickAllocs(t *testing.T) {
	for _, bc := range benchCases {
		t.Run(bc.name, func(t *testing.T) {
			b := benchBalancer(t, bc.algorithm, bc.hashOn)
			in := &benchInput{ip: "192.168.1.10", header: []byte("user-42")}
			tried := []string{"10.0.0.9:80"}
			var p Peer
			allocs := testing.AllocsPerRun(1000, func() {
				if err := b.Pick(in, tried, &p); err != nil {
					t.Fatal(err)
				}
				b.Done(&p, Result{Status: 200, Latency: 1000})
			})
			if allocs != 0 {
				t.Errorf("%v allocations per Pick+Done", allocs)
			}
		})
	}
}

func BenchmarkPick(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			bal := benchBalancer(b, bc.algorithm, bc.hashOn)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				in := &benchInput{ip: "192.168.1.10", header: []byte("user-42")}
				var p Peer
				for pb.Next() {
					if err := bal.Pick(in, nil, &p); err != nil {
						b.Fatal(err)
					}
					bal.Done(&p, Result{Status: 200, Latency: 1000})
				}
			})
		})
	}
}
