package server

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/internal/mediatest"
)

// TestBackupUnderWriteLoad takes a backup while senders write steadily
// and restores it into an empty data directory: the copy passes
// PRAGMA integrity_check, holds every message acknowledged before the
// snapshot began, its media and the signing key, and a server starts on it.
func TestBackupUnderWriteLoad(t *testing.T) {
	sqliteOnly(t) // PostgreSQL is backed up with its own tools
	s := openServer(t, nil)
	ctx := context.Background()
	reg := func(h string) *app.Actor {
		auth, err := s.App.Register(ctx, app.Registration{Handle: h, Password: "backup password"})
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.App.Authenticate(ctx, auth.Token)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	alice, bob := reg("alice"), reg("bob")
	if err := s.App.Follow(ctx, bob, "alice", true); err != nil {
		t.Fatal(err)
	}
	conv, _, err := s.App.CreateDirect(ctx, alice, "bob")
	if err != nil {
		t.Fatal(err)
	}
	up, err := s.App.Upload(ctx, alice, parley.MessageImage, bytes.NewReader(mediatest.PNG(64, 48)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.App.Send(ctx, alice, conv.ID, app.SendInput{Kind: parley.MessageImage, Attachments: []string{up.ID}}); err != nil {
		t.Fatal(err)
	}

	// Senders write steadily (a message each millisecond between them)
	// and note each acknowledged message with the time of its ack.
	type ack struct {
		id string
		at time.Time
	}
	var (
		mu    sync.Mutex
		acked []ack
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			who := []*app.Actor{alice, bob}[w%2]
			for i := 0; !stop.Load(); i++ {
				v, _, err := s.App.Send(ctx, who, conv.ID, app.SendInput{Text: "steady"})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, ack{v.ID, time.Now()})
				mu.Unlock()
				time.Sleep(4 * time.Millisecond)
			}
		}()
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	// However slow the machine, the backup starts under load and sends
	// go on after it.
	for deadline := time.Now().Add(time.Minute); count() < 100 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	dest := filepath.Join(t.TempDir(), "backup")
	began := time.Now()
	res, err := s.Backup(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	for after, deadline := count(), time.Now().Add(time.Minute); count() < after+50 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	var before []string
	mu.Lock()
	for _, a := range acked {
		if a.at.Before(began) {
			before = append(before, a.id)
		}
	}
	total := len(acked)
	mu.Unlock()
	t.Logf("%d sends acknowledged, %d before the snapshot began", total, len(before))
	if len(before) < 20 || total <= len(before) {
		t.Fatalf("%d messages acknowledged before the snapshot, %d in all: the load did not overlap the backup", len(before), total)
	}
	if res.MediaFiles < 2 { // the image and its thumbnail
		t.Fatalf("backup copied %d media files", res.MediaFiles)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	cfg := Defaults()
	cfg.DataDir = restored
	if _, err := Restore(ctx, cfg, dest); err != nil {
		t.Fatal(err)
	}
	if err := IntegrityCheck(ctx, filepath.Join(restored, "parley.db")); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, cfg, dest); err == nil {
		t.Fatal("restore into a data directory that is not empty succeeded")
	}
	orig, _ := os.ReadFile(filepath.Join(s.cfg.DataDir, RecordsKeyName))
	copied, _ := os.ReadFile(filepath.Join(restored, RecordsKeyName))
	if len(orig) == 0 || !bytes.Equal(orig, copied) {
		t.Fatal("the signing key was not restored")
	}

	r := openServer(t, nil, func(c *Config) { c.DataDir = restored })
	err = r.Store.View(ctx, func(tx parley.Tx) error {
		for _, id := range before {
			if _, err := tx.MessageByID(id); err != nil {
				t.Errorf("message %s, acknowledged before the snapshot: %v", id, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := r.App.OpenMedia(ctx, alice, up.ID, false)
	if err != nil {
		t.Fatalf("media after restore: %v", err)
	}
	f.Close()
}
