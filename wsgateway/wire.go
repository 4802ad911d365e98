package wsgateway

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// An idle stream has no goroutine on Linux: the gateway's poller watches
// the socket, and when the client sends something a goroutine reads what
// arrived through coder/websocket and ends. The library's Read, though,
// returns only a data message: after a pong (the answer to the server's
// ping) it would wait for the next frame, keeping the goroutine. wireConn
// sits under the library's reader to end such a read: it passes the
// client's bytes through unchanged and follows the frame boundaries, and
// when a woken reader asks for the next frame while the socket holds
// nothing, it hands the library one empty text message of its own
// (wakeFrame), which Read returns and the stream recognises and drops.
// It is never inserted inside a fragmented message or a frame, so the
// library sees a well-formed stream.

// wakeFrame is a masked, final, empty text frame (key 0), as a client
// would send it.
var wakeFrame = [...]byte{0x81, 0x80, 0, 0, 0, 0}

// errWouldBlock is tryRead's answer when the socket holds nothing now.
var errWouldBlock = errors.New("read would block")

// frameTracker follows client frame boundaries in a byte stream.
type frameTracker struct {
	hdr        [14]byte
	n          int    // header bytes seen of the current frame
	need       int    // the header's length, once its second byte is in
	left       uint64 // payload bytes of the current frame still to come
	fragmented bool   // inside a message whose final frame has not come
	closed     bool   // a close frame's header has gone by
}

// feed follows b, the next bytes of the stream.
func (t *frameTracker) feed(b []byte) {
	for len(b) > 0 {
		if t.left > 0 {
			k := min(uint64(len(b)), t.left)
			t.left -= k
			b = b[k:]
			continue
		}
		t.hdr[t.n] = b[0]
		t.n++
		b = b[1:]
		if t.n == 2 {
			t.need = 2
			switch t.hdr[1] & 0x7f {
			case 126:
				t.need += 2
			case 127:
				t.need += 8
			}
			if t.hdr[1]&0x80 != 0 {
				t.need += 4
			}
		}
		if t.n < 2 || t.n < t.need {
			continue
		}
		var length uint64
		switch l := t.hdr[1] & 0x7f; l {
		case 126:
			length = uint64(binary.BigEndian.Uint16(t.hdr[2:4]))
		case 127:
			length = binary.BigEndian.Uint64(t.hdr[2:10])
		default:
			length = uint64(l)
		}
		if opcode := t.hdr[0] & 0x0f; opcode < 8 { // data: text, binary, continuation
			t.fragmented = t.hdr[0]&0x80 == 0
		} else if opcode == 8 {
			t.closed = true
		}
		t.left, t.n, t.need = length, 0, 0
	}
}

// atBoundary reports whether the bytes so far end between two messages.
func (t *frameTracker) atBoundary() bool {
	return t.n == 0 && t.left == 0 && !t.fragmented
}

// wireConn is the hijacked connection as coder/websocket reads it.
//
// Read is only ever called by the one goroutine holding the library's
// read lock, so the tracker needs no lock of its own; wake and woken are
// shared with the stream.
type wireConn struct {
	net.Conn
	prefix []byte // what net/http had read past the upgrade request
	br     *bufio.Reader
	tr     frameTracker
	// tryRead reads what the socket holds without waiting, or returns
	// errWouldBlock; nil when a goroutine reads the stream all along.
	tryRead func(p []byte) (int, error)
	// wake is 1 while a woken reader may be handed a wakeFrame; handing
	// one clears it.
	wake atomic.Int32
	// woken counts wakeFrames handed out.
	woken atomic.Int64

	// The write side (wirewrite.go). tryWrite writes what the socket
	// takes now, without waiting (0 when it takes nothing); nil when the
	// connection is not a polled socket.
	tryWrite func(p []byte) (int, error)
	wmu      sync.Mutex
	backlog  []byte // bytes of a push the socket did not take, not sent yet
	// broken is set by a failed write: what was sent may end inside a
	// frame, so no push may follow.
	broken bool
	// out follows the frames the library writes, so that pushFrame puts
	// a frame of its own only between two of them.
	out frameTracker
}

// Read implements io.Reader.
func (w *wireConn) Read(p []byte) (int, error) {
	if len(w.prefix) > 0 {
		n := copy(p, w.prefix)
		w.tr.feed(p[:n])
		if w.prefix = w.prefix[n:]; len(w.prefix) == 0 {
			w.prefix = nil
		}
		return n, nil
	}
	if w.tryRead != nil && w.wake.Load() == 1 && w.tr.atBoundary() && w.br.Buffered() == 0 && len(p) >= len(wakeFrame) {
		n, err := w.tryRead(p)
		if errors.Is(err, errWouldBlock) {
			if w.wake.CompareAndSwap(1, 0) {
				w.woken.Add(1)
				return copy(p, wakeFrame[:]), nil
			}
			// Another reader (a closing handshake) took the token: wait
			// like any read.
		} else {
			if n > 0 {
				w.tr.feed(p[:n])
			}
			return n, err
		}
	}
	n, err := w.Conn.Read(p)
	if n > 0 {
		w.tr.feed(p[:n])
	}
	return n, err
}

// pending reports whether bytes already read from the socket wait to be
// handled.
func (w *wireConn) pending() bool {
	return len(w.prefix) > 0 || w.br.Buffered() > 0
}
