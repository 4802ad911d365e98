//go:build linux

package wsgateway

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller wakes idle streams when their client sends something: one epoll
// instance and one goroutine per gateway, so that an idle stream holds no
// goroutine and no stack. Each socket is registered one-shot; the woken
// reader re-arms it after it has read everything the socket held.
//
// The goroutine runs only while streams are watched: with none left it
// closes the epoll instance and ends (within a second), and the next
// stream starts another.
type poller struct {
	log     *slog.Logger
	mu      sync.Mutex
	epfd    int // -1 while no goroutine runs
	nextID  uint64
	watched map[uint64]*stream
}

func newPoller(log *slog.Logger) *poller {
	return &poller{log: log, epfd: -1, watched: map[uint64]*stream{}}
}

const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// watch registers the stream's socket and prepares its wireConn for
// woken reads. It returns false when the connection cannot be polled (not
// a socket of this process, e.g. a test pipe): the stream then reads on a
// goroutine of its own.
func (p *poller) watch(s *stream) bool {
	sc, ok := s.wire.Conn.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	p.mu.Lock()
	if p.epfd < 0 {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			p.mu.Unlock()
			p.log.Warn("stream poller: epoll unavailable, streams read on goroutines", "err", err)
			return false
		}
		p.epfd = fd
		go p.loop(fd)
	}
	p.nextID++
	id := p.nextID
	p.watched[id] = s
	p.mu.Unlock()
	s.pollID, s.raw = id, rc
	s.wire.tryRead = func(b []byte) (int, error) { return tryRead(rc, b) }
	s.wire.wmu.Lock() // a fan-out may already offer a push (offer)
	s.wire.tryWrite = func(b []byte) (int, error) { return tryWrite(rc, b) }
	s.wire.wmu.Unlock()
	return true
}

// ctl adds or re-arms the stream's socket. Control holds the descriptor
// open meanwhile, so a closed connection's number, reused by another, is
// never touched.
func (p *poller) ctl(s *stream, op, epfd int) error {
	ev := unix.EpollEvent{Events: pollEvents, Fd: int32(uint32(s.pollID)), Pad: int32(uint32(s.pollID >> 32))}
	var cerr error
	err := s.raw.Control(func(fd uintptr) { cerr = unix.EpollCtl(epfd, op, int(fd), &ev) })
	return errors.Join(err, cerr)
}

// rearm asks to be woken (again) when the client sends something; the
// first time it adds the socket to the set.
func (p *poller) rearm(s *stream) error {
	p.mu.Lock()
	_, ok := p.watched[s.pollID]
	epfd, op := p.epfd, unix.EPOLL_CTL_MOD
	if !s.armed {
		s.armed, op = true, unix.EPOLL_CTL_ADD
	}
	p.mu.Unlock()
	if !ok {
		return net.ErrClosed
	}
	return p.ctl(s, op, epfd)
}

// unwatch forgets the stream; closing its socket takes it out of the
// epoll set.
func (p *poller) unwatch(s *stream) {
	p.mu.Lock()
	delete(p.watched, s.pollID)
	p.mu.Unlock()
}

func (p *poller) loop(epfd int) {
	events := make([]unix.EpollEvent, 256)
	var ready []*stream
	for {
		n, err := unix.EpollWait(epfd, events, 1000)
		if err != nil && !errors.Is(err, unix.EINTR) {
			p.log.Error("stream poller stopped", "err", err)
			p.mu.Lock()
			p.epfd = -1
			p.mu.Unlock()
			unix.Close(epfd)
			return
		}
		ready = ready[:0]
		p.mu.Lock()
		for _, ev := range events[:max(n, 0)] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if s, ok := p.watched[id]; ok {
				ready = append(ready, s)
			}
		}
		if len(p.watched) == 0 && n <= 0 {
			p.epfd = -1
			p.mu.Unlock()
			unix.Close(epfd)
			return
		}
		p.mu.Unlock()
		for _, s := range ready {
			go s.readWoken()
		}
	}
}

// tryRead reads what the socket holds without waiting.
func tryRead(rc syscall.RawConn, b []byte) (int, error) {
	var n int
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = unix.Read(int(fd), b)
			if rerr != unix.EINTR {
				return true // never wait: the caller decides
			}
		}
	})
	if err != nil {
		return 0, err
	}
	switch {
	case rerr == unix.EAGAIN:
		return 0, errWouldBlock
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// tryWrite writes what the socket takes now without waiting: 0 when its
// send buffer is full.
func tryWrite(rc syscall.RawConn, b []byte) (int, error) {
	var n int
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for {
			n, werr = unix.Write(int(fd), b)
			if werr != unix.EINTR {
				return true // never wait: the caller keeps the rest
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case werr == unix.EAGAIN:
		return 0, nil
	case werr != nil:
		return 0, werr
	}
	return n, nil
}
