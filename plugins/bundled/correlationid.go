package bundled

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// correlationID is Kong's correlation-id (kong/plugins/correlation-id/schema.lua).
// Its priority moved from 1 to 100001 in 3.9 so that it runs before auth plugins.
func correlationID() plugins.Info {
	return runs(newCorrelationID, info("correlation-id", 100001, []*schema.Field{
		protocolsHTTP(),
		config(
			&schema.Field{Name: "header_name", Type: schema.String, Default: "Kong-Request-ID"},
			&schema.Field{Name: "generator", Type: schema.String, Required: true, Default: "uuid#counter",
				OneOf: schema.Strings("uuid", "uuid#counter", "tracker")},
			&schema.Field{Name: "echo_downstream", Type: schema.Boolean, Required: true, Default: false},
		),
	}))
}

// correlator sets a request id header when the client sent none, and
// echoes it to the client when asked (kong/plugins/correlation-id/handler.lua).
type correlator struct {
	header    string
	generator func(*plugins.Context) string
	echo      bool
}

// nodeUUID and counter make uuid#counter ids: one uuid per node, counted.
var (
	nodeUUID = uuid.NewString()
	counter  atomic.Uint64
)

func newCorrelationID(conf map[string]any) (plugins.Handler, error) {
	c := &correlator{header: row.String(conf, "header_name"), echo: row.Bool(conf, "echo_downstream", false)}
	if c.header == "" {
		c.header = "Kong-Request-ID"
	}
	switch row.String(conf, "generator") {
	case "uuid":
		c.generator = func(*plugins.Context) string { return uuid.NewString() }
	case "tracker":
		// server address, port, process, connection, request on the
		// connection and the time, as nginx's variables give them.
		c.generator = func(pc *plugins.Context) string {
			host, port := "", ""
			if a, ok := pc.Ctx.LocalAddr().(*net.TCPAddr); ok {
				host, port = a.IP.String(), strconv.Itoa(a.Port)
			}
			now := float64(time.Now().UnixMilli()) / 1000
			return fmt.Sprintf("%s-%s-%d-%d-%d-%0.3f", host, port, os.Getpid(), pc.Ctx.ConnID(), pc.Ctx.ConnRequestNum(), now)
		}
	default: // uuid#counter
		c.generator = func(*plugins.Context) string {
			return nodeUUID + "#" + strconv.FormatUint(counter.Add(1), 10)
		}
	}
	return c, nil
}

func (c *correlator) Access(pc *plugins.Context) error {
	if len(pc.Request.Header.Peek(c.header)) == 0 {
		pc.Request.Header.Set(c.header, c.generator(pc))
	}
	return nil
}

func (c *correlator) HeaderFilter(pc *plugins.Context) error {
	if !c.echo {
		return nil
	}
	id := pc.Request.Header.Peek(c.header)
	if len(id) == 0 {
		pc.Response.Header.Set(c.header, c.generator(pc))
		return nil
	}
	pc.Response.Header.SetBytesV(c.header, id)
	return nil
}
