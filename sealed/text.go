package sealed

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// TextPrefix starts a sealed value stored in a text column (SealText). It
// begins with a control character (U+0001) that message text cannot hold,
// so a stored value is told from a plaintext one written before encryption
// was turned on. The data key id follows in decimal, then ":" and the
// sealed value as unpadded base64 — the id in clear lets a store find the
// rows still under an old key with one LIKE.
const TextPrefix = "\x01sealed1:"

// TextKeyPrefix is how every SealText value under data key id begins.
func TextKeyPrefix(id uint32) string { return TextPrefix + strconv.FormatUint(uint64(id), 10) + ":" }

// ErrNoKeyring means sealed data was found but no master key is
// configured.
var ErrNoKeyring = errors.New("sealed: the data is encrypted but no encryption key is configured (PARLEY_ENCRYPTION_KEY)")

// SealText seals s for a text column: TextKeyPrefix then the sealed value
// as unpadded base64. The empty string stays empty (an unsent message's
// cleared body stays recognisably empty). A nil keyring (no encryption
// configured) returns s unchanged.
func (r *Keyring) SealText(s string, associatedData []byte) (string, error) {
	if s == "" || r == nil {
		return s, nil
	}
	b, err := r.Seal([]byte(s), associatedData)
	if err != nil {
		return "", err
	}
	id, _ := KeyID(b)
	return TextKeyPrefix(id) + base64.RawStdEncoding.EncodeToString(b), nil
}

// IsSealedText reports whether a stored text is a SealText value.
func IsSealedText(s string) bool { return strings.HasPrefix(s, TextPrefix) }

// OpenText returns the plaintext of a SealText value; text without the
// prefix (stored before encryption was turned on) comes back unchanged.
// A nil keyring opens plaintext only (ErrNoKeyring otherwise).
func (r *Keyring) OpenText(s string, associatedData []byte) (string, error) {
	rest, ok := strings.CutPrefix(s, TextPrefix)
	if !ok {
		return s, nil
	}
	if r == nil {
		return "", ErrNoKeyring
	}
	_, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return "", ErrFormat
	}
	b, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil {
		return "", ErrFormat
	}
	pt, err := r.Open(b, associatedData)
	if err != nil {
		return "", err
	}
	return string(pt), nil
}

// TextKeyID returns the data key id of a SealText value, 0 for plaintext.
func TextKeyID(s string) (uint32, error) {
	rest, ok := strings.CutPrefix(s, TextPrefix)
	if !ok {
		return 0, nil
	}
	num, _, ok := strings.Cut(rest, ":")
	id, err := strconv.ParseUint(num, 10, 32)
	if !ok || err != nil || id == 0 {
		return 0, ErrFormat
	}
	return uint32(id), nil
}
