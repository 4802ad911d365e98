// Package media inspects uploaded files: it decides their type from the
// content (magic bytes, and a real decoder for images), never from a name
// or a client's header; it reads dimensions, frame counts and durations
// from headers without decoding whole files, refuses pixel floods before
// any pixel is decoded, makes thumbnails, and strips location and other
// metadata from images. It holds no rules about who may upload what: the
// app decides limits and kinds, this package measures.
package media

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"strings"

	"github.com/gabriel-vasile/mimetype"

	// Image decoders registered for image.DecodeConfig and image.Decode.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/webp"
)

// Kind is what a file is, as messages use it.
type Kind string

// Kinds of media.
const (
	KindImage Kind = "image"
	KindGIF   Kind = "gif" // an animation shown as looping media
	KindVideo Kind = "video"
	KindAudio Kind = "audio"
	KindFile  Kind = "file"
)

// Info is what inspection found.
type Info struct {
	// ContentType is the detected type, without parameters.
	ContentType string
	// Family is the natural kind of the type: image, video, audio or file.
	Family Kind
	// Width and Height are set for images and GIFs (and 0 otherwise).
	Width, Height int
	// Frames counts the frames of a GIF (1 for other images).
	Frames int
	// Animated is true for GIFs with more than one frame and animated WebP.
	Animated bool
	// DurationMS is set for audio and video whose container says it
	// (WAV, MP4/MOV/M4A), and 0 when unknown.
	DurationMS int64
}

// Limits bound what Inspect accepts.
type Limits struct {
	// MaxPixels caps width × height of an image (and of a GIF's canvas).
	MaxPixels int64
	// MaxFrames caps the frames of a GIF.
	MaxFrames int
	// MaxImageBytes caps the size of an image file, checked before its
	// headers are walked.
	MaxImageBytes int64
}

// Errors of inspection. The app turns them into client errors.
var (
	ErrTooManyPixels = errors.New("too many pixels")
	ErrTooManyFrames = errors.New("too many frames")
	ErrCorrupt       = errors.New("the file is damaged or not what it claims to be")
	ErrImageTooLarge = errors.New("image file too large")
)

// sniffLen is how much of a file type detection reads.
const sniffLen = 3072

// Inspect reads the file behind r (size bytes) and describes it.
func Inspect(r io.ReaderAt, size int64, lim Limits) (*Info, error) {
	head := make([]byte, min(size, sniffLen))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read: %w", err)
	}
	ct := baseType(mimetype.Detect(head).String())
	info := &Info{ContentType: ct, Family: family(ct), Frames: 1}
	sr := io.NewSectionReader(r, 0, size)
	switch {
	case isImage(ct):
		if lim.MaxImageBytes > 0 && size > lim.MaxImageBytes {
			return info, ErrImageTooLarge
		}
		cfg, _, err := image.DecodeConfig(sr)
		if err != nil {
			return nil, ErrCorrupt
		}
		info.Width, info.Height = cfg.Width, cfg.Height
		if cfg.Width <= 0 || cfg.Height <= 0 {
			return nil, ErrCorrupt
		}
		if lim.MaxPixels > 0 && int64(cfg.Width)*int64(cfg.Height) > lim.MaxPixels {
			return info, ErrTooManyPixels
		}
		switch ct {
		case "image/gif":
			n, err := gifFrames(io.NewSectionReader(r, 0, size), lim.MaxFrames)
			if err != nil {
				return info, err
			}
			info.Frames, info.Animated = n, n > 1
		case "image/webp":
			info.Animated = webpAnimated(head)
		}
	case ct == "audio/wav":
		info.DurationMS = wavDuration(io.NewSectionReader(r, 0, size))
	case isMP4(ct):
		info.DurationMS = mp4Duration(io.NewSectionReader(r, 0, size), size)
	}
	return info, nil
}

func baseType(ct string) string {
	ct, _, _ = strings.Cut(ct, ";")
	return strings.TrimSpace(strings.ToLower(ct))
}

func isImage(ct string) bool {
	switch ct {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
		return true
	}
	return false
}

func isMP4(ct string) bool {
	switch ct {
	case "video/mp4", "video/quicktime", "audio/mp4", "audio/x-m4a", "video/x-m4v":
		return true
	}
	return false
}

func family(ct string) Kind {
	switch {
	case isImage(ct):
		return KindImage
	case strings.HasPrefix(ct, "video/"):
		return KindVideo
	case strings.HasPrefix(ct, "audio/"):
		return KindAudio
	}
	return KindFile
}

// HasThumbnail reports whether Thumbnail can read an image of this kind:
// every still image and the first frame of a GIF; not animated WebP, which
// Go's WebP decoder does not read.
func (i *Info) HasThumbnail() bool {
	return i.Family == KindImage && !(i.ContentType == "image/webp" && i.Animated)
}

// DecodeCost estimates the memory that decoding the image takes, in bytes,
// at its worst: progressive JPEGs keep coefficients for every component
// besides the pixels, 16-bit PNGs take 8 bytes a pixel.
func (i *Info) DecodeCost() int64 {
	px := int64(i.Width) * int64(i.Height)
	switch i.ContentType {
	case "image/jpeg":
		return px * 16
	case "image/png":
		return px * 8
	}
	return px * 5
}

// InlineSafe reports whether a browser may show the type inline: images
// that cannot carry script, audio and video. Everything else is served as
// an attachment.
func InlineSafe(ct string) bool {
	return isImage(ct) || strings.HasPrefix(ct, "audio/") || strings.HasPrefix(ct, "video/")
}

// webpAnimated reads the VP8X animation flag.
func webpAnimated(head []byte) bool {
	return len(head) >= 21 && bytes.Equal(head[12:16], []byte("VP8X")) && head[20]&0x02 != 0
}

// Extension returns a file name extension for a content type.
func Extension(ct string) string {
	if t := mimetype.Lookup(ct); t != nil {
		return t.Extension()
	}
	return ""
}
