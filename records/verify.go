package records

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/parleyhq/parley"
)

// Options tune Verify.
type Options struct {
	// TrustedKey, when set, is the key the export must be signed with
	// (the server's); otherwise the manifest's own key is checked only for
	// consistency and the report says whose key it was.
	TrustedKey ed25519.PublicKey
	// MaxBytes caps the bytes decompressed in all (default 8 GiB), so that
	// a crafted ZIP cannot make the verifier inflate without end.
	MaxBytes int64
	// MaxProblems caps the problems listed (default 200).
	MaxProblems int
}

// Report is the outcome of Verify. OK is true only when nothing is wrong;
// Problems then is empty. Each problem names its place, e.g.
// "conversation X: entry 17: content hash mismatch for message Y".
type Report struct {
	OK             bool   `json:"ok"`
	SignatureValid bool   `json:"signature_valid"`
	KeyFingerprint string `json:"key_fingerprint,omitempty"`
	// TrustedKey reports whether the signing key is the trusted one; nil
	// when no trusted key was given.
	TrustedKey    *bool                `json:"trusted_key,omitempty"`
	Scope         string               `json:"scope,omitempty"`
	Conversations []ConversationReport `json:"conversations"`
	Problems      []string             `json:"problems"`
	// Truncated is set when more problems were found than listed.
	Truncated bool `json:"truncated,omitempty"`
}

// ConversationReport sums up one conversation.
type ConversationReport struct {
	ID       string `json:"id"`
	Entries  int    `json:"entries"`
	Messages int    `json:"messages"`
	// Purged counts messages whose content was removed (unsent, expired,
	// erased): their place and content hash are verified, not their text.
	Purged int  `json:"purged"`
	OK     bool `json:"ok"`
}

type verifier struct {
	opts   Options
	files  map[string]*zip.File
	budget int64
	rep    *Report
	// digests are the manifest's files by path.
	digests map[string]File
}

func (v *verifier) problem(format string, args ...any) {
	v.rep.OK = false
	if len(v.rep.Problems) >= v.opts.MaxProblems {
		v.rep.Truncated = true
		return
	}
	v.rep.Problems = append(v.rep.Problems, fmt.Sprintf(format, args...))
}

var errBudget = errors.New("the export decompresses to more than the verifier allows")

// open reads a file of the ZIP within the decompression budget.
func (v *verifier) read(path string) ([]byte, error) {
	f, ok := v.files[path]
	if !ok {
		return nil, fs404
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, v.budget+1))
	v.budget -= int64(len(b))
	if v.budget < 0 {
		return nil, errBudget
	}
	return b, err
}

var fs404 = errors.New("missing")

// hashFile returns the SHA-256 of a file of the ZIP, streaming.
func (v *verifier) hashFile(f *zip.File) (string, int64, error) {
	rc, err := f.Open()
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(rc, v.budget+1))
	v.budget -= n
	if v.budget < 0 {
		return "", n, errBudget
	}
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Verify checks an export: the manifest's signature, every file against
// its hash, each conversation's chain segment (order, gaps, hashes, the
// signed head) and each message against its chain entries. It returns an
// error only when r is not a ZIP at all; everything else is a problem in
// the report.
func Verify(r io.ReaderAt, size int64, opts Options) (*Report, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 8 << 30
	}
	if opts.MaxProblems <= 0 {
		opts.MaxProblems = 200
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a ZIP file: %w", err)
	}
	v := &verifier{opts: opts, files: map[string]*zip.File{}, budget: opts.MaxBytes, rep: &Report{OK: true, Conversations: []ConversationReport{}, Problems: []string{}}}
	for _, f := range zr.File {
		if _, dup := v.files[f.Name]; dup {
			v.problem("file %s appears twice", f.Name)
		}
		v.files[f.Name] = f
	}
	man, ok := v.manifest()
	if !ok {
		return v.rep, nil
	}
	v.checkFiles(man)
	for _, cm := range man.Conversations {
		v.conversation(cm)
	}
	if v.budget < 0 {
		v.problem("%v", errBudget)
	}
	return v.rep, nil
}

// manifest reads and checks the manifest and its signature.
func (v *verifier) manifest() (*Manifest, bool) {
	buf, err := v.read(ManifestPath)
	if err != nil {
		v.problem("%s: %v", ManifestPath, err)
		return nil, false
	}
	var man Manifest
	if err := json.Unmarshal(buf, &man); err != nil {
		v.problem("%s: not valid JSON: %v", ManifestPath, err)
		return nil, false
	}
	if man.Format != Format {
		v.problem("%s: format %q, want %q", ManifestPath, man.Format, Format)
		return nil, false
	}
	v.rep.Scope = man.Scope
	pub, err := base64.StdEncoding.DecodeString(man.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		v.problem("%s: public_key is not a base64 Ed25519 key", ManifestPath)
		return &man, true
	}
	v.rep.KeyFingerprint = Fingerprint(pub)
	sigText, err := v.read(SignaturePath)
	if err != nil {
		v.problem("%s: %v", SignaturePath, err)
	} else if sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sigText))); err != nil || !ed25519.Verify(pub, buf, sig) {
		v.problem("signature invalid: %s does not match %s under the key %s", SignaturePath, ManifestPath, v.rep.KeyFingerprint)
	} else {
		v.rep.SignatureValid = true
	}
	if v.opts.TrustedKey != nil {
		trusted := bytes.Equal(pub, v.opts.TrustedKey)
		v.rep.TrustedKey = &trusted
		if !trusted {
			v.problem("signed by the key %s, not by the trusted key %s", v.rep.KeyFingerprint, Fingerprint(v.opts.TrustedKey))
		}
	}
	return &man, true
}

// checkFiles compares every file with the manifest's list.
func (v *verifier) checkFiles(man *Manifest) {
	v.digests = map[string]File{}
	for _, f := range man.Files {
		v.digests[f.Path] = f
		zf, ok := v.files[f.Path]
		if !ok {
			v.problem("file %s missing", f.Path)
			continue
		}
		sum, n, err := v.hashFile(zf)
		switch {
		case err != nil:
			v.problem("file %s: %v", f.Path, err)
		case sum != f.SHA256 || n != f.Size:
			v.problem("file %s: sha256 mismatch (the file was altered)", f.Path)
		}
	}
	var extra []string
	for name := range v.files {
		if _, ok := v.digests[name]; !ok && name != ManifestPath && name != SignaturePath {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		v.problem("file %s is not in the manifest", name)
	}
}

// conversation checks one conversation's chain segment and messages.
func (v *verifier) conversation(cm ConversationManifest) {
	before := len(v.rep.Problems)
	okBefore := v.rep.OK
	v.rep.OK = true
	cr := ConversationReport{ID: cm.ID}
	defer func() {
		cr.OK = v.rep.OK && len(v.rep.Problems) == before
		v.rep.OK = v.rep.OK && okBefore
		v.rep.Conversations = append(v.rep.Conversations, cr)
	}()
	where := "conversation " + cm.ID
	dir := ConversationDir(cm.ID)
	var conv Conversation
	if buf, err := v.read(dir + "conversation.json"); err != nil {
		v.problem("%s: conversation.json: %v", where, err)
		return
	} else if err := json.Unmarshal(buf, &conv); err != nil {
		v.problem("%s: conversation.json: not valid JSON: %v", where, err)
		return
	}
	entries, ok := v.entries(where, dir+"chain.jsonl")
	if !ok {
		return
	}
	cr.Entries, cr.Messages = len(entries), len(conv.Messages)
	if cm.Messages != len(conv.Messages) {
		v.problem("%s: %d messages, the manifest says %d", where, len(conv.Messages), cm.Messages)
	}
	entries = v.checkOrder(where, cm, entries)
	v.checkHashes(where, cm, entries)
	cr.Purged = v.checkMessages(where, &conv, entries)
}

// entries parses chain.jsonl, one entry per line.
func (v *verifier) entries(where, path string) ([]*parley.ChainEntry, bool) {
	buf, err := v.read(path)
	if err != nil {
		v.problem("%s: chain.jsonl: %v", where, err)
		return nil, false
	}
	var out []*parley.ChainEntry
	sc := bufio.NewScanner(bytes.NewReader(buf))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			v.problem("%s: chain.jsonl line %d: not an entry: %v", where, line, err)
			continue
		}
		ce, ok := e.chainEntry()
		if !ok {
			v.problem("%s: entry %d: time %q is not in the chain's format", where, e.Index, e.Time)
			continue
		}
		out = append(out, ce)
	}
	if err := sc.Err(); err != nil {
		v.problem("%s: chain.jsonl: %v", where, err)
	}
	return out, true
}

// checkOrder reports entries out of order, repeated, missing or outside
// the signed range, and returns the entries sorted by index, one each.
func (v *verifier) checkOrder(where string, cm ConversationManifest, entries []*parley.ChainEntry) []*parley.ChainEntry {
	for i := 1; i < len(entries); i++ {
		a, b := entries[i-1].Index, entries[i].Index
		if b < a {
			v.problem("%s: entries %d and %d out of order", where, b, a)
		}
	}
	sorted := append([]*parley.ChainEntry(nil), entries...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Index < sorted[j].Index })
	uniq := sorted[:0]
	for i, e := range sorted {
		if i > 0 && e.Index == sorted[i-1].Index {
			v.problem("%s: entry %d appears twice", where, e.Index)
			continue
		}
		if e.Index < cm.FirstIndex || e.Index > cm.LastIndex {
			v.problem("%s: entry %d is outside the signed range %d–%d", where, e.Index, cm.FirstIndex, cm.LastIndex)
			continue
		}
		uniq = append(uniq, e)
	}
	missing, next := 0, cm.FirstIndex
	report := func(idx int64) {
		if missing++; missing <= 20 {
			v.problem("%s: entry %d missing", where, idx)
		}
	}
	for _, e := range uniq {
		for ; next < e.Index; next++ {
			report(next)
		}
		next = e.Index + 1
	}
	if cm.LastIndex > 0 {
		for ; next <= cm.LastIndex; next++ {
			report(next)
		}
	}
	if missing > 20 {
		v.problem("%s: %d more entries missing", where, missing-20)
	}
	return uniq
}

// checkHashes recomputes each entry's hash and follows the links.
func (v *verifier) checkHashes(where string, cm ConversationManifest, entries []*parley.ChainEntry) {
	prevIdx, prevHash := cm.FirstIndex-1, cm.PrevHash
	for _, e := range entries {
		if e.ConversationID != cm.ID {
			v.problem("%s: entry %d names conversation %s", where, e.Index, e.ConversationID)
		}
		if e.ComputeHash() != e.Hash {
			v.problem("%s: entry %d: hash mismatch (the entry was altered)", where, e.Index)
		}
		if e.Index == prevIdx+1 && e.PrevHash != prevHash {
			if e.Index == cm.FirstIndex {
				v.problem("%s: entry %d: previous hash does not match the manifest", where, e.Index)
			} else {
				v.problem("%s: entry %d: previous hash does not match entry %d", where, e.Index, prevIdx)
			}
		}
		prevIdx, prevHash = e.Index, e.Hash
	}
	if len(entries) > 0 && entries[len(entries)-1].Index == cm.LastIndex && prevHash != cm.HeadHash {
		v.problem("%s: entry %d: hash does not match the manifest's head", where, cm.LastIndex)
	}
}

// checkMessages matches messages with their entries: a message entry per
// message, content hashes of each version, removals without content, and
// attachments present with their hashes. It returns the purged count.
func (v *verifier) checkMessages(where string, conv *Conversation, entries []*parley.ChainEntry) int {
	byID := map[string]*Message{}
	for i := range conv.Messages {
		m := &conv.Messages[i]
		if byID[m.ID] != nil {
			v.problem("%s: message %s appears twice", where, m.ID)
		}
		byID[m.ID] = m
	}
	inChain := map[string]bool{}
	edits := map[string]int{}
	for _, e := range entries {
		m := byID[e.MessageID]
		switch e.Kind {
		case parley.ChainMessage:
			if m == nil {
				v.problem("%s: entry %d: message %s missing", where, e.Index, e.MessageID)
				continue
			}
			inChain[m.ID] = true
			if m.Seq != e.Seq {
				v.problem("%s: entry %d: message %s has seq %d, the chain says %d", where, e.Index, m.ID, m.Seq, e.Seq)
			}
			if !m.Purged && m.contents()[0].Hash() != e.ContentHash {
				v.problem("%s: entry %d: content hash mismatch for message %s", where, e.Index, m.ID)
			}
		case parley.ChainEdit:
			// An edit of a message from before the viewer's range has no
			// message in the export; that is not a gap.
			if m == nil || m.Purged {
				continue
			}
			edits[m.ID]++
			k := edits[m.ID]
			if c := m.contents(); k >= len(c) {
				v.problem("%s: entry %d: edit %d of message %s has no version in the export", where, e.Index, k, m.ID)
			} else if c[k].Hash() != e.ContentHash {
				v.problem("%s: entry %d: content hash mismatch for message %s (version %d)", where, e.Index, m.ID, k+1)
			}
		case parley.ChainUnsend, parley.ChainExpire, parley.ChainErase:
			if m != nil && !m.Purged {
				v.problem("%s: entry %d: message %s was removed but the export holds its content", where, e.Index, m.ID)
			}
		case parley.ChainRedact:
			if m != nil && (!m.Purged || !m.Redacted) {
				v.problem("%s: entry %d: message %s was redacted but the export does not show it redacted", where, e.Index, m.ID)
			}
		}
	}
	purged := 0
	for i := range conv.Messages {
		m := &conv.Messages[i]
		if m.Purged {
			purged++
			if m.Text != "" || m.Data != "" || m.System != "" || len(m.Attachments) > 0 || len(m.Versions) > 0 {
				v.problem("%s: message %s is marked removed but holds content", where, m.ID)
			}
			continue
		}
		if !inChain[m.ID] {
			v.problem("%s: message %s (seq %d) is not in the chain", where, m.ID, m.Seq)
			continue
		}
		if edits[m.ID] != len(m.Versions) {
			v.problem("%s: message %s has %d earlier versions but %d edit entries", where, m.ID, len(m.Versions), edits[m.ID])
		}
		for _, a := range m.Attachments {
			f, ok := v.digests[a.File]
			switch {
			case a.File != MediaPath(a.SHA256, a.ContentType):
				v.problem("%s: message %s: attachment file %q is not where its hash puts it", where, m.ID, a.File)
			case !ok:
				v.problem("%s: message %s: attachment %s missing", where, m.ID, a.File)
			case f.SHA256 != a.SHA256 || f.Size != a.Size:
				v.problem("%s: message %s: attachment %s does not match its sha256", where, m.ID, a.File)
			}
		}
	}
	return purged
}
