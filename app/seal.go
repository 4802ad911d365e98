package app

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/parleyhq/parley/sealed"
)

// sealPrefix marks a value encrypted with the server's encryption key
// itself (AES-256-GCM; the nonce comes first): how secrets were sealed
// before data keys (keys.go). Such values still open; rotation and
// rewrap move them under a data key.
const sealPrefix = "aesgcm1:"

// seal encrypts a secret for storage when the server has an encryption
// key, binding it to context (e.g. the user id) so that a sealed value
// copied to another row does not open. Without a key it returns the
// secret as it is.
func (a *App) seal(secret, context string) (string, error) {
	if a.keyring != nil {
		// Under a data key: rotation and a new master key cover it.
		return a.keyring.SealText(secret, []byte(context))
	}
	if len(a.cfg.EncryptionKey) == 0 {
		return secret, nil
	}
	gcm, err := newGCM(a.cfg.EncryptionKey)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := gcm.Seal(nonce, nonce, []byte(secret), []byte(context))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// unseal is the inverse of seal; a value stored before a key was
// configured comes back as it is.
func (a *App) unseal(stored, context string) (string, error) {
	if sealed.IsSealedText(stored) {
		if a.keyring == nil {
			return "", errors.New("a sealed secret, but the server has no encryption key (encryption_key)")
		}
		return a.keyring.OpenText(stored, []byte(context))
	}
	b64, isSealed := strings.CutPrefix(stored, sealPrefix)
	if !isSealed {
		return stored, nil
	}
	if len(a.cfg.EncryptionKey) == 0 {
		return "", errors.New("a sealed secret, but the server has no encryption key (encryption_key)")
	}
	gcm, err := newGCM(a.cfg.EncryptionKey)
	if err != nil {
		return "", err
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || len(raw) < gcm.NonceSize() {
		return "", errors.New("a sealed secret is damaged")
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], []byte(context))
	if err != nil {
		return "", errors.New("a sealed secret does not open with the server's encryption key (wrong key?)")
	}
	return string(plain), nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
