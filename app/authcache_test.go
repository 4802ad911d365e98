package app_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// countingStore is a real store that counts the session lookups made
// through it, to tell a cache hit from a read.
type countingStore struct {
	parley.Store
	lookups atomic.Int64
}

func (s *countingStore) View(ctx context.Context, fn func(parley.Tx) error) error {
	return s.Store.View(ctx, func(tx parley.Tx) error { return fn(countingTx{tx, s}) })
}

type countingTx struct {
	parley.Tx
	s *countingStore
}

func (t countingTx) SessionByTokenHash(hash []byte) (*parley.Session, error) {
	t.s.lookups.Add(1)
	return t.Tx.SessionByTokenHash(hash)
}

// authFixture is an app on a counting store with a fake clock.
type authFixture struct {
	t     *testing.T
	db    *countingStore
	a     *app.App
	clock *fakeClock
	ctx   context.Context
}

func newAuthFixture(t *testing.T, opts ...app.Option) *authFixture {
	f := &authFixture{t: t, db: &countingStore{Store: openStore(t)}, ctx: context.Background(),
		clock: &fakeClock{t: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}}
	f.a = app.New(f.db, app.Config{Password: cheap}, append([]app.Option{app.WithClock(f.clock.Now)}, opts...)...)
	return f
}

// register signs up handle and returns its token.
func (f *authFixture) register(handle string) string {
	f.t.Helper()
	auth, err := f.a.Register(f.ctx, app.Registration{Handle: handle, Password: "correct horse battery", Device: "phone"})
	if err != nil {
		f.t.Fatal(err)
	}
	return auth.Token
}

func (f *authFixture) login(handle string) string {
	f.t.Helper()
	auth, err := f.a.Login(f.ctx, handle, "correct horse battery", "laptop", "192.0.2.1")
	if err != nil {
		f.t.Fatal(err)
	}
	return auth.Token
}

// authed authenticates token, which must work.
func (f *authFixture) authed(token string) *app.Actor {
	f.t.Helper()
	actor, err := f.a.Authenticate(f.ctx, token)
	if err != nil {
		f.t.Fatalf("authenticate: %v", err)
	}
	return actor
}

// refused checks that token is refused with code.
func (f *authFixture) refused(token, code string) {
	f.t.Helper()
	if actor, err := f.a.Authenticate(f.ctx, token); parley.ErrorCode(err) != code {
		f.t.Fatalf("authenticate: %+v, %v; want %s", actor, err, code)
	}
}

// TestAuthCacheHit: a token verified a moment ago is not looked up again
// until the maximum age passes, and each answer is the caller's own copy.
func TestAuthCacheHit(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.register("ann")
	first := f.authed(tok)
	n := f.db.lookups.Load()
	first.User.DisplayName, first.User.Handle = "changed by a caller", "mallory"
	for range 3 {
		f.clock.Advance(time.Second)
		if got := f.authed(tok); got.User.Handle != "ann" || got.User.DisplayName != "ann" || got.SessionID != first.SessionID || got.Scopes != nil {
			t.Fatalf("cached actor %+v %+v", got, got.User)
		}
	}
	if got := f.db.lookups.Load(); got != n {
		t.Fatalf("%d session lookups for cached answers", got-n)
	}
	f.clock.Advance(3 * time.Second) // 6 s after the fill: past the maximum age
	f.authed(tok)
	if got := f.db.lookups.Load(); got != n+1 {
		t.Fatalf("%d session lookups after the maximum age, want 1", got-n)
	}

	// A token's scopes come as a copy too.
	u := f.authed(tok)
	api, err := f.a.CreateToken(f.ctx, u, app.TokenInput{Name: "ci", Scopes: []string{app.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	f.authed(api.Token).Scopes[0] = app.ScopeMessages
	if got := f.authed(api.Token); got.Allows(app.ScopeMessages) || !got.Allows(app.ScopeRead) {
		t.Fatalf("cached scopes %v", got.Scopes)
	}
}

// TestAuthCacheForgets: every change on this node that ends a session or
// changes an account is seen by the very next request, cache or not.
func TestAuthCacheForgets(t *testing.T) {
	for _, tc := range []struct {
		name string
		// change acts on ann (whose tokens are phone, laptop and api),
		// and returns the tokens that must then be refused with code.
		change func(f *authFixture, phone, laptop, api string) (gone []string, code string)
		// still lists the tokens that keep working.
		still func(phone, laptop, api string) []string
	}{
		{"logout", func(f *authFixture, phone, laptop, api string) ([]string, string) {
			if err := f.a.Logout(f.ctx, f.authed(phone)); err != nil {
				t.Fatal(err)
			}
			return []string{phone}, parley.EUnauthorized
		}, func(phone, laptop, api string) []string { return []string{laptop, api} }},
		{"revoke session", func(f *authFixture, phone, laptop, api string) ([]string, string) {
			if err := f.a.RevokeSession(f.ctx, f.authed(phone), f.authed(laptop).SessionID); err != nil {
				t.Fatal(err)
			}
			return []string{laptop}, parley.EUnauthorized
		}, func(phone, laptop, api string) []string { return []string{phone, api} }},
		{"revoke token", func(f *authFixture, phone, laptop, api string) ([]string, string) {
			if err := f.a.RevokeToken(f.ctx, f.authed(phone), f.authed(api).SessionID); err != nil {
				t.Fatal(err)
			}
			return []string{api}, parley.EUnauthorized
		}, func(phone, laptop, api string) []string { return []string{phone, laptop} }},
		{"logout everywhere", func(f *authFixture, phone, laptop, api string) ([]string, string) {
			if _, err := f.a.LogoutEverywhere(f.ctx, f.authed(phone)); err != nil {
				t.Fatal(err)
			}
			return []string{phone, laptop}, parley.EUnauthorized
		}, func(phone, laptop, api string) []string { return []string{api} }},
		{"password change", func(f *authFixture, phone, laptop, api string) ([]string, string) {
			if err := f.a.ChangePassword(f.ctx, f.authed(phone), "correct horse battery", "a brand new secret"); err != nil {
				t.Fatal(err)
			}
			return []string{laptop}, parley.EUnauthorized
		}, func(phone, laptop, api string) []string { return []string{phone, api} }},
		{"suspension", func(f *authFixture, phone, laptop, api string) ([]string, string) {
			if _, err := f.a.Suspend(f.ctx, "ann", true); err != nil {
				t.Fatal(err)
			}
			// Devices are signed out; the token stays, refused as suspended.
			f.refused(phone, parley.EUnauthorized)
			return []string{api}, parley.EAccountSuspended
		}, func(phone, laptop, api string) []string { return nil }},
		{"ban", func(f *authFixture, phone, laptop, api string) ([]string, string) {
			if _, err := f.a.Ban(f.ctx, "ann", false); err != nil {
				t.Fatal(err)
			}
			return []string{api}, parley.EAccountSuspended
		}, func(phone, laptop, api string) []string { return nil }},
		{"deletion", func(f *authFixture, phone, laptop, api string) ([]string, string) {
			if _, err := f.a.DeleteAccount(f.ctx, f.authed(phone), app.DeleteAccountInput{Password: "correct horse battery"}); err != nil {
				t.Fatal(err)
			}
			return []string{phone, laptop, api}, parley.EUnauthorized
		}, func(phone, laptop, api string) []string { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newAuthFixture(t)
			phone, laptop := f.register("ann"), f.login("ann")
			api, err := f.a.CreateToken(f.ctx, f.authed(phone), app.TokenInput{Name: "ci", Scopes: []string{app.ScopeRead}})
			if err != nil {
				t.Fatal(err)
			}
			bob := f.register("bob")
			for _, tok := range []string{phone, laptop, api.Token, bob} {
				f.authed(tok) // cached
			}
			gone, code := tc.change(f, phone, laptop, api.Token)
			for _, tok := range gone {
				f.refused(tok, code)
			}
			for _, tok := range append(tc.still(phone, laptop, api.Token), bob) {
				f.authed(tok)
			}
		})
	}
}

// TestAuthCacheProfile: an edit of the account is in the next request's
// actor, not the cached one.
func TestAuthCacheProfile(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.register("ann")
	name := "Ann B."
	if _, err := f.a.UpdateProfile(f.ctx, f.authed(tok), app.ProfileUpdate{DisplayName: &name}); err != nil {
		t.Fatal(err)
	}
	if got := f.a.Me(f.authed(tok)); got.DisplayName != name {
		t.Fatalf("display name %q after the edit", got.DisplayName)
	}
}

// TestAuthCacheExpiry: a session's expiry is honoured on a cached token.
func TestAuthCacheExpiry(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.register("ann")
	api, err := f.a.CreateToken(f.ctx, f.authed(tok), app.TokenInput{Name: "ci", Scopes: []string{app.ScopeRead}, ExpiresInDays: 1})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(24*time.Hour - time.Second)
	f.authed(api.Token) // cached, one second before expiry
	n := f.db.lookups.Load()
	f.clock.Advance(time.Second)
	f.refused(api.Token, parley.EUnauthorized)
	if f.db.lookups.Load() != n {
		t.Fatal("the expired token was looked up: the test did not exercise the cache")
	}
}

// TestAuthCacheOtherNode: two apps on one store are two nodes. A change
// made on one reaches the other through the notification it publishes
// (WithAuthChanged → ForgetAuth); a lost notification costs at most the
// maximum age.
func TestAuthCacheOtherNode(t *testing.T) {
	db := openStore(t)
	clock := &fakeClock{t: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
	var b *app.App
	var deliver atomic.Bool
	deliver.Store(true)
	a := app.New(db, app.Config{Password: cheap}, app.WithClock(clock.Now), app.WithAuthChanged(func(users []string) {
		if deliver.Load() {
			b.ForgetAuth(users)
		}
	}))
	b = app.New(db, app.Config{Password: cheap}, app.WithClock(clock.Now))
	ctx := context.Background()
	auth := func(x *app.App, tok string) error { _, err := x.Authenticate(ctx, tok); return err }
	register := func(h string) string {
		r, err := a.Register(ctx, app.Registration{Handle: h, Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		return r.Token
	}

	ann, bob := register("ann"), register("bob")
	for _, tok := range []string{ann, bob} {
		if err := auth(b, tok); err != nil {
			t.Fatal(err)
		}
	}
	actor, err := a.Authenticate(ctx, ann)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Logout(ctx, actor); err != nil {
		t.Fatal(err)
	}
	if err := auth(b, ann); parley.ErrorCode(err) != parley.EUnauthorized {
		t.Fatalf("other node after the notification: %v", err)
	}

	// The notification of bob's logout is lost: node b answers from its
	// cache until the maximum age, then reads the truth.
	deliver.Store(false)
	actor, err = a.Authenticate(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Logout(ctx, actor); err != nil {
		t.Fatal(err)
	}
	if err := auth(a, bob); parley.ErrorCode(err) != parley.EUnauthorized {
		t.Fatalf("same node after logout: %v", err)
	}
	if err := auth(b, bob); err != nil {
		t.Fatalf("other node within the maximum age, notification lost: %v (was the token not cached?)", err)
	}
	clock.Advance(5 * time.Second)
	if err := auth(b, bob); parley.ErrorCode(err) != parley.EUnauthorized {
		t.Fatalf("other node after the maximum age: %v", err)
	}

	// ForgetAllAuth (the bus said notifications were lost) drops everything.
	carl := register("carl")
	if err := auth(b, carl); err != nil {
		t.Fatal(err)
	}
	actor, err = a.Authenticate(ctx, carl)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Logout(ctx, actor); err != nil {
		t.Fatal(err)
	}
	b.ForgetAllAuth()
	if err := auth(b, carl); parley.ErrorCode(err) != parley.EUnauthorized {
		t.Fatalf("other node after ForgetAllAuth: %v", err)
	}
}

// TestSessionAliveExpiry: SessionAlive is false for a token past its
// expiry by the app's clock, though its row still exists; the actor
// Authenticate gives carries the expiry, from the store and from the
// cache alike.
func TestSessionAliveExpiry(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.register("ann")
	api, err := f.a.CreateToken(f.ctx, f.authed(tok), app.TokenInput{Name: "ci", Scopes: []string{app.ScopeRead}, ExpiresInDays: 1})
	if err != nil {
		t.Fatal(err)
	}
	device, stored, cached := f.authed(tok), f.authed(api.Token), f.authed(api.Token)
	if device.ExpiresAt != nil {
		t.Fatalf("a device session expires at %v", device.ExpiresAt)
	}
	for _, actor := range []*app.Actor{stored, cached} {
		if actor.ExpiresAt == nil || !actor.ExpiresAt.Equal(*api.ExpiresAt) {
			t.Fatalf("actor expires at %v, want %v", actor.ExpiresAt, api.ExpiresAt)
		}
	}
	f.clock.Advance(24*time.Hour - time.Second)
	if !f.a.SessionAlive(f.ctx, stored) || stored.Expired(f.clock.Now()) {
		t.Fatal("the token is dead a second before its expiry")
	}
	f.clock.Advance(time.Second)
	if f.a.SessionAlive(f.ctx, stored) {
		t.Fatal("SessionAlive is true for a token past its expiry")
	}
	if !stored.Expired(f.clock.Now()) {
		t.Fatal("the actor is not expired past its expiry")
	}
	if !f.a.SessionAlive(f.ctx, device) {
		t.Fatal("the device session (no expiry) is dead")
	}
}
