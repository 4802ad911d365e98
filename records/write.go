package records

import (
	"archive/zip"
	"bufio"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

// Writer builds an export ZIP. Add the conversations (and their media),
// then Close signs the manifest. It is not safe for concurrent use.
type Writer struct {
	zw    *zip.Writer
	man   Manifest
	files []File
	seen  map[string]bool
	convs []indexRow
}

type indexRow struct {
	ID, Title string
	Messages  int
}

// NewWriter starts an export on w. man's Conversations and Files are
// filled in by the Writer; the rest (scope, exporter …) is the caller's.
func NewWriter(w io.Writer, man Manifest) *Writer {
	man.Format = Format
	man.Conversations, man.Files = nil, nil
	return &Writer{zw: zip.NewWriter(w), man: man, seen: map[string]bool{}}
}

// hashWriter counts and hashes what passes through it.
type hashWriter struct {
	w io.Writer
	h hashState
	n int64
}

type hashState interface {
	io.Writer
	Sum([]byte) []byte
}

func (hw *hashWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

// Add writes one file, recording its hash in the manifest. Paths repeat
// only for media, which is stored once.
func (w *Writer) Add(path string, write func(io.Writer) error) error {
	if w.seen[path] {
		return nil
	}
	fw, err := w.zw.CreateHeader(&zip.FileHeader{Name: path, Method: zip.Deflate, Modified: w.man.CreatedAt})
	if err != nil {
		return err
	}
	hw := &hashWriter{w: fw, h: sha256.New()}
	bw := bufio.NewWriterSize(hw, 64<<10)
	if err := write(bw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	w.seen[path] = true
	w.files = append(w.files, File{Path: path, SHA256: hex.EncodeToString(hw.h.Sum(nil)), Size: hw.n})
	return nil
}

// HasMedia reports whether the attachment's bytes are already in the ZIP.
func (w *Writer) HasMedia(path string) bool { return w.seen[path] }

// AddJSON writes v as indented JSON.
func (w *Writer) AddJSON(path string, v any) error {
	return w.Add(path, func(out io.Writer) error {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	})
}

// AddConversation writes a conversation's JSON, its chain segment (one
// entry per line) and its HTML transcript, and pins the segment in the
// manifest. Its attachments must be added with Add at their File paths.
func (w *Writer) AddConversation(c *Conversation, entries []Entry) error {
	cm := ConversationManifest{ID: c.ID, Messages: len(c.Messages)}
	if len(entries) > 0 {
		cm.FirstIndex, cm.PrevHash = entries[0].Index, entries[0].Prev
		cm.LastIndex, cm.HeadHash = entries[len(entries)-1].Index, entries[len(entries)-1].Hash
	}
	dir := ConversationDir(c.ID)
	if err := w.AddJSON(dir+"conversation.json", c); err != nil {
		return err
	}
	err := w.Add(dir+"chain.jsonl", func(out io.Writer) error {
		enc := json.NewEncoder(out)
		for _, e := range entries {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := w.Add(dir+"transcript.html", func(out io.Writer) error { return writeTranscript(out, c) }); err != nil {
		return err
	}
	w.man.Conversations = append(w.man.Conversations, cm)
	w.convs = append(w.convs, indexRow{ID: c.ID, Title: title(c), Messages: len(c.Messages)})
	return nil
}

// Close writes the index page, the manifest and its signature by key, and
// finishes the ZIP. It does not close the underlying writer.
func (w *Writer) Close(key ed25519.PrivateKey) error {
	if len(key) != ed25519.PrivateKeySize {
		return errors.New("records: no signing key")
	}
	pub := key.Public().(ed25519.PublicKey)
	w.man.PublicKey = base64.StdEncoding.EncodeToString(pub)
	w.man.KeyFingerprint = Fingerprint(pub)
	if err := w.Add(IndexPath, func(out io.Writer) error { return writeIndex(out, &w.man, w.convs) }); err != nil {
		return err
	}
	sort.Slice(w.files, func(i, j int) bool { return w.files[i].Path < w.files[j].Path })
	w.man.Files = w.files
	if w.man.CreatedAt.IsZero() {
		w.man.CreatedAt = time.Now().UTC()
	}
	buf, err := json.MarshalIndent(&w.man, "", "  ")
	if err != nil {
		return err
	}
	if err := w.raw(ManifestPath, buf); err != nil {
		return err
	}
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key, buf))
	if err := w.raw(SignaturePath, []byte(sig+"\n")); err != nil {
		return err
	}
	return w.zw.Close()
}

func (w *Writer) raw(path string, b []byte) error {
	fw, err := w.zw.CreateHeader(&zip.FileHeader{Name: path, Method: zip.Deflate, Modified: w.man.CreatedAt})
	if err != nil {
		return err
	}
	_, err = fw.Write(b)
	return err
}

// Fingerprint is the lower-case hex SHA-256 of a public key.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:])
}
