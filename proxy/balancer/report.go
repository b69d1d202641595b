package balancer

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Target and address health values of the Admin API (Kong
// kong/db/dao/targets.lua page_for_upstream_with_health).
const (
	HealthHealthy         = "HEALTHY"
	HealthUnhealthy       = "UNHEALTHY"
	HealthDNSError        = "DNS_ERROR"
	HealthHealthchecksOff = "HEALTHCHECKS_OFF"
)

// TargetHealth is a target as GET /upstreams/{upstream}/health lists it.
// The Admin API renders the stored target row (id, created_at, updated_at,
// upstream, target, weight, tags) with Health and Data added as "health"
// and "data".
type TargetHealth struct {
	ID        string     `json:"id"`
	Target    string     `json:"target"`
	Weight    int        `json:"weight"`
	CreatedAt float64    `json:"created_at"`
	Health    string     `json:"health"`
	Data      TargetData `json:"data"`
}

// TargetData is Kong's balancer view of a target (getTargetStatus), the
// "data" of a health report.
type TargetData struct {
	// Host is the target's host (IPv6 in brackets) and Port its port.
	Host string `json:"host"`
	Port int    `json:"port"`
	// DNS is the record type in use ("A", "AAAA", "SRV"), the resolution
	// error when no address is known, or "unknown".
	DNS        string            `json:"dns"`
	NodeWeight int               `json:"nodeWeight"`
	Weight     WeightSummary     `json:"weight"`
	Addresses  AddressHealthList `json:"addresses"`
}

// WeightSummary is the weight of a target or balancer's addresses.
type WeightSummary struct {
	Total       int `json:"total"`
	Unavailable int `json:"unavailable"`
	Available   int `json:"available"`
}

// AddressHealth is one address of a target in a health report: Health is
// HEALTHY or UNHEALTHY, or HEALTHCHECKS_OFF when the upstream has no health
// checks or the target weighs 0.
type AddressHealth struct {
	IP     string `json:"ip"`
	Port   int    `json:"port"`
	Weight int    `json:"weight"`
	Health string `json:"health"`
}

// cjsonList encodes as Kong's cjson does: an empty list is "{}".
type cjsonList[T any] []T

// MarshalJSON implements json.Marshaler.
func (a cjsonList[T]) MarshalJSON() ([]byte, error) {
	if len(a) == 0 {
		return []byte("{}"), nil
	}
	return json.Marshal([]T(a))
}

// AddressHealthList is a target's addresses in a health report.
type AddressHealthList = cjsonList[AddressHealth]

// BalancerHealth is the data of GET /upstreams/{upstream}/health?balancer_health=1
// (Kong healthcheckers.lua get_balancer_health).
type BalancerHealth struct {
	// Health is HEALTHCHECKS_OFF without health checks, else BalancerHealth.
	Health string `json:"health"`
	// BalancerHealth is HEALTHY while the available weight is above the
	// threshold, else UNHEALTHY.
	BalancerHealth string         `json:"balancer_health"`
	ID             string         `json:"id"`
	Details        BalancerStatus `json:"details"`
}

// BalancerStatus is Kong's balancer getStatus.
type BalancerStatus struct {
	Healthy bool          `json:"healthy"`
	Weight  WeightSummary `json:"weight"`
	Hosts   []HostStatus  `json:"hosts"`
}

// HostStatus is a target in BalancerStatus: TargetData with addresses
// reporting a "healthy" boolean.
type HostStatus struct {
	Host       string            `json:"host"`
	Port       int               `json:"port"`
	DNS        string            `json:"dns"`
	NodeWeight int               `json:"nodeWeight"`
	Weight     WeightSummary     `json:"weight"`
	Addresses  AddressStatusList `json:"addresses"`
}

// AddressStatus is an address in HostStatus.
type AddressStatus struct {
	IP      string `json:"ip"`
	Port    int    `json:"port"`
	Weight  int    `json:"weight"`
	Healthy bool   `json:"healthy"`
}

// AddressStatusList is a host's addresses in a balancer report.
type AddressStatusList = cjsonList[AddressStatus]

// view returns an upstream's current ring and health configuration.
func (m *Manager) view(upstreamID string) (*upstreamState, *ring, *healthConfig) {
	m.mu.Lock()
	us := m.ups[upstreamID]
	m.mu.Unlock()
	if us == nil {
		return nil, nil, nil
	}
	us.mu.Lock()
	defer us.mu.Unlock()
	b := us.cur.Load()
	if b == nil {
		return nil, nil, nil
	}
	return us, b.ring.Load(), us.hc
}

// Health reports the health of an upstream's targets, in the order of
// Upstream.Targets; false if the Manager has no such upstream. A target is
// HEALTHY if any address is, else UNHEALTHY if any is, DNS_ERROR without
// addresses, else HEALTHCHECKS_OFF.
func (m *Manager) Health(upstreamID string) ([]TargetHealth, bool) {
	_, r, hc := m.view(upstreamID)
	if r == nil {
		return nil, false
	}
	out := make([]TargetHealth, 0, len(r.targets))
	for _, tv := range r.targets {
		th := TargetHealth{ID: tv.target.ID, Target: tv.target.Target, Weight: tv.target.Weight,
			CreatedAt: tv.target.CreatedAt, Health: HealthDNSError}
		th.Data = TargetData{Host: displayHost(tv.host, hostType(tv.host)), Port: tv.port, DNS: tv.dnsField(),
			NodeWeight: tv.target.Weight, Addresses: AddressHealthList{}}
		if len(tv.addrs) > 0 {
			th.Health = HealthHealthchecksOff
		}
		for _, pe := range tv.addrs {
			h := HealthHealthchecksOff
			if hc.enabled && tv.target.Weight > 0 {
				h = HealthUnhealthy
				if pe.st.available() {
					h = HealthHealthy
				}
			}
			switch {
			case h == HealthHealthy:
				th.Health = HealthHealthy
			case h == HealthUnhealthy && th.Health != HealthHealthy:
				th.Health = HealthUnhealthy
			}
			th.Data.Weight.add(pe.weight, r.usable(pe))
			th.Data.Addresses = append(th.Data.Addresses, AddressHealth{IP: pe.ip, Port: pe.port, Weight: pe.weight, Health: h})
		}
		out = append(out, th)
	}
	return out, true
}

// BalancerHealth reports the balancer-level health of an upstream; false
// if the Manager has no such upstream.
func (m *Manager) BalancerHealth(upstreamID string) (BalancerHealth, bool) {
	_, r, hc := m.view(upstreamID)
	if r == nil {
		return BalancerHealth{}, false
	}
	bh := BalancerHealth{ID: upstreamID, Details: BalancerStatus{Hosts: []HostStatus{}}}
	for _, tv := range r.targets {
		hs := HostStatus{Host: displayHost(tv.host, hostType(tv.host)), Port: tv.port, DNS: tv.dnsField(),
			NodeWeight: tv.target.Weight, Addresses: AddressStatusList{}}
		for _, pe := range tv.addrs {
			ok := r.usable(pe)
			hs.Weight.add(pe.weight, ok)
			bh.Details.Weight.add(pe.weight, ok)
			hs.Addresses = append(hs.Addresses, AddressStatus{IP: pe.ip, Port: pe.port, Weight: pe.weight, Healthy: ok})
		}
		bh.Details.Hosts = append(bh.Details.Hosts, hs)
	}
	w := bh.Details.Weight
	bh.Details.Healthy = w.Total > 0 && float64(w.Available)*100/float64(w.Total) > hc.threshold
	bh.BalancerHealth = HealthUnhealthy
	if bh.Details.Healthy {
		bh.BalancerHealth = HealthHealthy
	}
	bh.Health = HealthHealthchecksOff
	if hc.enabled {
		bh.Health = bh.BalancerHealth
	}
	return bh, true
}

func (w *WeightSummary) add(weight int, available bool) {
	w.Total += weight
	if available {
		w.Available += weight
	} else {
		w.Unavailable += weight
	}
}

// SetHealth forces the health of a target's addresses (PUT
// /upstreams/{u}/targets/{t}/healthy|unhealthy and
// .../targets/{t}/{address}/healthy|unhealthy): target is the target's
// "host:port" or id; address "" (or a host name) means every address of
// the target, else "ip" or "ip:port" (port 8000 when absent, as Kong).
// The address's counters are cleared. Errors: *HealthError for Kong's
// 400 answers (no balancer, health checks off, malformed address),
// ErrUnknownTarget. An address the target does not have is accepted and
// ignored, as Kong's checker does; so are weight 0 addresses, which are
// not checked.
func (m *Manager) SetHealth(upstreamID, target, address string, healthy bool) error {
	m.mu.Lock()
	us := m.ups[upstreamID]
	m.mu.Unlock()
	if us == nil {
		return &HealthError{Message: fmt.Sprintf(msgNoBalancer, upstreamID)}
	}
	ip, port, all, err := parseAddress(address)
	if err != nil {
		return err
	}
	us.mu.Lock()
	defer us.mu.Unlock()
	b := us.cur.Load()
	if b == nil {
		return &HealthError{Message: fmt.Sprintf(msgNoBalancer, us.cfg.Name)}
	}
	if !us.hc.enabled {
		return &HealthError{Message: fmt.Sprintf(msgNoHealthchecker, us.cfg.Name)}
	}
	r := b.ring.Load()
	var tv *targetView
	for _, t := range r.targets {
		if t.target.ID == target || t.target.Target == target {
			tv = t
		}
	}
	if tv == nil {
		return ErrUnknownTarget
	}
	var changed []*addrState
	for _, pe := range tv.addrs {
		if pe.weight == 0 || (!all && (pe.ip != ip || pe.port != port)) {
			continue
		}
		if pe.st.set(healthy) {
			changed = append(changed, pe.st)
		}
	}
	if len(changed) > 0 {
		b.ring.Store(b.withHealth(r))
		for _, st := range changed {
			us.publishLocked(st)
		}
	}
	return nil
}

// parseAddress reads the address of a manual health change: "" or a host
// name means all addresses.
func parseAddress(address string) (ip string, port int, all bool, err error) {
	if address == "" {
		return "", 0, true, nil
	}
	host, portStr, splitErr := net.SplitHostPort(address)
	if splitErr != nil {
		host, portStr = strings.TrimSuffix(strings.TrimPrefix(address, "["), "]"), ""
	}
	port = defaultTargetPort
	if portStr != "" {
		if port, err = strconv.Atoi(portStr); err != nil || port < 0 || port > 65535 {
			return "", 0, false, &HealthError{Message: fmt.Sprintf(msgBadAddress, address)}
		}
	}
	if hostType(host) == "name" {
		return "", 0, true, nil
	}
	return host, port, false, nil
}
