// Package mediatest makes real media files for tests: images encoded by
// the standard library, a WebP, WAV, MP4 and Ogg containers, a PDF, a ZIP,
// and hostile files (a pixel-flood PNG header, an HTML page, an SVG with
// script, a JPEG carrying GPS coordinates).
package mediatest

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
)

func picture(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x * 255 / max(1, w)), uint8(y * 255 / max(1, h)), 128, 255})
		}
	}
	return img
}

// PNG returns a w×h PNG.
func PNG(w, h int) []byte {
	var b bytes.Buffer
	png.Encode(&b, picture(w, h))
	return b.Bytes()
}

// JPEG returns a w×h JPEG.
func JPEG(w, h int) []byte {
	var b bytes.Buffer
	jpeg.Encode(&b, picture(w, h), &jpeg.Options{Quality: 80})
	return b.Bytes()
}

// GIF returns a w×h GIF with frames frames.
func GIF(w, h, frames int) []byte {
	g := &gif.GIF{}
	for i := range frames {
		p := image.NewPaletted(image.Rect(0, 0, w, h), palette.Plan9)
		for y := range h {
			for x := range w {
				p.SetColorIndex(x, y, uint8((x+y+i)%256))
			}
		}
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, 5)
	}
	var b bytes.Buffer
	gif.EncodeAll(&b, g)
	return b.Bytes()
}

// WebP is a 1×1 lossless WebP.
func WebP() []byte {
	b, _ := base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
	return b
}

// PixelFlood is a valid PNG header claiming w×h pixels, followed by a
// tiny IDAT: a decoder that trusted it would allocate w×h×4 bytes.
func PixelFlood(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk(&b, "IHDR", ihdr)
	chunk(&b, "IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk(&b, "IEND", nil)
	return b.Bytes()
}

func chunk(b *bytes.Buffer, typ string, data []byte) {
	binary.Write(b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	binary.Write(b, binary.BigEndian, crc.Sum32())
}

// PNGWithText is a PNG carrying an eXIf chunk and a tEXt comment.
func PNGWithText(secret string) []byte {
	p := PNG(8, 8)
	var b bytes.Buffer
	b.Write(p[:33]) // signature and IHDR
	chunk(&b, "tEXt", []byte("Comment\x00"+secret))
	chunk(&b, "eXIf", []byte("MM\x00*"+secret))
	b.Write(p[33:])
	return b.Bytes()
}

// JPEGWithGPS is a w×h JPEG whose EXIF block holds an orientation (6:
// rotate 90°) and a GPS IFD with the marker text inside.
func JPEGWithGPS(w, h int, marker string) []byte {
	j := JPEG(w, h)
	// TIFF, big-endian: IFD0 with orientation and a GPS IFD pointer.
	var t bytes.Buffer
	t.WriteString("MM\x00\x2a\x00\x00\x00\x08")
	be := func(v any) { binary.Write(&t, binary.BigEndian, v) }
	be(uint16(2))
	be([]uint16{0x0112, 3}) // orientation, SHORT
	be(uint32(1))
	be([]uint16{6, 0})
	be([]uint16{0x8825, 4}) // GPS IFD pointer, LONG
	be(uint32(1))
	be(uint32(8 + 2 + 2*12 + 4)) // right after IFD0
	be(uint32(0))                // no next IFD
	// GPS IFD: one ASCII entry (GPSAreaInformation-like) pointing at text.
	be(uint16(1))
	be([]uint16{0x001c, 2})
	be(uint32(len(marker) + 1))
	be(uint32(8 + 2 + 2*12 + 4 + 2 + 12 + 4))
	be(uint32(0))
	t.WriteString(marker + "\x00")
	payload := append([]byte("Exif\x00\x00"), t.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, j[:2]...)
	out = append(out, seg...)
	// An XMP block and a comment, both to be dropped.
	xmp := append([]byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>"), []byte(marker+"</x:xmpmeta>")...)
	out = append(out, 0xFF, 0xE1, byte((len(xmp)+2)>>8), byte(len(xmp)+2))
	out = append(out, xmp...)
	com := []byte("comment " + marker)
	out = append(out, 0xFF, 0xFE, byte((len(com)+2)>>8), byte(len(com)+2))
	out = append(out, com...)
	return append(out, j[2:]...)
}

// WAV returns a mono 8 kHz 16-bit WAV of ms milliseconds.
func WAV(ms int) []byte {
	samples := 8000 * ms / 1000
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + samples*2))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1))        // PCM
	le(uint16(1))        // mono
	le(uint32(8000))     // sample rate
	le(uint32(8000 * 2)) // byte rate
	le(uint16(2))        // block align
	le(uint16(16))       // bits per sample
	b.WriteString("data")
	le(uint32(samples * 2))
	for i := range samples {
		le(int16((i % 64) * 512))
	}
	return b.Bytes()
}

// MP4 returns an ISO BMFF file with an ftyp box, an mdat of size bytes
// and a moov/mvhd saying the duration (moov last, as many encoders write).
func MP4(durationMS uint32, size int) []byte {
	var b bytes.Buffer
	box := func(typ string, payload []byte) []byte {
		out := make([]byte, 8, 8+len(payload))
		binary.BigEndian.PutUint32(out, uint32(8+len(payload)))
		copy(out[4:], typ)
		return append(out, payload...)
	}
	b.Write(box("ftyp", []byte("isom\x00\x00\x02\x00isomiso2avc1mp41")))
	mdat := make([]byte, size)
	for i := range mdat {
		mdat[i] = byte(i * 7)
	}
	b.Write(box("mdat", mdat))
	mvhd := make([]byte, 100)
	binary.BigEndian.PutUint32(mvhd[12:], 1000) // timescale
	binary.BigEndian.PutUint32(mvhd[16:], durationMS)
	b.Write(box("moov", box("mvhd", mvhd)))
	return b.Bytes()
}

// Ogg returns the first page of an Ogg Opus stream.
func Ogg() []byte {
	p := make([]byte, 28, 128)
	copy(p, "OggS")
	p[5] = 2 // beginning of stream
	p[26], p[27] = 1, 19
	p = append(p, []byte("OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00")...)
	return p
}

// PDF is a minimal PDF document.
func PDF() []byte {
	return []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
}

// ZIP is an archive with one text file.
func ZIP() []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	f, _ := z.Create("hello.txt")
	f.Write([]byte("hello from a zip"))
	z.Close()
	return b.Bytes()
}

// HTML is a web page, whatever name it is given.
func HTML() []byte {
	return []byte("<!DOCTYPE html><html><head><title>x</title></head><body><script>alert(document.cookie)</script></body></html>")
}

// SVG is an SVG image with a script inside.
func SVG() []byte {
	return []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>`)
}

// NoisePNG returns a w×h PNG of pseudo-random pixels, which does not
// compress: its size is about w×h×4 bytes.
func NoisePNG(w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	x := uint32(2463534242)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = byte(x)
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func riffChunk(b *bytes.Buffer, typ string, data []byte) {
	b.WriteString(typ)
	binary.Write(b, binary.LittleEndian, uint32(len(data)))
	b.Write(data)
	if len(data)%2 == 1 {
		b.WriteByte(0)
	}
}

func webpFile(chunks func(*bytes.Buffer)) []byte {
	var body bytes.Buffer
	body.WriteString("WEBP")
	chunks(&body)
	var out bytes.Buffer
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(body.Len()))
	out.Write(body.Bytes())
	return out.Bytes()
}

func vp8x(flags byte, w, h int) []byte {
	d := make([]byte, 10)
	d[0] = flags
	d[4], d[5], d[6] = byte(w-1), byte((w-1)>>8), byte((w-1)>>16)
	d[7], d[8], d[9] = byte(h-1), byte((h-1)>>8), byte((h-1)>>16)
	return d
}

// WebPWithEXIF is the 1×1 WebP in an extended file that carries an EXIF
// chunk holding secret.
func WebPWithEXIF(secret string) []byte {
	plain := WebP()
	vp8l := plain[20:] // the VP8L chunk's data, after RIFF, WEBP and its header
	return webpFile(func(b *bytes.Buffer) {
		riffChunk(b, "VP8X", vp8x(0x08, 1, 1))
		riffChunk(b, "VP8L", vp8l)
		riffChunk(b, "EXIF", []byte("MM\x00*"+secret))
	})
}

// AnimatedWebP is a w×h animated WebP header (VP8X with the animation
// flag, ANIM, and one frame chunk). Go's WebP decoder reads its size but
// cannot decode its frames.
func AnimatedWebP(w, h int) []byte {
	return webpFile(func(b *bytes.Buffer) {
		riffChunk(b, "VP8X", vp8x(0x02, w, h))
		riffChunk(b, "ANIM", []byte{0, 0, 0, 0, 0, 0})
		riffChunk(b, "ANMF", make([]byte, 24))
	})
}
