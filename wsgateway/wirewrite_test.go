//go:build linux

package wsgateway

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection, the server's
// wrapped in a wireConn that can write without waiting, as watch sets it
// up.
func tcpPair(t *testing.T) (*wireConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); srv.Close() })
	rc, err := srv.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	w := &wireConn{Conn: srv}
	w.tryWrite = func(b []byte) (int, error) { return tryWrite(rc, b) }
	return w, client
}

// TestPushesKeepOrder: a push to a client that does not read returns at
// once, whatever its size, and keeps what the socket did not take; no
// other push goes while it waits, and any later write (the writer's
// flush, or a plain write such as the library's close frame) sends it
// first, so the client reads every byte in the order written.
func TestPushesKeepOrder(t *testing.T) {
	w, client := tcpPair(t)
	// Far more than loopback socket buffers hold for a reader that does
	// not read: the first part is taken, the rest kept.
	frame := textFrame(bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz"), 16<<20/26))
	done := make(chan struct{})
	go func() {
		defer close(done)
		sent, backlog, err := w.pushFrame(frame)
		if !sent || !backlog || err != nil {
			t.Errorf("push of 16 MiB to a client that does not read: sent %v, backlog %v, %v", sent, backlog, err)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a push waited for the client")
	}
	if sent, _, _ := w.pushFrame(textFrame([]byte("next"))); sent {
		t.Fatal("a push went ahead of a backlog")
	}
	// The client reads everything: the plain write below sends the
	// backlog first, then its own bytes.
	tail := []byte{0x88, 0} // a close frame
	want := append(append([]byte(nil), frame...), tail...)
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(client, int64(len(want))))
		got <- b
	}()
	if _, err := w.Write(tail); err != nil {
		t.Fatal(err)
	}
	if w.backlogged() {
		t.Fatal("backlog left after a plain write")
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("client read %d bytes, not the %d written in order", len(b), len(want))
	}
	if sent, _, _ := w.pushFrame(textFrame([]byte("late"))); sent {
		t.Fatal("a push went after the close frame")
	}
}

// TestFlushWaitsUnderDeadline: the writer's flush of a backlog waits for
// the client like any write, and gives up at the write deadline (the
// stream then closes as a slow consumer).
func TestFlushWaitsUnderDeadline(t *testing.T) {
	w, _ := tcpPair(t)
	if _, backlog, _ := w.pushFrame(textFrame(make([]byte, 16<<20))); !backlog {
		t.Fatal("no backlog")
	}
	w.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	if err := w.flush(); err == nil || !w.backlogged() {
		t.Fatalf("flush to a client that does not read: %v, backlog %v", err, w.backlogged())
	}
}

// TestNoPushBehindAWaitingWrite: while another write waits for the
// client (the library's pong to a client that does not read), the
// fan-out does not write, which would put its frame inside that one or
// wait behind it.
func TestNoPushBehindAWaitingWrite(t *testing.T) {
	w, client := tcpPair(t)
	waiting := make(chan error, 1)
	go func() {
		_, err := w.Write(textFrame(make([]byte, 64<<20))) // far more than the socket buffers hold
		waiting <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var sent bool
		var err error
		done := make(chan struct{})
		go func() { // a push that waited would hang the test instead of failing it
			defer close(done)
			sent, _, err = w.pushFrame(textFrame([]byte("x")))
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a push waited behind a write")
		}
		if err != nil {
			t.Fatal(err)
		}
		if !sent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pushes still went while a write waited for the client")
		}
		time.Sleep(time.Millisecond)
	}
	client.Close() // the waiting write ends
	w.SetWriteDeadline(time.Now())
	<-waiting
}

// TestPushOnlyBetweenMessages: a push goes only where the library's own
// bytes so far end between two messages — not inside a frame written in
// parts, not between the frames of a fragmented message (a control frame
// inside one does not end it), not after the close frame — and what the
// client reads is a well-formed sequence of frames with every push whole.
func TestPushOnlyBetweenMessages(t *testing.T) {
	w, client := tcpPair(t)
	var want [][]byte // the payloads, in order, as frames
	lib := func(b []byte) {
		t.Helper()
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	push := func(what string, ok bool) {
		t.Helper()
		p := []byte("push " + what)
		sent, backlog, err := w.pushFrame(textFrame(p))
		if err != nil || backlog || sent != ok {
			t.Fatalf("%s: sent %v, backlog %v, %v; want sent %v", what, sent, backlog, err, ok)
		}
		if sent {
			want = append(want, p)
		}
	}
	push("first", true)
	big := textFrame(bytes.Repeat([]byte("L"), 70000)) // a 64-bit length
	lib(big[:1])
	push("inside a header", false)
	lib(big[1:5000])
	push("inside a payload", false)
	lib(big[5000:])
	want = append(want, big[10:])
	push("after a whole frame", true)
	lib([]byte{0x01, 3, 'o', 'n', 'e'}) // text, not final
	push("inside a fragmented message", false)
	lib([]byte{0x8a, 0}) // a pong inside it
	push("after a control frame inside it", false)
	lib([]byte{0x80, 3, 't', 'w', 'o'}) // the final continuation
	want = append(want, []byte("one"), []byte("two"))
	push("after the message", true)
	lib([]byte{0x88, 2, 0x03, 0xe8}) // close, 1000
	push("after the close frame", false)
	w.Close()

	all, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for len(all) > 0 {
		n, k := int(all[1]&0x7f), 2
		switch n {
		case 126:
			n, k = int(binary.BigEndian.Uint16(all[2:])), 4
		case 127:
			n, k = int(binary.BigEndian.Uint64(all[2:])), 10
		}
		if all[0]&0x0f < 8 { // data frames only
			frames = append(frames, all[k:k+n])
		}
		all = all[k+n:]
	}
	if len(frames) != len(want) {
		t.Fatalf("client read %d data frames, want %d", len(frames), len(want))
	}
	for i := range want {
		if !bytes.Equal(frames[i], want[i]) {
			t.Fatalf("frame %d: %.20q…, want %.20q…", i, frames[i], want[i])
		}
	}
}

// TestNoPushAfterAFailedWrite: a write of the library's that failed may
// have sent part of its frame; no push may follow it.
func TestNoPushAfterAFailedWrite(t *testing.T) {
	w, _ := tcpPair(t)
	w.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := w.Write(textFrame(make([]byte, 64<<20))); err == nil {
		t.Fatalf("64 MiB to a client that does not read: %d bytes, no error", n)
	}
	w.SetWriteDeadline(time.Time{})
	if sent, _, _ := w.pushFrame(textFrame([]byte("x"))); sent {
		t.Fatal("a push followed a frame that stopped partway")
	}
}
