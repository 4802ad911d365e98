package sealed

import (
	"encoding/base64"
	"strings"
)

// TextPrefix starts a sealed value stored in a text column (SealText). It
// begins with a control character (U+0001) that text typed by people does
// not start with, so a stored value is told from a plaintext one written
// before encryption was turned on.
const TextPrefix = "\x01sealed1:"

// SealText seals s for a text column: TextPrefix then the sealed value as
// unpadded base64. The empty string stays empty (an unsent message's
// cleared body stays recognisably empty).
func (r *Keyring) SealText(s string, associatedData []byte) (string, error) {
	if s == "" {
		return "", nil
	}
	b, err := r.Seal([]byte(s), associatedData)
	if err != nil {
		return "", err
	}
	return TextPrefix + base64.RawStdEncoding.EncodeToString(b), nil
}

// IsSealedText reports whether a stored text is a SealText value.
func IsSealedText(s string) bool { return strings.HasPrefix(s, TextPrefix) }

// OpenText returns the plaintext of a SealText value; text without the
// prefix (stored before encryption was turned on) comes back unchanged.
func (r *Keyring) OpenText(s string, associatedData []byte) (string, error) {
	b64, ok := strings.CutPrefix(s, TextPrefix)
	if !ok {
		return s, nil
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
	b64, ok := strings.CutPrefix(s, TextPrefix)
	if !ok {
		return 0, nil
	}
	// The header (version and key id) is in the first 8 base64 characters.
	if len(b64) < 8 {
		return 0, ErrFormat
	}
	b, err := base64.RawStdEncoding.DecodeString(b64[:8])
	if err != nil {
		return 0, ErrFormat
	}
	if b[0] != versionValue {
		return 0, ErrFormat
	}
	return uint32(b[1])<<24 | uint32(b[2])<<16 | uint32(b[3])<<8 | uint32(b[4]), nil
}
