package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

func newMedia(id, owner, key string, size int64, when time.Time) *parley.Media {
	return &parley.Media{ID: id, OwnerID: owner, Kind: parley.MessageImage, ContentType: "image/png", Size: size,
		Width: 640, Height: 480, DurationMS: 0, BlobKey: key, ThumbKey: key + "t", ThumbType: "image/jpeg",
		ThumbWidth: 320, ThumbHeight: 240, CreatedAt: when}
}

// testMediaCreateAttach: a media row round-trips; attaching sends it once.
func testMediaCreateAttach(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a", "b")
	mkConversation(t, s, "c1", "a")
	m1 := mkMessage(t, s, "c1", "a", "", "pics", at(1))
	md := newMedia("md1", "a", "k1", 1234, at(0))
	md.DurationMS = 4500
	update(t, s, func(tx parley.Tx) error { return tx.CreateMedia(md) })
	got := view(t, s, func(tx parley.Tx) (*parley.Media, error) { return tx.MediaByID("md1") })
	if !reflect.DeepEqual(got, md) {
		t.Fatalf("got %+v\nwant %+v", got, md)
	}
	if _, err := viewErr(s, func(tx parley.Tx) (*parley.Media, error) { return tx.MediaByID("nope") }); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("missing media: %v", err)
	}
	if err := s.Update(ctx, func(tx parley.Tx) error { return tx.CreateMedia(newMedia("md1", "b", "k2", 1, at(0))) }); parley.ErrorCode(err) != parley.EConflict {
		t.Fatalf("duplicate id: %v", err)
	}
	update(t, s, func(tx parley.Tx) error { return tx.AttachMedia("md1", "c1", m1.ID, 0) })
	if err := s.Update(ctx, func(tx parley.Tx) error { return tx.AttachMedia("md1", "c1", m1.ID, 1) }); parley.ErrorCode(err) != parley.EConflict {
		t.Fatalf("attaching twice: %v", err)
	}
	got = view(t, s, func(tx parley.Tx) (*parley.Media, error) { return tx.MediaByID("md1") })
	if got.ConversationID != "c1" || got.MessageID != m1.ID || got.Position != 0 {
		t.Fatalf("after attach: %+v", got)
	}
}

// testMediaOfMessages: attachments come back per message, in position order.
func testMediaOfMessages(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a")
	mkConversation(t, s, "c1", "a")
	m1 := mkMessage(t, s, "c1", "a", "", "one", at(1))
	m2 := mkMessage(t, s, "c1", "a", "", "two", at(2))
	update(t, s, func(tx parley.Tx) error {
		for i, spec := range []struct {
			msg string
			pos int
		}{{m1.ID, 2}, {m1.ID, 0}, {m2.ID, 0}, {m1.ID, 1}, {"", 0}} {
			md := newMedia(fmt.Sprintf("md%d", i), "a", fmt.Sprintf("key%d", i), 10, at(0))
			if err := tx.CreateMedia(md); err != nil {
				return err
			}
			if spec.msg != "" {
				if err := tx.AttachMedia(md.ID, "c1", spec.msg, spec.pos); err != nil {
					return err
				}
			}
		}
		return nil
	})
	got := view(t, s, func(tx parley.Tx) (map[string][]*parley.Media, error) {
		return tx.MediaOfMessages([]string{m1.ID, m2.ID, "none"})
	})
	ids := func(ms []*parley.Media) (out []string) {
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	if len(got) != 2 || !reflect.DeepEqual(ids(got[m1.ID]), []string{"md1", "md3", "md0"}) || !reflect.DeepEqual(ids(got[m2.ID]), []string{"md2"}) {
		t.Fatalf("got %v / %v", ids(got[m1.ID]), ids(got[m2.ID]))
	}
	if empty := view(t, s, func(tx parley.Tx) (map[string][]*parley.Media, error) { return tx.MediaOfMessages(nil) }); len(empty) != 0 {
		t.Fatalf("no ids: %v", empty)
	}
}

// testMediaCollection: uploads never sent and the media of unsent messages
// are collectable; sent ones and recent ones are not; blobs are in use
// while any row (file or thumbnail) names them; upload totals count a
// window.
func testMediaCollection(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a", "b")
	mkConversation(t, s, "c1", "a")
	kept := mkMessage(t, s, "c1", "a", "", "kept", at(1))
	unsent := mkMessage(t, s, "c1", "a", "", "unsent", at(2))
	update(t, s, func(tx parley.Tx) error {
		for _, md := range []*parley.Media{
			newMedia("old", "a", "kold", 100, at(0)),
			newMedia("new", "a", "knew", 200, at(100)),
			newMedia("sent", "a", "ksent", 400, at(0)),
			newMedia("gone", "a", "kgone", 800, at(0)),
			newMedia("bobs", "b", "kbob", 1600, at(0)),
		} {
			if err := tx.CreateMedia(md); err != nil {
				return err
			}
		}
		if err := tx.AttachMedia("sent", "c1", kept.ID, 0); err != nil {
			return err
		}
		if err := tx.AttachMedia("gone", "c1", unsent.ID, 0); err != nil {
			return err
		}
		return tx.PurgeMessage(unsent.ID, at(3))
	})
	got := view(t, s, func(tx parley.Tx) ([]*parley.Media, error) { return tx.CollectableMedia(at(50), 100) })
	ids := map[string]bool{}
	for _, m := range got {
		ids[m.ID] = true
	}
	if len(got) != 3 || !ids["old"] || !ids["gone"] || !ids["bobs"] {
		t.Fatalf("collectable %v", ids)
	}
	if n := len(view(t, s, func(tx parley.Tx) ([]*parley.Media, error) { return tx.CollectableMedia(at(50), 1) })); n != 1 {
		t.Fatalf("limit 1 gave %d", n)
	}
	if n := view(t, s, func(tx parley.Tx) (int64, error) { return tx.UploadedBytesSince("a", at(0)) }); n != 1500 {
		t.Fatalf("a uploaded %d since t0, want 1500", n)
	}
	if n := view(t, s, func(tx parley.Tx) (int64, error) { return tx.UploadedBytesSince("a", at(1)) }); n != 200 {
		t.Fatalf("a uploaded %d since t0+1s, want 200", n)
	}
	update(t, s, func(tx parley.Tx) error { return tx.DeleteMedia([]string{"old", "gone"}) })
	for key, want := range map[string]bool{"kold": false, "kgone": false, "koldt": false, "ksent": true, "ksentt": true, "knew": true, "nothing": false} {
		if got := view(t, s, func(tx parley.Tx) (bool, error) { return tx.BlobInUse(key) }); got != want {
			t.Errorf("BlobInUse(%s) = %v, want %v", key, got, want)
		}
	}
}

// testMessageCard: a card is stored on a live message, never on an
// unsent one, and goes with an unsend.
func testMessageCard(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a")
	mkConversation(t, s, "c1", "a")
	m := mkMessage(t, s, "c1", "a", "", "see https://example.com", at(1))
	update(t, s, func(tx parley.Tx) error {
		ok, err := tx.SetMessageCard(m.ID, `{"url":"https://example.com"}`)
		if err == nil && !ok {
			err = fmt.Errorf("card not stored")
		}
		return err
	})
	got := view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(m.ID) })
	if got.Card != `{"url":"https://example.com"}` {
		t.Fatalf("card %q", got.Card)
	}
	update(t, s, func(tx parley.Tx) error { return tx.PurgeMessage(m.ID, at(2)) })
	got = view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(m.ID) })
	if got.Card != "" {
		t.Fatalf("card survived the unsend: %q", got.Card)
	}
	update(t, s, func(tx parley.Tx) error {
		ok, err := tx.SetMessageCard(m.ID, `{"url":"x"}`)
		if err == nil && ok {
			err = fmt.Errorf("card stored on an unsent message")
		}
		return err
	})
}

// testStickers: packs list with their stickers in order; stickers need a
// pack; deleting a pack deletes its stickers; a sticker's blob is in use.
func testStickers(t *testing.T, s parley.Store) {
	mkUsers(t, s, "admin")
	update(t, s, func(tx parley.Tx) error {
		for i, name := range []string{"Cats", "Dogs"} {
			if err := tx.CreateStickerPack(&parley.StickerPack{ID: fmt.Sprintf("p%d", i), Name: name, CreatedBy: "admin", CreatedAt: at(i)}); err != nil {
				return err
			}
		}
		for i, spec := range []struct{ id, pack string }{{"s1", "p0"}, {"s2", "p1"}, {"s3", "p0"}} {
			st := &parley.Sticker{ID: spec.id, PackID: spec.pack, Emoji: "😺", ContentType: "image/png", Size: 10, Width: 64, Height: 64,
				BlobKey: "key-" + spec.id, CreatedAt: at(10 + i)}
			if err := tx.CreateSticker(st); err != nil {
				return err
			}
		}
		return nil
	})
	if err := s.Update(ctx, func(tx parley.Tx) error {
		return tx.CreateSticker(&parley.Sticker{ID: "sx", PackID: "nope", ContentType: "image/png", BlobKey: "k", CreatedAt: at(0)})
	}); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("sticker without a pack: %v", err)
	}
	packs := view(t, s, func(tx parley.Tx) ([]*parley.StickerPack, error) { return tx.StickerPacks() })
	if len(packs) != 2 || packs[0].Name != "Cats" || len(packs[0].Stickers) != 2 || packs[0].Stickers[0].ID != "s1" ||
		packs[0].Stickers[1].ID != "s3" || packs[0].Stickers[1].Position != 1 || len(packs[1].Stickers) != 1 {
		t.Fatalf("packs %+v", packs)
	}
	got := view(t, s, func(tx parley.Tx) (*parley.Sticker, error) { return tx.StickerByID("s2") })
	if got.PackID != "p1" || got.Width != 64 || !got.CreatedAt.Equal(at(11)) {
		t.Fatalf("sticker %+v", got)
	}
	if !view(t, s, func(tx parley.Tx) (bool, error) { return tx.BlobInUse("key-s1") }) {
		t.Fatal("a sticker's blob is not in use")
	}
	update(t, s, func(tx parley.Tx) error { return tx.DeleteStickerPack("p0") })
	if _, err := viewErr(s, func(tx parley.Tx) (*parley.Sticker, error) { return tx.StickerByID("s1") }); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("sticker of a deleted pack: %v", err)
	}
	if view(t, s, func(tx parley.Tx) (bool, error) { return tx.BlobInUse("key-s1") }) {
		t.Fatal("a deleted sticker's blob is still in use")
	}
	if err := s.Update(ctx, func(tx parley.Tx) error { return tx.DeleteStickerPack("p0") }); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("deleting twice: %v", err)
	}
}
