package bundled

import (
	"os"
	"regexp"
	"sync"

	"github.com/portico-gw/portico/internal/row"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// msgFilename is file-log's message for a bad path.
const msgFilename = "not a valid filename"

// fileLog is Kong's file-log (kong/plugins/file-log/schema.lua).
//
// Kong declares path { match = [[^[^*&%%\`]+$]], err = "not a valid filename" }:
// the field's err replaces the match message. The engine has no per-field
// message, so the same rule is written as the forbidden characters' pattern
// in MatchNone, which carries its own message.
func fileLog() plugins.Info {
	return runs(newFileLog, info("file-log", 9, []*schema.Field{
		protocolsAny(),
		config(
			&schema.Field{Name: "path", Type: schema.String, Required: true,
				MatchNone: []schema.PatternError{{Pattern: regexp.MustCompile("[*&%\\\\`]"), Err: msgFilename}}},
			&schema.Field{Name: "reopen", Type: schema.Boolean, Required: true, Default: false},
			customFieldsByLua(),
		),
	}))
}

// fileLogger appends one JSON line per request to a file
// (kong/plugins/file-log/handler.lua). The file stays open between
// requests, shared by every instance writing to the same path; with reopen
// it is opened and closed for each entry, so a rotated file is followed.
type fileLogger struct {
	path   string
	reopen bool
	file   *logFile
	host   *plugins.Host
}

// logFile is an open log file, shared by the instances writing to it.
type logFile struct {
	mu sync.Mutex
	f  *os.File
}

// fileMode is Kong's: read and write for the owner, read for the others.
const fileMode = 0o644

func newFileLog(conf map[string]any) (plugins.Handler, error) {
	return &fileLogger{path: row.String(conf, "path"), reopen: row.Bool(conf, "reopen", false)}, nil
}

func (h *fileLogger) Provision(host *plugins.Host) error {
	h.host = host
	h.file = host.State("file-log "+h.path, func() any { return &logFile{} }).(*logFile)
	return nil
}

func (h *fileLogger) Log(e *plugins.LogEntry) {
	if h.file == nil {
		return
	}
	buf := encodeEntry(e, "\n")
	defer releaseBuffer(buf)
	lf := h.file
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if h.reopen && lf.f != nil {
		lf.f.Close()
		lf.f = nil
	}
	if lf.f == nil {
		f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
		if err != nil {
			h.host.Errorf("[file-log] failed to open the file: %v", err)
			return
		}
		lf.f = f
	}
	if _, err := lf.f.Write(*buf); err != nil {
		h.host.Errorf("[file-log] failed to write to %s: %v", h.path, err)
		// Opened again next time: the file may have gone.
		lf.f.Close()
		lf.f = nil
	}
}

var (
	_ plugins.Logger      = (*fileLogger)(nil)
	_ plugins.Provisioner = (*fileLogger)(nil)
)
