package app

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/media"
)

// Sticker limits.
const (
	MaxStickerBytes   = 512 << 10
	MaxStickerSide    = 1024
	MaxStickersInPack = 120
	maxPackName       = 64
)

var stickerTypes = []string{"image/png", "image/webp", "image/gif"}

// StickerView is a sticker as clients list it; its image is
// GET /api/v1/stickers/{id}/image.
type StickerView struct {
	ID          string `json:"id"`
	PackID      string `json:"pack_id"`
	Emoji       string `json:"emoji,omitempty"`
	ContentType string `json:"content_type"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
}

// StickerPackView is a pack with its stickers.
type StickerPackView struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	CreatedAt time.Time     `json:"created_at"`
	Stickers  []StickerView `json:"stickers"`
}

func stickerView(s *parley.Sticker) StickerView {
	return StickerView{ID: s.ID, PackID: s.PackID, Emoji: s.Emoji, ContentType: s.ContentType, Width: s.Width, Height: s.Height}
}

// IsAdmin reports whether the actor administers this server: its account
// is a server admin (parley user promote) or PARLEY_ADMINS lists its
// handle. A business's agent acting for it does not count.
func (a *App) IsAdmin(actor *Actor) bool {
	if actor == nil || actor.User == nil || actor.Agent != nil {
		return false
	}
	return actor.User.ServerAdmin || slices.Contains(a.cfg.Admins, strings.ToLower(actor.User.Handle))
}

func (a *App) requireAdmin(actor *Actor) error {
	if !a.IsAdmin(actor) {
		return parley.Errorf(parley.EForbidden, "only administrators manage sticker packs")
	}
	return nil
}

// CreateStickerPack creates an empty pack (administrators only).
func (a *App) CreateStickerPack(ctx context.Context, actor *Actor, name string) (*StickerPackView, error) {
	if err := a.requireAdmin(actor); err != nil {
		return nil, err
	}
	name, err := cleanText("name", name, maxPackName, false)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" {
		return nil, parley.Invalid("name", "a pack needs a name")
	}
	p := &parley.StickerPack{ID: "stp_" + newID(), Name: name, CreatedBy: actor.User.ID, CreatedAt: a.clock()}
	if err := a.update(ctx, func(w *writer) error { return w.CreateStickerPack(p) }); err != nil {
		return nil, err
	}
	return &StickerPackView{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, Stickers: []StickerView{}}, nil
}

// AddSticker adds an image (PNG, WebP or GIF, at most 512 KB and
// 1024×1024) to a pack (administrators only).
func (a *App) AddSticker(ctx context.Context, actor *Actor, packID, emoji string, r io.Reader) (*StickerView, error) {
	if err := a.requireAdmin(actor); err != nil {
		return nil, err
	}
	if a.blobs == nil {
		return nil, parley.Errorf(parley.EForbidden, "media uploads are not enabled on this server")
	}
	if emoji != "" {
		if err := checkEmoji(emoji); err != nil {
			return nil, parley.Invalid("emoji", "emoji is a single emoji")
		}
	}
	tmp, size, err := a.spool(r, MaxStickerBytes, "stickers")
	if err != nil {
		return nil, err
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	info, err := media.Inspect(tmp, size, media.Limits{MaxPixels: MaxStickerSide * MaxStickerSide, MaxFrames: a.cfg.Media.MaxGIFFrames})
	if errors.Is(err, media.ErrTooManyPixels) || (err == nil && (info.Width > MaxStickerSide || info.Height > MaxStickerSide)) {
		return nil, parley.Errorf(parley.ETooLarge, "stickers are at most %d×%d pixels", MaxStickerSide, MaxStickerSide)
	} else if errors.Is(err, media.ErrTooManyFrames) {
		return nil, parley.Errorf(parley.ETooLarge, "animations have at most %d frames", a.cfg.Media.MaxGIFFrames)
	} else if err != nil {
		return nil, parley.Invalid("file", "the file is damaged or not an image")
	}
	if !slices.Contains(stickerTypes, info.ContentType) {
		return nil, parley.Invalid("file", "stickers are PNG, WebP or GIF, not %s", info.ContentType)
	}
	key, err := hashFile(tmp)
	if err != nil {
		return nil, err
	}
	st := &parley.Sticker{ID: "stk_" + newID(), PackID: packID, Emoji: emoji, ContentType: info.ContentType, Size: size,
		Width: info.Width, Height: info.Height, BlobKey: key, CreatedAt: a.clock()}
	unlock, err := a.lockBlobs(ctx, key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := a.blobs.Put(ctx, key, io.NewSectionReader(tmp, 0, size)); err != nil {
		return nil, err
	}
	err = a.update(ctx, func(w *writer) error {
		packs, err := w.StickerPacks()
		if err != nil {
			return err
		}
		for _, p := range packs {
			if p.ID == packID && len(p.Stickers) >= MaxStickersInPack {
				return parley.Errorf(parley.EConflict, "a pack has at most %d stickers", MaxStickersInPack)
			}
		}
		return w.CreateSticker(st)
	})
	if err != nil {
		return nil, err
	}
	v := stickerView(st)
	return &v, nil
}

// StickerPacks lists the installed packs.
func (a *App) StickerPacks(ctx context.Context, actor *Actor) ([]StickerPackView, error) {
	out := []StickerPackView{}
	err := a.view(ctx, func(tx parley.Tx) error {
		packs, err := tx.StickerPacks()
		for _, p := range packs {
			v := StickerPackView{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, Stickers: []StickerView{}}
			for _, s := range p.Stickers {
				v.Stickers = append(v.Stickers, stickerView(s))
			}
			out = append(out, v)
		}
		return err
	})
	return out, err
}

// DeleteStickerPack removes a pack (administrators only). Messages that
// carry its stickers keep showing them.
func (a *App) DeleteStickerPack(ctx context.Context, actor *Actor, packID string) error {
	if err := a.requireAdmin(actor); err != nil {
		return err
	}
	return a.update(ctx, func(w *writer) error { return w.DeleteStickerPack(packID) })
}

// OpenSticker opens a sticker's image; every signed-in user may.
func (a *App) OpenSticker(ctx context.Context, actor *Actor, id string) (*MediaFile, error) {
	var st *parley.Sticker
	if a.blobs == nil || id == "" || len(id) > 64 {
		return nil, parley.Errorf(parley.ENotFound, "sticker not found")
	}
	if err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		st, err = tx.StickerByID(id)
		return err
	}); err != nil {
		return nil, err
	}
	f, err := a.blobs.Open(ctx, st.BlobKey)
	if errors.Is(err, parley.ErrBlobNotFound) {
		a.log.Error("sticker blob missing", "sticker", st.ID, "key", st.BlobKey)
		return nil, parley.Errorf(parley.ENotFound, "sticker not found")
	} else if err != nil {
		return nil, err
	}
	return &MediaFile{BlobFile: f, ContentType: st.ContentType, Inline: true, Name: st.ID + media.Extension(st.ContentType)}, nil
}

// attachSticker gives a sticker message its own media row pointing at the
// sticker's blob, so that the message keeps its image after the pack goes
// and downloads follow the message's access rules.
func attachSticker(w *writer, actor *Actor, m *parley.Message, stickerID string) ([]AttachmentView, error) {
	st, err := w.StickerByID(stickerID)
	if parley.IsNotFound(err) {
		return nil, parley.Invalid("sticker_id", "no such sticker")
	} else if err != nil {
		return nil, err
	}
	md := &parley.Media{ID: "med_" + newID(), OwnerID: actor.User.ID, Kind: parley.MessageSticker, ContentType: st.ContentType,
		Size: st.Size, Width: st.Width, Height: st.Height, BlobKey: st.BlobKey,
		ConversationID: m.ConversationID, MessageID: m.ID, Position: 0, CreatedAt: m.CreatedAt}
	if err := w.CreateMedia(md); err != nil {
		return nil, err
	}
	return []AttachmentView{attachmentView(md)}, nil
}
