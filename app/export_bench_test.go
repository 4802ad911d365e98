package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/records"
	"github.com/parleyhq/parley/store/sqlite"
)

// benchConversation returns an app on a fresh SQLite store, with one
// direct conversation of n text messages (every 10th edited once).
func benchConversation(b *testing.B, n int) (*App, *parley.ExportJob) {
	b.Helper()
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "parley.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	a := New(db, Config{Password: PasswordParams{Time: 1, MemoryK: 1024, Threads: 1}, SendPerConversation: 1e9, SendBurst: 1e9,
		Records: RecordsConfig{Dir: b.TempDir(), Key: key}})
	ctx := context.Background()
	reg := func(h string) *Actor {
		auth, err := a.Register(ctx, Registration{Handle: h, Password: "benchmark password"})
		if err != nil {
			b.Fatal(err)
		}
		actor, err := a.Authenticate(ctx, auth.Token)
		if err != nil {
			b.Fatal(err)
		}
		return actor
	}
	alice, bob := reg("alice"), reg("bob")
	if err := a.Follow(ctx, bob, "alice", true); err != nil {
		b.Fatal(err)
	}
	conv, _, err := a.CreateDirect(ctx, alice, "bob")
	if err != nil {
		b.Fatal(err)
	}
	// Concurrent senders share commits, so the fixture builds quickly.
	errc := make(chan error, 16)
	for w := range 16 {
		go func() {
			for i := w; i < n; i += 16 {
				v, _, err := a.Send(ctx, alice, conv.ID, SendInput{Text: fmt.Sprintf("message %d: an ordinary line of conversation text", i)})
				if err == nil && i%10 == 0 {
					_, err = a.Edit(ctx, alice, conv.ID, v.ID, fmt.Sprintf("message %d, edited", i))
				}
				if err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for range 16 {
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
	return a, &parley.ExportJob{ID: "bench", OwnerID: alice.User.ID, Scope: parley.ExportConversation, ConversationID: conv.ID,
		State: parley.ExportRunning, CreatedAt: time.Now()}
}

// BenchmarkExport measures building a signed export ZIP of a 10,000-message
// conversation (chain, JSON, HTML transcript, manifest) from the store.
func BenchmarkExport(b *testing.B) {
	const n = 10000
	a, job := benchConversation(b, n)
	ctx := context.Background()
	if err := a.update(ctx, func(w *writer) error { return w.CreateExportJob(job) }); err != nil {
		b.Fatal(err)
	}
	var size int64
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		cw := &countWriter{}
		if err := a.writeExport(ctx, job, cw); err != nil {
			b.Fatal(err)
		}
		size = cw.n
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64(size), "zip-bytes")
}

// BenchmarkVerify measures records.Verify on that export: manifest
// signature, every file's hash, the chain and every message's content.
func BenchmarkVerify(b *testing.B) {
	const n = 10000
	a, job := benchConversation(b, n)
	ctx := context.Background()
	if err := a.update(ctx, func(w *writer) error { return w.CreateExportJob(job) }); err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := a.writeExport(ctx, job, &buf); err != nil {
		b.Fatal(err)
	}
	zipBytes := buf.Bytes()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		rep, err := records.Verify(bytes.NewReader(zipBytes), int64(len(zipBytes)), records.Options{TrustedKey: a.RecordsKey()})
		if err != nil || !rep.OK {
			b.Fatalf("verify: %v %+v", err, rep)
		}
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "msgs/s")
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
