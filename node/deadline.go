package node

import (
	"net"
	"time"

	"github.com/portico-gw/portico/internal/deadline"
)

// coarseDeadlines wraps accepted connections so that their deadlines move
// coarsely (package deadline): the HTTP server sets the read deadline twice
// per request on a kept-alive connection (keepalive_timeout, then
// client_header_timeout); a 60 s timeout now costs a timer update about
// once a second per busy connection.
type coarseDeadlines struct{ net.Listener }

func (l coarseDeadlines) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &coarseDeadlineConn{Conn: c}, nil
}

type coarseDeadlineConn struct {
	net.Conn
	read, write deadline.Coarse
}

// NetConn is the wrapped connection (as tls.Conn's), so that what a
// listener attached to it can be found.
func (c *coarseDeadlineConn) NetConn() net.Conn { return c.Conn }

func (c *coarseDeadlineConn) SetReadDeadline(t time.Time) error {
	return c.read.Move(t, c.Conn.SetReadDeadline)
}

func (c *coarseDeadlineConn) SetWriteDeadline(t time.Time) error {
	return c.write.Move(t, c.Conn.SetWriteDeadline)
}

func (c *coarseDeadlineConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}
