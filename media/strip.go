package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Strippable reports whether StripMetadata rewrites files of this type.
func Strippable(ct string) bool {
	switch ct {
	case "image/jpeg", "image/png", "image/webp":
		return true
	}
	return false
}

// StripMetadata copies an image from r to w without the metadata that can
// say where and by what it was taken: EXIF (GPS position, camera serial),
// XMP, IPTC and comments. Pixels are copied byte for byte, never
// re-encoded. A JPEG keeps its orientation in a minimal EXIF block of its
// own, so that it still shows the right way up.
func StripMetadata(ct string, r io.ReaderAt, size int64, w io.Writer) error {
	switch ct {
	case "image/jpeg":
		return stripJPEG(io.NewSectionReader(r, 0, size), w)
	case "image/png":
		return stripPNG(io.NewSectionReader(r, 0, size), w)
	case "image/webp":
		return stripWebP(r, size, w)
	}
	_, err := io.Copy(w, io.NewSectionReader(r, 0, size))
	return err
}

func stripJPEG(r io.Reader, w io.Writer) error {
	br := bufio.NewReader(r)
	var soi [2]byte
	if _, err := io.ReadFull(br, soi[:]); err != nil || soi != [2]byte{0xFF, 0xD8} {
		return ErrCorrupt
	}
	if _, err := w.Write(soi[:]); err != nil {
		return err
	}
	orientation := 0
	var kept [][]byte // segments, written once orientation is known
	for {
		b, err := br.ReadByte()
		if err != nil {
			return ErrCorrupt
		}
		if b != 0xFF {
			return ErrCorrupt
		}
		marker, err := br.ReadByte()
		for err == nil && marker == 0xFF { // fill bytes
			marker, err = br.ReadByte()
		}
		if err != nil {
			return ErrCorrupt
		}
		if marker == 0xD9 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) {
			kept = append(kept, []byte{0xFF, marker})
			if marker == 0xD9 {
				return writeJPEG(w, kept, orientation, nil)
			}
			continue
		}
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return ErrCorrupt
		}
		n := int(binary.BigEndian.Uint16(l[:]))
		if n < 2 {
			return ErrCorrupt
		}
		seg := make([]byte, 4+n-2)
		seg[0], seg[1], seg[2], seg[3] = 0xFF, marker, l[0], l[1]
		if _, err := io.ReadFull(br, seg[4:]); err != nil {
			return ErrCorrupt
		}
		switch marker {
		case 0xE1: // APP1: EXIF or XMP
			if o := exifOrientation(seg[4:]); o > 1 && orientation == 0 {
				orientation = o
			}
			continue
		case 0xED, 0xFE: // APP13 (Photoshop, IPTC), comment
			continue
		}
		kept = append(kept, seg)
		if marker == 0xDA { // start of scan: the rest is image data
			return writeJPEG(w, kept, orientation, br)
		}
	}
}

func writeJPEG(w io.Writer, segs [][]byte, orientation int, rest io.Reader) error {
	if orientation > 1 {
		// After APP0 (JFIF) if there is one, as readers expect.
		at := 0
		if len(segs) > 0 && len(segs[0]) > 1 && segs[0][1] == 0xE0 {
			at = 1
		}
		segs = append(segs[:at], append([][]byte{orientationSegment(orientation)}, segs[at:]...)...)
	}
	for _, s := range segs {
		if _, err := w.Write(s); err != nil {
			return err
		}
	}
	if rest != nil {
		if _, err := io.Copy(w, rest); err != nil {
			return err
		}
	}
	return nil
}

// exifOrientation reads tag 0x0112 from IFD0 of an APP1 EXIF payload.
func exifOrientation(p []byte) int {
	if len(p) < 14 || !bytes.Equal(p[:6], []byte("Exif\x00\x00")) {
		return 0
	}
	t := p[6:]
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	off64 := uint64(bo.Uint32(t[4:8]))
	if off64 < 8 || off64+2 > uint64(len(t)) {
		return 0
	}
	off := int(off64)
	n := int(bo.Uint16(t[off:]))
	for i := range n {
		e := off + 2 + i*12
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 {
			if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 0
		}
	}
	return 0
}

// orientationSegment is an APP1 EXIF block holding only the orientation.
func orientationSegment(o int) []byte {
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, // header, IFD0 at 8
		0, 1, // one entry
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(o), 0, 0, // orientation, SHORT, 1, value
		0, 0, 0, 0} // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

var pngSig = []byte("\x89PNG\r\n\x1a\n")

func stripPNG(r io.Reader, w io.Writer) error {
	br := bufio.NewReader(r)
	sig := make([]byte, 8)
	if _, err := io.ReadFull(br, sig); err != nil || !bytes.Equal(sig, pngSig) {
		return ErrCorrupt
	}
	if _, err := w.Write(sig); err != nil {
		return err
	}
	for {
		var h [8]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return ErrCorrupt
		}
		n := int64(binary.BigEndian.Uint32(h[:4]))
		typ := string(h[4:8])
		drop := false
		switch typ {
		case "eXIf", "tEXt", "zTXt", "iTXt", "tIME":
			drop = true
		}
		if drop {
			if _, err := io.CopyN(io.Discard, br, n+4); err != nil {
				return ErrCorrupt
			}
			continue
		}
		if _, err := w.Write(h[:]); err != nil {
			return err
		}
		if _, err := io.CopyN(w, br, n+4); err != nil { // data and CRC
			return ErrCorrupt
		}
		if typ == "IEND" {
			return nil
		}
	}
}

// stripWebP copies a WebP without its EXIF and XMP chunks. A first pass
// reads the chunk headers (bounded by the real file size, whatever they
// claim) to learn the new RIFF size; the second streams the kept chunks.
func stripWebP(r io.ReaderAt, size int64, w io.Writer) error {
	var hdr [12]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil || string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WEBP" {
		return ErrCorrupt
	}
	end := min(size, 8+int64(binary.LittleEndian.Uint32(hdr[4:8])))
	type chunk struct {
		off, n int64 // the header's offset; header and padded data length
		drop   bool
		vp8x   bool
	}
	var chunks []chunk
	outSize := int64(4) // "WEBP"
	for off := int64(12); off+8 <= end; {
		var ch [8]byte
		if _, err := r.ReadAt(ch[:], off); err != nil {
			return ErrCorrupt
		}
		n := int64(binary.LittleEndian.Uint32(ch[4:8]))
		n += n % 2
		if off+8+n > end || len(chunks) > 10000 {
			return ErrCorrupt
		}
		c := chunk{off: off, n: 8 + n, vp8x: string(ch[0:4]) == "VP8X"}
		switch string(ch[0:4]) {
		case "EXIF", "XMP ":
			c.drop = true
		default:
			outSize += c.n
		}
		chunks = append(chunks, c)
		off += c.n
	}
	if outSize > 0xFFFFFFFF {
		return ErrCorrupt
	}
	binary.LittleEndian.PutUint32(hdr[4:8], uint32(outSize))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	for _, c := range chunks {
		if c.drop {
			continue
		}
		if c.vp8x && c.n >= 9 {
			var head [9]byte
			if _, err := r.ReadAt(head[:], c.off); err != nil {
				return ErrCorrupt
			}
			head[8] &^= 0x08 | 0x04 // no EXIF, no XMP
			if _, err := w.Write(head[:]); err != nil {
				return err
			}
			if _, err := io.Copy(w, io.NewSectionReader(r, c.off+9, c.n-9)); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			continue
		}
		if _, err := io.Copy(w, io.NewSectionReader(r, c.off, c.n)); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	return nil
}
