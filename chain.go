package parley

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Chain entry kinds: what changed in a conversation. Every message, edit,
// unsend or expiry and every membership change appends one entry to the
// conversation's hash chain, in the transaction that makes the change.
const (
	ChainCreate  = "create"  // the conversation was created (actor: its creator)
	ChainMessage = "message" // a message was sent (content: its content hash)
	ChainEdit    = "edit"    // a message's text changed (content: the new content hash)
	ChainUnsend  = "unsend"  // a message was unsent: content purged, no content hash
	ChainExpire  = "expire"  // a disappearing message's content was purged
	ChainJoin    = "join"    // subject became an active member
	ChainInvite  = "invite"  // subject was invited (a pending member)
	ChainAccept  = "accept"  // subject accepted the request or invitation
	ChainDecline = "decline" // subject declined the request or invitation
	ChainLeave   = "leave"   // subject left
	ChainRemove  = "remove"  // subject was removed by actor
	ChainRole    = "role"    // subject's role changed (content: hash of the role name)
	ChainErase   = "erase"   // the author's account was deleted and the message's content purged
	ChainRedact  = "redact"  // the message's content was redacted (content: the redacted content's hash)
)

// ChainEntry is one link of a conversation's tamper-evident hash chain.
// Index counts from 1 without gaps per conversation; PrevHash is the Hash
// of the entry before (64 zeros for the first); Hash is ChainHash of the
// entry. Content is held by hash only, so content can be purged (unsend,
// expiry, account erasure) while the chain stays verifiable.
type ChainEntry struct {
	ConversationID string
	Index          int64
	Kind           string
	// MessageID and Seq name the message of message, edit, unsend, expire,
	// erase and redact entries ("" and 0 otherwise).
	MessageID string
	Seq       int64
	// ActorID is who made the change; SubjectID the member it concerns
	// (membership kinds), "" otherwise.
	ActorID   string
	SubjectID string
	At        time.Time
	// ContentHash is the lower-case hex SHA-256 of the content's
	// canonical encoding (MessageContent.Encode), "" when none.
	ContentHash string
	PrevHash    string
	Hash        string
}

// Digests decodes the entry's three hex digests for storage: content is
// empty when the entry has none; prev and hash are required.
func (e *ChainEntry) Digests() (content, prev, hash []byte, err error) {
	for _, d := range []struct {
		s   string
		dst *[]byte
	}{{e.ContentHash, &content}, {e.PrevHash, &prev}, {e.Hash, &hash}} {
		if *d.dst, err = hex.DecodeString(d.s); err != nil {
			return nil, nil, nil, Invalid("hash", "a chain digest is hex")
		}
	}
	if len(hash) == 0 || len(prev) == 0 {
		return nil, nil, nil, Invalid("hash", "a chain entry needs its hash and the previous one")
	}
	return content, prev, hash, nil
}

// ChainGenesis is the PrevHash of a conversation's first entry.
var ChainGenesis = strings.Repeat("0", 64)

// ChainTimeFormat is how entry times are written in the canonical
// encoding and in exports: UTC with exactly nine fractional digits.
const ChainTimeFormat = "2006-01-02T15:04:05.000000000Z"

// CanonicalEntry returns the bytes an entry's hash covers: the lines
// "parley-chain-v1", then name=value for conversation, index, kind,
// message, seq, actor, subject, time, content and prev, each ending in a
// newline. Values are ids, decimal numbers, ChainTimeFormat times and hex
// digests, which never hold a newline. docs/records.md has a worked example.
func (e *ChainEntry) CanonicalEntry() []byte {
	var b strings.Builder
	b.Grow(400)
	b.WriteString("parley-chain-v1\n")
	field := func(name, value string) {
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(value)
		b.WriteByte('\n')
	}
	field("conversation", e.ConversationID)
	field("index", strconv.FormatInt(e.Index, 10))
	field("kind", e.Kind)
	field("message", e.MessageID)
	field("seq", strconv.FormatInt(e.Seq, 10))
	field("actor", e.ActorID)
	field("subject", e.SubjectID)
	field("time", e.At.UTC().Format(ChainTimeFormat))
	field("content", e.ContentHash)
	field("prev", e.PrevHash)
	return []byte(b.String())
}

// ComputeHash returns the lower-case hex SHA-256 of CanonicalEntry.
func (e *ChainEntry) ComputeHash() string {
	sum := sha256.Sum256(e.CanonicalEntry())
	return hex.EncodeToString(sum[:])
}

// Seal sets Index, PrevHash and Hash to follow the entry (prevIndex,
// prevHash), the conversation's current head (0 and "" when empty).
func (e *ChainEntry) Seal(prevIndex int64, prevHash string) {
	if prevHash == "" {
		prevHash = ChainGenesis
	}
	e.Index, e.PrevHash = prevIndex+1, prevHash
	e.Hash = e.ComputeHash()
}

// MessageContent is what a message's content hash covers: what its author
// wrote and attached. Server additions (link cards, receipts) are not
// content.
type MessageContent struct {
	Kind    string
	Text    string
	ReplyTo string
	Data    string
	System  string
	// Attachments in position order.
	Attachments []AttachmentDigest
}

// AttachmentDigest identifies an attachment by its bytes.
type AttachmentDigest struct {
	// SHA256 is the lower-case hex SHA-256 of the file (its blob key).
	SHA256      string
	ContentType string
	Size        int64
}

// Encode returns the canonical encoding: "parley-content-v1\n", then for
// kind, text, reply_to, data, system and each attachment's sha256,
// content_type and size (as "attachment.sha256" …), the name, a space, the
// value's length in bytes in decimal, a colon, the value and a newline.
func (c *MessageContent) Encode() []byte {
	var b strings.Builder
	b.WriteString("parley-content-v1\n")
	field := func(name, value string) {
		b.WriteString(name)
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(len(value)))
		b.WriteByte(':')
		b.WriteString(value)
		b.WriteByte('\n')
	}
	field("kind", c.Kind)
	field("text", c.Text)
	field("reply_to", c.ReplyTo)
	field("data", c.Data)
	field("system", c.System)
	for _, a := range c.Attachments {
		field("attachment.sha256", a.SHA256)
		field("attachment.content_type", a.ContentType)
		field("attachment.size", strconv.FormatInt(a.Size, 10))
	}
	return []byte(b.String())
}

// Hash returns the lower-case hex SHA-256 of Encode.
func (c *MessageContent) Hash() string {
	sum := sha256.Sum256(c.Encode())
	return hex.EncodeToString(sum[:])
}

// ContentOf returns the content of m with its attachments in position order.
func ContentOf(m *Message, media []*Media) *MessageContent {
	c := &MessageContent{Kind: string(m.Kind), Text: m.Text, ReplyTo: m.ReplyTo, Data: m.Data, System: m.System}
	for _, md := range media {
		c.Attachments = append(c.Attachments, AttachmentDigest{SHA256: md.BlobKey, ContentType: md.ContentType, Size: md.Size})
	}
	return c
}

// TextHash returns the lower-case hex SHA-256 of s (role names).
func TextHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// ChainHead is where a conversation's hash chain ends: the index and hash
// of its last entry (0 and "" without one).
type ChainHead struct {
	Index int64
	Hash  string
}

// ChainTx stores conversations' hash chains.
type ChainTx interface {
	// ChainHead returns the index and hash of a conversation's last entry,
	// or 0 and "" when it has none.
	ChainHead(conversationID string) (int64, string, error)
	// ChainHeads does what ChainHead does for each of conversationIDs
	// (ids must not repeat) in one read where the store can; every id is
	// in the answer, with the zero ChainHead when it has no entry.
	ChainHeads(conversationIDs []string) (map[string]ChainHead, error)
	// AppendChainEntry stores e, which must follow the head (e.Index =
	// head + 1); EConflict when that index exists. A store may hold e
	// and write it with later entries when the update ends (SQLite does),
	// so the caller must not change e afterwards, and the conflict may
	// fail the update at its end rather than here.
	AppendChainEntry(e *ChainEntry) error
	// AppendChainEntries does what AppendChainEntry does for each of es,
	// in order (so one conversation's entries may follow each other), in
	// one statement where the store can. EConflict when an index exists;
	// the caller then abandons the transaction (some may be stored).
	AppendChainEntries(es []*ChainEntry) error
	// ChainEntries returns up to limit entries of a conversation with an
	// index after afterIndex, ascending.
	ChainEntries(conversationID string, afterIndex int64, limit int) ([]*ChainEntry, error)
}
