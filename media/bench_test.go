package media_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/parleyhq/parley/internal/mediatest"
	"github.com/parleyhq/parley/media"
)

// BenchmarkThumbnail reports the time to decode and scale an image, per
// megapixel of source (ms/Mpx), for JPEG and PNG photos of several sizes.
func BenchmarkThumbnail(b *testing.B) {
	for _, mpx := range []int{1, 4, 12} {
		w := 1000 * mpx / 1 // mpx × 1,000,000 = w × 1000
		for _, f := range []struct {
			name string
			enc  func(w, h int) []byte
		}{{"jpeg", mediatest.JPEG}, {"png", mediatest.PNG}} {
			data := f.enc(w, 1000)
			b.Run(fmt.Sprintf("%s/%dMpx", f.name, mpx), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					if _, err := media.Thumbnail(bytes.NewReader(data)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/float64(mpx), "ms/Mpx")
			})
		}
	}
}

// BenchmarkStripJPEG reports the metadata stripping rate of a 12 Mpx JPEG.
func BenchmarkStripJPEG(b *testing.B) {
	data := mediatest.JPEGWithGPS(4000, 3000, "GPS")
	b.SetBytes(int64(len(data)))
	var out bytes.Buffer
	for b.Loop() {
		out.Reset()
		if err := media.StripMetadata("image/jpeg", bytes.NewReader(data), int64(len(data)), &out); err != nil {
			b.Fatal(err)
		}
	}
}
