package balancer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Resolver resolves host names for the balancers. Implementations must be
// safe for concurrent use; the Manager calls them off the request path.
type Resolver interface {
	// Resolve returns the addresses of name, or an error; a name that does
	// not exist is ErrNameNotFound, one without usable records
	// ErrEmptyRecord.
	Resolve(ctx context.Context, name string) (Answer, error)
}

// Answer is a resolution: the records of one type and how long they may be
// used before resolving again.
type Answer struct {
	// Type is "A", "AAAA" or "SRV" (Kong's "dns" field of health reports).
	Type    string
	Records []Record
	// TTL is how long the answer is valid; 0 means "resolve again soon"
	// (the refresher waits at least a second).
	TTL time.Duration
}

// Record is one address of an answer.
type Record struct {
	// IP is the address (IPv6 without brackets).
	IP string
	// Port is the SRV record's port (0 means the target's own port); 0 for
	// A and AAAA records.
	Port int
	// Weight is the SRV record's weight (Kong turns 0 into 1); ignored for
	// A and AAAA records, whose addresses take the target's weight.
	Weight int
	// Target is the SRV record's target name ("" for A and AAAA).
	Target string
}

// Resolution errors with Kong's DNS client texts, which health reports show
// in their "dns" field.
var (
	ErrNameNotFound = errors.New("dns server error: 3 name error")
	ErrEmptyRecord  = errors.New("dns client error: 101 empty record received")
)

// rcodeNames are Kong's DNS client names of server error codes.
var rcodeNames = map[int]string{1: "format error", 2: "server failure", 3: "name error",
	4: "not implemented", 5: "refused"}

func rcodeError(rcode int) error {
	if rcode == dns.RcodeNameError {
		return ErrNameNotFound
	}
	name := rcodeNames[rcode]
	if name == "" {
		name = "unknown"
	}
	return fmt.Errorf("dns server error: %d %s", rcode, name)
}

// hostsTTL is how long an /etc/hosts answer is used before the file is
// looked at again (Kong reads it once; re-reading picks up edits).
const hostsTTL = 30 * time.Second

// systemResolver is the system's DNS: /etc/hosts first, then the
// resolv.conf name servers (search list, ndots, timeout, attempts), with
// Kong's record order SRV, A (then AAAA), trying the type that answered
// last time first ("LAST").
type systemResolver struct {
	resolvConf, hostsFile string
	port                  string // overrides resolv.conf's port 53 (tests)

	mu         sync.Mutex
	conf       *dns.ClientConfig
	confStamp  time.Time
	hosts      map[string][]string
	hostsStamp time.Time
	last       map[string]uint16
}

func newSystemResolver(resolvConf, hostsFile string) *systemResolver {
	return &systemResolver{resolvConf: resolvConf, hostsFile: hostsFile, last: map[string]uint16{}}
}

// Resolve implements Resolver.
func (r *systemResolver) Resolve(ctx context.Context, name string) (Answer, error) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if ans, ok := r.fromHosts(name); ok {
		return ans, nil
	}
	conf := r.config()
	order := []uint16{dns.TypeSRV, dns.TypeA, dns.TypeAAAA}
	r.mu.Lock()
	if last, ok := r.last[name]; ok {
		order = append([]uint16{last}, order...)
	}
	r.mu.Unlock()
	var failure, empty error
	for i, qtype := range order {
		if i > 0 && qtype == order[0] {
			continue
		}
		ans, err := r.lookup(ctx, conf, name, qtype)
		if err == nil {
			r.mu.Lock()
			r.last[name] = qtype
			r.mu.Unlock()
			return ans, nil
		}
		if ctx.Err() != nil {
			return Answer{}, ctx.Err()
		}
		switch {
		case errors.Is(err, ErrEmptyRecord):
			empty = err
		case !errors.Is(err, ErrNameNotFound) && failure == nil:
			failure = err
		}
	}
	switch {
	case failure != nil:
		return Answer{}, failure
	case empty != nil:
		return Answer{}, empty
	}
	return Answer{}, ErrNameNotFound
}

// lookup queries one record type for the name's search-list candidates.
func (r *systemResolver) lookup(ctx context.Context, conf *dns.ClientConfig, name string, qtype uint16) (Answer, error) {
	var lastErr error = ErrNameNotFound
	for _, fqdn := range conf.NameList(name) {
		msg, err := exchange(ctx, conf, fqdn, qtype)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				return Answer{}, err
			}
			continue
		}
		if msg.Rcode != dns.RcodeSuccess {
			if msg.Rcode != dns.RcodeNameError || errors.Is(lastErr, ErrNameNotFound) {
				lastErr = rcodeError(msg.Rcode)
			}
			continue
		}
		ans := r.parse(ctx, conf, msg, qtype)
		if len(ans.Records) > 0 {
			return ans, nil
		}
		lastErr = ErrEmptyRecord
	}
	return Answer{}, lastErr
}

// parse reads the answer's records of qtype. SRV records keep the best
// priority only (Kong uses the top priority) and their targets are
// resolved to addresses, from the additional section when given.
func (r *systemResolver) parse(ctx context.Context, conf *dns.ClientConfig, msg *dns.Msg, qtype uint16) Answer {
	ans := Answer{Type: dns.TypeToString[qtype]}
	ttl := ^uint32(0)
	minTTL := func(t uint32) {
		ttl = min(ttl, t)
	}
	best := -1
	for _, rr := range msg.Answer {
		if srv, ok := rr.(*dns.SRV); ok && (best < 0 || int(srv.Priority) < best) {
			best = int(srv.Priority)
		}
	}
	for _, rr := range msg.Answer {
		switch v := rr.(type) {
		case *dns.A:
			if qtype == dns.TypeA {
				ans.Records = append(ans.Records, Record{IP: v.A.String()})
				minTTL(v.Hdr.Ttl)
			}
		case *dns.AAAA:
			if qtype == dns.TypeAAAA {
				ans.Records = append(ans.Records, Record{IP: v.AAAA.String()})
				minTTL(v.Hdr.Ttl)
			}
		case *dns.SRV:
			target := strings.TrimSuffix(strings.ToLower(v.Target), ".")
			if qtype != dns.TypeSRV || int(v.Priority) != best || target == "" {
				continue
			}
			minTTL(v.Hdr.Ttl)
			ips, t := r.addressesOf(ctx, conf, msg, target)
			minTTL(uint32(t / time.Second))
			for _, ip := range ips {
				ans.Records = append(ans.Records, Record{IP: ip, Port: int(v.Port), Weight: int(v.Weight), Target: target})
			}
		}
	}
	if len(ans.Records) > 0 {
		ans.TTL = time.Duration(ttl) * time.Second
	}
	return ans
}

// addressesOf resolves an SRV target: the additional section, /etc/hosts,
// then A and AAAA queries.
func (r *systemResolver) addressesOf(ctx context.Context, conf *dns.ClientConfig, msg *dns.Msg, target string) ([]string, time.Duration) {
	var ips []string
	ttl := hostsTTL
	for _, rr := range msg.Extra {
		if !strings.EqualFold(strings.TrimSuffix(rr.Header().Name, "."), target) {
			continue
		}
		switch v := rr.(type) {
		case *dns.A:
			ips = append(ips, v.A.String())
			ttl = min(ttl, time.Duration(v.Hdr.Ttl)*time.Second)
		case *dns.AAAA:
			ips = append(ips, v.AAAA.String())
			ttl = min(ttl, time.Duration(v.Hdr.Ttl)*time.Second)
		}
	}
	if len(ips) > 0 {
		return ips, ttl
	}
	if ans, ok := r.fromHosts(target); ok {
		return recordIPs(ans), ans.TTL
	}
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		if ans, err := r.lookup(ctx, conf, target, qtype); err == nil {
			return recordIPs(ans), ans.TTL
		}
	}
	return nil, ttl
}

func recordIPs(ans Answer) []string {
	ips := make([]string, len(ans.Records))
	for i, rec := range ans.Records {
		ips[i] = rec.IP
	}
	return ips
}

// exchange sends one query to the configured servers in turn, retrying
// over TCP when the UDP answer is truncated.
func exchange(ctx context.Context, conf *dns.ClientConfig, fqdn string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(fqdn), qtype)
	m.RecursionDesired = true
	timeout := time.Duration(max(conf.Timeout, 1)) * time.Second
	var lastErr error = errors.New("no name servers")
	for attempt := 0; attempt < max(conf.Attempts, 1); attempt++ {
		for _, server := range conf.Servers {
			addr := net.JoinHostPort(server, conf.Port)
			c := &dns.Client{Net: "udp", Timeout: timeout}
			resp, _, err := c.ExchangeContext(ctx, m, addr)
			if err == nil && resp.Truncated {
				c.Net = "tcp"
				resp, _, err = c.ExchangeContext(ctx, m, addr)
			}
			if err == nil {
				return resp, nil
			}
			lastErr = err
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}
	return nil, lastErr
}

// config returns resolv.conf as last read, reading it again when it
// changed. Without one, the local name server is used.
func (r *systemResolver) config() *dns.ClientConfig {
	r.mu.Lock()
	defer r.mu.Unlock()
	stamp := modTime(r.resolvConf)
	if r.conf == nil || !stamp.Equal(r.confStamp) {
		conf, err := dns.ClientConfigFromFile(r.resolvConf)
		if err != nil || len(conf.Servers) == 0 {
			conf = &dns.ClientConfig{Servers: []string{"127.0.0.1"}, Port: "53", Ndots: 1, Timeout: 5, Attempts: 2}
		}
		if r.port != "" {
			conf.Port = r.port
		}
		r.conf, r.confStamp = conf, stamp
	}
	return r.conf
}

// fromHosts answers from /etc/hosts (IPv4 addresses first, as an A
// answer), with Kong's default for localhost.
func (r *systemResolver) fromHosts(name string) (Answer, bool) {
	r.mu.Lock()
	stamp := modTime(r.hostsFile)
	if r.hosts == nil || !stamp.Equal(r.hostsStamp) {
		r.hosts, r.hostsStamp = readHosts(r.hostsFile), stamp
	}
	ips := r.hosts[name]
	r.mu.Unlock()
	if len(ips) == 0 && name == "localhost" {
		ips = []string{"127.0.0.1"}
	}
	if len(ips) == 0 {
		return Answer{}, false
	}
	var v4, v6 []Record
	for _, ip := range ips {
		if hostType(ip) == "ipv4" {
			v4 = append(v4, Record{IP: ip})
		} else {
			v6 = append(v6, Record{IP: ip})
		}
	}
	if len(v4) > 0 {
		return Answer{Type: "A", Records: v4, TTL: hostsTTL}, true
	}
	return Answer{Type: "AAAA", Records: v6, TTL: hostsTTL}, true
}

func readHosts(path string) map[string][]string {
	hosts := map[string][]string{}
	f, err := os.Open(path)
	if err != nil {
		return hosts
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		addr, err := netip.ParseAddr(fields[0])
		if err != nil {
			continue
		}
		for _, name := range fields[1:] {
			name = strings.ToLower(name)
			hosts[name] = append(hosts[name], addr.WithZone("").String())
		}
	}
	return hosts
}

func modTime(path string) time.Time {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// hostType is Kong's hostname_type: "ipv4", "ipv6" or "name".
func hostType(host string) string {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	addr, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return "name"
	case addr.Is4():
		return "ipv4"
	}
	return "ipv6"
}

var _ Resolver = (*systemResolver)(nil)
