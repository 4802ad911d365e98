package sealed

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// The stream format seals a large value (a media file) in fixed segments
// so that any byte range can be read by opening only the segments that
// hold it — what HTTP range requests and thumbnails need — without
// buffering the whole file. It is the STREAM construction (Hoang, Reyhanitabar,
// Rogaway, Vizár, "Online Authenticated-Encryption and its Nonce-Reuse
// Misuse-Resistance", 2015), as used by age and Tink:
//
//	header:  version (1 byte, 0x02) | data key id (4 bytes) | nonce prefix (7 random bytes)
//	segment: AES-256-GCM of up to 64 KiB of plaintext, tag appended
//	nonce of segment i: prefix (7) | i (4 bytes, big endian) | last (1 byte: 1 on the final segment, else 0)
//	additional data of every segment: the header, then the caller's associated data
//
// Every segment but the last holds exactly 64 KiB; the last holds 0 to
// 64 KiB (0 only when the whole value is empty). The final flag stops
// truncation at a segment boundary; the counter stops reordering; the
// header in the additional data stops moving segments between streams.

// StreamVersion is the first byte of a sealed stream.
const StreamVersion = versionStream

// SegmentSize is the plaintext size of every segment but the last.
const SegmentSize = 64 << 10

const (
	noncePrefixSize  = 7
	streamHeaderSize = headerSize + noncePrefixSize
	segmentOverhead  = tagSize
	maxSegments      = 1<<32 - 1
)

// SealedSize returns the size of the sealed stream of a plaintext of n bytes.
func SealedSize(n int64) int64 {
	segs := n / SegmentSize
	if n%SegmentSize != 0 || n == 0 {
		segs++
	}
	return streamHeaderSize + n + segs*segmentOverhead
}

// PlainSize returns the size of the plaintext in a sealed stream of n
// bytes, or an error when no stream has that size.
func PlainSize(n int64) (int64, error) {
	body := n - streamHeaderSize
	if body < segmentOverhead {
		return 0, ErrFormat
	}
	full := body / (SegmentSize + segmentOverhead)
	rest := body % (SegmentSize + segmentOverhead)
	switch {
	case rest == 0:
		return full * SegmentSize, nil
	case rest < segmentOverhead:
		return 0, ErrFormat
	default:
		return full*SegmentSize + rest - segmentOverhead, nil
	}
}

// streamNonce returns the nonce of segment i.
func streamNonce(prefix []byte, i uint32, last bool) []byte {
	n := make([]byte, nonceSize)
	copy(n, prefix)
	binary.BigEndian.PutUint32(n[noncePrefixSize:], i)
	if last {
		n[nonceSize-1] = 1
	}
	return n
}

// SealStream returns a writer that seals what is written to it into w
// under the current data key. Close writes the final segment and must be
// called; it does not close w.
func (r *Keyring) SealStream(w io.Writer, associatedData []byte) (io.WriteCloser, error) {
	id := r.Current()
	a, err := r.key(id)
	if err != nil {
		return nil, err
	}
	h := make([]byte, streamHeaderSize)
	h[0] = versionStream
	binary.BigEndian.PutUint32(h[1:5], id)
	if _, err := rand.Read(h[headerSize:]); err != nil {
		return nil, err
	}
	if _, err := w.Write(h); err != nil {
		return nil, err
	}
	return &streamWriter{w: w, aead: a, header: h, ad: ad(h, associatedData), buf: make([]byte, 0, SegmentSize)}, nil
}

type streamWriter struct {
	w      io.Writer
	aead   cipher.AEAD
	header []byte
	ad     []byte
	buf    []byte
	out    []byte
	i      uint32
	closed bool
}

func (s *streamWriter) Write(p []byte) (int, error) {
	if s.closed {
		return 0, errors.New("sealed: write after close")
	}
	n := 0
	for len(p) > 0 {
		// A full buffer is flushed only when more data follows, so the
		// final segment is always the one Close seals.
		if len(s.buf) == SegmentSize {
			if err := s.flush(false); err != nil {
				return n, err
			}
		}
		c := copy(s.buf[len(s.buf):SegmentSize], p)
		s.buf = s.buf[:len(s.buf)+c]
		p = p[c:]
		n += c
	}
	return n, nil
}

func (s *streamWriter) flush(last bool) error {
	if s.i == maxSegments {
		return errors.New("sealed: stream too long")
	}
	s.out = s.aead.Seal(s.out[:0], streamNonce(s.header[headerSize:], s.i, last), s.buf, s.ad)
	s.i++
	s.buf = s.buf[:0]
	_, err := s.w.Write(s.out)
	return err
}

func (s *streamWriter) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	return s.flush(true)
}

// OpenStream returns the plaintext of the sealed stream in src (size bytes
// long) as a ReaderAt over the plaintext, and the plaintext's size. Each
// read opens only the segments it touches; a segment that fails to open
// fails the read with ErrOpen.
func (r *Keyring) OpenStream(src io.ReaderAt, size int64, associatedData []byte) (*StreamReader, error) {
	plain, err := PlainSize(size)
	if err != nil {
		return nil, err
	}
	h := make([]byte, streamHeaderSize)
	if _, err := src.ReadAt(h, 0); err != nil {
		return nil, fmt.Errorf("sealed: read the stream header: %w", err)
	}
	if h[0] != versionStream {
		return nil, ErrFormat
	}
	a, err := r.key(binary.BigEndian.Uint32(h[1:5]))
	if err != nil {
		return nil, err
	}
	return &StreamReader{src: src, aead: a, header: h, ad: ad(h, associatedData), size: plain,
		segments: (plain + SegmentSize - 1) / SegmentSize}, nil
}

// StreamReader reads the plaintext of a sealed stream. Its ReadAt may be
// called concurrently; Read and Seek keep one position and may not.
type StreamReader struct {
	src      io.ReaderAt
	aead     cipher.AEAD
	header   []byte
	ad       []byte
	size     int64
	segments int64 // 0 for an empty stream, which still has one (empty) segment
	pos      int64

	// The last segment opened: sequential reads smaller than a segment
	// open each segment once.
	mu      sync.Mutex
	lastIdx int64
	lastPT  []byte
}

// Size returns the plaintext size.
func (s *StreamReader) Size() int64 { return s.size }

// segment returns the plaintext of segment i; callers must not change it.
func (s *StreamReader) segment(i int64) ([]byte, error) {
	s.mu.Lock()
	if s.lastPT != nil && s.lastIdx == i {
		pt := s.lastPT
		s.mu.Unlock()
		return pt, nil
	}
	s.mu.Unlock()
	pt, err := s.openSegment(i)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.lastIdx, s.lastPT = i, pt
	s.mu.Unlock()
	return pt, nil
}

// openSegment reads and opens segment i.
func (s *StreamReader) openSegment(i int64) ([]byte, error) {
	last := i == s.segments-1 || s.segments == 0
	plainLen := int64(SegmentSize)
	if last {
		plainLen = s.size - i*SegmentSize
	}
	ct := make([]byte, plainLen+segmentOverhead)
	off := streamHeaderSize + i*(SegmentSize+segmentOverhead)
	if n, err := s.src.ReadAt(ct, off); n < len(ct) {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, ErrOpen // shorter than its size said: cut
		}
		return nil, err
	}
	pt, err := s.aead.Open(ct[:0], streamNonce(s.header[headerSize:], uint32(i), last), ct, s.ad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// ReadAt implements io.ReaderAt over the plaintext.
func (s *StreamReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("sealed: negative offset")
	}
	if s.size == 0 {
		// The empty segment still authenticates the stream.
		if _, err := s.segment(0); err != nil {
			return 0, err
		}
	}
	n := 0
	for n < len(p) && off < s.size {
		i := off / SegmentSize
		pt, err := s.segment(i)
		if err != nil {
			return n, err
		}
		c := copy(p[n:], pt[off-i*SegmentSize:])
		n += c
		off += int64(c)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Read implements io.Reader.
func (s *StreamReader) Read(p []byte) (int, error) {
	if s.pos >= s.size {
		if s.size == 0 {
			if _, err := s.segment(0); err != nil {
				return 0, err
			}
		}
		return 0, io.EOF
	}
	if rest := s.size - s.pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := s.ReadAt(p, s.pos)
	s.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek implements io.Seeker, so http.ServeContent can answer range
// requests.
func (s *StreamReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.pos
	case io.SeekEnd:
		offset += s.size
	default:
		return 0, errors.New("sealed: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("sealed: negative position")
	}
	s.pos = offset
	return offset, nil
}
