package wsgateway

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// clientFrame encodes a masked client frame.
func clientFrame(fin bool, opcode byte, payload []byte) []byte {
	b := []byte{opcode}
	if fin {
		b[0] |= 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, 0, 0)
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	default:
		b = append(b, 0x80|127, 0, 0, 0, 0, 0, 0, 0, 0)
		binary.BigEndian.PutUint64(b[2:], uint64(n))
	}
	b = append(b, 1, 2, 3, 4) // the key; the tracker never unmasks
	return append(b, payload...)
}

// The tracker is at a boundary exactly where a message (or a control
// frame outside a fragmented message) ends, however the stream is split.
func FuzzFrameTracker(f *testing.F) {
	f.Add(uint64(1), 5)
	f.Add(uint64(7), 40)
	f.Fuzz(func(t *testing.T, seed uint64, frames int) {
		r := rand.New(rand.NewPCG(seed, seed))
		frames = 1 + abs(frames)%60
		var stream []byte
		boundary := map[int]bool{0: true}
		fragmented := false
		for range frames {
			var fr []byte
			size := []int{0, 1, 125, 126, 300, 70000}[r.IntN(6)]
			switch k := r.IntN(4); {
			case k == 0: // a control frame: ping, pong or close
				fr = clientFrame(true, []byte{0x8, 0x9, 0xA}[r.IntN(3)], make([]byte, r.IntN(126)))
			case fragmented:
				fin := r.IntN(2) == 0
				fr = clientFrame(fin, 0x0, make([]byte, size))
				fragmented = !fin
			default:
				fin := r.IntN(2) == 0
				fr = clientFrame(fin, byte(1+r.IntN(2)), make([]byte, size))
				fragmented = !fin
			}
			stream = append(stream, fr...)
			boundary[len(stream)] = !fragmented
		}
		var tr frameTracker
		if !tr.atBoundary() {
			t.Fatal("a fresh tracker is not at a boundary")
		}
		for off := 0; off < len(stream); {
			n := min(len(stream)-off, 1+r.IntN(700))
			tr.feed(stream[off : off+n])
			off += n
			if got := tr.atBoundary(); got != boundary[off] {
				t.Fatalf("after %d of %d bytes: atBoundary %v, want %v", off, len(stream), got, boundary[off])
			}
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
