package eventhooks

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/eventhooks/handler"
)

// accepting answers every delivery at once.
type accepting struct{}

func (accepting) Deliver(context.Context, handler.Delivery) (handler.Result, error) {
	return handler.Result{Status: 200}, nil
}

// TestBigWorkspaceDelete measures DELETE /workspaces/{ws}?cascade=true of
// a workspace holding PORTICO_BIG_DELETE consumers (e.g. 100000) with 10
// hooks on consumer deletes: the delete is larger than one store
// transaction, so it goes through a purge, and every deleted consumer
// (in an in-memory store: the figure is the purge, not the disk)
// must reach each hook once. A measurement, skipped unless
// PORTICO_BIG_DELETE is set: go test ./eventhooks -run TestBigWorkspaceDelete -v.
func TestBigWorkspaceDelete(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PORTICO_BIG_DELETE"))
	if n <= 0 {
		t.Skip("set PORTICO_BIG_DELETE to the number of consumers in the workspace")
	}
	const hooks = 10
	count := &countingHandler{next: accepting{}}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": count}, MaxInFlight: 64})
	ws, err := e.db.Insert(e.ctx, e.db.Workspaces(), map[string]any{"name": "big"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range hooks {
		e.hook(map[string]any{"source": "crud", "event": "consumers:delete", "handler": "log"})
	}
	in := db.InWorkspace(e.ctx, ws["id"].(string))
	start := time.Now()
	for i := range n {
		if _, err := e.db.Insert(in, e.entity("consumers"), map[string]any{"username": fmt.Sprint("user-", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d consumers written in %s", n, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := e.db.DeleteWorkspaceCascade(e.ctx, "big"); err != nil {
		t.Fatalf("deleting the workspace: %v", err)
	}
	deleted := time.Since(start)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("workspace with %d consumers and %d hooks deleted in %s (Go heap in use %d MiB)", n, hooks, deleted.Round(time.Millisecond), ms.HeapInuse>>20)
	if row, _ := e.db.Select(e.ctx, e.db.Workspaces(), "big", nil); row != nil {
		t.Fatal("the workspace is still there")
	}
	want := int64(n * hooks)
	deadline := time.Now().Add(time.Duration(n/50+60) * time.Second)
	for count.ok.Load() < want && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d of %d deliveries made %s after the delete", count.ok.Load(), want, time.Since(start).Round(time.Millisecond))
	if count.ok.Load() != want {
		t.Errorf("%d deliveries, want %d", count.ok.Load(), want)
	}
}
