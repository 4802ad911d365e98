package server

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/parleyhq/parley/internal/mediatest"
)

func (u *user) addSticker(pack, emoji string, data []byte) *response {
	u.ts.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("emoji", emoji)
	fw, _ := mw.CreateFormFile("file", "s.png")
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", u.ts.URL()+"/api/v1/sticker-packs/"+pack+"/stickers", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return u.rawDo(req)
}

// TestStickers: an administrator installs a pack; everyone lists it and
// sends its stickers; a sticker message keeps its image after the pack is
// removed; only administrators manage packs.
func TestStickers(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.App.Admins = []string{"Operator"} })
	root := ts.register("operator", "person")
	alice, bob, conv := friends(ts, "alice", "bob")

	wantProblem(t, alice.do("POST", "/api/v1/sticker-packs", map[string]string{"name": "mine"}), http.StatusForbidden, "forbidden")
	pack := must(t, root.do("POST", "/api/v1/sticker-packs", map[string]string{"name": "Cats"}), http.StatusCreated).JSON()["id"].(string)
	wantProblem(t, alice.addSticker(pack, "😺", mediatest.PNG(64, 64)), http.StatusForbidden, "forbidden")
	st := must(t, root.addSticker(pack, "😺", mediatest.PNG(128, 128)), http.StatusCreated).JSON()
	must(t, root.addSticker(pack, "😸", mediatest.GIF(64, 64, 3)), http.StatusCreated)
	wantProblem(t, root.addSticker(pack, "😺", mediatest.JPEG(64, 64)), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, root.addSticker(pack, "😺", mediatest.PNG(2000, 10)), http.StatusRequestEntityTooLarge, "too_large")
	wantProblem(t, root.addSticker(pack, "😺", mediatest.NoisePNG(400, 400)), http.StatusRequestEntityTooLarge, "too_large")
	wantProblem(t, root.addSticker(pack, "😺", mediatest.SVG()), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, root.addSticker("stp_nope", "😺", mediatest.PNG(8, 8)), http.StatusNotFound, "not_found")

	packs := must(t, alice.do("GET", "/api/v1/sticker-packs", nil), http.StatusOK).Items()
	if len(packs) != 1 || packs[0]["name"] != "Cats" || len(packs[0]["stickers"].([]any)) != 2 {
		t.Fatalf("packs %v", packs)
	}
	id := st["id"].(string)
	img := must(t, alice.download("/api/v1/stickers/"+id+"/image"), http.StatusOK)
	if img.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("sticker image %q", img.Header.Get("Content-Type"))
	}

	msg := must(t, alice.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]any{"kind": "sticker", "sticker_id": id}), http.StatusCreated).JSON()
	att := msg["attachments"].([]any)[0].(map[string]any)
	if msg["kind"] != "sticker" || att["kind"] != "sticker" || att["width"].(float64) != 128 {
		t.Fatalf("sticker message %v", msg)
	}
	wantProblem(t, alice.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]any{"kind": "sticker", "sticker_id": "stk_nope"}), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, alice.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]any{"kind": "sticker", "sticker_id": id, "text": "hi"}), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, alice.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]any{"text": "hi", "sticker_id": id}), http.StatusUnprocessableEntity, "invalid")

	// The pack goes; the message keeps its sticker.
	wantProblem(t, alice.do("DELETE", "/api/v1/sticker-packs/"+pack, nil), http.StatusForbidden, "forbidden")
	must(t, root.do("DELETE", "/api/v1/sticker-packs/"+pack, nil), http.StatusNoContent)
	if rows, _, err := ts.App.CollectMedia(t.Context()); err != nil || rows != 0 {
		t.Fatalf("collect: %d, %v", rows, err)
	}
	got := must(t, bob.download("/api/v1/media/"+att["id"].(string)), http.StatusOK)
	if !bytes.Equal(got.Body, img.Body) {
		t.Fatal("the sticker's image changed or vanished with its pack")
	}
	wantProblem(t, alice.download("/api/v1/stickers/"+id+"/image"), http.StatusNotFound, "not_found")
}
