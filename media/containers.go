package media

import (
	"bufio"
	"encoding/binary"
	"io"
)

// gifFrames counts the frames of a GIF by walking its blocks, without
// decoding a pixel; more than max (when max > 0) is ErrTooManyFrames.
func gifFrames(r io.Reader, max int) (int, error) {
	br := &byteReader{r: bufio.NewReaderSize(r, 64<<10)} // the walk reads a byte at a time
	hdr := br.next(13)                                   // signature, version, logical screen descriptor
	if br.err != nil {
		return 0, ErrCorrupt
	}
	if hdr[10]&0x80 != 0 {
		br.skip(3 << ((hdr[10] & 7) + 1))
	}
	frames := 0
	for br.err == nil {
		switch b := br.byte(); b {
		case 0x21: // extension: label, then sub-blocks
			br.byte()
			br.subBlocks()
		case 0x2C: // image descriptor
			frames++
			if max > 0 && frames > max {
				return frames, ErrTooManyFrames
			}
			d := br.next(9)
			if br.err != nil {
				return 0, ErrCorrupt
			}
			if d[8]&0x80 != 0 {
				br.skip(3 << ((d[8] & 7) + 1))
			}
			br.byte() // LZW minimum code size
			br.subBlocks()
		case 0x3B: // trailer
			return frames, nil
		default:
			if br.err == nil {
				return 0, ErrCorrupt
			}
		}
	}
	if frames == 0 {
		return 0, ErrCorrupt
	}
	return frames, nil // a truncated file with frames: decoders show what is there
}

type byteReader struct {
	r   io.Reader
	buf [256]byte
	err error
}

func (b *byteReader) next(n int) []byte {
	if b.err != nil {
		return nil
	}
	_, b.err = io.ReadFull(b.r, b.buf[:n])
	return b.buf[:n]
}

func (b *byteReader) byte() byte {
	if p := b.next(1); p != nil {
		return p[0]
	}
	return 0
}

func (b *byteReader) skip(n int) {
	for n > 0 && b.err == nil {
		k := min(n, len(b.buf))
		b.next(k)
		n -= k
	}
}

func (b *byteReader) subBlocks() {
	for b.err == nil {
		n := int(b.byte())
		if n == 0 {
			return
		}
		b.skip(n)
	}
}

// wavDuration reads a RIFF/WAVE header: the data chunk's size over the
// byte rate. 0 when the header does not say.
func wavDuration(r io.ReadSeeker) int64 {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return 0
	}
	var byteRate uint32
	for range 64 { // chunks before data are few
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return 0
		}
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch string(ch[0:4]) {
		case "fmt ":
			var f [16]byte
			if size < 16 {
				return 0
			}
			if _, err := io.ReadFull(r, f[:]); err != nil {
				return 0
			}
			byteRate = binary.LittleEndian.Uint32(f[8:12])
			size -= 16
		case "data":
			if byteRate == 0 {
				return 0
			}
			return size * 1000 / int64(byteRate)
		}
		if _, err := r.Seek(size+size%2, io.SeekCurrent); err != nil {
			return 0
		}
	}
	return 0
}

// mp4Duration finds moov/mvhd in an ISO BMFF file (MP4, MOV, M4A) and
// returns its duration. 0 when it is not found.
func mp4Duration(r io.ReadSeeker, size int64) int64 {
	moov, moovSize, ok := findBox(r, 0, size, "moov")
	if !ok {
		return 0
	}
	mvhd, mvhdSize, ok := findBox(r, moov, moov+moovSize, "mvhd")
	if !ok || mvhdSize < 32 {
		return 0
	}
	if _, err := r.Seek(mvhd, io.SeekStart); err != nil {
		return 0
	}
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0
	}
	var timescale, duration uint64
	if b[0] == 1 { // version 1: 64-bit times
		timescale = uint64(binary.BigEndian.Uint32(b[20:24]))
		duration = binary.BigEndian.Uint64(b[24:32])
	} else {
		timescale = uint64(binary.BigEndian.Uint32(b[12:16]))
		duration = uint64(binary.BigEndian.Uint32(b[16:20]))
	}
	if timescale == 0 || duration == ^uint64(0) || duration == 0xFFFFFFFF {
		return 0
	}
	return int64(duration * 1000 / timescale)
}

// findBox returns the payload offset and size of the first box of type
// typ between start and end.
func findBox(r io.ReadSeeker, start, end int64, typ string) (int64, int64, bool) {
	off := start
	for n := 0; off+8 <= end && n < 1024; n++ {
		if _, err := r.Seek(off, io.SeekStart); err != nil {
			return 0, 0, false
		}
		var h [16]byte
		if _, err := io.ReadFull(r, h[:8]); err != nil {
			return 0, 0, false
		}
		size, hdr := int64(binary.BigEndian.Uint32(h[0:4])), int64(8)
		switch size {
		case 0: // to the end
			size = end - off
		case 1: // 64-bit size follows
			if _, err := io.ReadFull(r, h[8:16]); err != nil {
				return 0, 0, false
			}
			size, hdr = int64(binary.BigEndian.Uint64(h[8:16])), 16
		}
		if size < hdr || off+size > end {
			return 0, 0, false
		}
		if string(h[4:8]) == typ {
			return off + hdr, size - hdr, true
		}
		off += size
	}
	return 0, 0, false
}
