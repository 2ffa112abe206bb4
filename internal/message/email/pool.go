package email

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// pool keeps up to size authenticated SMTP sessions open for reuse. A
// sender takes one (dialing when none is idle), sends, and gives it back;
// the semaphore caps open sessions at size, so a burst of senders waits
// instead of opening more connections than the server allows.
type pool struct {
	mc          *mail.Client
	idleTimeout time.Duration
	sem         chan struct{} // one token per open-or-dialing session
	mu          sync.Mutex    // guards idle and closed
	idle        []*conn       // LIFO: the most recently used is the warmest
	closed      bool
}

type conn struct {
	c        *smtp.Client
	raw      net.Conn // the socket, closed to abort a command on cancellation
	lastUsed time.Time
	reused   bool // it carried a message before: a failure may mean the server closed it
}

var errPoolClosed = errors.New("email: provider closed")

func newPool(mc *mail.Client, size int, idleTimeout time.Duration) *pool {
	return &pool{mc: mc, idleTimeout: idleTimeout, sem: make(chan struct{}, size)}
}

// get returns a session, waiting for a free slot while ctx allows. Idle
// times use the wall clock: they are about real sockets, not domain time.
func (p *pool) get(ctx context.Context) (*conn, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			<-p.sem
			return nil, errPoolClosed
		}
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		cn := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if time.Since(cn.lastUsed) < p.idleTimeout {
			cn.reused = true
			return cn, nil
		}
		_ = cn.raw.Close() // stale: the server may already have dropped it
	}
	holder := new(net.Conn)
	c, err := p.mc.DialToSMTPClientWithContext(context.WithValue(ctx, rawConnKey{}, holder))
	if err != nil {
		<-p.sem
		return nil, err
	}
	return &conn{c: c, raw: *holder}, nil
}

// put returns a session after a send; healthy false closes it instead.
func (p *pool) put(cn *conn, healthy bool) {
	defer func() { <-p.sem }()
	if healthy {
		p.mu.Lock()
		if !p.closed {
			cn.lastUsed = time.Now()
			p.idle = append(p.idle, cn)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
	_ = cn.raw.Close()
}

// close quits the idle sessions; sessions in use are closed when returned.
func (p *pool) close() error {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	var errs []error
	for _, cn := range idle {
		if err := cn.c.Quit(); err != nil {
			errs = append(errs, err)
			_ = cn.raw.Close()
		}
	}
	return errors.Join(errs...)
}

// rawConnKey carries, through go-mail's dial, where to store the socket.
type rawConnKey struct{}

// dialer returns the dial function given to go-mail: it records the socket
// for cancellation and does the TLS handshake itself for implicit TLS
// (go-mail skips its own TLS dialer when a dial function is set).
func dialer(tlsConfig *tls.Config, implicit bool, timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		var err error
		if implicit {
			c, err = (&tls.Dialer{NetDialer: nd, Config: tlsConfig}).DialContext(ctx, network, addr)
		} else {
			c, err = nd.DialContext(ctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		if h, ok := ctx.Value(rawConnKey{}).(*net.Conn); ok {
			*h = c
		}
		return c, nil
	}
}
