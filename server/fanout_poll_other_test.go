//go:build !linux

package server

import (
	"sync"
	"time"
)

// memberReaders reads each member's socket on a goroutine of its own
// where epoll is not there (fanout_poll_linux_test.go).
type memberReaders struct {
	onMessage func(i int, payload []byte, at time.Time)
	wg        sync.WaitGroup
	mu        sync.Mutex
	all       []*memberConn
}

func newMemberReaders(sets int, onMessage func(i int, payload []byte, at time.Time)) (*memberReaders, error) {
	return &memberReaders{onMessage: onMessage}, nil
}

func (r *memberReaders) add(c *memberConn) error {
	r.mu.Lock()
	r.all = append(r.all, c)
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		pong := func(p []byte) { c.nc.Write(pongFrame(p)) }
		if len(c.pend) > 0 {
			data := c.pend
			c.pend = nil
			c.feed(data, func(i int, p []byte) { r.onMessage(i, p, time.Now()) }, pong)
		}
		buf := make([]byte, 4096)
		for {
			k, err := c.nc.Read(buf)
			if err != nil {
				return
			}
			at := time.Now()
			if !c.feed(buf[:k], func(i int, p []byte) { r.onMessage(i, p, at) }, pong) {
				return
			}
		}
	}()
	return nil
}

// close closes every connection added, which ends its reader, and waits
// for the readers.
func (r *memberReaders) close() {
	r.mu.Lock()
	for _, c := range r.all {
		c.nc.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}
