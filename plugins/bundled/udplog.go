package bundled

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// udpLog is Kong's udp-log (kong/plugins/udp-log/schema.lua).
func udpLog() plugins.Info {
	return runs(newUDPLog, info("udp-log", 8, []*schema.Field{
		protocolsAny(),
		config(
			required(host("host")),
			required(port("port")),
			// Milliseconds.
			&schema.Field{Name: "timeout", Type: schema.Number, Default: float64(10000)},
			customFieldsByLua(),
		),
	}))
}

// udpLogger sends one JSON datagram per request
// (kong/plugins/udp-log/handler.lua), off the log workers: a socket per
// entry, as Kong's, so a name that resolves elsewhere is followed.
type udpLogger struct {
	addr    string
	timeout time.Duration
	key     string
	queues  *queueSet
}

func newUDPLog(conf map[string]any) (plugins.Handler, error) {
	h := &udpLogger{
		addr:    net.JoinHostPort(row.String(conf, "host"), strconv.Itoa(row.Int(conf, "port", 0))),
		timeout: time.Duration(row.Number(conf["timeout"], 10000)) * time.Millisecond,
	}
	h.key = fmt.Sprintf("udp-log %s timeout=%d", h.addr, h.timeout)
	return h, nil
}

func (h *udpLogger) Provision(host *plugins.Host) error {
	h.queues = queueSetOf(host)
	return nil
}

func (h *udpLogger) Log(e *plugins.LogEntry) {
	if h.queues == nil {
		return
	}
	h.queues.enqueue(h.key, h.key, sendQueue, h.send, encodedEntry(e, ""))
}

func (h *udpLogger) send(batch [][]byte) error {
	for _, entry := range batch {
		c, err := net.DialTimeout("udp", h.addr, h.timeout)
		if err != nil {
			return fmt.Errorf("[udp-log] could not connect to %s: %v", h.addr, err)
		}
		c.SetWriteDeadline(time.Now().Add(h.timeout))
		_, err = c.Write(entry)
		c.Close()
		if err != nil {
			return fmt.Errorf("[udp-log] could not send data to %s: %v", h.addr, err)
		}
	}
	return nil
}

var (
	_ plugins.Logger      = (*udpLogger)(nil)
	_ plugins.Provisioner = (*udpLogger)(nil)
)
