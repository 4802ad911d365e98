// Package tcpproxy is a TCP forwarder for tests. It stands between
// clients and a server and can cut every connection at once, cut one when
// told (a phone walking out of Wi-Fi), or stop reading from the clients
// (Stall), as a server or a network that falls behind does.
package tcpproxy

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards connections accepted on Addr to its target.
type Proxy struct {
	ln     net.Listener
	target string
	// onConn, if set, is given each new connection's cut function.
	onConn func(cut func() bool)

	mu      sync.Mutex
	closed  bool
	conns   map[*pair]struct{}
	stalled bool
	resume  chan struct{}
	wg      sync.WaitGroup
}

// pair is one client connection and its connection to the target.
type pair struct{ in, out net.Conn }

func (c *pair) cut() { c.in.Close(); c.out.Close() }

// Start listens on a free loopback port and forwards to target (host:port)
// until the test ends. onConn, if not nil, is called with the cut function
// of each connection as it opens; cut reports whether it cut the
// connection (false once it had ended).
func Start(tb testing.TB, target string, onConn func(cut func() bool)) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, onConn: onConn, conns: map[*pair]struct{}{}, resume: make(chan struct{})}
	tb.Cleanup(p.Close)
	p.wg.Add(1)
	go p.accept()
	return p
}

// Addr is where clients connect (host:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		c := &pair{in: in, out: out}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.cut()
			return
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		var once sync.Once
		cut := func() (did bool) {
			once.Do(func() { c.cut(); did = true })
			return did
		}
		if p.onConn != nil {
			p.onConn(cut)
		}
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(in, out); cut(); p.forget(c) }()
		go func() { defer p.wg.Done(); p.forward(c); cut() }()
	}
}

// forward copies what the client sends, holding it while stalled.
func (p *Proxy) forward(c *pair) {
	buf := make([]byte, 32<<10)
	for {
		p.mu.Lock()
		stalled, resume := p.stalled, p.resume
		p.mu.Unlock()
		if stalled {
			<-resume
		}
		n, err := c.in.Read(buf)
		if n > 0 {
			if _, werr := c.out.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) forget(c *pair) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// Cut closes every connection open now and returns how many there were.
func (p *Proxy) Cut() int {
	p.mu.Lock()
	all := make([]*pair, 0, len(p.conns))
	for c := range p.conns {
		all = append(all, c)
		delete(p.conns, c)
	}
	p.mu.Unlock()
	for _, c := range all {
		c.cut()
	}
	return len(all)
}

// Stall stops reading from the clients until Resume: their writes fill
// the socket buffers and then block.
func (p *Proxy) Stall() {
	p.mu.Lock()
	if !p.stalled {
		p.stalled, p.resume = true, make(chan struct{})
	}
	p.mu.Unlock()
}

// Resume reads from the clients again.
func (p *Proxy) Resume() {
	p.mu.Lock()
	if p.stalled {
		p.stalled = false
		close(p.resume)
	}
	p.mu.Unlock()
}

// Close stops accepting, cuts every connection and waits for the
// forwarding goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.Resume()
	p.Cut()
	p.wg.Wait()
}
