package app_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/channel"
	"github.com/parleyhq/parley/channel/messenger"
	"github.com/parleyhq/parley/sealed"
	"github.com/parleyhq/parley/store/sqlite"
)

// TestChannelSecretsFollowKeyRotation: a channel connected with the
// legacy key is resealed under the new data key by a rotation, key 1 is
// dropped, and the webhook and its handshake still work.
func TestChannelSecretsFollowKeyRotation(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "parley.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clock := &fakeClock{t: time.Date(2023, 11, 14, 22, 0, 0, 0, time.UTC)}
	raw := bytes.Repeat([]byte{7}, 32)
	ch := messenger.New(plainPoster, "http://127.0.0.1:9", "v21.0")
	legacy := app.New(db, app.Config{Password: cheap, EncryptionKey: raw}, app.WithClock(clock.Now), app.WithChannels(ch))
	s := &shop{t: t, a: legacy, clock: clock, ctx: ctx}
	s.biz = s.register("acme", "Acme", parley.KindBusiness)
	s.admin = s.actAs(s.biz, "acme")
	v := s.connect(parley.PlatformMessenger, pageID)
	stored := func() *parley.Channel {
		var c *parley.Channel
		if err := db.View(ctx, func(tx parley.Tx) error { c, err = tx.Channel(v.ID); return err }); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if !strings.HasPrefix(stored().AppSecret, "aesgcm1:") {
		t.Fatalf("legacy seal %q", stored().AppSecret)
	}

	master, _ := sealed.NewMasterKey(raw)
	k1, _ := sealed.NewDataKey(master, 1)
	if err := db.Update(ctx, func(tx parley.Tx) error {
		return tx.CreateDataKey(&parley.DataKey{ID: 1, Wrapped: k1.Wrapped, CreatedAt: clock.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	ring := ringFromStore(t, db, master)
	db.SetKeyring(ring)
	a := app.New(db, app.Config{Password: cheap, EncryptionKey: raw}, app.WithClock(clock.Now), app.WithKeyring(ring), app.WithChannels(ch))
	res, err := a.RotateDataKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Secrets != 1 || !res.Complete {
		t.Fatalf("rotation %+v", res)
	}
	c := stored()
	for _, v := range []string{c.AccessToken, c.AppSecret, c.VerifyToken} {
		if !strings.HasPrefix(v, sealed.TextKeyPrefix(2)) {
			t.Fatalf("secret after rotation %q", v)
		}
	}
	body := fixture(t, "messenger", "text.json")
	if n, err := a.ChannelWebhook(ctx, v.ID, body, channel.Sign(appSecret, body)); err != nil || n != 1 {
		t.Fatalf("webhook after rotation: %d %v", n, err)
	}
	if got, err := a.VerifyChannelWebhook(ctx, v.ID, "subscribe", "verify-me-please", "42"); err != nil || got != "42" {
		t.Fatalf("handshake after rotation: %q %v", got, err)
	}
}
