package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/media"
	"golang.org/x/sync/semaphore"
)

// MediaConfig holds the media limits. The zero value of a field means its
// default.
type MediaConfig struct {
	// MaxFileBytes caps any upload (default 25 MB).
	MaxFileBytes int64
	// MaxImageBytes caps images and GIFs (default 8 MB).
	MaxImageBytes int64
	// MaxPixels caps an image's width × height, read from its header
	// before any pixel is decoded (default 40 million).
	MaxPixels int64
	// MaxGIFFrames caps the frames of an animated GIF (default 1,000).
	MaxGIFFrames int
	// DailyBytes caps what one user uploads in 24 hours (default 1 GB).
	DailyBytes int64
	// UnsentTTL is how long an upload that was never sent is kept
	// (default 24 hours).
	UnsentTTL time.Duration
	// DecodeBudget bounds the memory of the images decoded at once, in
	// bytes, by their worst-case decoding cost (default 768 MiB); an image
	// costlier than the budget is decoded alone.
	DecodeBudget int64
	// KeepMetadata keeps EXIF, XMP and IPTC in stored images; by default
	// they are stripped (location, camera serial numbers).
	KeepMetadata bool
	// TempDir receives uploads while they are checked (default the
	// system's); the server puts it in the data directory, on disk.
	TempDir string
	// Types lists, per message kind, the content types allowed; nil means
	// DefaultMediaTypes.
	Types map[parley.MessageKind][]string
}

// DefaultMediaTypes are the content types each kind accepts. Types are
// detected from the bytes, never taken from the client. SVG and HTML are
// absent on purpose: both can carry script.
var DefaultMediaTypes = map[parley.MessageKind][]string{
	parley.MessageImage: {"image/jpeg", "image/png", "image/gif", "image/webp"},
	parley.MessageGIF:   {"image/gif", "image/webp", "video/mp4"},
	parley.MessageVideo: {"video/mp4", "video/webm", "video/quicktime"},
	parley.MessageAudio: {"audio/mpeg", "audio/ogg", "audio/wav", "audio/mp4", "audio/x-m4a", "audio/aac", "audio/flac", "audio/webm", "video/webm"},
	parley.MessageFile: {"application/pdf", "application/zip", "text/plain", "text/csv", "application/json",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"application/vnd.openxmlformats-officedocument.presentationml.presentation",
		"application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
		"application/msword", "application/vnd.ms-excel", "application/x-ole-storage",
		"image/jpeg", "image/png", "image/gif", "image/webp",
		"video/mp4", "video/webm", "video/quicktime",
		"audio/mpeg", "audio/ogg", "audio/wav", "audio/mp4", "audio/x-m4a", "audio/aac", "audio/flac"},
}

func (c *MediaConfig) setDefaults() {
	if c.MaxFileBytes <= 0 {
		c.MaxFileBytes = 25 << 20
	}
	if c.MaxImageBytes <= 0 {
		c.MaxImageBytes = 8 << 20
	}
	if c.MaxPixels <= 0 {
		c.MaxPixels = 40_000_000
	}
	if c.MaxGIFFrames <= 0 {
		c.MaxGIFFrames = 1000
	}
	if c.DailyBytes <= 0 {
		c.DailyBytes = 1 << 30
	}
	if c.DecodeBudget <= 0 {
		c.DecodeBudget = 768 << 20
	}
	if c.UnsentTTL <= 0 {
		c.UnsentTTL = 24 * time.Hour
	}
	if c.Types == nil {
		c.Types = DefaultMediaTypes
	}
}

// MaxAttachments caps the attachments of one message.
const MaxAttachments = 10

// mediaKinds are the message kinds that carry attachments.
var mediaKinds = map[parley.MessageKind]bool{
	parley.MessageImage: true, parley.MessageVideo: true, parley.MessageAudio: true,
	parley.MessageFile: true, parley.MessageGIF: true,
}

// WithBlobs sets the store of media bytes; without it uploads are refused.
func WithBlobs(b parley.BlobStore) Option { return func(a *App) { a.blobs = b } }

// mediaState is what the media rules need besides the store.
type mediaState struct {
	// decode bounds the images decoded at once by their worst-case memory
	// (media.Info.DecodeCost): a decoded image is held whole in memory,
	// so memory stays flat however many uploads arrive together.
	decode *semaphore.Weighted
	budget int64
	// blobMu orders blob writes with the row that makes them live against
	// garbage collection, which deletes a blob only when no row uses it:
	// without it a collection could delete a blob between an upload's
	// write and its row's insert. Across nodes, lockBlobs adds the
	// store's cluster-wide lock of each blob key.
	blobMu sync.Mutex
}

// MediaCollectLock names the cluster-wide lock CollectMedia holds while it
// runs: one node collects at a time.
const MediaCollectLock = "media.collect"

// lockBlobs orders the writes of blobs keys with the rows that use them
// against their collection: blobMu within the node, and the store's
// cluster-wide lock of each key (parley.Locker, on PostgreSQL an advisory
// lock) against the other nodes. Keys are locked in order, so two holders
// never wait for each other.
func (a *App) lockBlobs(ctx context.Context, keys ...string) (unlock func(), err error) {
	a.media.blobMu.Lock()
	l, ok := a.store.(parley.Locker)
	if !ok {
		return a.media.blobMu.Unlock, nil
	}
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	var held []func()
	unlock = func() {
		for i := len(held) - 1; i >= 0; i-- {
			held[i]()
		}
		a.media.blobMu.Unlock()
	}
	for _, k := range keys {
		if k == "" {
			continue
		}
		u, err := l.Lock(ctx, "blob:"+k)
		if err != nil {
			unlock()
			return nil, err
		}
		held = append(held, u)
	}
	return unlock, nil
}

func newMediaState(budget int64) *mediaState {
	return &mediaState{decode: semaphore.NewWeighted(budget), budget: budget}
}

// AttachmentView is an attachment as a member sees it. In a request the
// recipient has not accepted, only Kind and Hidden are set.
type AttachmentView struct {
	ID          string `json:"id,omitempty"`
	Kind        string `json:"kind"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
	DurationMS  int64  `json:"duration_ms,omitempty"`
	// Thumbnail is set when there is one: GET /api/v1/media/{id}/thumbnail.
	Thumbnail *ThumbnailView `json:"thumbnail,omitempty"`
	// Hidden is true in a request not yet accepted: the client shows a
	// placeholder, and the download is refused until the recipient accepts.
	Hidden bool `json:"hidden,omitempty"`
}

// ThumbnailView describes a thumbnail.
type ThumbnailView struct {
	ContentType string `json:"content_type"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
}

// MediaView is an upload as its uploader sees it.
type MediaView struct {
	AttachmentView
	CreatedAt time.Time `json:"created_at"`
	// Sent is true once the media was sent in a message.
	Sent bool `json:"sent"`
}

func attachmentView(m *parley.Media) AttachmentView {
	v := AttachmentView{ID: m.ID, Kind: string(m.Kind), ContentType: m.ContentType, Size: m.Size,
		Width: m.Width, Height: m.Height, DurationMS: m.DurationMS}
	if m.ThumbKey != "" {
		v.Thumbnail = &ThumbnailView{ContentType: m.ThumbType, Width: m.ThumbWidth, Height: m.ThumbHeight}
	}
	return v
}

func mediaView(m *parley.Media) *MediaView {
	return &MediaView{AttachmentView: attachmentView(m), CreatedAt: m.CreatedAt, Sent: m.MessageID != ""}
}

// Upload stores a file the actor will send. kind is what the client says
// the file is ("" to let the content decide); the content must agree.
// The bytes are streamed to a temporary file, never held in memory, and
// the row is written only after the blob is on disk, so a crash leaves at
// worst a blob without a row, which collection removes.
// A full disk anywhere on the way is EStorageFull.
func (a *App) Upload(ctx context.Context, actor *Actor, kind parley.MessageKind, r io.Reader) (*MediaView, error) {
	v, err := a.upload(ctx, actor, kind, r)
	return v, parley.StorageFull(err)
}

func (a *App) upload(ctx context.Context, actor *Actor, kind parley.MessageKind, r io.Reader) (*MediaView, error) {
	if a.blobs == nil {
		return nil, parley.Errorf(parley.EForbidden, "media uploads are not enabled on this server")
	}
	if kind != "" && !mediaKinds[kind] {
		return nil, parley.Invalid("kind", "kind is one of image, video, audio, file, gif")
	}
	cfg := &a.cfg.Media
	tmp, size, err := a.spool(r, cfg.MaxFileBytes, "files")
	if err != nil {
		return nil, err
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	// The daily allowance, checked before the expensive part.
	var used int64
	if err := a.view(ctx, func(tx parley.Tx) error {
		used, err = tx.UploadedBytesSince(actor.User.ID, a.clock().Add(-24*time.Hour))
		return err
	}); err != nil {
		return nil, err
	}
	if used+size > cfg.DailyBytes {
		return nil, parley.Errorf(parley.ETooLarge, "daily upload allowance reached (%d of %d bytes in the last 24 hours)", used, cfg.DailyBytes)
	}

	info, err := media.Inspect(tmp, size, media.Limits{MaxPixels: cfg.MaxPixels, MaxFrames: cfg.MaxGIFFrames, MaxImageBytes: cfg.MaxImageBytes})
	switch {
	case errors.Is(err, media.ErrImageTooLarge):
		return nil, parley.Errorf(parley.ETooLarge, "images are at most %d bytes", cfg.MaxImageBytes)
	case errors.Is(err, media.ErrTooManyPixels):
		return nil, parley.Errorf(parley.ETooLarge, "the image is %d×%d; images have at most %d pixels", info.Width, info.Height, cfg.MaxPixels)
	case errors.Is(err, media.ErrTooManyFrames):
		return nil, parley.Errorf(parley.ETooLarge, "animations have at most %d frames", cfg.MaxGIFFrames)
	case errors.Is(err, media.ErrCorrupt):
		return nil, parley.Invalid("file", "the file is damaged or not the type it looks like")
	case err != nil:
		return nil, err
	}
	if kind == "" {
		kind = naturalKind(info)
	}
	if !slices.Contains(cfg.Types[kind], info.ContentType) {
		return nil, parley.Invalid("file", "the file is %s, which is not allowed as %s", info.ContentType, kind)
	}
	isPicture := info.Family == media.KindImage
	if isPicture && size > cfg.MaxImageBytes {
		return nil, parley.Errorf(parley.ETooLarge, "images are at most %d bytes", cfg.MaxImageBytes)
	}

	// The stored file: stripped of metadata when it is an image.
	final := tmp
	if isPicture && !cfg.KeepMetadata && media.Strippable(info.ContentType) {
		stripped, err := os.CreateTemp(cfg.TempDir, "parley-strip-*")
		if err != nil {
			return nil, fmt.Errorf("upload: %w", err)
		}
		defer func() { stripped.Close(); os.Remove(stripped.Name()) }()
		if err := media.StripMetadata(info.ContentType, tmp, size, stripped); err != nil {
			if errors.Is(err, media.ErrCorrupt) {
				return nil, parley.Invalid("file", "the image is damaged")
			}
			return nil, fmt.Errorf("strip metadata: %w", err)
		}
		final = stripped
		if size, err = stripped.Seek(0, io.SeekEnd); err != nil {
			return nil, fmt.Errorf("upload: %w", err)
		}
	}
	key, err := hashFile(final)
	if err != nil {
		return nil, err
	}
	m := &parley.Media{ID: "med_" + newID(), OwnerID: actor.User.ID, Kind: kind, ContentType: info.ContentType, Size: size,
		Width: info.Width, Height: info.Height, DurationMS: info.DurationMS, BlobKey: key, CreatedAt: a.clock()}
	var thumb *media.Thumb
	if isPicture && info.HasThumbnail() {
		if thumb, err = a.thumbnail(ctx, info, io.NewSectionReader(final, 0, size)); err != nil {
			if errors.Is(err, media.ErrCorrupt) {
				return nil, parley.Invalid("file", "the image is damaged")
			}
			return nil, err
		}
		sum := sha256.Sum256(thumb.Data)
		m.ThumbKey, m.ThumbType, m.ThumbWidth, m.ThumbHeight = hex.EncodeToString(sum[:]), thumb.ContentType, thumb.Width, thumb.Height
	}

	unlock, err := a.lockBlobs(ctx, key, m.ThumbKey)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := a.blobs.Put(ctx, key, io.NewSectionReader(final, 0, size)); err != nil {
		return nil, err
	}
	if thumb != nil {
		if err := a.blobs.Put(ctx, m.ThumbKey, strings.NewReader(string(thumb.Data))); err != nil {
			return nil, err
		}
	}
	err = a.update(ctx, func(w *writer) error {
		// Again, where writes are serialized: uploads that passed the
		// check above together must not pass the allowance together.
		used, err := w.UploadedBytesSince(actor.User.ID, a.clock().Add(-24*time.Hour))
		if err != nil {
			return err
		}
		if used+m.Size > cfg.DailyBytes {
			return parley.Errorf(parley.ETooLarge, "daily upload allowance reached (%d of %d bytes in the last 24 hours)", used, cfg.DailyBytes)
		}
		return w.CreateMedia(m)
	})
	if err != nil {
		return nil, err
	}
	return mediaView(m), nil
}

// MaxUploadBytes is the largest upload the app takes.
func (a *App) MaxUploadBytes() int64 { return a.cfg.Media.MaxFileBytes }

// spool streams an upload to a temporary file in the media temp dir,
// refusing more than limit bytes (what names the thing, for the error)
// and empty files. The caller closes and removes the file.
func (a *App) spool(r io.Reader, limit int64, what string) (*os.File, int64, error) {
	tmp, err := os.CreateTemp(a.cfg.Media.TempDir, "parley-upload-*")
	if err != nil {
		return nil, 0, fmt.Errorf("upload: %w", err)
	}
	fail := func(err error) (*os.File, int64, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, 0, err
	}
	size, err := io.Copy(tmp, io.LimitReader(r, limit+1))
	if err != nil {
		var pe *parley.Error
		if errors.As(err, &pe) {
			return fail(err)
		}
		if errors.Is(err, syscall.ENOSPC) { // the disk, not the client
			return fail(fmt.Errorf("upload: %w", err))
		}
		return fail(parley.Errorf(parley.EInvalid, "the upload was cut short"))
	}
	if size > limit {
		return fail(parley.Errorf(parley.ETooLarge, "%s are at most %d bytes", what, limit))
	}
	if size == 0 {
		return fail(parley.Invalid("file", "the file is empty"))
	}
	return tmp, size, nil
}

// naturalKind is the kind of a file whose client did not say.
func naturalKind(info *media.Info) parley.MessageKind {
	switch info.Family {
	case media.KindImage:
		if info.Animated {
			return parley.MessageGIF
		}
		return parley.MessageImage
	case media.KindVideo:
		return parley.MessageVideo
	case media.KindAudio:
		return parley.MessageAudio
	}
	return parley.MessageFile
}

// thumbnail decodes an image for its thumbnail once the decode budget
// allows it.
func (a *App) thumbnail(ctx context.Context, info *media.Info, r io.Reader) (*media.Thumb, error) {
	cost := min(max(info.DecodeCost(), 1), a.media.budget)
	if err := a.media.decode.Acquire(ctx, cost); err != nil {
		return nil, err
	}
	defer a.media.decode.Release(cost)
	return media.Thumbnail(r)
}

func hashFile(f *os.File) (string, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// MediaFile is an open media file (or thumbnail) the caller may serve.
type MediaFile struct {
	parley.BlobFile
	ContentType string
	// Inline is false for types a browser must not show inline.
	Inline bool
	// Name is a download name: the media id and an extension.
	Name string
}

// OpenMedia opens an upload or its thumbnail for the actor. The uploader
// may read it before sending; after, the members who may read the message
// may, except the recipient of a request not yet accepted. Everyone else —
// and a media whose message was unsent — gets ENotFound, as if it did not
// exist.
func (a *App) OpenMedia(ctx context.Context, actor *Actor, id string, thumb bool) (*MediaFile, error) {
	notFound := parley.Errorf(parley.ENotFound, "media not found")
	if a.blobs == nil || id == "" || len(id) > 64 {
		return nil, notFound
	}
	var m *parley.Media
	var once *parley.Message // a view-once message the viewer receives
	var viewer *parley.Member
	err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		if m, err = tx.MediaByID(id); err != nil {
			return err
		}
		if m.MessageID == "" {
			if m.OwnerID != actor.User.ID {
				return notFound
			}
			return nil
		}
		_, me, err := membership(tx, m.ConversationID, actor.User.ID)
		if err != nil {
			// A business's team sees what the business sees.
			if me, err = agentMembership(tx, m.ConversationID, actor.User.ID); err != nil {
				return notFound
			}
		}
		msg, err := tx.MessageByID(m.MessageID)
		if err != nil {
			return err
		}
		if msgs, err := hideExpired(tx, []*parley.Message{msg}); err != nil {
			return err
		} else {
			msg = msgs[0]
		}
		if msg.DeletedAt != nil || !me.CanRead(msg.Seq) || attachmentsHidden(me, msg) {
			return notFound
		}
		if msg.SenderID != me.UserID {
			sender, err := tx.UserByID(msg.SenderID)
			if err != nil && !parley.IsNotFound(err) {
				return err
			}
			if hiddenFor(sender, me.UserID) {
				return notFound // hidden by a moderator, media included
			}
		}
		if msg.ViewOnce && msg.SenderID != me.UserID {
			if thumb {
				return parley.Errorf(parley.ENotFound, "view-once media has no preview")
			}
			opens, err := tx.MessageOpens([]string{msg.ID})
			if err != nil {
				return err
			}
			if slices.Contains(opens[msg.ID], me.UserID) {
				return viewOnceOpened
			}
			once, viewer = msg, me
		}
		return nil
	})
	if parley.IsNotFound(err) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	key, ct := m.BlobKey, m.ContentType
	if thumb {
		if m.ThumbKey == "" {
			return nil, parley.Errorf(parley.ENotFound, "this media has no thumbnail")
		}
		key, ct = m.ThumbKey, m.ThumbType
	}
	f, err := a.blobs.Open(ctx, key)
	if errors.Is(err, parley.ErrBlobNotFound) {
		a.log.Error("media blob missing", "media", m.ID, "key", key)
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	if once != nil {
		// The open counts once the bytes are at hand: a recipient who
		// raced another device of theirs gets view_once_opened.
		if err := a.recordOpen(ctx, once, viewer.UserID); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &MediaFile{BlobFile: f, ContentType: ct, Inline: media.InlineSafe(ct), Name: m.ID + media.Extension(ct)}, nil
}

// viewOnceOpened refuses a second open of view-once media.
var viewOnceOpened = parley.Errorf(parley.EViewOnceOpened, "this view-once media was opened already")

// recordOpen records a recipient's one open of a view-once message and
// tells the conversation (the sender sees "opened").
func (a *App) recordOpen(ctx context.Context, msg *parley.Message, userID string) error {
	return a.update(ctx, func(w *writer) error {
		first, err := w.RecordOpen(msg.ID, userID, w.now)
		if err != nil {
			return err
		}
		if !first {
			return viewOnceOpened
		}
		return w.event(&parley.Event{Type: parley.EventMessageOpened, ConversationID: msg.ConversationID, ActorID: userID,
			MessageID: msg.ID, Seq: msg.Seq})
	})
}

// attachmentsHidden reports whether the viewer sees only placeholders for
// a message's attachments: they received it in a request they have not
// accepted.
func attachmentsHidden(viewer *parley.Member, msg *parley.Message) bool {
	return viewer.Status == parley.StatusPending && msg.SenderID != viewer.UserID
}

// CollectMedia deletes uploads never sent within UnsentTTL and the media
// of unsent messages, then the blobs no row uses any more (and blobs left
// without a row by a crash, once they are an hour old). It returns how
// many rows and blobs it deleted.
//
// One node collects at a time: on a store that is a parley.Locker (both
// stores; on PostgreSQL the lock is cluster-wide), a node that finds
// MediaCollectLock held returns at once with nothing done.
func (a *App) CollectMedia(ctx context.Context) (rows, blobs int, err error) {
	if a.blobs == nil {
		return 0, 0, nil
	}
	if l, ok := a.store.(parley.Locker); ok {
		unlock, ok, err := l.TryLock(ctx, MediaCollectLock)
		if err != nil || !ok {
			return 0, 0, err
		}
		defer unlock()
	}
	for {
		var batch []*parley.Media
		err := a.update(ctx, func(w *writer) error {
			var err error
			if batch, err = w.CollectableMedia(a.clock().Add(-a.cfg.Media.UnsentTTL), 500); err != nil || len(batch) == 0 {
				return err
			}
			ids := make([]string, len(batch))
			for i, m := range batch {
				ids[i] = m.ID
			}
			return w.DeleteMedia(ids)
		})
		if err != nil {
			return rows, blobs, err
		}
		rows += len(batch)
		for _, m := range batch {
			for _, k := range []string{m.BlobKey, m.ThumbKey} {
				if k == "" {
					continue
				}
				if gone, err := a.dropBlobIfUnused(ctx, k); err != nil {
					return rows, blobs, err
				} else if gone {
					blobs++
				}
			}
		}
		if len(batch) < 500 {
			break
		}
	}
	// Blobs without a row: a crash between a blob's write and its row.
	err = a.blobs.Keys(ctx, time.Now().Add(-time.Hour), func(key string) error {
		gone, err := a.dropBlobIfUnused(ctx, key)
		if gone {
			blobs++
		}
		return err
	})
	return rows, blobs, err
}

func (a *App) dropBlobIfUnused(ctx context.Context, key string) (bool, error) {
	unlock, err := a.lockBlobs(ctx, key)
	if err != nil {
		return false, err
	}
	defer unlock()
	var used bool
	if err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		used, err = tx.BlobInUse(key)
		return err
	}); err != nil || used {
		return false, err
	}
	return true, a.blobs.Delete(ctx, key)
}
