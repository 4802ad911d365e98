package client

import (
	"context"
	"net/http"
	"time"
)

// TwoFactorStatus says whether two-factor authentication is on.
type TwoFactorStatus struct {
	Enabled bool `json:"enabled"`
	// Pending is set between SetupTwoFactor and ConfirmTwoFactor.
	Pending           bool `json:"pending"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
}

// TwoFactorSetup is what an authenticator app needs.
type TwoFactorSetup struct {
	// Secret is the base32 TOTP key.
	Secret string `json:"secret"`
	// OTPAuthURI is the otpauth://totp/… URI (6 digits, 30 s, SHA-1).
	OTPAuthURI string `json:"otpauth_uri"`
	// QRPNG is the URI as a QR code, a data:image/png;base64 URL.
	QRPNG string `json:"qr_png"`
}

// TwoFactorStatus reports the caller's two-factor state.
func (c *Client) TwoFactorStatus(ctx context.Context) (*TwoFactorStatus, error) {
	var out TwoFactorStatus
	_, err := c.call(ctx, http.MethodGet, "/me/2fa", nil, nil, &out)
	return ret(&out, err)
}

// SetupTwoFactor starts turning two-factor on (the password is checked);
// ConfirmTwoFactor with a first code finishes it.
func (c *Client) SetupTwoFactor(ctx context.Context, password string) (*TwoFactorSetup, error) {
	var out TwoFactorSetup
	_, err := c.call(ctx, http.MethodPost, "/me/2fa/setup", nil, map[string]string{"password": password}, &out)
	return ret(&out, err)
}

// ConfirmTwoFactor turns two-factor on with a current code and returns the
// ten recovery codes, shown this once.
func (c *Client) ConfirmTwoFactor(ctx context.Context, code string) ([]string, error) {
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	_, err := c.call(ctx, http.MethodPost, "/me/2fa/confirm", nil, map[string]string{"code": code}, &out)
	return out.RecoveryCodes, err
}

// DisableTwoFactor turns two-factor off; code is a current code or a
// recovery code.
func (c *Client) DisableTwoFactor(ctx context.Context, password, code string) error {
	return c.Do(ctx, http.MethodPost, "/me/2fa/disable", map[string]string{"password": password, "code": code}, nil)
}

// AccountDeletion is what deleting an account did.
type AccountDeletion struct {
	Handle string `json:"handle"`
	// Policy is the server's: "erase" or "anonymise".
	Policy string `json:"policy"`
	// Erased messages lost their content; Kept ones stay under "Deleted
	// account"; Held ones were kept by a legal hold (Note says so).
	Erased              int       `json:"erased"`
	Kept                int       `json:"kept"`
	Held                int       `json:"held"`
	Note                string    `json:"note,omitempty"`
	MediaRows           int       `json:"media_rows"`
	Blobs               int       `json:"blobs"`
	SessionsEnded       int       `json:"sessions_ended"`
	ConversationsLeft   int       `json:"conversations_left"`
	BotsRetired         int       `json:"bots_retired"`
	HandleReservedUntil time.Time `json:"handle_reserved_until"`
}

// DeleteAccount deletes the caller's account for good (a signed-in
// device; code is needed when two-factor authentication is on). Every
// token of the account, this client's included, stops working.
func (c *Client) DeleteAccount(ctx context.Context, password, code string) (*AccountDeletion, error) {
	var out AccountDeletion
	body := map[string]string{"password": password}
	if code != "" {
		body["code"] = code
	}
	_, err := c.call(ctx, http.MethodDelete, "/me", nil, body, &out)
	return ret(&out, err)
}

// RegenerateRecoveryCodes replaces the recovery codes (the password and a
// current code are required) and returns the new ten.
func (c *Client) RegenerateRecoveryCodes(ctx context.Context, password, code string) ([]string, error) {
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	_, err := c.call(ctx, http.MethodPost, "/me/2fa/recovery-codes", nil, map[string]string{"password": password, "code": code}, &out)
	return out.RecoveryCodes, err
}

// SecondFactorChallenge is Login's answer for an account with two-factor
// authentication: send a code with Challenge to CompleteLogin before
// ExpiresAt (five wrong codes end it).
type SecondFactorChallenge struct {
	Challenge string    `json:"challenge"`
	ExpiresAt time.Time `json:"expires_at"`
	// Methods are "totp" and "recovery_code".
	Methods []string `json:"methods"`
}

// CompleteLogin finishes a two-factor login with a current code or a
// recovery code and returns the session.
func (c *Client) CompleteLogin(ctx context.Context, challenge, code string) (*Auth, error) {
	var out Auth
	_, err := c.call(ctx, http.MethodPost, "/sessions/second-factor", nil, map[string]string{"challenge": challenge, "code": code}, &out)
	return ret(&out, err)
}
