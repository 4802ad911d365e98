package media

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
)

// ThumbSize is the longest side of a thumbnail.
const ThumbSize = 320

// Thumb is an encoded thumbnail.
type Thumb struct {
	Data          []byte
	ContentType   string
	Width, Height int
}

// Thumbnail decodes an image (the first frame of a GIF) and scales it to
// fit ThumbSize×ThumbSize, as JPEG, or PNG when it has transparency.
// Callers must have checked the pixel count with Inspect first: decoding
// holds the whole image in memory.
func Thumbnail(r io.Reader) (*Thumb, error) {
	src, _, err := image.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, ErrCorrupt
	}
	tw, th := w, h
	if w > ThumbSize || h > ThumbSize {
		if w >= h {
			tw, th = ThumbSize, max(1, h*ThumbSize/w)
		} else {
			tw, th = max(1, w*ThumbSize/h), ThumbSize
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th)) // x/image/draw has fast paths into RGBA
	// BiLinear widens its kernel with the scale factor, so a large
	// reduction averages the source instead of sampling it (no aliasing),
	// at a cost proportional to the source's pixels.
	draw.BiLinear.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	var buf bytes.Buffer
	t := &Thumb{Width: tw, Height: th}
	if dst.Opaque() {
		t.ContentType = "image/jpeg"
		err = jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 82})
	} else {
		t.ContentType = "image/png"
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, dst)
	}
	if err != nil {
		return nil, fmt.Errorf("encode thumbnail: %w", err)
	}
	t.Data = buf.Bytes()
	return t, nil
}
