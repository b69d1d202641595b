package bundled

import (
	"bytes"
	"fmt"
	gosyslog "log/syslog"
	"slices"
	"sync"
	"time"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

var (
	syslogSeverities = []string{"debug", "info", "notice", "warning", "err", "crit", "alert", "emerg"}
	syslogFacilities = []string{"auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail",
		"news", "syslog", "user", "uucp", "local0", "local1", "local2", "local3",
		"local4", "local5", "local6", "local7"}
)

// syslog is Kong's syslog (kong/plugins/syslog/schema.lua).
func syslog() plugins.Info {
	severity := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.String, Required: true, Default: "info", OneOf: schema.Strings(syslogSeverities...)}
	}
	return runs(newSyslog, info("syslog", 4, []*schema.Field{
		protocolsAny(),
		config(
			severity("log_level"),
			severity("successful_severity"),
			severity("client_errors_severity"),
			severity("server_errors_severity"),
			customFieldsByLua(),
			&schema.Field{Name: "facility", Type: schema.String, Required: true, Default: "user", OneOf: schema.Strings(syslogFacilities...)},
		),
	}))
}

// syslogTag is the sender name of Kong's messages.
const syslogTag = "kong"

// syslogLogger sends each request's JSON to the local syslog socket
// (kong/plugins/syslog/handler.lua) with the severity its status calls
// for (successful_severity below 400, client_errors_severity below 500,
// server_errors_severity from 500), when that severity is at least as
// severe as log_level, under facility. Sending happens off the log
// workers: a missing or slow syslog daemon costs entries (and an error in
// the error log), never a request.
type syslogLogger struct {
	logLevel                gosyslog.Priority
	success, client, server gosyslog.Priority
	facility                gosyslog.Priority
	key                     string
	writer                  *syslogWriter
	queues                  *queueSet
	// network and addr reach the daemon: "" for the local socket
	// (/dev/log and the usual alternatives).
	network, addr string
}

// syslogWriter is a connection to the daemon for one facility, shared by
// the instances using it and redialled after a failure.
type syslogWriter struct {
	mu     sync.Mutex
	w      *gosyslog.Writer
	failed time.Time
}

// severity is a severity name's syslog priority (emerg 0 ... debug 7).
func severity(name string) gosyslog.Priority {
	if i := slices.Index(syslogSeverities, name); i >= 0 {
		return gosyslog.Priority(7 - i)
	}
	return gosyslog.LOG_INFO
}

// facilityCodes are syslog's facility numbers by Kong's names.
var facilityCodes = map[string]gosyslog.Priority{
	"kern": gosyslog.LOG_KERN, "user": gosyslog.LOG_USER, "mail": gosyslog.LOG_MAIL, "daemon": gosyslog.LOG_DAEMON,
	"auth": gosyslog.LOG_AUTH, "syslog": gosyslog.LOG_SYSLOG, "lpr": gosyslog.LOG_LPR, "news": gosyslog.LOG_NEWS,
	"uucp": gosyslog.LOG_UUCP, "cron": gosyslog.LOG_CRON, "authpriv": gosyslog.LOG_AUTHPRIV, "ftp": gosyslog.LOG_FTP,
	"local0": gosyslog.LOG_LOCAL0, "local1": gosyslog.LOG_LOCAL1, "local2": gosyslog.LOG_LOCAL2, "local3": gosyslog.LOG_LOCAL3,
	"local4": gosyslog.LOG_LOCAL4, "local5": gosyslog.LOG_LOCAL5, "local6": gosyslog.LOG_LOCAL6, "local7": gosyslog.LOG_LOCAL7,
}

func newSyslog(conf map[string]any) (plugins.Handler, error) {
	facility, ok := facilityCodes[row.StringOr(conf, "facility", "user")]
	if !ok {
		facility = gosyslog.LOG_USER
	}
	h := &syslogLogger{
		logLevel: severity(row.StringOr(conf, "log_level", "info")),
		success:  severity(row.StringOr(conf, "successful_severity", "info")),
		client:   severity(row.StringOr(conf, "client_errors_severity", "info")),
		server:   severity(row.StringOr(conf, "server_errors_severity", "info")),
		facility: facility,
	}
	h.key = fmt.Sprintf("syslog facility=%d", h.facility)
	return h, nil
}

func (h *syslogLogger) Provision(host *plugins.Host) error {
	h.queues = queueSetOf(host)
	h.writer = host.State(h.key+" "+h.network+" "+h.addr, func() any { return &syslogWriter{} }).(*syslogWriter)
	return nil
}

// severityOf is the severity an answer's status calls for.
func (h *syslogLogger) severityOf(status int) gosyslog.Priority {
	switch {
	case status >= 500:
		return h.server
	case status >= 400:
		return h.client
	}
	return h.success
}

func (h *syslogLogger) Log(e *plugins.LogEntry) {
	sev := h.severityOf(e.Response.Status)
	// Lower numbers are more severe.
	if sev > h.logLevel || h.queues == nil {
		return
	}
	buf := encodeEntry(e, "")
	entry := make([]byte, 1+len(*buf))
	entry[0] = byte(sev)
	copy(entry[1:], *buf)
	releaseBuffer(buf)
	h.queues.enqueue(h.key, h.key, sendQueue, h.send, entry)
}

// redialAfter spaces attempts to reach a daemon that is not there.
const redialAfter = 10 * time.Second

// send writes entries (their first byte is the severity).
func (h *syslogLogger) send(batch [][]byte) error {
	sw := h.writer
	sw.mu.Lock()
	defer sw.mu.Unlock()
	for _, entry := range batch {
		if sw.w == nil {
			if !sw.failed.IsZero() && time.Since(sw.failed) < redialAfter {
				return fmt.Errorf("[syslog] no syslog daemon reachable: entry dropped")
			}
			w, err := gosyslog.Dial(h.network, h.addr, h.facility|gosyslog.LOG_INFO, syslogTag)
			if err != nil {
				sw.failed = time.Now()
				return fmt.Errorf("[syslog] could not reach the syslog daemon: %v", err)
			}
			sw.w, sw.failed = w, time.Time{}
		}
		msg := string(bytes.TrimSpace(entry[1:]))
		if err := writeSeverity(sw.w, gosyslog.Priority(entry[0]), msg); err != nil {
			sw.w.Close()
			sw.w = nil
			return fmt.Errorf("[syslog] could not send the entry: %v", err)
		}
	}
	return nil
}

func writeSeverity(w *gosyslog.Writer, sev gosyslog.Priority, msg string) error {
	switch sev {
	case gosyslog.LOG_EMERG:
		return w.Emerg(msg)
	case gosyslog.LOG_ALERT:
		return w.Alert(msg)
	case gosyslog.LOG_CRIT:
		return w.Crit(msg)
	case gosyslog.LOG_ERR:
		return w.Err(msg)
	case gosyslog.LOG_WARNING:
		return w.Warning(msg)
	case gosyslog.LOG_NOTICE:
		return w.Notice(msg)
	case gosyslog.LOG_DEBUG:
		return w.Debug(msg)
	}
	return w.Info(msg)
}

var (
	_ plugins.Logger      = (*syslogLogger)(nil)
	_ plugins.Provisioner = (*syslogLogger)(nil)
)
