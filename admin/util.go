package admin

import (
	"fmt"
	"runtime"

	"github.com/portico-gw/portico/db"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func dbPage(size int, offset string) db.PageOptions {
	return db.PageOptions{Size: size, Offset: offset}
}

// memoryStats stands in for Kong's lua_shared_dicts and workers_lua_vms
// figures with the Go runtime's.
func memoryStats(pid int) map[string]any {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return map[string]any{
		"workers_lua_vms": []any{map[string]any{
			"http_allocated_gc": fmt.Sprintf("%.2f MiB", float64(m.HeapAlloc)/(1<<20)),
			"pid":               pid,
		}},
		"lua_shared_dicts": map[string]any{},
	}
}
