package balancer

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// activeChecker probes an upstream's addresses (lua-resty-healthcheck's
// active checks): healthy ones every healthy.interval, unhealthy ones every
// unhealthy.interval, concurrency probes at a time, each bounded by
// timeout. The first probes run one interval after the start.
type activeChecker struct {
	us         *upstreamState
	cfg        activeConfig
	hostHeader string
	ctx        context.Context
	cancel     context.CancelFunc
}

// restartChecker replaces the active checker after a configuration change
// (under us.mu). start is false once the Manager is closing.
func (us *upstreamState) restartChecker(start bool) {
	if us.checker != nil {
		us.checker.halt()
		us.checker = nil
	}
	a := us.hc.active
	if !start || !us.hc.enabled || (a.healthyInterval == 0 && a.unhealthyInterval == 0) {
		return
	}
	if a.typ == "grpc" {
		a.typ = "http"
	} else if a.typ == "grpcs" {
		a.typ = "https"
	}
	c := &activeChecker{us: us, cfg: a, hostHeader: us.cfg.HostHeader}
	c.ctx, c.cancel = context.WithCancel(us.m.ctx)
	us.checker = c
	for _, mode := range []struct {
		healthy  bool
		interval time.Duration
	}{{true, a.healthyInterval}, {false, a.unhealthyInterval}} {
		if mode.interval > 0 {
			us.m.wg.Add(1)
			go c.loop(mode.healthy, mode.interval)
		}
	}
}

// halt stops the checker; probes in flight are abandoned and their
// results dropped.
func (c *activeChecker) halt() { c.cancel() }

func (c *activeChecker) loop(healthy bool, interval time.Duration) {
	defer c.us.m.wg.Done()
	defer c.recover()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		c.round(healthy)
	}
}

// recover logs a panic of the checker's goroutines instead of crashing.
func (c *activeChecker) recover() {
	if r := recover(); r != nil {
		c.us.m.logf("error", "[healthchecks] active checker of %s panicked: %v\n%s", c.us.id, r, debug.Stack())
	}
}

// round probes the addresses whose health matches the loop's (healthy or
// mostly healthy; unhealthy or mostly unhealthy), concurrency at a time.
// Weight 0 addresses are not checked (Kong does not add them to the
// checker).
func (c *activeChecker) round(healthy bool) {
	b := c.us.cur.Load()
	if b == nil {
		return
	}
	var list []*peer
	for _, pe := range b.ring.Load().peers {
		if pe.st.available() == healthy {
			list = append(list, pe)
		}
	}
	sem := make(chan struct{}, c.cfg.concurrency)
	var wg sync.WaitGroup
	for _, pe := range list {
		select {
		case sem <- struct{}{}:
		case <-c.ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			defer c.recover()
			c.check(pe)
		}()
	}
	wg.Wait()
}

// check probes one address and counts the outcome with the active
// thresholds.
func (c *activeChecker) check(pe *peer) {
	status, failure := c.probe(pe)
	if c.ctx.Err() != nil {
		return
	}
	var flipped, avail bool
	t := &c.cfg.thresholds
	switch {
	case failure == FailureTCP:
		flipped, avail = pe.st.report(false, ctrTCP, t.tcpFailures)
	case failure == FailureTimeout:
		flipped, avail = pe.st.report(false, ctrTimeout, t.timeouts)
	case c.cfg.typ == "tcp":
		flipped, avail = pe.st.report(true, ctrSuccess, t.successes)
	default:
		flipped, avail = reportStatus(pe.st, t, status)
	}
	if flipped {
		c.us.flipped(pe.st, avail)
	}
}

// maxStatusLine bounds what is read of a probe's answer.
const maxStatusLine = 1024

// probe connects (and for https handshakes), sends
// "GET http_path HTTP/1.1" with Host, Connection: close and the configured
// headers, and reads the status line. A connection, handshake or I/O
// error is a TCP failure, a deadline a timeout; an unreadable status line
// is status 0 (a failure).
func (c *activeChecker) probe(pe *peer) (int, Failure) {
	timeout := c.cfg.timeout
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(c.ctx, "tcp", pe.addr)
	if err != nil {
		return 0, failureOf(err)
	}
	defer conn.Close()
	if c.cfg.typ == "tcp" {
		return 0, FailureNone
	}
	host := c.hostHeader
	if host == "" {
		host = pe.hostname
	}
	if c.cfg.typ == "https" {
		sni := c.cfg.httpsSNI
		if sni == "" {
			sni = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		}
		tc := tls.Client(conn, &tls.Config{ServerName: sni, InsecureSkipVerify: !c.cfg.verify})
		_ = tc.SetDeadline(time.Now().Add(timeout))
		if err := tc.HandshakeContext(c.ctx); err != nil {
			c.us.m.logf("error", "[healthchecks] failed SSL handshake with '%s (%s)', using server name (sni) '%s': %v", pe.hostname, pe.addr, sni, err)
			if isTimeout(err) {
				return 0, FailureTimeout
			}
			return 0, FailureTCP
		}
		conn = tc
	}
	req := "GET " + c.cfg.httpPath + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n" + c.cfg.headers + "\r\n"
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write([]byte(req)); err != nil {
		return 0, failureOf(err)
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReaderSize(conn, maxStatusLine).ReadSlice('\n')
	if err != nil && len(line) == 0 {
		return 0, failureOf(err)
	}
	return parseStatusLine(line), FailureNone
}

// parseStatusLine reads the code of "HTTP/d.d NNN ...", 0 if malformed.
func parseStatusLine(line []byte) int {
	s := string(line)
	if !strings.HasPrefix(s, "HTTP/") {
		return 0
	}
	fields := strings.Fields(s)
	if len(fields) < 2 || len(fields[1]) != 3 {
		return 0
	}
	code, err := strconv.Atoi(fields[1])
	if err != nil {
		return 0
	}
	return code
}

func failureOf(err error) Failure {
	if isTimeout(err) {
		return FailureTimeout
	}
	return FailureTCP
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}
