package node

import (
	"net"
	"time"
)

// coarseDeadlines wraps accepted connections so that moving a read or
// write deadline later by a small fraction of its span is skipped. The
// HTTP server sets the read deadline twice per request on a kept-alive
// connection (keepalive_timeout, then client_header_timeout), and each
// move is a timer update; with this, a 60 s timeout costs a timer update
// about once a second per busy connection and fires at most 1/64 of its
// span early. Earlier deadlines and clearing a deadline always apply.
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
	read, write deadline
}

// deadline is the last deadline applied and its span when it was.
type deadline struct {
	at   time.Time
	span time.Duration
}

// move applies t through set unless it is a little later than the
// deadline in force.
func (d *deadline) move(t time.Time, set func(time.Time) error) error {
	if !t.IsZero() && !d.at.IsZero() && t.After(d.at) && t.Sub(d.at) <= d.span/64 {
		return nil
	}
	if err := set(t); err != nil {
		return err
	}
	d.at = t
	if !t.IsZero() {
		d.span = time.Until(t)
	}
	return nil
}

func (c *coarseDeadlineConn) SetReadDeadline(t time.Time) error {
	return c.read.move(t, c.Conn.SetReadDeadline)
}

func (c *coarseDeadlineConn) SetWriteDeadline(t time.Time) error {
	return c.write.move(t, c.Conn.SetWriteDeadline)
}

func (c *coarseDeadlineConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}
