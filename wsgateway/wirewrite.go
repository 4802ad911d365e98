package wsgateway

// The write side of wireConn. Every byte coder/websocket writes passes
// here, which lets the hub's fan-out write a push on its own goroutine
// without ever waiting for a client (stream.offer): for the length of one
// message the stream is put in non-blocking mode, in which whatever the
// socket does not take at once is kept, in order, as a backlog; the
// stream's writer then sends the backlog under its write timeout before
// anything else, and any other write (the library's pong or close frame)
// sends it first too. So the client sees the bytes in the order they
// were written, whoever wrote them, and a slow client is never waited for
// by the fan-out: it is left to its writer, as before.

// Write implements io.Writer.
func (w *wireConn) Write(p []byte) (int, error) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.nonblock {
		total := len(p)
		if len(w.backlog) == 0 {
			n, err := w.tryWrite(p)
			if err != nil {
				return n, err
			}
			p = p[n:]
		}
		w.backlog = append(w.backlog, p...)
		return total, nil
	}
	if err := w.flushLocked(); err != nil {
		return 0, err
	}
	return w.Conn.Write(p)
}

// startNonblocking puts the connection in non-blocking mode and reports
// whether it did: not when it cannot write without waiting (not a polled
// socket), a backlog waits for the writer, or another write is under
// way (the library's pong or close frame, which may be waiting for the
// client: the caller would wait behind it for the library's write lock).
// A pong that begins between this and the caller's write can still make
// it wait, for that one frame, at most the library's 5 s control frame
// timeout.
func (w *wireConn) startNonblocking() bool {
	if !w.wmu.TryLock() {
		return false
	}
	defer w.wmu.Unlock()
	if w.tryWrite == nil || len(w.backlog) > 0 {
		return false
	}
	w.nonblock = true
	return true
}

// endNonblocking leaves non-blocking mode and reports whether a backlog
// waits: the caller must then have the writer flush it.
func (w *wireConn) endNonblocking() bool {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.nonblock = false
	return len(w.backlog) > 0
}

// flush writes the backlog, waiting as any write does (the caller sets
// the deadline).
func (w *wireConn) flush() error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return w.flushLocked()
}

// backlogged reports whether bytes wait to be flushed.
func (w *wireConn) backlogged() bool {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return len(w.backlog) > 0
}

func (w *wireConn) flushLocked() error {
	if len(w.backlog) == 0 {
		return nil
	}
	n, err := w.Conn.Write(w.backlog)
	if err != nil {
		w.backlog = w.backlog[n:]
		return err
	}
	w.backlog = nil
	return nil
}
