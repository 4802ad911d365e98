package media_test

import (
	"bytes"
	"errors"
	"image"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/mediatest"
	"github.com/parleyhq/parley/media"
)

var limits = media.Limits{MaxPixels: 40_000_000, MaxFrames: 100}

func inspect(t *testing.T, b []byte) (*media.Info, error) {
	t.Helper()
	return media.Inspect(bytes.NewReader(b), int64(len(b)), limits)
}

// TestInspectDetectsFromContent: the type comes from the bytes, with
// dimensions, frames and durations from the headers.
func TestInspectDetectsFromContent(t *testing.T) {
	cases := []struct {
		name   string
		data   []byte
		ct     string
		family media.Kind
		w, h   int
		frames int
		anim   bool
		dur    int64
	}{
		{"png", mediatest.PNG(640, 480), "image/png", media.KindImage, 640, 480, 1, false, 0},
		{"jpeg", mediatest.JPEG(300, 200), "image/jpeg", media.KindImage, 300, 200, 1, false, 0},
		{"gif", mediatest.GIF(40, 30, 5), "image/gif", media.KindImage, 40, 30, 5, true, 0},
		{"still gif", mediatest.GIF(40, 30, 1), "image/gif", media.KindImage, 40, 30, 1, false, 0},
		{"webp", mediatest.WebP(), "image/webp", media.KindImage, 1, 1, 1, false, 0},
		{"wav", mediatest.WAV(1500), "audio/wav", media.KindAudio, 0, 0, 1, false, 1500},
		{"mp4", mediatest.MP4(61234, 4096), "video/mp4", media.KindVideo, 0, 0, 1, false, 61234},
		{"ogg", mediatest.Ogg(), "audio/ogg", media.KindAudio, 0, 0, 1, false, 0},
		{"pdf", mediatest.PDF(), "application/pdf", media.KindFile, 0, 0, 1, false, 0},
		{"zip", mediatest.ZIP(), "application/zip", media.KindFile, 0, 0, 1, false, 0},
		{"html", mediatest.HTML(), "text/html", media.KindFile, 0, 0, 1, false, 0},
		{"svg", mediatest.SVG(), "image/svg+xml", media.KindFile, 0, 0, 1, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info, err := inspect(t, c.data)
			if err != nil {
				t.Fatal(err)
			}
			if info.ContentType != c.ct || info.Family != c.family || info.Width != c.w || info.Height != c.h ||
				info.Frames != c.frames || info.Animated != c.anim || info.DurationMS != c.dur {
				t.Errorf("got %+v", info)
			}
		})
	}
}

// TestInspectRefusesFloods: a PNG header claiming 50,000×50,000 pixels is
// refused from its header, and a GIF with too many frames from its blocks,
// before anything is decoded.
func TestInspectRefusesFloods(t *testing.T) {
	if _, err := inspect(t, mediatest.PixelFlood(50000, 50000)); !errors.Is(err, media.ErrTooManyPixels) {
		t.Errorf("pixel flood: %v", err)
	}
	if _, err := inspect(t, mediatest.GIF(4, 4, 101)); !errors.Is(err, media.ErrTooManyFrames) {
		t.Errorf("frame flood: %v", err)
	}
	// Damaged images are refused, not guessed at.
	png := mediatest.PNG(10, 10)
	if _, err := inspect(t, png[:20]); !errors.Is(err, media.ErrCorrupt) {
		t.Errorf("truncated png: %v", err)
	}
}

// TestThumbnail scales to fit ThumbSize and keeps the aspect ratio.
func TestThumbnail(t *testing.T) {
	for _, c := range []struct {
		data         []byte
		w, h, tw, th int
	}{
		{mediatest.PNG(1280, 640), 1280, 640, 320, 160},
		{mediatest.JPEG(200, 900), 200, 900, 71, 320},
		{mediatest.GIF(100, 50, 3), 100, 50, 100, 50},
	} {
		th, err := media.Thumbnail(bytes.NewReader(c.data))
		if err != nil {
			t.Fatal(err)
		}
		if th.Width != c.tw || th.Height != c.th {
			t.Errorf("%d×%d → %d×%d, want %d×%d", c.w, c.h, th.Width, th.Height, c.tw, c.th)
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(th.Data))
		if err != nil || cfg.Width != c.tw || cfg.Height != c.th {
			t.Errorf("thumbnail does not decode to its size: %v %+v", err, cfg)
		}
	}
}

// TestStripJPEG: EXIF (with its GPS block), XMP and comments go; the
// orientation stays; the pixels are untouched.
func TestStripJPEG(t *testing.T) {
	in := mediatest.JPEGWithGPS(64, 48, "GPS-SECRET-51.5N")
	var out bytes.Buffer
	if err := media.StripMetadata("image/jpeg", bytes.NewReader(in), int64(len(in)), &out); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out.Bytes(), []byte("GPS-SECRET")) {
		t.Fatal("the GPS marker survived stripping")
	}
	if !bytes.Contains(in, []byte("GPS-SECRET")) {
		t.Fatal("the fixture has no marker to strip")
	}
	img, _, err := image.Decode(bytes.NewReader(out.Bytes()))
	if err != nil || img.Bounds().Dx() != 64 {
		t.Fatalf("stripped JPEG does not decode: %v", err)
	}
	// The scan data is copied byte for byte.
	plain := mediatest.JPEG(64, 48)
	if !bytes.HasSuffix(out.Bytes(), plain[len(plain)-200:]) {
		t.Error("image data changed")
	}
	// Orientation 6 is kept in a minimal EXIF block.
	if !bytes.Contains(out.Bytes(), []byte("Exif\x00\x00MM\x00\x2a")) || !bytes.Contains(out.Bytes(), []byte{0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6}) {
		t.Error("orientation was lost")
	}
}

// TestStripPNGAndWebP drops text and EXIF chunks and keeps a decodable file.
func TestStripPNGAndWebP(t *testing.T) {
	in := mediatest.PNGWithText("SECRET-PLACE")
	var out bytes.Buffer
	if err := media.StripMetadata("image/png", bytes.NewReader(in), int64(len(in)), &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "SECRET-PLACE") {
		t.Error("PNG text survived")
	}
	if _, _, err := image.Decode(bytes.NewReader(out.Bytes())); err != nil {
		t.Errorf("stripped PNG: %v", err)
	}
	out.Reset()
	if err := media.StripMetadata("image/webp", bytes.NewReader(mediatest.WebP()), int64(len(mediatest.WebP())), &out); err != nil {
		t.Fatal(err)
	}
	if _, _, err := image.Decode(bytes.NewReader(out.Bytes())); err != nil {
		t.Errorf("stripped WebP: %v", err)
	}
}

// FuzzInspect: no input panics or hangs the inspector or the stripper.
func FuzzInspect(f *testing.F) {
	for _, b := range [][]byte{mediatest.PNG(3, 3), mediatest.JPEGWithGPS(8, 8, "x"), mediatest.GIF(3, 3, 2),
		mediatest.WebP(), mediatest.WAV(10), mediatest.MP4(10, 10), mediatest.PixelFlood(9, 9)} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := media.Inspect(bytes.NewReader(b), int64(len(b)), media.Limits{MaxPixels: 1 << 16, MaxFrames: 50})
		if err == nil && media.Strippable(info.ContentType) {
			media.StripMetadata(info.ContentType, bytes.NewReader(b), int64(len(b)), &bytes.Buffer{})
		}
	})
}

// TestWebPExtended: an EXIF chunk is stripped from a WebP that still
// decodes; an animated WebP is recognized, and has no thumbnail.
func TestWebPExtended(t *testing.T) {
	in := mediatest.WebPWithEXIF("SECRET-SPOT")
	info, err := inspect(t, in)
	if err != nil || info.ContentType != "image/webp" || info.Width != 1 {
		t.Fatalf("extended webp: %+v %v", info, err)
	}
	var out bytes.Buffer
	if err := media.StripMetadata("image/webp", bytes.NewReader(in), int64(len(in)), &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "SECRET-SPOT") || out.Bytes()[20]&0x08 != 0 {
		t.Fatal("EXIF survived, or its flag did")
	}
	if _, _, err := image.Decode(bytes.NewReader(out.Bytes())); err != nil {
		t.Fatalf("stripped webp does not decode: %v", err)
	}
	anim, err := inspect(t, mediatest.AnimatedWebP(300, 200))
	if err != nil || !anim.Animated || anim.Width != 300 || anim.Height != 200 || anim.HasThumbnail() {
		t.Fatalf("animated webp: %+v %v", anim, err)
	}
	// A WebP whose chunk sizes lie is refused, not trusted.
	liar := mediatest.WebPWithEXIF("x")
	liar[16] = 0xFF // the VP8X chunk claims far more than the file holds
	if err := media.StripMetadata("image/webp", bytes.NewReader(liar), int64(len(liar)), &bytes.Buffer{}); err == nil {
		t.Fatal("a lying chunk size was accepted")
	}
}

// TestImageSizeCheckedFirst: an image over the byte limit is refused
// before its headers are walked.
func TestImageSizeCheckedFirst(t *testing.T) {
	g := mediatest.GIF(8, 8, 50)
	_, err := media.Inspect(bytes.NewReader(g), int64(len(g)), media.Limits{MaxImageBytes: int64(len(g)) - 1})
	if !errors.Is(err, media.ErrImageTooLarge) {
		t.Fatalf("got %v", err)
	}
}
