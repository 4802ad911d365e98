package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"image/png"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/parleyhq/parley"
)

// TOTP second factor (RFC 6238): 6 digits, 30-second steps, HMAC-SHA1 —
// what every authenticator app reads from an otpauth:// URI. The codes
// come from github.com/pquerna/otp; the rules (one step of clock skew,
// each step accepted once, recovery codes, challenges) are here.
const (
	totpPeriod        = 30
	totpSkew          = 1 // steps before and after now
	recoveryCodeCount = 10
	// challengeTTL is how long a login challenge waits for its code.
	challengeTTL = 5 * time.Minute
	// challengeAttempts is how many wrong codes end a challenge.
	challengeAttempts = 5
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TwoFactorStatus says whether the actor has a second factor.
type TwoFactorStatus struct {
	Enabled bool `json:"enabled"`
	// Pending: set up but not yet confirmed with a first code.
	Pending           bool `json:"pending"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
}

// TwoFactorSetup is what an authenticator app needs, shown once.
type TwoFactorSetup struct {
	// Secret is the base32 key, for typing in by hand.
	Secret string `json:"secret"`
	// URI is the otpauth:// URI the QR code holds.
	URI string `json:"otpauth_uri"`
	// QRCode is a PNG of the URI as a data: URL, made by the server.
	QRCode string `json:"qr_png"`
}

// RecoveryCodes are single-use codes that stand in for the authenticator,
// shown once.
type RecoveryCodes struct {
	Codes []string `json:"recovery_codes"`
}

// SecondFactorChallenge is what a login with a correct password returns
// when the account has a second factor: the code goes to
// CompleteLogin with the challenge, before ExpiresAt.
type SecondFactorChallenge struct {
	Challenge string    `json:"challenge"`
	ExpiresAt time.Time `json:"expires_at"`
	Methods   []string  `json:"methods"`
}

// TwoFactorStatus reports the actor's second factor.
func (a *App) TwoFactorStatus(ctx context.Context, actor *Actor) (*TwoFactorStatus, error) {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return nil, err
	}
	st := &TwoFactorStatus{}
	err := a.view(ctx, func(tx parley.Tx) error {
		tf, err := tx.TwoFactor(actor.User.ID)
		if parley.IsNotFound(err) {
			return nil
		} else if err != nil {
			return err
		}
		st.Enabled, st.Pending, st.RecoveryCodesLeft = !tf.ConfirmedAt.IsZero(), tf.ConfirmedAt.IsZero(), len(tf.RecoveryCodes)
		return nil
	})
	return st, err
}

// checkActorPassword checks the actor's password, limited like logins.
func (a *App) checkActorPassword(ctx context.Context, actor *Actor, password string) error {
	if ok, wait := a.loginByHandle.Allow(ctx, "handle:"+actor.User.Handle); !ok {
		return &parley.Error{Code: parley.ERateLimited, Message: "too many attempts; try again later", RetryAfter: wait}
	}
	if !checkPassword(password, actor.User.PasswordHash) {
		return &parley.Error{Code: parley.EForbidden, Field: "password", Message: "the password is wrong"}
	}
	return nil
}

// SetupTwoFactor starts enrolment: a fresh secret (replacing an
// unconfirmed one) that counts once ConfirmTwoFactor has seen a code from
// it. It needs the password, so that a borrowed session cannot lock the
// owner out.
func (a *App) SetupTwoFactor(ctx context.Context, actor *Actor, password string) (*TwoFactorSetup, error) {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return nil, err
	}
	if err := a.checkActorPassword(ctx, actor, password); err != nil {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: a.cfg.TOTPIssuer, AccountName: actor.User.Handle, Period: totpPeriod,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, err
	}
	sealed, err := a.seal(key.Secret(), "totp:"+actor.User.ID)
	if err != nil {
		return nil, err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	err = a.update(ctx, func(w *writer) error {
		tf, err := w.TwoFactor(actor.User.ID)
		if err == nil && !tf.ConfirmedAt.IsZero() {
			return parley.Errorf(parley.EConflict, "two-factor authentication is already on; turn it off first")
		} else if err != nil && !parley.IsNotFound(err) {
			return err
		}
		return w.PutTwoFactor(&parley.TwoFactor{UserID: actor.User.ID, Secret: sealed, RecoveryCodes: [][]byte{}, CreatedAt: w.now})
	})
	if err != nil {
		return nil, err
	}
	return &TwoFactorSetup{Secret: key.Secret(), URI: key.URL(),
		QRCode: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// ConfirmTwoFactor turns the pending second factor on with a first code
// and returns the recovery codes, shown this once.
func (a *App) ConfirmTwoFactor(ctx context.Context, actor *Actor, code string) (*RecoveryCodes, error) {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return nil, err
	}
	if ok, wait := a.loginByHandle.Allow(ctx, "handle:"+actor.User.Handle); !ok {
		return nil, &parley.Error{Code: parley.ERateLimited, Message: "too many attempts; try again later", RetryAfter: wait}
	}
	codes, hashes := newRecoveryCodes()
	var wrong error
	err := a.update(ctx, func(w *writer) error {
		wrong = nil
		tf, err := w.TwoFactor(actor.User.ID)
		if parley.IsNotFound(err) {
			return parley.Errorf(parley.EConflict, "set up two-factor authentication first")
		} else if err != nil {
			return err
		}
		if !tf.ConfirmedAt.IsZero() {
			return parley.Errorf(parley.EConflict, "two-factor authentication is already on")
		}
		step, err := a.totpStep(tf, code, w.now)
		if err != nil {
			return err
		}
		if step == 0 {
			wrong = &parley.Error{Code: parley.EForbidden, Field: "code", Message: "the code is wrong; check the authenticator app's clock"}
			return nil
		}
		tf.ConfirmedAt, tf.LastStep, tf.RecoveryCodes = w.now, step, hashes
		if err := w.PutTwoFactor(tf); err != nil {
			return err
		}
		return a.audit(w, AuditEntry{ActorID: actor.User.ID, Action: AuditTwoFactorEnable, TargetType: "user", TargetID: actor.User.ID})
	})
	if err != nil {
		return nil, err
	} else if wrong != nil {
		return nil, wrong
	}
	return &RecoveryCodes{Codes: codes}, nil
}

// DisableTwoFactor turns the second factor off; it takes the password and
// a current code or a recovery code.
func (a *App) DisableTwoFactor(ctx context.Context, actor *Actor, password, code string) error {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return err
	}
	if err := a.checkActorPassword(ctx, actor, password); err != nil {
		return err
	}
	var wrong error
	err := a.update(ctx, func(w *writer) error {
		wrong = nil
		tf, err := w.TwoFactor(actor.User.ID)
		if parley.IsNotFound(err) {
			return parley.Errorf(parley.ENotFound, "two-factor authentication is off")
		} else if err != nil {
			return err
		}
		if !tf.ConfirmedAt.IsZero() { // a pending one goes without a code
			ok, _, err := a.checkSecondFactor(w, tf, code)
			if err != nil {
				return err
			}
			if !ok {
				wrong = &parley.Error{Code: parley.EForbidden, Field: "code", Message: "the code is wrong"}
				return nil
			}
		}
		if err := w.DeleteTwoFactor(actor.User.ID); err != nil {
			return err
		}
		return a.audit(w, AuditEntry{ActorID: actor.User.ID, Action: AuditTwoFactorDisable, TargetType: "user", TargetID: actor.User.ID})
	})
	if err != nil {
		return err
	}
	return wrong
}

// RegenerateRecoveryCodes replaces the recovery codes (password and a
// current code needed) and returns the new ones, shown this once.
func (a *App) RegenerateRecoveryCodes(ctx context.Context, actor *Actor, password, code string) (*RecoveryCodes, error) {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return nil, err
	}
	if err := a.checkActorPassword(ctx, actor, password); err != nil {
		return nil, err
	}
	codes, hashes := newRecoveryCodes()
	var wrong error
	err := a.update(ctx, func(w *writer) error {
		wrong = nil
		tf, err := w.TwoFactor(actor.User.ID)
		if parley.IsNotFound(err) || (err == nil && tf.ConfirmedAt.IsZero()) {
			return parley.Errorf(parley.ENotFound, "two-factor authentication is off")
		} else if err != nil {
			return err
		}
		step, err := a.totpStep(tf, code, w.now)
		if err != nil {
			return err
		}
		if step == 0 {
			wrong = &parley.Error{Code: parley.EForbidden, Field: "code", Message: "the code is wrong"}
			return nil
		}
		tf.LastStep, tf.RecoveryCodes = step, hashes
		if err := w.PutTwoFactor(tf); err != nil {
			return err
		}
		return a.audit(w, AuditEntry{ActorID: actor.User.ID, Action: AuditRecoveryCodesRenew, TargetType: "user", TargetID: actor.User.ID})
	})
	if err != nil {
		return nil, err
	} else if wrong != nil {
		return nil, wrong
	}
	return &RecoveryCodes{Codes: codes}, nil
}

// totpStep returns the time step code is valid for at now — within one
// step of clock skew and after the last step accepted — or 0.
func (a *App) totpStep(tf *parley.TwoFactor, code string, now time.Time) (int64, error) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0, nil
	}
	secret, err := a.unseal(tf.Secret, "totp:"+tf.UserID)
	if err != nil {
		return 0, err
	}
	cur := now.Unix() / totpPeriod
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		if step <= tf.LastStep {
			continue // used already: a replayed code
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, nil
		}
	}
	return 0, nil
}

// checkSecondFactor accepts a TOTP code or an unused recovery code and
// stores what makes it single-use; method is "totp" or "recovery_code".
func (a *App) checkSecondFactor(w *writer, tf *parley.TwoFactor, code string) (ok bool, method string, err error) {
	step, err := a.totpStep(tf, code, w.now)
	if err != nil {
		return false, "", err
	}
	if step != 0 {
		tf.LastStep = step
		return true, "totp", w.PutTwoFactor(tf)
	}
	h := recoveryHash(code)
	for i, c := range tf.RecoveryCodes {
		if subtle.ConstantTimeCompare(c, h) == 1 {
			tf.RecoveryCodes = append(tf.RecoveryCodes[:i:i], tf.RecoveryCodes[i+1:]...)
			if err := w.PutTwoFactor(tf); err != nil {
				return false, "", err
			}
			return true, "recovery_code", a.audit(w, AuditEntry{ActorID: tf.UserID, Action: AuditRecoveryCodeUse, TargetType: "user",
				TargetID: tf.UserID, Details: map[string]string{"remaining": strconv.Itoa(len(tf.RecoveryCodes))}})
		}
	}
	return false, "", nil
}

// newRecoveryCodes returns recoveryCodeCount codes of 50 random bits,
// written xxxxx-xxxxx, and their hashes.
func newRecoveryCodes() ([]string, [][]byte) {
	codes := make([]string, recoveryCodeCount)
	hashes := make([][]byte, recoveryCodeCount)
	for i := range codes {
		id := newID()[:10]
		codes[i] = id[:5] + "-" + id[5:]
		hashes[i] = recoveryHash(codes[i])
	}
	return codes, hashes
}

// recoveryHash hashes a recovery code as typed: case, spaces and dashes
// do not matter. SHA-256 suffices: the codes have 50 random bits and are
// tried only through rate-limited logins.
func recoveryHash(code string) []byte {
	c := strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	h := sha256.Sum256([]byte("parley-recovery:" + c))
	return h[:]
}

// twoFactorOn reports whether the user has a confirmed second factor.
func twoFactorOn(tx parley.Tx, userID string) (bool, error) {
	tf, err := tx.TwoFactor(userID)
	if parley.IsNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return !tf.ConfirmedAt.IsZero(), nil
}

// errChallenge refuses a login challenge that is unknown, used or expired.
var errChallenge = parley.Errorf(parley.EUnauthorized, "this sign-in has expired; enter your password again")

// CompleteLogin finishes a two-step login: the challenge from Login and a
// TOTP code or a recovery code. Wrong codes count against the challenge
// (five end it) and against the handle's and the address's login limits.
func (a *App) CompleteLogin(ctx context.Context, challenge, code, address string) (*Auth, error) {
	if ok, wait := a.loginByAddress.Allow(ctx, "addr:"+address); !ok {
		return nil, &parley.Error{Code: parley.ERateLimited, Message: "too many login attempts; try again later", RetryAfter: wait}
	}
	if len(challenge) > 200 || len(code) > 100 {
		return nil, errChallenge
	}
	hash := hashToken(challenge)
	var c *parley.LoginChallenge
	var u *parley.User
	err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		if c, err = tx.LoginChallenge(hash); err != nil {
			return err
		}
		u, err = tx.UserByID(c.UserID)
		return err
	})
	if parley.IsNotFound(err) || (err == nil && !a.clock().Before(c.ExpiresAt)) {
		return nil, errChallenge
	} else if err != nil {
		return nil, err
	}
	if ok, wait := a.loginByHandle.Allow(ctx, "handle:"+u.Handle); !ok {
		return nil, &parley.Error{Code: parley.ERateLimited, Message: "too many login attempts; try again later", RetryAfter: wait}
	}
	token, tokenHash := newToken()
	var s *parley.Session
	var refused error
	err = a.update(ctx, func(w *writer) error {
		s, refused = nil, nil
		c, err := w.LoginChallenge(hash)
		if parley.IsNotFound(err) {
			refused = errChallenge // used by a concurrent request
			return nil
		} else if err != nil {
			return err
		}
		u, err := w.UserByID(c.UserID)
		if err != nil {
			return err
		}
		if u.Suspended {
			refused = errSuspended
			return w.DeleteLoginChallenge(hash)
		}
		tf, err := w.TwoFactor(u.ID)
		if parley.IsNotFound(err) {
			// Turned off since the password step: the password sufficed.
			tf = nil
		} else if err != nil {
			return err
		}
		method := "password"
		if tf != nil && !tf.ConfirmedAt.IsZero() {
			ok, m, err := a.checkSecondFactor(w, tf, code)
			if err != nil {
				return err
			}
			if !ok {
				refused = parley.Errorf(parley.EBadCredentials, "the code is wrong")
				if c.Attempts++; c.Attempts >= challengeAttempts {
					refused = parley.Errorf(parley.EBadCredentials, "the code is wrong; too many tries, enter your password again")
					if err := w.DeleteLoginChallenge(hash); err != nil {
						return err
					}
				} else if err := w.PutLoginChallenge(c); err != nil {
					return err
				}
				return a.audit(w, AuditEntry{ActorID: u.ID, Action: AuditLoginFailure, TargetType: "user", TargetID: u.ID,
					Details: map[string]string{"handle": u.Handle, "reason": "second_factor"}})
			}
			method = m
		}
		if err := w.DeleteLoginChallenge(hash); err != nil {
			return err
		}
		s = &parley.Session{ID: newID(), UserID: u.ID, TokenHash: tokenHash, Device: c.Device, CreatedAt: w.now, LastUsedAt: w.now}
		if err := w.CreateSession(s); err != nil {
			return err
		}
		return a.audit(w, AuditEntry{ActorID: u.ID, Action: AuditLoginSuccess, TargetType: "session", TargetID: s.ID,
			Details: map[string]string{"device": c.Device, "second_factor": method}})
	})
	if err != nil {
		return nil, err
	} else if refused != nil {
		if parley.ErrorCode(refused) == parley.EBadCredentials {
			a.obs.LoginFailed()
		}
		return nil, refused
	}
	return &Auth{User: meView(u), Token: token, SessionID: s.ID}, nil
}

// loginChallenge stores a challenge for a user whose password was right.
func (a *App) loginChallenge(ctx context.Context, u *parley.User, device string) (*SecondFactorChallenge, error) {
	token, hash := newToken()
	now := a.clock()
	c := &parley.LoginChallenge{TokenHash: hash, UserID: u.ID, Device: device, CreatedAt: now, ExpiresAt: now.Add(challengeTTL)}
	err := a.update(ctx, func(w *writer) error {
		if _, err := w.DeleteExpiredLoginChallenges(w.now); err != nil {
			return err
		}
		return w.PutLoginChallenge(c)
	})
	if err != nil {
		return nil, err
	}
	return &SecondFactorChallenge{Challenge: token, ExpiresAt: c.ExpiresAt, Methods: []string{"totp", "recovery_code"}}, nil
}

// requireTwoFactor refuses a team member without a second factor when
// the business's settings ask for one.
func requireTwoFactor(tx parley.Tx, b, agent *parley.User) error {
	st, err := loadSettings(tx, b.ID)
	if err != nil || !st.RequireTwoFactor {
		return err
	}
	on, err := twoFactorOn(tx, agent.ID)
	if err != nil || on {
		return err
	}
	return parley.Errorf(parley.ETwoFactorRequired, "%s requires its team to use two-factor authentication; turn it on in settings", b.Handle)
}

// selfHasTwoFactor keeps a team admin from requiring two-factor
// authentication of the team without having it: they would lock
// themselves out of the inbox with the same save.
func selfHasTwoFactor(tx parley.Tx, ba *BusinessActor, s *BusinessSettings) error {
	if !s.RequireTwoFactor || ba.Agent == nil {
		return nil
	}
	on, err := twoFactorOn(tx, ba.Agent.ID)
	if err != nil || on {
		return err
	}
	return &parley.Error{Code: parley.ETwoFactorRequired, Field: "require_two_factor",
		Message: "turn on two-factor authentication for yourself first, or you would lose access to the inbox"}
}
