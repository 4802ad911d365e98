//go:build linux

package wsgateway

import (
	"bytes"
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

// TestNonblockingWritesKeepOrder: in non-blocking mode a write to a
// client that does not read returns at once, whatever its size, and
// keeps what the socket did not take; any later write (the writer's
// flush, or a plain write such as the library's close frame) sends that
// first, so the client reads every byte in the order written.
func TestNonblockingWritesKeepOrder(t *testing.T) {
	w, client := tcpPair(t)
	// Far more than loopback socket buffers hold for a reader that
	// does not read: the first writes are taken, later ones kept.
	var want bytes.Buffer
	if !w.startNonblocking() {
		t.Fatal("a socket cannot be written without waiting")
	}
	for i := range 64 {
		chunk := bytes.Repeat([]byte{byte('a' + i%26)}, 256<<10)
		want.Write(chunk)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if n, err := w.Write(chunk); n != len(chunk) || err != nil {
				t.Errorf("non-blocking write: %d of %d, %v", n, len(chunk), err)
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a non-blocking write waited for the client")
		}
	}
	if !w.endNonblocking() {
		t.Fatal("16 MiB to a client that does not read left no backlog")
	}
	if w.startNonblocking() {
		t.Fatal("non-blocking mode began again over a backlog")
	}
	// The client reads everything: the plain write below sends the
	// backlog first, then its own bytes.
	tail := []byte("the close frame")
	want.Write(tail)
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(client, int64(want.Len())))
		got <- b
	}()
	if _, err := w.Write(tail); err != nil {
		t.Fatal(err)
	}
	if w.backlogged() {
		t.Fatal("backlog left after a plain write")
	}
	if b := <-got; !bytes.Equal(b, want.Bytes()) {
		t.Fatalf("client read %d bytes, not the %d written in order", len(b), want.Len())
	}
}

// TestFlushWaitsUnderDeadline: the writer's flush of a backlog waits for
// the client like any write, and gives up at the write deadline (the
// stream then closes as a slow consumer).
func TestFlushWaitsUnderDeadline(t *testing.T) {
	w, _ := tcpPair(t)
	w.startNonblocking()
	for range 64 {
		w.Write(make([]byte, 256<<10))
	}
	if !w.endNonblocking() {
		t.Fatal("no backlog")
	}
	w.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	if err := w.flush(); err == nil || !w.backlogged() {
		t.Fatalf("flush to a client that does not read: %v, backlog %v", err, w.backlogged())
	}
}

// TestNoNonblockingBehindAWaitingWrite: while another write waits for the
// client (the library's pong to a client that does not read), the
// fan-out does not start a write of its own, which would wait behind it
// for the library's write lock.
func TestNoNonblockingBehindAWaitingWrite(t *testing.T) {
	w, client := tcpPair(t)
	waiting := make(chan error, 1)
	go func() {
		_, err := w.Write(make([]byte, 64<<20)) // far more than the socket buffers hold
		waiting <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for w.startNonblocking() {
		w.endNonblocking()
		if time.Now().After(deadline) {
			t.Fatal("non-blocking mode began while a write waited for the client")
		}
		time.Sleep(time.Millisecond)
	}
	client.Close() // the waiting write ends
	w.SetWriteDeadline(time.Now())
	<-waiting
}
