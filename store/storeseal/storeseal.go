// Package storeseal is what both stores share of encryption at rest:
// which columns of a message are sealed, with which associated data, and
// the keyring a store holds. Keeping it in one place keeps the SQLite and
// PostgreSQL stores identical in behaviour: each calls Seal* before it
// writes and Open* after it reads, and app/ above sees plaintext only.
//
// Sealed: a message's body, link card and structured data, and the bodies
// of its edit history. The associated data of each names the message and
// the column ("message:ID:body"), so a value moved to another row or
// column does not open. In clear: everything else (ids, times, kinds,
// sequence numbers, reactions) and the search index (see docs/security.md).
package storeseal

import (
	"sync/atomic"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/sealed"
)

// Holder holds a store's keyring; the zero value holds none (no
// encryption: values are written as they are).
type Holder struct {
	k atomic.Pointer[sealed.Keyring]
}

// Set makes k the keyring (nil: none).
func (h *Holder) Set(k *sealed.Keyring) { h.k.Store(k) }

// Get returns the keyring, nil when there is none.
func (h *Holder) Get() *sealed.Keyring { return h.k.Load() }

func ad(id, column string) []byte { return []byte("message:" + id + ":" + column) }

// Columns are a message's sealed columns as stored.
type Columns struct {
	Body, Card, Data string
}

// SealMessage returns the stored form of m's body, card and data.
func SealMessage(k *sealed.Keyring, m *parley.Message) (Columns, error) {
	var c Columns
	var err error
	if c.Body, err = k.SealText(m.Text, ad(m.ID, "body")); err != nil {
		return c, err
	}
	if c.Card, err = k.SealText(m.Card, ad(m.ID, "card")); err != nil {
		return c, err
	}
	c.Data, err = k.SealText(m.Data, ad(m.ID, "data"))
	return c, err
}

// SealBody returns the stored form of a message's new body (an edit).
func SealBody(k *sealed.Keyring, messageID, text string) (string, error) {
	return k.SealText(text, ad(messageID, "body"))
}

// OpenBody returns the plaintext of a message's stored body.
func OpenBody(k *sealed.Keyring, messageID, stored string) (string, error) {
	return k.OpenText(stored, ad(messageID, "body"))
}

// SealCard returns the stored form of a message's link card.
func SealCard(k *sealed.Keyring, messageID, card string) (string, error) {
	return k.SealText(card, ad(messageID, "card"))
}

// OpenMessage replaces m's stored body, card and data by their plaintext.
func OpenMessage(k *sealed.Keyring, m *parley.Message) error {
	var err error
	if m.Text, err = k.OpenText(m.Text, ad(m.ID, "body")); err != nil {
		return openErr(m.ID, err)
	}
	if m.Card, err = k.OpenText(m.Card, ad(m.ID, "card")); err != nil {
		return openErr(m.ID, err)
	}
	if m.Data, err = k.OpenText(m.Data, ad(m.ID, "data")); err != nil {
		return openErr(m.ID, err)
	}
	return nil
}

// SealEdit returns the stored form of an edit's previous text.
func SealEdit(k *sealed.Keyring, e *parley.MessageEdit) (string, error) {
	return k.SealText(e.Text, ad(e.MessageID, "edit"))
}

// OpenEdit replaces e's stored text by its plaintext.
func OpenEdit(k *sealed.Keyring, e *parley.MessageEdit) error {
	var err error
	if e.Text, err = k.OpenText(e.Text, ad(e.MessageID, "edit")); err != nil {
		return openErr(e.MessageID, err)
	}
	return nil
}

// Current reports whether a stored value needs no resealing: empty, or
// sealed under the keyring's current key. Without a keyring every value
// is current.
func Current(k *sealed.Keyring, stored string) bool {
	if k == nil || stored == "" {
		return true
	}
	id, err := sealed.TextKeyID(stored)
	return err == nil && sealed.IsSealedText(stored) && id == k.Current()
}

// InUsePattern is the LIKE pattern (escape character '!') that matches
// every value sealed under data key id.
func InUsePattern(id int64) string {
	p := sealed.TextKeyPrefix(uint32(id))
	// The prefix holds no LIKE wildcards ("\x01sealed1:7:"), but escape
	// anyway so a future prefix cannot change the match.
	out := make([]byte, 0, len(p)+2)
	for i := 0; i < len(p); i++ {
		if p[i] == '%' || p[i] == '_' || p[i] == '!' {
			out = append(out, '!')
		}
		out = append(out, p[i])
	}
	return string(out) + "%"
}

// openErr keeps the cause for the log and never the stored bytes.
func openErr(messageID string, err error) error {
	return &openError{messageID: messageID, err: err}
}

type openError struct {
	messageID string
	err       error
}

func (e *openError) Error() string {
	return "message " + e.messageID + ": cannot decrypt its stored text: " + e.err.Error()
}

func (e *openError) Unwrap() error { return e.err }
