package sealed

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newRing(t testing.TB) (*Keyring, *MasterKey) {
	t.Helper()
	m, _, err := GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewDataKey(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewKeyring(m, []WrappedKey{k})
	if err != nil {
		t.Fatal(err)
	}
	return r, m
}

func TestSealOpen(t *testing.T) {
	r, _ := newRing(t)
	for _, pt := range []string{"", "hi", strings.Repeat("long text ", 1000)} {
		ct, err := r.Seal([]byte(pt), []byte("message:m1"))
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) != len(pt)+Overhead {
			t.Errorf("len %d, want %d", len(ct), len(pt)+Overhead)
		}
		if pt != "" && bytes.Contains(ct, []byte(pt)) {
			t.Error("plaintext inside the ciphertext")
		}
		got, err := r.Open(ct, []byte("message:m1"))
		if err != nil || string(got) != pt {
			t.Fatalf("Open = %q, %v", got, err)
		}
	}
	a, _ := r.Seal([]byte("same"), nil)
	b, _ := r.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Error("two seals of one plaintext are equal: nonce reused")
	}
}

func TestTamper(t *testing.T) {
	r, _ := newRing(t)
	ct, err := r.Seal([]byte("pay 10 EUR to alice"), []byte("message:m1"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		if _, err := r.Open(bad, []byte("message:m1")); err == nil {
			t.Fatalf("flipping a bit of byte %d went unnoticed", i)
		}
	}
	if _, err := r.Open(ct[:len(ct)-1], []byte("message:m1")); err == nil {
		t.Error("a cut value opened")
	}
	// Swapped between rows: another row's associated data.
	if _, err := r.Open(ct, []byte("message:m2")); !errors.Is(err, ErrOpen) {
		t.Errorf("opened for another row: %v", err)
	}
	if _, err := r.Open([]byte("plain"), nil); !errors.Is(err, ErrFormat) {
		t.Errorf("plaintext: %v", err)
	}
}

func TestWrongMasterKey(t *testing.T) {
	m, _, _ := GenerateMasterKey()
	other, _, _ := GenerateMasterKey()
	k, err := NewDataKey(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewKeyring(other, []WrappedKey{k}); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("wrong master key: %v", err)
	}
	// A wrapped key moved to another id does not unwrap either.
	k.ID = 2
	if _, err := NewKeyring(m, []WrappedKey{k}); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("wrapped key under another id: %v", err)
	}
	// Data sealed by one keyring does not open in a keyring with other keys.
	r1, _ := newRing(t)
	r2, _ := newRing(t)
	ct, _ := r1.Seal([]byte("x"), nil)
	if _, err := r2.Open(ct, nil); !errors.Is(err, ErrOpen) {
		t.Fatalf("opened under another data key with the same id: %v", err)
	}
}

func TestRotation(t *testing.T) {
	r, m := newRing(t)
	old, _ := r.Seal([]byte("before rotation"), []byte("a"))
	k2, err := NewDataKey(m, r.NextID())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Add(k2); err != nil {
		t.Fatal(err)
	}
	if r.Current() != 2 {
		t.Fatalf("current %d after rotation", r.Current())
	}
	fresh, _ := r.Seal([]byte("after rotation"), []byte("a"))
	if id, _ := KeyID(fresh); id != 2 {
		t.Errorf("new value under key %d", id)
	}
	if id, _ := KeyID(old); id != 1 {
		t.Errorf("old value under key %d", id)
	}
	if got, err := r.Open(old, []byte("a")); err != nil || string(got) != "before rotation" {
		t.Errorf("old value after rotation: %q %v", got, err)
	}
	// A keyring without the old key cannot open old values.
	only2, err := NewKeyring(m, []WrappedKey{k2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := only2.Open(old, []byte("a")); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old value without its key: %v", err)
	}
}

func TestRewrap(t *testing.T) {
	m, _, _ := GenerateMasterKey()
	newM, _, _ := GenerateMasterKey()
	orig, _ := NewDataKey(m, 7)
	if _, err := Rewrap(newM, m, orig); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("rewrap with the wrong old key: %v", err)
	}
	r7, _ := NewKeyring(m, []WrappedKey{orig})
	ct7, _ := r7.Seal([]byte("under seven"), nil)
	moved, err := Rewrap(m, newM, orig)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(moved.Wrapped, orig.Wrapped) {
		t.Error("rewrap changed nothing")
	}
	after, err := NewKeyring(newM, []WrappedKey{moved})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := after.Open(ct7, nil); err != nil || string(got) != "under seven" {
		t.Errorf("after rewrap: %q %v", got, err)
	}
	if _, err := NewKeyring(m, []WrappedKey{moved}); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("the old master still unwraps: %v", err)
	}
}

func TestParseMasterKey(t *testing.T) {
	raw := make([]byte, 32)
	rand.Read(raw)
	for _, s := range []string{
		hex.EncodeToString(raw),
		base64.StdEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(raw) + "\n",
	} {
		m, err := ParseMasterKey(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want, _ := NewMasterKey(raw)
		k, _ := NewDataKey(want, 1)
		if _, err := NewKeyring(m, []WrappedKey{k}); err != nil {
			t.Errorf("%q parsed to another key: %v", s, err)
		}
	}
	for _, s := range []string{"", "short", base64.StdEncoding.EncodeToString(raw[:16]), "zz" + hex.EncodeToString(raw)[2:]} {
		if _, err := ParseMasterKey(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(raw)+"\n"), 0o600)
	if m, err := LoadMasterKey("", path); err != nil || m == nil {
		t.Fatalf("key file: %v", err)
	}
	if _, err := LoadMasterKey(hex.EncodeToString(raw), path); err == nil {
		t.Error("key and key file both accepted")
	}
	if m, err := LoadMasterKey("", ""); m != nil || err != nil {
		t.Errorf("no key: %v %v", m, err)
	}
	if _, err := LoadMasterKey("", filepath.Join(dir, "missing")); err == nil {
		t.Error("missing key file accepted")
	}
}

func TestText(t *testing.T) {
	r, _ := newRing(t)
	s, err := r.SealText("hello world", []byte("m1"))
	if err != nil {
		t.Fatal(err)
	}
	if !IsSealedText(s) || strings.Contains(s, "hello") {
		t.Fatalf("sealed text %q", s)
	}
	if id, err := TextKeyID(s); err != nil || id != 1 {
		t.Errorf("TextKeyID = %d %v", id, err)
	}
	if got, err := r.OpenText(s, []byte("m1")); err != nil || got != "hello world" {
		t.Errorf("OpenText = %q %v", got, err)
	}
	if _, err := r.OpenText(s, []byte("m2")); err == nil {
		t.Error("opened for another row")
	}
	if got, err := r.OpenText("legacy plaintext", nil); err != nil || got != "legacy plaintext" {
		t.Errorf("plaintext = %q %v", got, err)
	}
	if id, _ := TextKeyID("legacy plaintext"); id != 0 {
		t.Errorf("plaintext key id %d", id)
	}
	if e, _ := r.SealText("", nil); e != "" {
		t.Errorf("empty sealed to %q", e)
	}
	if !strings.HasPrefix(s, TextKeyPrefix(1)) {
		t.Errorf("%q does not name key 1 in clear", s)
	}
	var none *Keyring
	if got, _ := none.SealText("clear", nil); got != "clear" {
		t.Errorf("nil keyring sealed to %q", got)
	}
	if _, err := none.OpenText(s, []byte("m1")); !errors.Is(err, ErrNoKeyring) {
		t.Errorf("nil keyring opened a sealed value: %v", err)
	}
}

func sealStream(t testing.TB, r *Keyring, pt, adata []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := r.SealStream(&buf, adata)
	if err != nil {
		t.Fatal(err)
	}
	// Odd write sizes cross segment boundaries.
	for p := pt; len(p) > 0; {
		n := min(len(p), 10007)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestStream(t *testing.T) {
	r, _ := newRing(t)
	for _, n := range []int{0, 1, SegmentSize - 1, SegmentSize, SegmentSize + 1, 3*SegmentSize + 123} {
		pt := make([]byte, n)
		rand.Read(pt)
		ct := sealStream(t, r, pt, []byte("blob:x"))
		if int64(len(ct)) != SealedSize(int64(n)) {
			t.Fatalf("n=%d: sealed %d bytes, SealedSize says %d", n, len(ct), SealedSize(int64(n)))
		}
		if ps, err := PlainSize(int64(len(ct))); err != nil || ps != int64(n) {
			t.Fatalf("n=%d: PlainSize %d %v", n, ps, err)
		}
		sr, err := r.OpenStream(bytes.NewReader(ct), int64(len(ct)), []byte("blob:x"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(sr)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("n=%d: ReadAll %d bytes, %v", n, len(got), err)
		}
		// Ranges, including ones across segment boundaries.
		for _, rg := range [][2]int{{0, 1}, {n / 2, n/2 + 70000}, {n - 5, n}, {SegmentSize - 3, SegmentSize + 3}} {
			lo, hi := max(0, min(rg[0], n)), max(0, min(rg[1], n))
			p := make([]byte, hi-lo)
			if _, err := sr.ReadAt(p, int64(lo)); err != nil && err != io.EOF {
				t.Fatalf("n=%d ReadAt(%d,%d): %v", n, lo, hi, err)
			}
			if !bytes.Equal(p, pt[lo:hi]) {
				t.Fatalf("n=%d ReadAt(%d,%d) wrong bytes", n, lo, hi)
			}
		}
	}
}

func TestStreamTamper(t *testing.T) {
	r, _ := newRing(t)
	pt := make([]byte, 2*SegmentSize+10)
	rand.Read(pt)
	ct := sealStream(t, r, pt, []byte("blob:x"))
	readAll := func(b, adata []byte) error {
		sr, err := r.OpenStream(bytes.NewReader(b), int64(len(b)), adata)
		if err != nil {
			return err
		}
		_, err = io.ReadAll(sr)
		return err
	}
	if err := readAll(ct, []byte("blob:y")); !errors.Is(err, ErrOpen) {
		t.Errorf("other associated data: %v", err)
	}
	for _, i := range []int{0, 3, streamHeaderSize, streamHeaderSize + SegmentSize + 20, len(ct) - 1} {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x80
		if err := readAll(bad, []byte("blob:x")); err == nil {
			t.Errorf("a flipped byte at %d went unnoticed", i)
		}
	}
	// Truncated at a segment boundary: the last full segment is not
	// marked final.
	cut := ct[:streamHeaderSize+2*(SegmentSize+tagSize)]
	if err := readAll(cut, []byte("blob:x")); !errors.Is(err, ErrOpen) {
		t.Errorf("truncated stream: %v", err)
	}
	// Segments swapped.
	sw := bytes.Clone(ct)
	s0 := sw[streamHeaderSize : streamHeaderSize+SegmentSize+tagSize]
	s1 := bytes.Clone(sw[streamHeaderSize+SegmentSize+tagSize : streamHeaderSize+2*(SegmentSize+tagSize)])
	copy(sw[streamHeaderSize+SegmentSize+tagSize:], s0)
	copy(s0, s1)
	if err := readAll(sw, []byte("blob:x")); !errors.Is(err, ErrOpen) {
		t.Errorf("reordered segments: %v", err)
	}
}

// TestStreamServeContent shows range requests answered from a sealed file.
func TestStreamServeContent(t *testing.T) {
	r, _ := newRing(t)
	pt := make([]byte, 200000)
	rand.Read(pt)
	ct := sealStream(t, r, pt, nil)
	sr, err := r.OpenStream(bytes.NewReader(ct), int64(len(ct)), nil)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/f", nil)
	req.Header.Set("Range", "bytes=65530-65545")
	w := httptest.NewRecorder()
	http.ServeContent(w, req, "f", time.Time{}, sr)
	if w.Code != http.StatusPartialContent || !bytes.Equal(w.Body.Bytes(), pt[65530:65546]) {
		t.Fatalf("range answer %d, %d bytes", w.Code, w.Body.Len())
	}
}

func BenchmarkSeal(b *testing.B) {
	r, _ := newRing(b)
	pt := []byte(strings.Repeat("a typical chat message ", 5))
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		ct, _ := r.Seal(pt, []byte("message:0123456789"))
		if _, err := r.Open(ct, []byte("message:0123456789")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStream seals and opens 1 MiB of media (16 segments).
func BenchmarkStream(b *testing.B) {
	r, _ := newRing(b)
	pt := make([]byte, 1<<20)
	rand.Read(pt)
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		ct := sealStream(b, r, pt, []byte("blob:k"))
		sr, err := r.OpenStream(bytes.NewReader(ct), int64(len(ct)), []byte("blob:k"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, sr); err != nil {
			b.Fatal(err)
		}
	}
}
