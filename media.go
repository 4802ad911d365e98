package parley

import "time"

// Media is an uploaded file: an image, video, voice note, file or GIF. It
// belongs to its uploader until it is sent, then to the message (and the
// conversation) it was sent in. The bytes live in a blob store under
// BlobKey; equal files share one blob.
type Media struct {
	ID          string
	OwnerID     string
	Kind        MessageKind
	ContentType string
	Size        int64
	Width       int
	Height      int
	DurationMS  int64
	BlobKey     string
	// Thumb* describe the thumbnail (images and GIFs); ThumbKey is empty
	// when there is none.
	ThumbKey    string
	ThumbType   string
	ThumbWidth  int
	ThumbHeight int
	// ConversationID, MessageID and Position are set when the media is
	// sent: the message and the place among its attachments.
	ConversationID string
	MessageID      string
	Position       int
	CreatedAt      time.Time
}

// MediaTx stores media rows (never their bytes).
type MediaTx interface {
	// CreateMedia inserts m.
	CreateMedia(m *Media) error
	// MediaByID returns the media or ENotFound.
	MediaByID(id string) (*Media, error)
	// AttachMedia records that the media was sent in a message, at
	// position; it refuses (EConflict) media already sent.
	AttachMedia(id, conversationID, messageID string, position int) error
	// MediaOfMessages returns the attachments of the given messages keyed
	// by message id, in position order.
	MediaOfMessages(messageIDs []string) (map[string][]*Media, error)
	// UploadedBytesSince sums the sizes of a user's uploads since a time:
	// the files they sent up, not the rows made for stickers they sent or
	// for link card pictures.
	UploadedBytesSince(ownerID string, since time.Time) (int64, error)
	// CollectableMedia returns up to limit media that nothing needs any
	// more: never sent and uploaded before unsentBefore, or sent in a
	// message that was unsent.
	CollectableMedia(unsentBefore time.Time, limit int) ([]*Media, error)
	// DeleteMedia deletes media rows.
	DeleteMedia(ids []string) error
	// BlobInUse reports whether any media row uses key, as file or
	// thumbnail, or any sticker does.
	BlobInUse(key string) (bool, error)
}

// StickerPack is a set of stickers installed by an administrator, which
// every user may send.
type StickerPack struct {
	ID        string
	Name      string
	CreatedBy string
	CreatedAt time.Time
	Stickers  []*Sticker
}

// Sticker is one image of a pack. Its bytes are a blob like any media's.
type Sticker struct {
	ID          string
	PackID      string
	Emoji       string // the emoji it stands for, for search and accessibility
	ContentType string
	Size        int64
	Width       int
	Height      int
	BlobKey     string
	Position    int
	CreatedAt   time.Time
}

// StickerTx stores sticker packs.
type StickerTx interface {
	// CreateStickerPack inserts p (without its stickers).
	CreateStickerPack(p *StickerPack) error
	// StickerPacks lists every pack with its stickers, oldest first.
	StickerPacks() ([]*StickerPack, error)
	// CreateSticker inserts s at the end of its pack; ENotFound without
	// the pack.
	CreateSticker(s *Sticker) error
	// StickerByID returns the sticker or ENotFound.
	StickerByID(id string) (*Sticker, error)
	// DeleteStickerPack deletes a pack and its stickers (messages that
	// carry one keep their own media row); ENotFound without it.
	DeleteStickerPack(id string) error
}
