package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/store/sqlite"
)

// code returns the TOTP code of secret at the app's clock, computed here
// by the library from the RFC 6238 parameters, not by the app.
func code(t *testing.T, secret string, now time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := parley.ErrorCode(err); got != code {
		t.Fatalf("%s: %v (code %q), want %q", what, err, got, code)
	}
}

// enroll turns on 2FA for actor and returns the secret and recovery codes.
func enroll(t *testing.T, s *shop, actor *app.Actor) (string, []string) {
	t.Helper()
	setup, err := s.a.SetupTwoFactor(s.ctx, actor, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.a.ConfirmTwoFactor(s.ctx, actor, code(t, setup.Secret, s.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return setup.Secret, rc.Codes
}

// TestTwoFactorEnrolAndLogin walks the whole life of a second factor with
// a fixed clock: enrolment with a QR code, confirmation, the two-step
// login, replays, recovery codes, expiry, too many wrong codes, and
// turning it off.
func TestTwoFactorEnrolAndLogin(t *testing.T) {
	s := newShop(t)
	ann := s.register("ann", "Ann", parley.KindPerson)

	_, err := s.a.SetupTwoFactor(s.ctx, ann, "not my password")
	wantCode(t, "setup with a wrong password", err, parley.EForbidden)
	setup, err := s.a.SetupTwoFactor(s.ctx, ann, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(setup.URI, "otpauth://totp/Parley:ann?") || !strings.Contains(setup.URI, "secret="+setup.Secret) {
		t.Errorf("uri %q", setup.URI)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(setup.QRCode, "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil || img.Bounds().Dx() != 240 {
		t.Fatalf("qr png: %v %v", err, img)
	}
	st, _ := s.a.TwoFactorStatus(s.ctx, ann)
	if st.Enabled || !st.Pending {
		t.Fatalf("after setup: %+v", st)
	}
	// Not on until confirmed: a login needs no code yet.
	if auth, err := s.a.Login(s.ctx, "ann", "correct horse battery", "phone", "198.51.100.1"); err != nil || auth.Token == "" {
		t.Fatalf("login while pending: %+v %v", auth, err)
	}
	now := s.clock.Now()
	_, err = s.a.ConfirmTwoFactor(s.ctx, ann, "000000")
	wantCode(t, "confirm with a wrong code", err, parley.EForbidden)
	first := code(t, setup.Secret, now)
	rc, err := s.a.ConfirmTwoFactor(s.ctx, ann, first)
	if err != nil {
		t.Fatal(err)
	}
	if len(rc.Codes) != 10 {
		t.Fatalf("%d recovery codes", len(rc.Codes))
	}
	st, _ = s.a.TwoFactorStatus(s.ctx, ann)
	if !st.Enabled || st.Pending || st.RecoveryCodesLeft != 10 {
		t.Fatalf("after confirm: %+v", st)
	}
	_, err = s.a.SetupTwoFactor(s.ctx, ann, "correct horse battery")
	wantCode(t, "setup again", err, parley.EConflict)

	login := func() string {
		t.Helper()
		auth, err := s.a.Login(s.ctx, "ann", "correct horse battery", "laptop", "198.51.100.1")
		if err != nil {
			t.Fatal(err)
		}
		if auth.Token != "" || auth.User != nil || auth.SecondFactor == nil || auth.SecondFactor.Challenge == "" {
			t.Fatalf("login with 2FA on: %+v", auth)
		}
		return auth.SecondFactor.Challenge
	}
	ch := login()
	// The code that confirmed enrolment was used: its step is spent.
	_, err = s.a.CompleteLogin(s.ctx, ch, first, "198.51.100.1")
	wantCode(t, "replayed confirmation code", err, parley.EBadCredentials)
	s.clock.Advance(30 * time.Second)
	c2 := code(t, setup.Secret, s.clock.Now())
	auth, err := s.a.CompleteLogin(s.ctx, ch, c2, "198.51.100.1")
	if err != nil || auth.Token == "" || auth.User.Handle != "ann" {
		t.Fatalf("complete login: %+v %v", auth, err)
	}
	if _, err := s.a.Authenticate(s.ctx, auth.Token); err != nil {
		t.Fatalf("the new session: %v", err)
	}
	_, err = s.a.CompleteLogin(s.ctx, ch, c2, "198.51.100.1")
	wantCode(t, "a used challenge", err, parley.EUnauthorized)
	// The same code on a new challenge, even within its 30 seconds: refused.
	_, err = s.a.CompleteLogin(s.ctx, login(), c2, "198.51.100.1")
	wantCode(t, "replayed code", err, parley.EBadCredentials)
	// One step of clock skew either way is accepted; two are not.
	s.clock.Advance(30 * time.Second)
	ch = login()
	_, err = s.a.CompleteLogin(s.ctx, ch, code(t, setup.Secret, s.clock.Now().Add(-60*time.Second)), "198.51.100.1")
	wantCode(t, "two steps old", err, parley.EBadCredentials)
	if _, err := s.a.CompleteLogin(s.ctx, ch, code(t, setup.Secret, s.clock.Now().Add(30*time.Second)), "198.51.100.1"); err != nil {
		t.Fatalf("one step ahead: %v", err)
	}

	// A recovery code works once, written any way.
	s.clock.Advance(time.Minute) // the login limiter refills
	ch = login()
	if _, err := s.a.CompleteLogin(s.ctx, ch, " "+strings.ToUpper(rc.Codes[3])+" ", "198.51.100.1"); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	_, err = s.a.CompleteLogin(s.ctx, login(), rc.Codes[3], "198.51.100.1")
	wantCode(t, "a used recovery code", err, parley.EBadCredentials)
	st, _ = s.a.TwoFactorStatus(s.ctx, ann)
	if st.RecoveryCodesLeft != 9 {
		t.Fatalf("after a recovery code: %+v", st)
	}

	// A challenge expires after 5 minutes.
	s.clock.Advance(time.Minute)
	ch = login()
	s.clock.Advance(5 * time.Minute)
	_, err = s.a.CompleteLogin(s.ctx, ch, code(t, setup.Secret, s.clock.Now()), "198.51.100.1")
	wantCode(t, "expired challenge", err, parley.EUnauthorized)

	// Five wrong codes end a challenge: the right one is refused after.
	s.clock.Advance(time.Minute)
	ch = login()
	for i := range 5 {
		_, err = s.a.CompleteLogin(s.ctx, ch, "12345"+string(rune('0'+i)), "198.51.100.1")
		wantCode(t, "wrong code", err, parley.EBadCredentials)
	}
	s.clock.Advance(time.Minute)
	_, err = s.a.CompleteLogin(s.ctx, ch, code(t, setup.Secret, s.clock.Now()), "198.51.100.1")
	wantCode(t, "after five wrong codes", err, parley.EUnauthorized)

	// New recovery codes replace the old ones.
	s.clock.Advance(30 * time.Second)
	rc2, err := s.a.RegenerateRecoveryCodes(s.ctx, ann, "correct horse battery", code(t, setup.Secret, s.clock.Now()))
	if err != nil || len(rc2.Codes) != 10 {
		t.Fatalf("regenerate: %v", err)
	}
	s.clock.Advance(time.Minute)
	_, err = s.a.CompleteLogin(s.ctx, login(), rc.Codes[0], "198.51.100.1")
	wantCode(t, "an old recovery code", err, parley.EBadCredentials)

	// Off: password and a code.
	s.clock.Advance(30 * time.Second)
	err = s.a.DisableTwoFactor(s.ctx, ann, "correct horse battery", "000000")
	wantCode(t, "disable with a wrong code", err, parley.EForbidden)
	err = s.a.DisableTwoFactor(s.ctx, ann, "wrong password", code(t, setup.Secret, s.clock.Now()))
	wantCode(t, "disable with a wrong password", err, parley.EForbidden)
	if err := s.a.DisableTwoFactor(s.ctx, ann, "correct horse battery", code(t, setup.Secret, s.clock.Now())); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Minute)
	if auth, err := s.a.Login(s.ctx, "ann", "correct horse battery", "phone", "198.51.100.1"); err != nil || auth.Token == "" {
		t.Fatalf("login after disable: %+v %v", auth, err)
	}

	// Tokens cannot manage the second factor.
	tok, err := s.a.CreateToken(s.ctx, ann, app.TokenInput{Name: "ci", Scopes: app.TokenScopes})
	if err != nil {
		t.Fatal(err)
	}
	tokActor, _ := s.a.Authenticate(s.ctx, tok.Token)
	_, err = s.a.SetupTwoFactor(s.ctx, tokActor, "correct horse battery")
	wantCode(t, "setup with a token", err, parley.EInsufficientScope)

	rows, _, _ := s.a.AuditLog(s.ctx, app.AuditQuery{Actor: "ann"})
	var acts []string
	for _, r := range rows {
		if strings.HasPrefix(r.Action, "twofactor.") || (r.Action == app.AuditLoginFailure && r.Details["reason"] == "second_factor") {
			acts = append(acts, r.Action)
		}
	}
	want := "twofactor.enable login.failure login.failure login.failure twofactor.recovery_code login.failure " +
		"login.failure login.failure login.failure login.failure login.failure twofactor.recovery_codes_renew login.failure twofactor.disable"
	if strings.Join(acts, " ") != want {
		t.Errorf("audit:\n got %s\nwant %s", strings.Join(acts, " "), want)
	}
}

// TestTwoFactorSecretSealed: with an encryption key the TOTP secret is
// not in the database file; logins still work; without the key they fail
// closed.
func TestTwoFactorSecretSealed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	key := bytes.Repeat([]byte{7}, 32)
	a := app.New(db, app.Config{Password: cheap, EncryptionKey: key}, app.WithClock(clock.Now))
	s := &shop{t: t, a: a, clock: clock, ctx: context.Background()}
	ann := s.register("ann", "Ann", parley.KindPerson)
	secret, _ := enroll(t, s, ann)

	var stored string
	db.View(s.ctx, func(tx parley.Tx) error {
		tf, err := tx.TwoFactor(ann.User.ID)
		if err == nil {
			stored = tf.Secret
		}
		return err
	})
	if !strings.HasPrefix(stored, "aesgcm1:") || strings.Contains(stored, secret) {
		t.Fatalf("stored secret %q", stored)
	}
	clock.Advance(30 * time.Second)
	auth, _ := a.Login(s.ctx, "ann", "correct horse battery", "", "")
	if _, err := a.CompleteLogin(s.ctx, auth.SecondFactor.Challenge, code(t, secret, clock.Now()), ""); err != nil {
		t.Fatalf("login with a sealed secret: %v", err)
	}
	db.Close()
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(path + "-wal")
	if bytes.Contains(file, []byte(secret)) || bytes.Contains(wal, []byte(secret)) {
		t.Fatal("the TOTP secret is in the database file")
	}

	// The same database without the key: the code cannot be checked, and
	// the login fails instead of passing.
	db2, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	b := app.New(db2, app.Config{Password: cheap}, app.WithClock(clock.Now))
	clock.Advance(30 * time.Second)
	auth, err = b.Login(s.ctx, "ann", "correct horse battery", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.CompleteLogin(s.ctx, auth.SecondFactor.Challenge, code(t, secret, clock.Now()), ""); err == nil {
		t.Fatal("a sealed secret opened without the key")
	}
}

// TestBusinessRequiresTwoFactor: with require_two_factor on, a team
// member without a second factor cannot act as the business until they
// turn it on; the business's own account is not a team member.
func TestBusinessRequiresTwoFactor(t *testing.T) {
	s := newShop(t)
	bea, beaBA := s.agent("bea", "Bea", false)
	// A team admin without 2FA cannot require it: they would lock
	// themselves out.
	if _, err := s.a.PutAgent(s.ctx, s.admin, "bea", app.AgentChange{Role: ptr("admin")}); err != nil {
		t.Fatal(err)
	}
	beaBA = s.actAs(bea, "acme")
	st, _ := s.a.Settings(s.ctx, beaBA)
	st.RequireTwoFactor = true
	_, err := s.a.PutSettings(s.ctx, beaBA, st)
	wantCode(t, "an admin without 2FA requires it", err, parley.ETwoFactorRequired)
	s.settings(func(st *app.BusinessSettings) { st.RequireTwoFactor = true }) // the business's own account may
	_, err = s.a.ActAs(s.ctx, bea, "acme")
	wantCode(t, "agent without 2FA", err, parley.ETwoFactorRequired)
	if _, err := s.a.ActAs(s.ctx, s.biz, "acme"); err != nil {
		t.Fatalf("the business itself: %v", err)
	}
	enroll(t, s, bea)
	if _, err := s.a.ActAs(s.ctx, bea, "acme"); err != nil {
		t.Fatalf("agent with 2FA: %v", err)
	}
	s.settings(func(st *app.BusinessSettings) { st.RequireTwoFactor = false })
	cat, _ := s.agent("cat", "Cat", false)
	if _, err := s.a.ActAs(s.ctx, cat, "acme"); err != nil {
		t.Fatalf("not required: %v", err)
	}
}

// TestPasswordRules: 8 to 128 characters, and not one of the most common.
func TestPasswordRules(t *testing.T) {
	s := newShop(t)
	tests := []struct {
		pw   string
		code string
	}{
		{"seven77", parley.EInvalid},
		{"password", parley.EWeakPassword},
		{"PassWord1", parley.EWeakPassword}, // case does not help
		{"iloveyou", parley.EWeakPassword},
		{"qwertyuiop", parley.EWeakPassword},
		{strings.Repeat("ж", 129), parley.EInvalid},
		{strings.Repeat("ж", 128), ""},
		{"eight ch", ""},
		{"correct horse battery staple", ""},
	}
	for i, tc := range tests {
		_, err := s.a.Register(s.ctx, app.Registration{Handle: "user" + string(rune('a'+i)), Password: tc.pw})
		if got := parley.ErrorCode(err); got != tc.code {
			t.Errorf("%q: %v, want %q", tc.pw, err, tc.code)
		}
	}
	ann := s.register("ann", "Ann", parley.KindPerson)
	err := s.a.ChangePassword(s.ctx, ann, "correct horse battery", "football")
	wantCode(t, "change to a common password", err, parley.EWeakPassword)
	_, _, err = s.a.ResetPassword(s.ctx, "ann", "12345678")
	wantCode(t, "reset to a common password", err, parley.EWeakPassword)
}
