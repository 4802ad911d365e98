package parley

import "time"

// TwoFactor is a user's TOTP second factor (RFC 6238). It is pending
// until the user confirms it with a first code (ConfirmedAt set).
type TwoFactor struct {
	UserID string
	// Secret is the shared TOTP secret as the application gives it:
	// sealed (encrypted) when the server has an encryption key.
	Secret      string
	ConfirmedAt time.Time
	// LastStep is the last TOTP time step (Unix time / 30 s) a code was
	// accepted for; codes of that step or earlier are refused (replay).
	LastStep int64
	// RecoveryCodes holds the SHA-256 hashes of the unused recovery codes.
	RecoveryCodes [][]byte
	CreatedAt     time.Time
}

// LoginChallenge is the short-lived state between a correct password and
// the second factor of a two-step login. Only the hash of its token is
// stored.
type LoginChallenge struct {
	TokenHash []byte
	UserID    string
	Device    string
	// Attempts counts wrong codes; the challenge ends after a few.
	Attempts  int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// TwoFactorTx stores second factors and login challenges.
type TwoFactorTx interface {
	// PutTwoFactor inserts or replaces the user's second factor.
	PutTwoFactor(tf *TwoFactor) error
	// TwoFactor returns the user's second factor or ENotFound.
	TwoFactor(userID string) (*TwoFactor, error)
	// DeleteTwoFactor removes it; ENotFound if there is none.
	DeleteTwoFactor(userID string) error
	// TwoFactorUsers lists, in ascending order, up to limit ids of users
	// with a second factor that sort after afterUserID ("" from the
	// start): key rotation re-encrypts their secrets.
	TwoFactorUsers(afterUserID string, limit int) ([]string, error)
	// PutLoginChallenge inserts or replaces a challenge (by TokenHash).
	PutLoginChallenge(c *LoginChallenge) error
	// LoginChallenge returns a challenge or ENotFound.
	LoginChallenge(tokenHash []byte) (*LoginChallenge, error)
	// DeleteLoginChallenge removes a challenge; ENotFound if there is none.
	DeleteLoginChallenge(tokenHash []byte) error
	// DeleteExpiredLoginChallenges removes the challenges that expired at
	// or before t and returns how many went.
	DeleteExpiredLoginChallenges(t time.Time) (int, error)
}
