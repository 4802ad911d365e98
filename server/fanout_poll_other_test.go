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
}

func newMemberReaders(sets int, onMessage func(i int, payload []byte, at time.Time)) (*memberReaders, error) {
	return &memberReaders{onMessage: onMessage}, nil
}

func (r *memberReaders) add(c *memberConn) error {
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

// close waits for the readers, which end when their connections close.
func (r *memberReaders) close() { r.wg.Wait() }
