//go:build race

package proxy

// raceEnabled: the race detector makes sync.Pool drop objects at random,
// so allocation counts are only meaningful without it (make test runs the
// allocation tests a second time without -race).
const raceEnabled = true
