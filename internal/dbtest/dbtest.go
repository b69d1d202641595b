// Package dbtest gives tests what a node serves: the catalog of entities
// over a fresh in-memory store.
package dbtest

import (
	"context"
	"testing"

	"github.com/portico-gw/portico/catalog"
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
	"github.com/portico-gw/portico/store/badger"
)

// Store returns the catalog's registry and an empty in-memory store with
// its tables (and extra ones), closed when the test ends.
func Store(tb testing.TB, extra ...store.Table) (*schema.Registry, store.Store) {
	tb.Helper()
	reg, _, err := catalog.Build([]string{"bundled"})
	if err != nil {
		tb.Fatalf("building the catalog: %v", err)
	}
	st, err := badger.Open("", append(db.Tables(reg), extra...), badger.Options{InMemory: true})
	if err != nil {
		tb.Fatalf("opening the store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return reg, st
}

// Open returns a bootstrapped DB over a fresh in-memory store.
func Open(tb testing.TB, opts db.Options, extra ...store.Table) (*db.DB, store.Store) {
	tb.Helper()
	reg, st := Store(tb, extra...)
	d := db.New(reg, st, opts)
	if err := d.Bootstrap(context.Background()); err != nil {
		tb.Fatalf("bootstrapping: %v", err)
	}
	return d, st
}
