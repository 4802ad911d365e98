// Package records writes and verifies Parley's signed exports: a ZIP of
// conversations as JSON and readable HTML, their hash-chain entries, media
// files and a manifest signed with the server's Ed25519 key. It knows no
// rule, store or transport; docs/records.md describes the format for those
// who verify without Parley.
package records

import (
	"time"

	"github.com/parleyhq/parley"
)

// Format is the manifest's format name; a verifier refuses others.
const Format = "parley-export-v1"

// Paths inside the ZIP.
const (
	ManifestPath  = "manifest.json"
	SignaturePath = "manifest.sig"
	AccountPath   = "account.json"
	IndexPath     = "index.html"
)

// ConversationDir is the folder of a conversation's files.
func ConversationDir(id string) string { return "conversations/" + id + "/" }

// MediaPath is where an attachment's bytes are stored: by content hash,
// so a file sent twice is stored once, with an extension from its type so
// that the transcript opens it.
func MediaPath(sha256, contentType string) string {
	ext, ok := extensions[contentType]
	if !ok {
		ext = ".bin"
	}
	return "media/" + sha256 + ext
}

var extensions = map[string]string{
	"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
	"video/mp4": ".mp4", "video/webm": ".webm", "video/quicktime": ".mov",
	"audio/mpeg": ".mp3", "audio/ogg": ".ogg", "audio/webm": ".weba", "audio/mp4": ".m4a", "audio/wav": ".wav",
	"application/pdf": ".pdf", "text/plain": ".txt", "application/zip": ".zip",
}

// Manifest describes an export and is what the signature covers. Files
// lists every other file of the ZIP but the signature, with its SHA-256.
type Manifest struct {
	Format    string    `json:"format"`
	CreatedAt time.Time `json:"created_at"`
	// Server is the public base URL or name of the server that signed.
	Server string `json:"server,omitempty"`
	// PublicKey is the base64 (standard, padded) Ed25519 public key whose
	// signature is manifest.sig; KeyFingerprint its SHA-256 in hex.
	PublicKey      string `json:"public_key"`
	KeyFingerprint string `json:"key_fingerprint"`
	Scope          string `json:"scope"`
	// Exporter is the account that asked, and Business the business it
	// exported for (a business admin's export).
	Exporter      Person                 `json:"exporter"`
	Business      *Person                `json:"business,omitempty"`
	Conversations []ConversationManifest `json:"conversations"`
	Files         []File                 `json:"files"`
}

// ConversationManifest pins one conversation's chain segment: the export
// holds entries FirstIndex to LastIndex, the first following PrevHash
// (64 zeros when FirstIndex is 1) and the last hashing to HeadHash.
type ConversationManifest struct {
	ID         string `json:"id"`
	FirstIndex int64  `json:"first_index"`
	PrevHash   string `json:"prev_hash"`
	LastIndex  int64  `json:"last_index"`
	HeadHash   string `json:"head_hash"`
	Messages   int    `json:"messages"`
}

// File is one file of the ZIP and its SHA-256 (lower-case hex).
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Person names an account.
type Person struct {
	ID          string `json:"id"`
	Handle      string `json:"handle,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
}

// Account is account.json in an account export: the exporter's profile.
type Account struct {
	ID          string    `json:"id"`
	Handle      string    `json:"handle"`
	DisplayName string    `json:"display_name"`
	Bio         string    `json:"bio"`
	Kind        string    `json:"kind"`
	DMPolicy    string    `json:"dm_policy"`
	CreatedAt   time.Time `json:"created_at"`
}

// Conversation is conversations/ID/conversation.json.
type Conversation struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Title     string    `json:"title,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Viewer is whose view this is: messages outside it (before they
	// joined, after they left) are not exported.
	Viewer   Person    `json:"viewer"`
	Members  []Member  `json:"members"`
	Messages []Message `json:"messages"`
}

// Member is a membership as the export saw it.
type Member struct {
	Person
	Role     string    `json:"role"`
	Status   string    `json:"status"`
	JoinedAt time.Time `json:"joined_at"`
}

// Message is one message. A purged message (unsent, expired, erased,
// redacted)
// keeps its place with Purged set and no content; the chain still holds
// its content hash.
type Message struct {
	ID        string     `json:"id"`
	Seq       int64      `json:"seq"`
	Sender    Person     `json:"sender"`
	AgentID   string     `json:"agent_id,omitempty"`
	Kind      string     `json:"kind"`
	Text      string     `json:"text,omitempty"`
	ReplyTo   string     `json:"reply_to,omitempty"`
	Data      string     `json:"data,omitempty"`
	System    string     `json:"system,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	EditedAt  *time.Time `json:"edited_at,omitempty"`
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
	Purged    bool       `json:"purged,omitempty"`
	// Hidden is set, with Purged, on a message a moderator hid (its
	// sender banned with hide_messages): exported without content, as a
	// purged message is, though the server still holds it.
	Hidden bool `json:"hidden,omitempty"`
	// Redacted is set, with Purged, on a message its sender (or a
	// business admin) redacted; RedactedAt says when. The chain's redact
	// entry holds the hash of the redacted content.
	Redacted   bool       `json:"redacted,omitempty"`
	RedactedAt *time.Time `json:"redacted_at,omitempty"`
	// Versions are the earlier texts of an edited message, oldest first;
	// the message's own Text is the latest.
	Versions    []Version    `json:"versions,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Version is an earlier text of an edited message.
type Version struct {
	Text       string    `json:"text"`
	ReplacedAt time.Time `json:"replaced_at"`
}

// Attachment is a file sent with a message; its bytes are at File.
type Attachment struct {
	SHA256      string `json:"sha256"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	File        string `json:"file"`
}

// Entry is one line of conversations/ID/chain.jsonl.
type Entry struct {
	Conversation string `json:"conversation"`
	Index        int64  `json:"index"`
	Kind         string `json:"kind"`
	Message      string `json:"message,omitempty"`
	Seq          int64  `json:"seq,omitempty"`
	Actor        string `json:"actor,omitempty"`
	Subject      string `json:"subject,omitempty"`
	// Time is in parley.ChainTimeFormat, exactly as hashed.
	Time    string `json:"time"`
	Content string `json:"content,omitempty"`
	Prev    string `json:"prev"`
	Hash    string `json:"hash"`
}

// EntryOf converts a stored entry.
func EntryOf(e *parley.ChainEntry) Entry {
	return Entry{Conversation: e.ConversationID, Index: e.Index, Kind: e.Kind, Message: e.MessageID, Seq: e.Seq,
		Actor: e.ActorID, Subject: e.SubjectID, Time: e.At.UTC().Format(parley.ChainTimeFormat), Content: e.ContentHash,
		Prev: e.PrevHash, Hash: e.Hash}
}

// chainEntry converts back; ok is false when the time does not parse.
func (e Entry) chainEntry() (*parley.ChainEntry, bool) {
	at, err := time.Parse(parley.ChainTimeFormat, e.Time)
	if err != nil {
		return nil, false
	}
	return &parley.ChainEntry{ConversationID: e.Conversation, Index: e.Index, Kind: e.Kind, MessageID: e.Message, Seq: e.Seq,
		ActorID: e.Actor, SubjectID: e.Subject, At: at, ContentHash: e.Content, PrevHash: e.Prev, Hash: e.Hash}, true
}

// contents returns the content of each version of m, oldest first; the
// message entry's content hash is of the first, each edit's of the next.
func (m *Message) contents() []*parley.MessageContent {
	base := parley.MessageContent{Kind: m.Kind, ReplyTo: m.ReplyTo, Data: m.Data, System: m.System}
	for _, a := range m.Attachments {
		base.Attachments = append(base.Attachments, parley.AttachmentDigest{SHA256: a.SHA256, ContentType: a.ContentType, Size: a.Size})
	}
	var out []*parley.MessageContent
	for _, v := range m.Versions {
		c := base
		c.Text = v.Text
		out = append(out, &c)
	}
	c := base
	c.Text = m.Text
	return append(out, &c)
}
