package collect

import (
	"net"
	"strconv"
	"sync"
	"time"
)

// DefaultMaxConnsPerClient is how many connections one client address may
// hold open at once, by default: as many as there are request slots.
const DefaultMaxConnsPerClient = 512

// tooManyConns is the whole answer to a connection over the cap: it is
// written before the request is read, and the connection closed.
var tooManyConns = func() []byte {
	body := `{"error":{"code":"too_many_connections","message":"too many open connections from your address; close idle ones and retry"}}` + "\n"
	return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

// LimitConnsPerClient returns a listener that lets each remote address hold
// at most max connections open; the others are answered 503 and closed at
// once. refused, if not nil, is called for each. Behind a proxy every
// connection comes from the proxy's address: raise max or pass 0 (no
// limit), and let the proxy limit its clients.
func LimitConnsPerClient(l net.Listener, max int, refused func()) net.Listener {
	if max <= 0 {
		return l
	}
	return &connLimiter{Listener: l, max: max, open: map[string]int{}, refused: refused}
}

type connLimiter struct {
	net.Listener
	max     int
	refused func()

	mu   sync.Mutex
	open map[string]int
}

// Accept returns the next connection whose address is under its cap.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := remoteHost(c)
		l.mu.Lock()
		n := l.open[addr]
		if n < l.max {
			l.open[addr] = n + 1
		}
		l.mu.Unlock()
		if n < l.max {
			return &limitedConn{Conn: c, l: l, addr: addr}, nil
		}
		if l.refused != nil {
			l.refused()
		}
		// Answered off the accept loop: a client that does not read must
		// not hold up the others.
		go func() {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write(tooManyConns)
			_ = c.Close()
		}()
	}
}

func (l *connLimiter) done(addr string) {
	l.mu.Lock()
	if l.open[addr] <= 1 {
		delete(l.open, addr)
	} else {
		l.open[addr]--
	}
	l.mu.Unlock()
}

func remoteHost(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// limitedConn gives its place back when closed, once.
type limitedConn struct {
	net.Conn
	l    *connLimiter
	addr string
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.done(c.addr) })
	return err
}
