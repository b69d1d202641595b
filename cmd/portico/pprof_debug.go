//go:build pprofdebug

package main

// A build for profiling only (go build -tags pprofdebug): net/http/pprof on
// PPROF_LISTEN, including the block and mutex profiles, so that the
// time writers spend waiting can be seen. Release builds have none of it.

import (
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
)

func init() {
	addr := os.Getenv("PPROF_LISTEN")
	if addr == "" {
		return
	}
	runtime.SetBlockProfileRate(10_000) // one sample per 10 µs blocked
	runtime.SetMutexProfileFraction(10)
	go func() { _ = http.ListenAndServe(addr, nil) }()
}
