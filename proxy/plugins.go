package proxy

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
)

// instance is one enabled plugin row, built once per snapshot.
type instance struct {
	id, name  string
	priority  int
	protocols protoSet
	cert      plugins.Certifier
	rewrite   plugins.Rewriter
	access    plugins.Accessor
	header    plugins.HeaderFilterer
	response  plugins.Responder
	body      plugins.BodyFilterer
	log       plugins.Logger
	// scope is the row's place in Kong's precedence: 1 consumer+route+
	// service, 2 consumer+route, 3 consumer+service, 4 route+service,
	// 5 consumer, 6 route, 7 service, 8 global.
	scope int
	// runsBefore and runsAfter are the plugin names the row's dynamic
	// ordering puts after and before it in the access phase.
	runsBefore, runsAfter []string
}

// scopeOf ranks a row's scope in Kong's precedence (see instance.scope).
func scopeOf(route, service, consumer bool) int {
	switch {
	case consumer && route && service:
		return 1
	case consumer && route:
		return 2
	case consumer && service:
		return 3
	case route && service:
		return 4
	case consumer:
		return 5
	case route:
		return 6
	case service:
		return 7
	}
	return 8
}

// link is one plugin name in a route's chain, with every instance Kong's
// precedence may pick for it (kong/runloop/plugins_iterator.lua):
// consumer+route+service, consumer+route, consumer+service, then
// route+service, then consumer alone, then route, service, global. Which
// one runs depends on the consumer only once a plugin has authenticated
// one, so the consumer-scoped instances are looked up then.
type link struct {
	// rep is any of the link's instances: they share name and priority.
	rep *instance
	// aboveRouteService maps a consumer id to its most specific instance
	// among consumer+route+service, consumer+route and consumer+service.
	aboveRouteService map[string]*instance
	routeService      *instance
	// consumerOnly maps a consumer id to its consumer-only instance.
	consumerOnly map[string]*instance
	// fallback is the most specific of route, service and global.
	fallback *instance
}

// pick is the instance that runs for consumer ("" before authentication).
func (l *link) pick(consumer string) *instance {
	if consumer != "" {
		if in := l.aboveRouteService[consumer]; in != nil {
			return in
		}
	}
	if l.routeService != nil {
		return l.routeService
	}
	if consumer != "" {
		if in := l.consumerOnly[consumer]; in != nil {
			return in
		}
	}
	return l.fallback
}

// chain is the plugins that may run on a route's requests, in priority
// order (highest first, then by name, as Kong sorts its handlers).
type chain struct {
	links []link
	// access is the access phase's order of links when dynamic ordering
	// changes it (indexes into links); nil runs links in order.
	access []int
	// Which phases any instance of the chain has: a phase no instance has
	// costs nothing.
	hasAccess, hasHeader, hasLog bool
	// hasResponse buffers every proxied answer for the response phase;
	// hasBody runs body_filter when a plugin asked for the body.
	hasResponse, hasBody bool
}

// pluginRow is a plugin row's scope.
type pluginRow struct {
	inst                         *instance
	route, service, consumer, ws string
}

// buildPlugins compiles the enabled plugin rows (of plugins that run) into
// instances, and returns a function giving each route its chain.
func (p *Proxy) buildPlugins(c *config, errs *[]error) (chainFor func(rt *route) *chain, rewrite, certificate []*instance) {
	var rows []pluginRow
	for _, r := range c.rows("plugins") {
		if !row.Bool(r, "enabled", true) || p.opts.Plugins == nil {
			continue
		}
		name := row.String(r, "name")
		info, ok := p.opts.Plugins.Lookup(name)
		if !ok || !info.Runs() {
			// A stored row this node does not run (a plugin the `plugins`
			// setting leaves out, or one that cannot run yet): said once,
			// so that no operator believes it applies.
			if !p.skipped[id(r)] {
				p.skipped[id(r)] = true
				p.logf("warn", "plugin %s (%s) is configured but not enabled on this node: it does not run", name, id(r))
			}
			continue
		}
		conf, _ := r["config"].(map[string]any)
		h, err := info.New(conf)
		if pv, ok := h.(plugins.Provisioner); ok && err == nil {
			err = pv.Provision(p.host)
		}
		if err != nil {
			*errs = append(*errs, fmt.Errorf("plugin %s (%s): %w", name, id(r), err))
			continue
		}
		route, service, consumer := ref(r, "route"), ref(r, "service"), ref(r, "consumer")
		if sc, ok := h.(plugins.Scoped); ok {
			sc.SetScope(plugins.Scope{PluginID: id(r), Route: route, Service: service, Consumer: consumer})
		}
		in := &instance{id: id(r), name: name, priority: info.Priority, protocols: parseProtocols(row.Strings(r["protocols"])),
			scope: scopeOf(route != "", service != "", consumer != "")}
		in.runsBefore, in.runsAfter = accessOrdering(r)
		in.cert, _ = h.(plugins.Certifier)
		in.rewrite, _ = h.(plugins.Rewriter)
		in.access, _ = h.(plugins.Accessor)
		in.header, _ = h.(plugins.HeaderFilterer)
		in.response, _ = h.(plugins.Responder)
		in.body, _ = h.(plugins.BodyFilterer)
		in.log, _ = h.(plugins.Logger)
		if ph, ok := h.(plugins.Phased); ok {
			in.dropMissing(ph)
		}
		rows = append(rows, pluginRow{inst: in, route: route, service: service, consumer: consumer, ws: workspace(r)})
	}
	if len(rows) == 0 {
		return func(*route) *chain { return nil }, nil, nil
	}
	for _, pr := range rows {
		// Certificate and rewrite run before routing, so only global
		// plugins have them, as in Kong.
		global := pr.route == "" && pr.service == "" && pr.consumer == ""
		if pr.inst.rewrite != nil && global {
			rewrite = append(rewrite, pr.inst)
		}
		if pr.inst.cert != nil && global {
			certificate = append(certificate, pr.inst)
		}
	}
	sortInstances(rewrite)
	sortInstances(certificate)
	return func(rt *route) *chain { return chainOf(rt, rows) }, rewrite, certificate
}

// chainOf applies Kong's precedence to the rows for one route.
func chainOf(rt *route, rows []pluginRow) *chain {
	svc := ""
	if rt.service != nil {
		svc = rt.service.id
	}
	byName := map[string]*link{}
	for _, pr := range rows {
		if pr.ws != rt.workspace {
			continue
		}
		if (pr.route != "" && pr.route != rt.id) || (pr.service != "" && pr.service != svc) {
			continue
		}
		l := byName[pr.inst.name]
		if l == nil {
			l = &link{rep: pr.inst}
			byName[pr.inst.name] = l
		}
		in := pr.inst
		switch {
		case in.scope <= 3:
			if l.aboveRouteService == nil {
				l.aboveRouteService = map[string]*instance{}
			}
			if cur := l.aboveRouteService[pr.consumer]; cur == nil || in.scope < cur.scope {
				l.aboveRouteService[pr.consumer] = in
			}
		case in.scope == 4:
			l.routeService = in
		case in.scope == 5:
			if l.consumerOnly == nil {
				l.consumerOnly = map[string]*instance{}
			}
			l.consumerOnly[pr.consumer] = in
		default:
			if l.fallback == nil || in.scope < l.fallback.scope {
				l.fallback = in
			}
		}
	}
	if len(byName) == 0 {
		return nil
	}
	ch := &chain{}
	for _, l := range byName {
		ch.links = append(ch.links, *l)
	}
	slices.SortFunc(ch.links, func(a, b link) int { return compareInstances(a.rep, b.rep) })
	for i := range ch.links {
		for _, in := range ch.links[i].all() {
			ch.hasAccess = ch.hasAccess || in.access != nil
			ch.hasHeader = ch.hasHeader || in.header != nil
			ch.hasLog = ch.hasLog || in.log != nil
			ch.hasResponse = ch.hasResponse || in.response != nil
			ch.hasBody = ch.hasBody || in.body != nil
		}
	}
	ch.access = accessOrder(ch.links)
	return ch
}

// accessOrdering reads a row's dynamic ordering of the access phase.
func accessOrdering(r map[string]any) (before, after []string) {
	o, _ := r["ordering"].(map[string]any)
	phase := func(k string) []string {
		m, _ := o[k].(map[string]any)
		return row.Strings(m["access"])
	}
	return phase("before"), phase("after")
}

// accessOrder applies dynamic ordering as Kong's default ("legacy")
// algorithm does: a rule "A before B" or "B after A" makes B depend on A;
// links are visited by priority, and each is placed right after
// everything it depends on, recursively. Only the instances that do not
// depend on a consumer carry rules (the plugins entity refuses ordering
// on consumer-scoped rows). nil when no rule changes the static order.
func accessOrder(links []link) []int {
	index := map[string]int{}
	for i := range links {
		index[links[i].rep.name] = i
	}
	deps := make([][]int, len(links))
	rules := false
	for i := range links {
		for _, in := range []*instance{links[i].routeService, links[i].fallback} {
			if in == nil {
				continue
			}
			for _, name := range in.runsBefore {
				if j, ok := index[name]; ok && j != i {
					deps[j], rules = append(deps[j], i), true
				}
			}
			for _, name := range in.runsAfter {
				if j, ok := index[name]; ok && j != i {
					deps[i], rules = append(deps[i], j), true
				}
			}
		}
	}
	if !rules {
		return nil
	}
	order := make([]int, 0, len(links))
	state := make([]byte, len(links)) // 0 unvisited, 1 visiting, 2 placed
	var visit func(i int)
	visit = func(i int) {
		if state[i] != 0 {
			return // placed, or a cycle: the link is placed where its walk began
		}
		state[i] = 1
		slices.Sort(deps[i]) // dependencies by priority too
		for _, d := range deps[i] {
			visit(d)
		}
		state[i] = 2
		order = append(order, i)
	}
	for i := range links {
		visit(i)
	}
	return order
}

// dropMissing forgets the phase methods a handler does not run.
func (in *instance) dropMissing(ph plugins.Phased) {
	if !ph.Runs("certificate") {
		in.cert = nil
	}
	if !ph.Runs("rewrite") {
		in.rewrite = nil
	}
	if !ph.Runs("access") {
		in.access = nil
	}
	if !ph.Runs("response") {
		in.response = nil
	}
	if !ph.Runs("header_filter") {
		in.header = nil
	}
	if !ph.Runs("body_filter") {
		in.body = nil
	}
	if !ph.Runs("log") {
		in.log = nil
	}
}

// all are the instances the link may pick.
func (l *link) all() []*instance {
	var out []*instance
	for _, in := range l.aboveRouteService {
		out = append(out, in)
	}
	if l.routeService != nil {
		out = append(out, l.routeService)
	}
	for _, in := range l.consumerOnly {
		out = append(out, in)
	}
	if l.fallback != nil {
		out = append(out, l.fallback)
	}
	return out
}

// compareInstances orders by priority, highest first, then by name.
func compareInstances(a, b *instance) int {
	if c := cmp.Compare(b.priority, a.priority); c != 0 {
		return c
	}
	return cmp.Compare(a.name, b.name)
}

func sortInstances(list []*instance) { slices.SortFunc(list, compareInstances) }
