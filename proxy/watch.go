package proxy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/portico-gw/portico/logger"
	"github.com/portico-gw/portico/store"
)

// watched reports whether a crud event ("routes:create", "targets") changes
// what the snapshot is built from.
func watched(name string) bool {
	entity, _, _ := strings.Cut(name, ":")
	return slices.Contains(watchedEntities, entity)
}

// markDirty asks for a rebuild; requests made while one is pending merge.
func (p *Proxy) markDirty() {
	select {
	case p.dirty <- struct{}{}:
	default:
	}
}

// refreshInterval rebuilds the snapshot even without a change event, so
// that a missed event cannot leave the proxy stale for long.
const refreshInterval = 30 * time.Second

// watch rebuilds the snapshot after changes: it waits RebuildDelay after
// the first change so that a burst of writes (a decK sync) costs one
// rebuild, and keeps the whole change-to-live time well under a second.
func (p *Proxy) watch(ctx context.Context) {
	tick := time.NewTicker(refreshInterval)
	defer tick.Stop()
	janitor := time.NewTicker(time.Second)
	defer janitor.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-janitor.C:
			p.transports.expire(now)
			continue
		case <-tick.C:
		case <-p.dirty:
			select {
			case <-ctx.Done():
				return
			case <-time.After(p.opts.RebuildDelay):
			}
			// Changes that arrived during the delay are in this rebuild.
			select {
			case <-p.dirty:
			default:
			}
		}
		if err := p.rebuild(ctx); err != nil && ctx.Err() == nil {
			p.logf("error", "rebuilding the router: %v", err)
			p.markDirty() // try again after the delay
		}
	}
}

// rebuild reads the configuration and swaps in a new snapshot. Rebuilds
// are serialised, so a snapshot read earlier never replaces a later one.
func (p *Proxy) rebuild(ctx context.Context) error {
	p.rebuildMu.Lock()
	defer p.rebuildMu.Unlock()
	return p.rebuildFrom(ctx, p.opts.Store, nil)
}

// Reload builds a snapshot from next, a store about to replace the one the
// proxy reads (DB-less mode's POST /config), then runs commit, which swaps
// it in, and serves the new snapshot at once. Until then requests are
// served by the current snapshot; no rebuild runs in between, so none can
// bring the old store's rows back.
func (p *Proxy) Reload(ctx context.Context, next store.Store, commit func()) error {
	p.rebuildMu.Lock()
	defer p.rebuildMu.Unlock()
	return p.rebuildFrom(ctx, next, commit)
}

// rebuildFrom builds a snapshot from st and swaps it in after commit (when
// not nil). The caller holds rebuildMu.
func (p *Proxy) rebuildFrom(ctx context.Context, st store.Store, commit func()) error {
	start := time.Now()
	c, err := loadConfig(ctx, st)
	if err != nil {
		return fmt.Errorf("loading the configuration: %w", err)
	}
	v := p.version.Add(1)
	p.transports.begin(v)
	snap, errs := p.build(c)
	for _, e := range errs {
		p.logf("error", "%v", e)
	}
	if commit != nil {
		commit()
	}
	p.snap.Store(snap)
	p.transports.sweep(v)
	p.logf("debug", "router rebuilt in %s: %d routes", time.Since(start).Round(time.Microsecond), snap.router.Len())
	return nil
}

// logf logs at one of Kong's level names ("error", "debug" ...); an
// unknown name logs at notice.
func (p *Proxy) logf(level, format string, args ...any) {
	if p.opts.Log == nil {
		return
	}
	lvl, err := logger.ParseLevel(level)
	if err != nil {
		lvl = logger.Notice
	}
	p.opts.Log.Logf(lvl, format, args...)
}
