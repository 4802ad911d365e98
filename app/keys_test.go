package app_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/sealed"
	"github.com/parleyhq/parley/sealed/sealedtest"
	"github.com/parleyhq/parley/store/sqlite"
)

// ringFromStore builds the keyring from the data keys in db, as the server
// does at start.
func ringFromStore(t *testing.T, db parley.Store, m *sealed.MasterKey) *sealed.Keyring {
	t.Helper()
	var wrapped []sealed.WrappedKey
	db.View(context.Background(), func(tx parley.Tx) error {
		keys, err := tx.DataKeys()
		for _, k := range keys {
			wrapped = append(wrapped, sealed.WrappedKey{ID: uint32(k.ID), Wrapped: k.Wrapped})
		}
		return err
	})
	r, err := sealed.NewKeyring(m, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestKeysAndSecondFactor: a TOTP secret sealed with the master key itself
// (before data keys) keeps opening; rotation moves it under the new data
// key; a new master key (rewrap) keeps logins working, in the running app
// and after a restart with the new key only.
func TestKeysAndSecondFactor(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "parley.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clock := &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	raw := bytes.Repeat([]byte{7}, 32)
	legacy := app.New(db, app.Config{Password: cheap, EncryptionKey: raw}, app.WithClock(clock.Now))
	s := &shop{t: t, a: legacy, clock: clock, ctx: ctx}
	ann := s.register("ann", "Ann", parley.KindPerson)
	secret, _ := enroll(t, s, ann)
	stored := func() string {
		var out string
		db.View(ctx, func(tx parley.Tx) error {
			tf, err := tx.TwoFactor(ann.User.ID)
			if err == nil {
				out = tf.Secret
			}
			return err
		})
		return out
	}
	if !strings.HasPrefix(stored(), "aesgcm1:") {
		t.Fatalf("legacy secret %q", stored())
	}
	login := func(a *app.App) {
		t.Helper()
		clock.Advance(30 * time.Second)
		auth, err := a.Login(ctx, "ann", "correct horse battery", "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.CompleteLogin(ctx, auth.SecondFactor.Challenge, code(t, secret, clock.Now()), ""); err != nil {
			t.Fatalf("login: %v", err)
		}
	}

	// Data keys turned on: key 1 in the database, as the server makes it.
	master, _ := sealed.NewMasterKey(raw)
	k1, _ := sealed.NewDataKey(master, 1)
	if err := db.Update(ctx, func(tx parley.Tx) error {
		return tx.CreateDataKey(&parley.DataKey{ID: 1, Wrapped: k1.Wrapped, CreatedAt: clock.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	ring := ringFromStore(t, db, master)
	db.SetKeyring(ring)
	a := app.New(db, app.Config{Password: cheap, EncryptionKey: raw}, app.WithClock(clock.Now), app.WithKeyring(ring))
	login(a)

	res, err := a.RotateDataKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.NewKey != 2 || res.Secrets != 1 || !res.Complete {
		t.Fatalf("rotation %+v", res)
	}
	if !strings.HasPrefix(stored(), sealed.TextKeyPrefix(2)) || strings.Contains(stored(), secret) {
		t.Fatalf("secret after rotation %q", stored())
	}
	login(a)
	st, err := a.KeyStatus(ctx)
	if err != nil || st.Current != 2 || len(st.Keys) != 1 {
		t.Fatalf("status %+v %v", st, err)
	}

	newMaster, newText, _ := sealed.GenerateMasterKey()
	if n, err := a.RewrapDataKeys(ctx, newMaster); err != nil || n != 1 {
		t.Fatalf("rewrap %d %v", n, err)
	}
	login(a)
	// A restart with the new key only.
	newRaw, _ := sealed.ParseMasterKey(newText)
	ring2 := ringFromStore(t, db, newRaw)
	db.SetKeyring(ring2)
	b := app.New(db, app.Config{Password: cheap}, app.WithClock(clock.Now), app.WithKeyring(ring2))
	login(b)

	// Without encryption configured, key commands say how to turn it on.
	c := app.New(db, app.Config{Password: cheap}, app.WithClock(clock.Now))
	if _, err := c.RotateDataKey(ctx); parley.ErrorCode(err) != parley.EInvalid || !strings.Contains(err.Error(), "PARLEY_ENCRYPTION_KEY") {
		t.Fatalf("rotate without a key: %v", err)
	}
}

// BenchmarkSendEncryption measures acknowledged sends through app.Send
// with encryption at rest off and on (the store seals body, card and data
// under the current data key; the search index gets the plaintext), with
// 1 and 16 concurrent senders. BENCHMARKS.md has the numbers.
func BenchmarkSendEncryption(b *testing.B) {
	for _, enc := range []string{"off", "on"} {
		for _, senders := range []int{1, 16} {
			b.Run(fmt.Sprintf("encryption=%s/senders=%d", enc, senders), func(b *testing.B) {
				db, err := sqlite.Open(filepath.Join(b.TempDir(), "parley.db"), sqlite.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				if enc == "on" {
					db.SetKeyring(sealedtest.Ring(b))
				}
				a := app.New(db, app.Config{Password: cheap, SendPerConversation: 1e9, SendBurst: 1e9})
				actors, convs := pairs(b, a, senders)
				ctx := context.Background()
				var next atomic.Int64
				b.ResetTimer()
				var wg sync.WaitGroup
				for i := range senders {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							n := next.Add(1)
							if n > int64(b.N) {
								return
							}
							if _, _, err := a.Send(ctx, actors[i], convs[i], app.SendInput{ClientID: fmt.Sprint(n), Text: "hello, this is a benchmark message of ordinary length"}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sends/s")
			})
		}
	}
}
