package wsgateway

import "encoding/binary"

// The write side of wireConn. Every byte coder/websocket writes passes
// here, which lets the hub's fan-out write a push on its own goroutine
// without the library and without ever waiting for a client
// (stream.offer, pushFrame): a push's frame goes to the socket only
// between two of the library's frames, and whatever the socket does not
// take at once is kept, in order, as a backlog; the stream's writer then
// sends the backlog under its write timeout before anything else, and any
// other write (the library's pong or close frame) sends it first too. So
// the client sees the bytes in the order they were written, whoever
// wrote them, and a slow client is never waited for by the fan-out: it is
// left to its writer, as before.

// Write implements io.Writer.
func (w *wireConn) Write(p []byte) (int, error) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if err := w.flushLocked(); err != nil {
		return 0, err
	}
	n, err := w.Conn.Write(p)
	w.out.feed(p[:n])
	if err != nil {
		w.broken = true // the library's frame may stop partway
	}
	return n, err
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
		w.broken = true
		return err
	}
	w.backlog = nil
	return nil
}

// pushFrame writes frame, one whole unmasked WebSocket frame (textFrame),
// itself rather than through coder/websocket: for a push of a large
// group, once per device, the library's write (its context and write
// locks, the header, the copy into its buffer and the flush) cost a third
// as much again as the system call. It is put only where a frame of the
// library's may begin — every frame the library has written so far is
// whole (out), outside a fragmented message, before any close frame —
// so the client sees a well-formed stream; bytes the library has
// buffered but not written yet follow it, as whole frames. It never
// waits: what the socket does not take is kept as the backlog, which
// every later write sends first.
//
// sent false means nothing was written (another write is under way, a
// backlog waits, the library is inside a frame or closing, a write
// failed, or the connection is not a polled socket): the caller leaves
// the push to the stream's writer. A pong that begins between this and the caller's next
// write can still make that write wait, for that one frame, at most the
// library's 5 s control frame timeout.
func (w *wireConn) pushFrame(frame []byte) (sent, backlog bool, err error) {
	if !w.wmu.TryLock() {
		return false, false, nil
	}
	defer w.wmu.Unlock()
	if w.tryWrite == nil || w.broken || len(w.backlog) > 0 || !w.out.atBoundary() || w.out.closed {
		return false, false, nil
	}
	n, err := w.tryWrite(frame)
	if err != nil {
		w.broken = true
		return true, false, err
	}
	if n < len(frame) {
		w.backlog = append([]byte(nil), frame[n:]...) // frame is shared by every device
		return true, true, nil
	}
	return true, false, nil
}

// textFrame returns payload as a final, unmasked text frame: what
// coder/websocket writes for a text message of a server's (no
// compression is negotiated), header and payload in one slice.
func textFrame(payload []byte) []byte {
	n := len(payload)
	var b []byte
	switch {
	case n < 126:
		b = make([]byte, 2, 2+n)
		b[1] = byte(n)
	case n <= 0xffff:
		b = make([]byte, 4, 4+n)
		b[1] = 126
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	default:
		b = make([]byte, 10, 10+n)
		b[1] = 127
		binary.BigEndian.PutUint64(b[2:], uint64(n))
	}
	b[0] = 0x81 // FIN, text
	return append(b, payload...)
}
