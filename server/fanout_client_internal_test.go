package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
)

// serverFrame is a server's unmasked frame.
func serverFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var f []byte
	switch n := len(payload); {
	case n < 126:
		f = []byte{b0, byte(n)}
	case n < 1<<16:
		f = []byte{b0, 126, 0, 0}
		binary.BigEndian.PutUint16(f[2:], uint16(n))
	default:
		f = make([]byte, 10)
		f[0], f[1] = b0, 127
		binary.BigEndian.PutUint64(f[2:], uint64(n))
	}
	return append(f, payload...)
}

// TestMemberConnFeed: the fan-out benchmark's lean client gets every
// message whole and once whatever the reads cut (a byte at a time, or
// several frames at once), joins fragments, and answers pings with a
// masked pong of the same payload.
func TestMemberConnFeed(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 70000)
	var stream []byte
	stream = append(stream, serverFrame(true, 0x1, []byte(`{"type":"a"}`))...)
	stream = append(stream, serverFrame(true, 0x9, []byte("ping!"))...)
	stream = append(stream, serverFrame(false, 0x1, []byte(`{"type":`))...)
	stream = append(stream, serverFrame(true, 0x9, []byte("ping!"))...) // between fragments
	stream = append(stream, serverFrame(true, 0x0, []byte(`"b"}`))...)
	stream = append(stream, serverFrame(true, 0x1, bytes.Repeat([]byte("y"), 300))...)
	stream = append(stream, serverFrame(true, 0x1, long)...)
	want := [][]byte{[]byte(`{"type":"a"}`), []byte(`{"type":"b"}`), bytes.Repeat([]byte("y"), 300), long}
	for _, cut := range []int{1, 2, 3, 7, 100, 4096, len(stream)} {
		c := &memberConn{i: 7}
		var got [][]byte
		var pongs [][]byte
		for k := 0; k < len(stream); k += cut {
			chunk := append([]byte(nil), stream[k:min(k+cut, len(stream))]...)
			if !c.feed(chunk, func(i int, p []byte) {
				if i != 7 {
					t.Fatalf("member %d", i)
				}
				got = append(got, append([]byte(nil), p...))
			}, func(p []byte) { pongs = append(pongs, pongFrame(p)) }) {
				t.Fatalf("cut %d: feed gave up", cut)
			}
			clear(chunk) // feed must not keep the reader's buffer
		}
		if len(got) != len(want) {
			t.Fatalf("cut %d: %d messages, want %d", cut, len(got), len(want))
		}
		for k := range want {
			if !bytes.Equal(got[k], want[k]) {
				t.Fatalf("cut %d: message %d is %.40q", cut, k, got[k])
			}
		}
		if len(pongs) != 2 {
			t.Fatalf("cut %d: %d pongs, want 2", cut, len(pongs))
		}
		for _, p := range pongs {
			if p[0] != 0x8a || p[1] != 0x80|5 {
				t.Fatalf("cut %d: pong header %x", cut, p[:2])
			}
			for k := range 5 {
				p[6+k] ^= p[2+k%4]
			}
			if string(p[6:]) != "ping!" {
				t.Fatalf("cut %d: pong payload %q", cut, p[6:])
			}
		}
	}
	if (&memberConn{}).feed([]byte{0x81, 0x85, 1, 2, 3, 4, 'h', 'e', 'l', 'l', 'o'}, func(int, []byte) {}, func([]byte) {}) {
		t.Fatal("a masked frame from the server was taken")
	}
}

// TestMemberClientStaysConnected: members dialled by hand and read by
// memberReaders answer the server's pings (here every 50 ms), so the
// server keeps their streams, and get a direct message sent after many
// pings.
func TestMemberClientStaysConnected(t *testing.T) {
	srv := openServer(t, nil, func(c *Config) { c.StreamPingInterval = 50 * time.Millisecond })
	ctx := context.Background()
	a := srv.App
	var actors [2]*app.Actor
	var tokens [2]string
	for k, h := range []string{"ann", "bob"} {
		auth, err := a.Register(ctx, app.Registration{Handle: h, Password: "correct horse battery", Device: "test"})
		if err != nil {
			t.Fatal(err)
		}
		tokens[k] = auth.Token
		if actors[k], err = a.Authenticate(ctx, auth.Token); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Follow(ctx, actors[1], "ann", true); err != nil {
		t.Fatal(err)
	}
	conv, _, err := a.CreateDirect(ctx, actors[0], "bob")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := make(chan struct{}, 1)
	readers, err := newMemberReaders(2, func(i int, p []byte, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if i == 1 && bytes.Contains(p, []byte("after the pings")) {
			got <- struct{}{}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := dialMember(srv.Addr(), tokens[1], 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := readers.add(c); err != nil {
		c.nc.Close()
		t.Fatal(err)
	}
	defer readers.close()              // and c
	time.Sleep(500 * time.Millisecond) // about ten pings, each answered
	if n := srv.Hub.Devices(); n != 1 {
		t.Fatalf("%d devices connected after the pings, want 1", n)
	}
	if _, _, err := a.Send(ctx, actors[0], conv.ID, app.SendInput{ClientID: "p1", Text: "after the pings"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("the message did not arrive")
	}
}
