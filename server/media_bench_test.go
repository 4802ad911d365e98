package server

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/internal/mediatest"
)

// BenchmarkUploadConcurrent uploads max-size files (25 MB) over HTTP from
// 50 clients at once and reports throughput and the peak Go heap while
// they run: uploads stream to disk, so the heap must not grow with the
// number or size of uploads.
//
//	go test -run '^$' -bench UploadConcurrent -benchtime 100x ./server
func BenchmarkUploadConcurrent(b *testing.B) {
	pdf := mediatest.PDF()
	b.Run("file-25MB", func(b *testing.B) {
		benchUploads(b, "file", append(pdf, make([]byte, 25<<20-len(pdf)-64<<10)...))
	})
	// About 8 MB of incompressible pixels: each upload is decoded whole
	// for its thumbnail, at most one per CPU at a time.
	b.Run("image-8MB", func(b *testing.B) { benchUploads(b, "image", mediatest.NoisePNG(1440, 1440)) })
}

func benchUploads(b *testing.B, kind string, file []byte) {
	const clients = 50
	srv := openServer(b, nil, func(c *Config) { c.App.Media.DailyBytes = 1 << 40 })
	ctx := context.Background()
	reg, err := srv.App.Register(ctx, app.Registration{Handle: "uploader", Password: "long enough password"})
	if err != nil {
		b.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("kind", kind)
	fw, _ := mw.CreateFormFile("file", "upload")
	fw.Write(file)
	mw.Close()
	payload, ctype := body.Bytes(), mw.FormDataContentType()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			for old := peak.Load(); ms.HeapInuse > old && !peak.CompareAndSwap(old, ms.HeapInuse); old = peak.Load() {
			}
		}
	}()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(int64(len(file)))
	b.ResetTimer()
	for range clients {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				req, _ := http.NewRequest("POST", srv.URL()+"/api/v1/media", bytes.NewReader(payload))
				req.Header.Set("Content-Type", ctype)
				req.Header.Set("Authorization", "Bearer "+reg.Token)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	close(stop)
	// The request bodies themselves (50 × 25 MB, held by the clients in
	// this process) are in base already; what the server adds is the
	// difference.
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(base.HeapInuse)/(1<<20), "base-heap-MiB")
}
