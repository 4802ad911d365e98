// Package sealed encrypts data at rest: a keyring of data keys, each a
// random 256-bit AES key wrapped (encrypted) by one master key that the
// operator holds outside the database, and AES-256-GCM from the standard
// library for every value sealed under them.
//
// A sealed value is self-describing, so keys can be rotated while old data
// stays readable:
//
//	version (1 byte, 0x01) | data key id (4 bytes, big endian) | nonce (12 bytes) | ciphertext + GCM tag (16 bytes)
//
// The version and key id are authenticated with the caller's associated
// data: a value sealed for one row (associated data = the row's id) does
// not open for another, so ciphertexts cannot be swapped between rows.
//
// Nonces are random (96 bits). NIST SP 800-38D bounds one key to 2^32
// random-nonce encryptions; rotate the data key (parley keys rotate) long
// before that — every few hundred million writes is a comfortable habit.
//
// Large values (media files) use the segmented stream format of
// stream.go, which supports reading any byte range.
//
// Package sealed imports nothing but the standard library.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
)

// KeySize is the size of master and data keys: 256 bits.
const KeySize = 32

const (
	versionValue  = 0x01 // a sealed value (Seal)
	versionStream = 0x02 // a sealed stream (stream.go)
	versionWrap   = 0x01 // a wrapped data key
	headerSize    = 1 + 4
	nonceSize     = 12
	tagSize       = 16
	// Overhead is how many bytes Seal adds to a plaintext.
	Overhead = headerSize + nonceSize + tagSize
)

// Errors. Callers test them with errors.Is.
var (
	// ErrOpen means a sealed value did not open: it was changed, it
	// belongs to another row (other associated data), or it was sealed
	// under another key. The three are indistinguishable by design.
	ErrOpen = errors.New("sealed: message authentication failed")
	// ErrUnknownKey means a value names a data key the keyring lacks.
	ErrUnknownKey = errors.New("sealed: unknown data key")
	// ErrFormat means the bytes are not a sealed value at all.
	ErrFormat = errors.New("sealed: not a sealed value")
	// ErrWrongMasterKey means a data key did not unwrap: the master key
	// is not the one it was wrapped with.
	ErrWrongMasterKey = errors.New("sealed: the master key does not unwrap the data keys (wrong key?)")
	// ErrNoDataKey means a keyring has no key to seal with.
	ErrNoDataKey = errors.New("sealed: the keyring has no data key")
)

// MasterKey wraps data keys. It never leaves the process: the database
// holds only data keys wrapped by it.
type MasterKey struct {
	aead cipher.AEAD
}

// ParseMasterKey reads a master key of exactly 32 bytes written as 64
// hex digits (`openssl rand -hex 32`) or base64, standard or URL alphabet,
// padded or not (`openssl rand -base64 32`). Surrounding space is ignored.
func ParseMasterKey(text string) (*MasterKey, error) {
	text = strings.TrimSpace(text)
	if raw, err := hex.DecodeString(text); err == nil && len(raw) == KeySize {
		return NewMasterKey(raw)
	}
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(text); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("the key is neither 64 hex digits nor base64: make one with `openssl rand -hex 32`")
	}
	if len(raw) != KeySize {
		return nil, fmt.Errorf("the key is %d bytes; it must be %d (256 bits): make one with `openssl rand -hex 32`", len(raw), KeySize)
	}
	return NewMasterKey(raw)
}

// NewMasterKey makes a master key of 32 raw bytes.
func NewMasterKey(raw []byte) (*MasterKey, error) {
	a, err := newAEAD(raw)
	if err != nil {
		return nil, err
	}
	return &MasterKey{aead: a}, nil
}

// LoadMasterKey returns the master key given as base64 text (value), or
// read from the file at path when value is empty; nil when both are
// empty (no encryption). Giving both is an error: it would be unclear
// which one is meant.
func LoadMasterKey(value, path string) (*MasterKey, error) {
	switch {
	case value != "" && path != "":
		return nil, errors.New("both a key and a key file are set; set one")
	case value != "":
		return ParseMasterKey(value)
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read the key file: %w", err)
		}
		k, err := ParseMasterKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		return k, nil
	}
	return nil, nil
}

// GenerateMasterKey returns a new random master key and its base64 text.
func GenerateMasterKey() (*MasterKey, string, error) {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", err
	}
	k, err := NewMasterKey(raw)
	if err != nil {
		return nil, "", err
	}
	return k, base64.StdEncoding.EncodeToString(raw), nil
}

// WrappedKey is a data key as the database stores it: its id and the key
// sealed under the master key.
type WrappedKey struct {
	ID      uint32
	Wrapped []byte
}

// wrapAD binds a wrapped key to its id, so two wrapped keys cannot trade
// ids in the database.
func wrapAD(id uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte("parley data key\x00"), id)
}

// NewDataKey makes a random data key with the given id, wrapped by m.
func NewDataKey(m *MasterKey, id uint32) (WrappedKey, error) {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return WrappedKey{}, err
	}
	return wrap(m, id, raw)
}

func wrap(m *MasterKey, id uint32, raw []byte) (WrappedKey, error) {
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return WrappedKey{}, err
	}
	out := append([]byte{versionWrap}, nonce...)
	out = m.aead.Seal(out, nonce, raw, wrapAD(id))
	return WrappedKey{ID: id, Wrapped: out}, nil
}

func unwrap(m *MasterKey, k WrappedKey) ([]byte, error) {
	if len(k.Wrapped) != 1+nonceSize+KeySize+tagSize || k.Wrapped[0] != versionWrap {
		return nil, fmt.Errorf("data key %d: %w", k.ID, ErrFormat)
	}
	raw, err := m.aead.Open(nil, k.Wrapped[1:1+nonceSize], k.Wrapped[1+nonceSize:], wrapAD(k.ID))
	if err != nil {
		return nil, fmt.Errorf("data key %d: %w", k.ID, ErrWrongMasterKey)
	}
	return raw, nil
}

// Rewrap unwraps k with from and wraps the same data key with to: what
// changing the master key does. The data it protects is not touched.
func Rewrap(from, to *MasterKey, k WrappedKey) (WrappedKey, error) {
	raw, err := unwrap(from, k)
	if err != nil {
		return WrappedKey{}, err
	}
	return wrap(to, k.ID, raw)
}

// Keyring holds unwrapped data keys. It seals with the newest (highest
// id) and opens with whichever key a value names. It is safe for
// concurrent use.
type Keyring struct {
	mu      sync.RWMutex
	master  *MasterKey
	keys    map[uint32]cipher.AEAD
	current uint32
}

// NewKeyring unwraps keys with m. It fails with ErrWrongMasterKey when one
// does not unwrap. With no keys, Seal fails until Add gives it one.
func NewKeyring(m *MasterKey, keys []WrappedKey) (*Keyring, error) {
	if m == nil {
		return nil, errors.New("sealed: no master key")
	}
	r := &Keyring{master: m, keys: map[uint32]cipher.AEAD{}}
	for _, k := range keys {
		if err := r.Add(k); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add unwraps one more data key into the keyring; it becomes current when
// its id is the highest.
func (r *Keyring) Add(k WrappedKey) error {
	if k.ID == 0 {
		return fmt.Errorf("sealed: data key id 0 is reserved")
	}
	raw, err := unwrap(r.Master(), k)
	if err != nil {
		return err
	}
	a, err := newAEAD(raw)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys[k.ID] = a
	if k.ID > r.current {
		r.current = k.ID
	}
	return nil
}

// Current returns the id of the key Seal uses (0 when there is none or
// the keyring is nil).
func (r *Keyring) Current() uint32 {
	if r == nil {
		return 0
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.current
}

// NextID returns the id a new data key should take: one above the
// highest known.
func (r *Keyring) NextID() uint32 { return r.Current() + 1 }

// Master returns the master key that wraps the keyring's keys.
func (r *Keyring) Master() *MasterKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.master
}

// SetMaster makes m the master key new data keys are wrapped with (after
// the stored keys were rewrapped with it).
func (r *Keyring) SetMaster(m *MasterKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.master = m
}

// IDs lists the ids of the keyring's data keys, lowest first.
func (r *Keyring) IDs() []uint32 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]uint32, 0, len(r.keys))
	for id := range r.keys {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Remove drops a data key: values under it no longer open.
func (r *Keyring) Remove(id uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.keys, id)
}

func (r *Keyring) key(id uint32) (cipher.AEAD, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if id == 0 {
		return nil, ErrNoDataKey
	}
	a, ok := r.keys[id]
	if !ok {
		return nil, fmt.Errorf("%w %d", ErrUnknownKey, id)
	}
	return a, nil
}

// Seal encrypts plaintext under the current data key. associatedData is
// not stored but must be given again to Open: pass what identifies the
// row (e.g. "message:" + id) so the value cannot be moved to another.
func (r *Keyring) Seal(plaintext, associatedData []byte) ([]byte, error) {
	id := r.Current()
	a, err := r.key(id)
	if err != nil {
		return nil, err
	}
	out := make([]byte, headerSize+nonceSize, Overhead+len(plaintext))
	out[0] = versionValue
	binary.BigEndian.PutUint32(out[1:5], id)
	if _, err := rand.Read(out[headerSize:]); err != nil {
		return nil, err
	}
	return a.Seal(out, out[headerSize:], plaintext, ad(out[:headerSize], associatedData)), nil
}

// Open decrypts a value made by Seal with the same associated data.
func (r *Keyring) Open(sealed, associatedData []byte) ([]byte, error) {
	id, err := KeyID(sealed)
	if err != nil {
		return nil, err
	}
	a, err := r.key(id)
	if err != nil {
		return nil, err
	}
	pt, err := a.Open(nil, sealed[headerSize:headerSize+nonceSize], sealed[headerSize+nonceSize:], ad(sealed[:headerSize], associatedData))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// KeyID returns the id of the data key a sealed value (Seal) or sealed
// stream (SealStream) was made with; rotation uses it to find what is
// still under an old key.
func KeyID(sealed []byte) (uint32, error) {
	switch {
	case len(sealed) >= Overhead && sealed[0] == versionValue:
	case len(sealed) >= streamHeaderSize && sealed[0] == versionStream:
	default:
		return 0, ErrFormat
	}
	return binary.BigEndian.Uint32(sealed[1:5]), nil
}

// ad is the GCM additional data: the header (version, key id) then the
// caller's associated data.
func ad(header, associatedData []byte) []byte {
	out := make([]byte, 0, len(header)+len(associatedData))
	return append(append(out, header...), associatedData...)
}

func newAEAD(raw []byte) (cipher.AEAD, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("sealed: a key is %d bytes, not %d", KeySize, len(raw))
	}
	b, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}
