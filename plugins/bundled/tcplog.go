package bundled

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// tcpLog is Kong's tcp-log (kong/plugins/tcp-log/schema.lua).
func tcpLog() plugins.Info {
	return runs(newTCPLog, info("tcp-log", 7, []*schema.Field{
		protocolsAny(),
		config(
			required(host("host")),
			required(port("port")),
			// Milliseconds.
			&schema.Field{Name: "timeout", Type: schema.Number, Default: float64(10000)},
			&schema.Field{Name: "keepalive", Type: schema.Number, Default: float64(60000)},
			&schema.Field{Name: "tls", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "tls_sni", Type: schema.String},
			customFieldsByLua(),
		),
	}))
}

// tcpLogger sends one JSON line per request over TCP, or TLS with tls
// (kong/plugins/tcp-log/handler.lua): off the log workers, one entry at a
// time per destination, the connection kept open keepalive milliseconds
// between entries.
type tcpLogger struct {
	addr      string
	timeout   time.Duration
	keepalive time.Duration
	tls       bool
	sni       string
	key       string
	conn      *tcpConn
	queues    *queueSet
}

// tcpConn is a destination's connection, shared by the instances sending
// there and used by its queue's one goroutine.
type tcpConn struct {
	mu   sync.Mutex
	c    net.Conn
	used time.Time
}

func newTCPLog(conf map[string]any) (plugins.Handler, error) {
	h := &tcpLogger{
		addr:      net.JoinHostPort(row.String(conf, "host"), strconv.Itoa(row.Int(conf, "port", 0))),
		timeout:   time.Duration(row.Number(conf["timeout"], 10000)) * time.Millisecond,
		keepalive: time.Duration(row.Number(conf["keepalive"], 60000)) * time.Millisecond,
		tls:       row.Bool(conf, "tls", false),
		sni:       row.String(conf, "tls_sni"),
	}
	h.key = fmt.Sprintf("tcp-log %s tls=%v sni=%s timeout=%d keepalive=%d", h.addr, h.tls, h.sni, h.timeout, h.keepalive)
	return h, nil
}

func (h *tcpLogger) Provision(host *plugins.Host) error {
	h.queues = queueSetOf(host)
	h.conn = host.State(h.key, func() any { return &tcpConn{} }).(*tcpConn)
	return nil
}

func (h *tcpLogger) Log(e *plugins.LogEntry) {
	if h.queues == nil {
		return
	}
	h.queues.enqueue(h.key, h.key, sendQueue, h.send, encodedEntry(e, "\n"))
}

// send writes the entries; a kept connection the server closed meanwhile
// is replaced once.
func (h *tcpLogger) send(batch [][]byte) error {
	tc := h.conn
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for _, entry := range batch {
		reused := tc.c != nil
		if reused && h.keepalive > 0 && time.Since(tc.used) > h.keepalive {
			tc.c.Close()
			tc.c, reused = nil, false
		}
		err := h.write(tc, entry)
		if err != nil && reused {
			err = h.write(tc, entry)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (h *tcpLogger) write(tc *tcpConn, entry []byte) error {
	if tc.c == nil {
		c, err := net.DialTimeout("tcp", h.addr, h.timeout)
		if err != nil {
			return fmt.Errorf("[tcp-log] failed to connect to %s: %v", h.addr, err)
		}
		if h.tls {
			// Kong's sslhandshake(false, tls_sni, false): no verification.
			tlsConn := tls.Client(c, &tls.Config{ServerName: h.sni, InsecureSkipVerify: true}) //nolint:gosec // as Kong's tcp-log
			tlsConn.SetDeadline(time.Now().Add(h.timeout))
			if err := tlsConn.Handshake(); err != nil {
				c.Close()
				return fmt.Errorf("[tcp-log] failed to perform TLS handshake to %s: %v", h.addr, err)
			}
			c = tlsConn
		}
		tc.c = c
	}
	tc.c.SetWriteDeadline(time.Now().Add(h.timeout))
	if _, err := tc.c.Write(entry); err != nil {
		tc.c.Close()
		tc.c = nil
		return fmt.Errorf("[tcp-log] failed to send data to %s: %v", h.addr, err)
	}
	tc.used = time.Now()
	return nil
}

var (
	_ plugins.Logger      = (*tcpLogger)(nil)
	_ plugins.Provisioner = (*tcpLogger)(nil)
)
