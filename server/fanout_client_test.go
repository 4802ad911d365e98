package server

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// The fan-out benchmark's members: 9,900 WebSocket clients in the same
// process as the server, on the same two CPUs. Read through the
// WebSocket library, one goroutine each, a delivery cost the benchmark
// ~12 µs of CPU (a goroutine woken by the netpoller, a read, a frame
// parse, and the read that finds nothing more and parks it) — 40 % of a
// message's CPU, more than the server's own work outside its write
// system call. Real members are other machines. So the members here are
// a lean client: the WebSocket handshake by hand (RFC 6455 §4.1), then
// on Linux every socket in a few epoll sets (fanout_poll_linux_test.go),
// one read per readiness, frames parsed in place (§5.2), pings answered.

// memberConn is one member's connection after the handshake.
type memberConn struct {
	i  int
	nc net.Conn
	// pend holds the bytes of a frame not complete yet; msg the
	// payloads of a fragmented message so far.
	pend, msg []byte
}

// dialMember opens member i's stream with token and reads its hello.
func dialMember(addr, token string, i int, timeout time.Duration) (*memberConn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(timeout))
	var key [16]byte
	rand.Read(key[:])
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/stream?since=now", nil)
	if err != nil {
		nc.Close()
		return nil, err
	}
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString(key[:]))
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Authorization", "Bearer "+token)
	if err := req.Write(nc); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReader(nc)
	res, err := http.ReadResponse(br, req)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		nc.Close()
		return nil, fmt.Errorf("stream: %s", res.Status)
	}
	c := &memberConn{i: i, nc: nc}
	// The hello, read whole before the socket goes to the poller; what
	// the reader holds past it is the start of the next frame.
	var hello []byte
	for hello == nil {
		var hdr [2]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			nc.Close()
			return nil, fmt.Errorf("hello: %w", err)
		}
		n := uint64(hdr[1] & 0x7f)
		switch n {
		case 126:
			var ext [2]byte
			_, err = io.ReadFull(br, ext[:])
			n = uint64(binary.BigEndian.Uint16(ext[:]))
		case 127:
			var ext [8]byte
			_, err = io.ReadFull(br, ext[:])
			n = binary.BigEndian.Uint64(ext[:])
		}
		if err != nil || n > 1<<20 {
			nc.Close()
			return nil, fmt.Errorf("hello: frame of %d bytes, %v", n, err)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			nc.Close()
			return nil, fmt.Errorf("hello: %w", err)
		}
		if hdr[0]&0x0f == 0x1 && hdr[0]&0x80 != 0 {
			hello = p
		}
	}
	if !containsHello(hello) {
		nc.Close()
		return nil, fmt.Errorf("hello: got %s", hello)
	}
	if k := br.Buffered(); k > 0 {
		c.pend = make([]byte, k)
		br.Read(c.pend)
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

func containsHello(p []byte) bool { return bytes.Contains(p, []byte(`"type":"hello"`)) }

// feed parses what a read returned (data, which may be a reader's
// scratch buffer), hands every whole text message to onMessage, answers
// pings through pong, and keeps an incomplete frame for the next read.
// It reports false when the server closed the stream or broke the
// protocol.
func (c *memberConn) feed(data []byte, onMessage func(i int, payload []byte), pong func(payload []byte)) bool {
	if len(c.pend) > 0 {
		c.pend = append(c.pend, data...)
		data = c.pend
	}
	for {
		if len(data) < 2 {
			break
		}
		b0, b1 := data[0], data[1]
		if b1&0x80 != 0 {
			return false // a server's frames are never masked
		}
		n, hdr := uint64(b1&0x7f), 2
		switch n {
		case 126:
			if len(data) < 4 {
				return c.keep(data)
			}
			n, hdr = uint64(binary.BigEndian.Uint16(data[2:4])), 4
		case 127:
			if len(data) < 10 {
				return c.keep(data)
			}
			n, hdr = binary.BigEndian.Uint64(data[2:10]), 10
		}
		if n > 1<<20 {
			return false
		}
		if uint64(len(data)-hdr) < n {
			break
		}
		payload := data[hdr : hdr+int(n)]
		data = data[hdr+int(n):]
		fin, op := b0&0x80 != 0, b0&0x0f
		switch op {
		case 0x0, 0x1, 0x2:
			if !fin || len(c.msg) > 0 {
				c.msg = append(c.msg, payload...)
				if !fin {
					continue
				}
				payload, c.msg = c.msg, c.msg[:0]
			}
			onMessage(c.i, payload)
		case 0x8:
			return false
		case 0x9:
			pong(payload)
		}
	}
	return c.keep(data)
}

// keep saves the start of an incomplete frame (copied: data may be a
// reader's buffer or pend itself).
func (c *memberConn) keep(data []byte) bool {
	if len(data) == 0 {
		c.pend = c.pend[:0]
		return true
	}
	c.pend = append(c.pend[:0:0], data...)
	return true
}

// pongFrame is a client's pong (masked, as every client frame must be)
// carrying payload: at most 125 bytes, as every control frame's (RFC 6455
// §5.5; longer is cut, which the server would refuse).
func pongFrame(payload []byte) []byte {
	payload = payload[:min(len(payload), 125)]
	f := make([]byte, 6+len(payload))
	f[0], f[1] = 0x8a, 0x80|byte(len(payload))
	rand.Read(f[2:6])
	for k, b := range payload {
		f[6+k] = b ^ f[2+k%4]
	}
	return f
}
