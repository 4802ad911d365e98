//go:build linux

package server

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// memberReaders reads the members' sockets with epoll (level-triggered):
// a few goroutines, each waiting on its own set, one read per socket
// ready, no goroutine per member and no read that finds nothing.
type memberReaders struct {
	onMessage func(i int, payload []byte, at time.Time)
	sets      []*memberSet
	next      atomic.Uint32
	wg        sync.WaitGroup
	closed    atomic.Bool
}

type memberSet struct {
	epfd  int
	mu    sync.Mutex
	conns map[int32]*memberConn // by file descriptor
	all   []*memberConn         // every connection added, for close
}

// newMemberReaders starts sets goroutines, each on its own epoll set.
func newMemberReaders(sets int, onMessage func(i int, payload []byte, at time.Time)) (*memberReaders, error) {
	r := &memberReaders{onMessage: onMessage}
	for range sets {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			r.close()
			return nil, err
		}
		s := &memberSet{epfd: fd, conns: map[int32]*memberConn{}}
		r.sets = append(r.sets, s)
		r.wg.Add(1)
		go r.run(s)
	}
	return r, nil
}

// add hands c's socket to one of the sets. Its descriptor stays the
// connection's (non-blocking, as the runtime made it); nothing else
// reads it.
func (r *memberReaders) add(c *memberConn) error {
	s := r.sets[int(r.next.Add(1))%len(r.sets)]
	rc, err := c.nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	var fd int
	if err := rc.Control(func(d uintptr) { fd = int(d) }); err != nil {
		return err
	}
	// Bytes already read past the hello are parsed first; then the
	// connection is the set's (the lock orders this before the set's
	// first look at it).
	if len(c.pend) > 0 {
		data := c.pend
		c.pend = nil
		c.feed(data, func(i int, p []byte) { r.onMessage(i, p, time.Now()) }, func(p []byte) { writeAll(fd, pongFrame(p)) })
	}
	s.mu.Lock()
	s.conns[int32(fd)] = c
	s.all = append(s.all, c)
	s.mu.Unlock()
	return unix.EpollCtl(s.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)})
}

func (r *memberReaders) run(s *memberSet) {
	defer r.wg.Done()
	events := make([]unix.EpollEvent, 256)
	buf := make([]byte, 64<<10)
	for !r.closed.Load() {
		n, err := unix.EpollWait(s.epfd, events, 200)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		for _, ev := range events[:n] {
			s.mu.Lock()
			c := s.conns[ev.Fd]
			s.mu.Unlock()
			if c == nil {
				continue
			}
			fd := int(ev.Fd)
			k, err := unix.Read(fd, buf)
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			at := time.Now()
			pongOK := true
			ok := err == nil && k > 0 && c.feed(buf[:k], func(i int, p []byte) { r.onMessage(i, p, at) },
				func(p []byte) { pongOK = writeAll(fd, pongFrame(p)) })
			if !ok || !pongOK {
				// The member is gone (its messages will be missing,
				// which fails the benchmark).
				unix.EpollCtl(s.epfd, unix.EPOLL_CTL_DEL, fd, nil)
				s.mu.Lock()
				delete(s.conns, ev.Fd)
				s.mu.Unlock()
			}
		}
	}
}

// writeAll writes a small frame to a non-blocking socket: whole, or it
// reports false (a pong cut in two would corrupt the stream).
func writeAll(fd int, f []byte) bool {
	n, err := unix.Write(fd, f)
	return err == nil && n == len(f)
}

// close stops the readers, then closes every connection added: in that
// order, so that no reader touches a descriptor closed (or already
// reused) under it.
func (r *memberReaders) close() {
	r.closed.Store(true)
	r.wg.Wait()
	for _, s := range r.sets {
		for _, c := range s.all {
			c.nc.Close()
		}
		unix.Close(s.epfd)
	}
}
