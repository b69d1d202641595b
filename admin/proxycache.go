package admin

import (
	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/internal/row"
)

// CacheStrategy is what a proxy-cache instance offers the Admin API: its
// memory strategy's dictionary (Kong's strategy object in
// kong/plugins/proxy-cache/api.lua). Instances are built from plugin rows
// with the node's plugin registry.
type CacheStrategy interface {
	// CacheFetch returns the stored answer under key as Kong shows it.
	CacheFetch(key string) (map[string]any, bool)
	// CachePurge drops the answer under key; false when there was none.
	CachePurge(key string) bool
	// CacheFlush drops every stored answer.
	CacheFlush()
}

const proxyCacheName = "proxy-cache"

// routeProxyCache adds proxy-cache's endpoints when the plugin is enabled.
func (a *API) routeProxyCache() {
	if a.registry == nil || a.db.Entity("plugins") == nil {
		return
	}
	if _, ok := a.registry.Lookup(proxyCacheName); !ok {
		return
	}
	a.register([]route{
		{fasthttp.MethodDelete, "/proxy-cache", a.cacheFlush},
		{fasthttp.MethodGet, "/proxy-cache/{key}", a.cacheGet},
		{fasthttp.MethodDelete, "/proxy-cache/{key}", a.cachePurge},
		{fasthttp.MethodGet, "/proxy-cache/{key}/caches/{cache_key}", a.pluginCacheGet},
		{fasthttp.MethodDelete, "/proxy-cache/{key}/caches/{cache_key}", a.pluginCachePurge},
	})
}

// cacheStrategy builds the strategy of a proxy-cache plugin row.
func (a *API) cacheStrategy(plugin map[string]any) (CacheStrategy, error) {
	info, _ := a.registry.Lookup(proxyCacheName)
	h, err := info.New(row.Map(plugin, "config"))
	if err != nil {
		return nil, err
	}
	s, _ := h.(CacheStrategy)
	return s, nil
}

// eachProxyCache calls fn with the strategy of every proxy-cache plugin of
// the request's workspace until it returns false.
func (a *API) eachProxyCache(ctx *fasthttp.RequestCtx, fn func(CacheStrategy) bool) bool {
	rows, err := a.db.All(ctx, a.db.Entity("plugins"), db.PageOptions{})
	if err != nil {
		a.writeError(ctx, err)
		return false
	}
	for _, r := range rows {
		if row.String(r, "name") != proxyCacheName {
			continue
		}
		s, err := a.cacheStrategy(r)
		if err != nil {
			writeMessage(ctx, fasthttp.StatusInternalServerError, err.Error())
			return false
		}
		if s != nil && !fn(s) {
			break
		}
	}
	return true
}

// cacheFlush is DELETE /proxy-cache: every proxy-cache plugin's cache.
func (a *API) cacheFlush(ctx *fasthttp.RequestCtx) {
	if a.eachProxyCache(ctx, func(s CacheStrategy) bool { s.CacheFlush(); return true }) {
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	}
}

// cacheGet is GET /proxy-cache/{cache_key}: the first plugin holding it.
func (a *API) cacheGet(ctx *fasthttp.RequestCtx) {
	key, _ := ctx.UserValue("key").(string)
	var found map[string]any
	if !a.eachProxyCache(ctx, func(s CacheStrategy) bool {
		found, _ = s.CacheFetch(key)
		return found == nil
	}) {
		return
	}
	if found == nil {
		notFound(ctx)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, found)
}

// cachePurge is DELETE /proxy-cache/{cache_key}.
func (a *API) cachePurge(ctx *fasthttp.RequestCtx) {
	key, _ := ctx.UserValue("key").(string)
	purged := false
	if !a.eachProxyCache(ctx, func(s CacheStrategy) bool {
		purged = s.CachePurge(key)
		return !purged
	}) {
		return
	}
	if !purged {
		notFound(ctx)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// pluginCache finds the strategy of the plugin in the path, answering 404
// itself when there is no such proxy-cache plugin.
func (a *API) pluginCache(ctx *fasthttp.RequestCtx) (CacheStrategy, string, bool) {
	id, _ := ctx.UserValue("key").(string)
	key, _ := ctx.UserValue("cache_key").(string)
	plugin, err := a.db.Select(ctx, a.db.Entity("plugins"), id, nil)
	if err != nil {
		a.writeError(ctx, err)
		return nil, "", false
	}
	if plugin == nil || row.String(plugin, "name") != proxyCacheName {
		notFound(ctx)
		return nil, "", false
	}
	s, err := a.cacheStrategy(plugin)
	if err != nil || s == nil {
		writeMessage(ctx, fasthttp.StatusInternalServerError, msgInternal)
		return nil, "", false
	}
	return s, key, true
}

// pluginCacheGet is GET /proxy-cache/{plugin_id}/caches/{cache_key}.
func (a *API) pluginCacheGet(ctx *fasthttp.RequestCtx) {
	s, key, ok := a.pluginCache(ctx)
	if !ok {
		return
	}
	v, found := s.CacheFetch(key)
	if !found {
		notFound(ctx)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, v)
}

// pluginCachePurge is DELETE /proxy-cache/{plugin_id}/caches/{cache_key}.
func (a *API) pluginCachePurge(ctx *fasthttp.RequestCtx) {
	s, key, ok := a.pluginCache(ctx)
	if !ok {
		return
	}
	if !s.CachePurge(key) {
		notFound(ctx)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}
