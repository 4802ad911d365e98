package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/mediatest"
)

// rawDo sends a request with the user's token and returns the response
// with its body read.
func (u *user) rawDo(req *http.Request) *response {
	u.ts.t.Helper()
	if u.Token != "" {
		req.Header.Set("Authorization", "Bearer "+u.Token)
	}
	resp, err := u.ts.client.Do(req)
	if err != nil {
		u.ts.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	buf, err := io.ReadAll(resp.Body)
	if err != nil {
		u.ts.t.Fatal(err)
	}
	if resp.StatusCode >= 500 {
		u.ts.t.Errorf("%s %s: server error %d: %s", req.Method, req.URL.Path, resp.StatusCode, buf)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: buf}
}

// upload posts a file as multipart/form-data, with an optional kind.
func (u *user) upload(kind, name string, data []byte) *response {
	u.ts.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if kind != "" {
		mw.WriteField("kind", kind)
	}
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", u.ts.URL()+"/api/v1/media", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return u.rawDo(req)
}

func (u *user) download(path string, header ...string) *response {
	u.ts.t.Helper()
	req, _ := http.NewRequest("GET", u.ts.URL()+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return u.rawDo(req)
}

func (u *user) sendMedia(conv, kind string, ids ...string) *response {
	return u.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]any{"kind": kind, "attachments": ids, "text": "look"})
}

// TestMediaRoundTrip: upload an image, send it, and the other member
// downloads it; a stranger and an outsider get 404; the file is served
// sandboxed and never sniffed.
func TestMediaRoundTrip(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	eve := ts.register("eve", "person")

	png := mediatest.PNG(1200, 800)
	up := must(t, alice.upload("image", "holiday.png", png), http.StatusCreated).JSON()
	id := up["id"].(string)
	if up["kind"] != "image" || up["content_type"] != "image/png" || up["width"].(float64) != 1200 || up["height"].(float64) != 800 || up["sent"] != false {
		t.Fatalf("upload answer %v", up)
	}
	th := up["thumbnail"].(map[string]any)
	if th["width"].(float64) != 320 || th["height"].(float64) != 213 {
		t.Fatalf("thumbnail %v", th)
	}
	// Before sending, only the uploader may fetch it.
	must(t, alice.download("/api/v1/media/"+id), http.StatusOK)
	wantProblem(t, bob.download("/api/v1/media/"+id), http.StatusNotFound, "not_found")

	msg := must(t, alice.sendMedia(conv, "image", id), http.StatusCreated).JSON()
	atts := msg["attachments"].([]any)
	if len(atts) != 1 || atts[0].(map[string]any)["id"] != id {
		t.Fatalf("attachments %v", msg["attachments"])
	}
	// The recipient sees it in history and downloads the same bytes.
	hist := must(t, bob.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items()
	last := hist[len(hist)-1]
	if a := last["attachments"].([]any)[0].(map[string]any); a["id"] != id || a["hidden"] == true {
		t.Fatalf("bob sees %v", last["attachments"])
	}
	r := must(t, bob.download("/api/v1/media/"+id), http.StatusOK)
	if !bytes.Equal(r.Body, png) {
		t.Fatal("downloaded bytes differ")
	}
	for k, v := range map[string]string{"Content-Type": "image/png", "X-Content-Type-Options": "nosniff", "Content-Disposition": `inline; filename=` + id + ".png"} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.HasPrefix(r.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("CSP %q", r.Header.Get("Content-Security-Policy"))
	}
	thumb := must(t, bob.download("/api/v1/media/"+id+"/thumbnail"), http.StatusOK)
	if thumb.Header.Get("Content-Type") != "image/jpeg" || len(thumb.Body) == 0 {
		t.Fatalf("thumbnail %s, %d bytes", thumb.Header.Get("Content-Type"), len(thumb.Body))
	}
	// Not a member: 404, as if it did not exist. No token: 401.
	wantProblem(t, eve.download("/api/v1/media/"+id), http.StatusNotFound, "not_found")
	wantProblem(t, eve.download("/api/v1/media/"+id+"/thumbnail"), http.StatusNotFound, "not_found")
	anon := &user{ts: ts}
	wantProblem(t, anon.download("/api/v1/media/"+id), http.StatusUnauthorized, "unauthorized")
	// Sent media cannot be sent again, nor someone else's.
	wantProblem(t, alice.sendMedia(conv, "image", id), http.StatusUnprocessableEntity, "invalid")
	other := must(t, eve.upload("", "x.png", mediatest.PNG(10, 10)), http.StatusCreated).JSON()["id"].(string)
	wantProblem(t, alice.sendMedia(conv, "image", other), http.StatusUnprocessableEntity, "invalid")
}

// TestMediaTypesFromContent: the content decides, and must match the
// kind; hostile files are refused.
func TestMediaTypesFromContent(t *testing.T) {
	ts := startServer(t)
	alice, _, conv := friends(ts, "alice", "bob")
	for _, c := range []struct {
		name, kind, file string
		data             []byte
		status           int
		code, gotKind    string
		ct               string
	}{
		{"html renamed png", "image", "cat.png", mediatest.HTML(), 422, "invalid", "", ""},
		{"svg with script as image", "image", "logo.svg", mediatest.SVG(), 422, "invalid", "", ""},
		{"svg with script as file", "file", "logo.svg", mediatest.SVG(), 422, "invalid", "", ""},
		{"html as file", "file", "page.html", mediatest.HTML(), 422, "invalid", "", ""},
		{"pdf as image", "image", "doc.png", mediatest.PDF(), 422, "invalid", "", ""},
		{"pixel flood", "image", "big.png", mediatest.PixelFlood(50000, 50000), 413, "too_large", "", ""},
		{"frame flood", "gif", "many.gif", mediatest.GIF(2, 2, 1001), 413, "too_large", "", ""},
		{"jpeg", "", "a.bin", mediatest.JPEG(50, 40), 201, "", "image", "image/jpeg"},
		{"animated gif", "", "a.gif", mediatest.GIF(20, 20, 4), 201, "", "gif", "image/gif"},
		{"webp", "image", "a.webp", mediatest.WebP(), 201, "", "image", "image/webp"},
		{"voice note", "audio", "note.wav", mediatest.WAV(2500), 201, "", "audio", "audio/wav"},
		{"ogg", "audio", "note.ogg", mediatest.Ogg(), 201, "", "audio", "audio/ogg"},
		{"video", "video", "clip.mp4", mediatest.MP4(12000, 2048), 201, "", "video", "video/mp4"},
		{"pdf", "file", "doc.pdf", mediatest.PDF(), 201, "", "file", "application/pdf"},
		{"zip", "", "a.zip", mediatest.ZIP(), 201, "", "file", "application/zip"},
		{"image as file", "file", "a.png", mediatest.PNG(5, 5), 201, "", "file", "image/png"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := alice.upload(c.kind, c.file, c.data)
			if c.status != 201 {
				wantProblem(t, r, c.status, c.code)
				return
			}
			m := must(t, r, http.StatusCreated).JSON()
			if m["kind"] != c.gotKind || m["content_type"] != c.ct {
				t.Fatalf("got %v", m)
			}
			must(t, alice.sendMedia(conv, c.gotKind, m["id"].(string)), http.StatusCreated)
		})
	}
	wav := must(t, alice.upload("audio", "n.wav", mediatest.WAV(2500)), http.StatusCreated).JSON()
	if wav["duration_ms"].(float64) != 2500 {
		t.Errorf("duration %v", wav["duration_ms"])
	}
	// Kinds and attachments must agree.
	img := must(t, alice.upload("image", "a.png", mediatest.PNG(5, 5)), http.StatusCreated).JSON()["id"].(string)
	wantProblem(t, alice.sendMedia(conv, "video", img), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, alice.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]any{"text": "hi", "attachments": []string{img}}), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, alice.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]any{"kind": "image"}), http.StatusUnprocessableEntity, "invalid")
	many := make([]string, 11)
	for i := range many {
		many[i] = img
	}
	wantProblem(t, alice.sendMedia(conv, "image", many...), http.StatusUnprocessableEntity, "invalid")
	// Not multipart, or no file part.
	wantProblem(t, alice.do("POST", "/api/v1/media", map[string]string{"file": "x"}), http.StatusBadRequest, "malformed_request")
}

// TestMediaSizeLimits: files over the limit get 413 and leave nothing.
func TestMediaSizeLimits(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.App.Media.MaxFileBytes = 64 << 10
		c.App.Media.MaxImageBytes = 16 << 10
		c.App.Media.DailyBytes = 200 << 10
	})
	alice := ts.register("alice", "person")
	wantProblem(t, alice.upload("file", "big.pdf", append(mediatest.PDF(), make([]byte, 70<<10)...)), http.StatusRequestEntityTooLarge, "too_large")
	wantProblem(t, alice.upload("file", "huge.pdf", append(mediatest.PDF(), make([]byte, 2<<20)...)), http.StatusRequestEntityTooLarge, "too_large")
	wantProblem(t, alice.upload("image", "big.png", mediatest.NoisePNG(100, 100)), http.StatusRequestEntityTooLarge, "too_large")
	// The daily allowance counts what was stored.
	pdf := append(mediatest.PDF(), make([]byte, 60<<10)...)
	for range 3 {
		must(t, alice.upload("file", "a.pdf", pdf), http.StatusCreated)
	}
	wantProblem(t, alice.upload("file", "a.pdf", pdf), http.StatusRequestEntityTooLarge, "too_large")
	// Nothing half-written stays behind in the upload directory.
	left, _ := os.ReadDir(filepath.Join(ts.cfg.DataDir, "media", "tmp"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// TestMediaRanges: audio and video are served with range requests.
func TestMediaRanges(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	mp4 := mediatest.MP4(5000, 100000)
	id := must(t, alice.upload("video", "v.mp4", mp4), http.StatusCreated).JSON()["id"].(string)
	must(t, alice.sendMedia(conv, "video", id), http.StatusCreated)
	r := bob.download("/api/v1/media/"+id, "Range", "bytes=1000-1999")
	if r.Status != http.StatusPartialContent || !bytes.Equal(r.Body, mp4[1000:2000]) {
		t.Fatalf("range: %d, %d bytes", r.Status, len(r.Body))
	}
	if got := r.Header.Get("Content-Range"); got != fmt.Sprintf("bytes 1000-1999/%d", len(mp4)) {
		t.Errorf("Content-Range %q", got)
	}
	r = bob.download("/api/v1/media/"+id, "Range", fmt.Sprintf("bytes=%d-", len(mp4)-10))
	if r.Status != http.StatusPartialContent || !bytes.Equal(r.Body, mp4[len(mp4)-10:]) {
		t.Fatalf("suffix range: %d", r.Status)
	}
	// A PDF is an attachment, never shown inline.
	pdf := must(t, alice.upload("file", "d.pdf", mediatest.PDF()), http.StatusCreated).JSON()["id"].(string)
	must(t, alice.sendMedia(conv, "file", pdf), http.StatusCreated)
	if d := bob.download("/api/v1/media/" + pdf).Header.Get("Content-Disposition"); !strings.HasPrefix(d, "attachment") {
		t.Errorf("pdf disposition %q", d)
	}
}

// TestMediaHiddenInRequests: a stranger's media in a request is a
// placeholder until the recipient accepts; then it shows and downloads.
func TestMediaHiddenInRequests(t *testing.T) {
	ts := startServer(t)
	alice, stranger := ts.register("alice", "person"), ts.register("stranger", "person")
	conv := stranger.direct("alice")
	id := must(t, stranger.upload("image", "x.png", mediatest.PNG(30, 30)), http.StatusCreated).JSON()["id"].(string)
	must(t, stranger.sendMedia(conv, "image", id), http.StatusCreated)

	hist := must(t, alice.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items()
	a := hist[len(hist)-1]["attachments"].([]any)[0].(map[string]any)
	if a["hidden"] != true || a["id"] != nil || a["kind"] != "image" {
		t.Fatalf("request recipient sees %v", a)
	}
	wantProblem(t, alice.download("/api/v1/media/"+id), http.StatusNotFound, "not_found")
	// The sender still sees their own.
	mine := must(t, stranger.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items()
	if mine[len(mine)-1]["attachments"].([]any)[0].(map[string]any)["id"] != id {
		t.Fatal("the sender lost sight of their media")
	}
	must(t, alice.do("POST", "/api/v1/conversations/"+conv+"/accept", nil), http.StatusOK)
	hist = must(t, alice.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items()
	if hist[len(hist)-1]["attachments"].([]any)[0].(map[string]any)["id"] != id {
		t.Fatal("still hidden after accepting")
	}
	must(t, alice.download("/api/v1/media/"+id), http.StatusOK)
}

// TestMediaMetadataStripped: a photo's GPS position never reaches the
// recipient; its orientation does.
func TestMediaMetadataStripped(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	photo := mediatest.JPEGWithGPS(320, 240, "GPS-48.8584N-2.2945E")
	id := must(t, alice.upload("image", "p.jpg", photo), http.StatusCreated).JSON()["id"].(string)
	must(t, alice.sendMedia(conv, "image", id), http.StatusCreated)
	got := must(t, bob.download("/api/v1/media/"+id), http.StatusOK).Body
	if bytes.Contains(got, []byte("GPS-48.8584N")) || !bytes.Contains(got, []byte("Exif\x00\x00")) {
		t.Fatal("metadata not stripped, or orientation lost")
	}
}

// TestMediaCollected: unsending a message deletes its media and, once no
// row uses it, the blob on disk; uploads never sent go after their time;
// blobs a crash left without a row go too.
func TestMediaCollected(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	ts := startServer(t, func(c *Config) { c.Clock = clock })
	alice, bob, conv := friends(ts, "alice", "bob")
	ctx := context.Background()

	png := mediatest.PNG(100, 100)
	id := must(t, alice.upload("image", "a.png", png), http.StatusCreated).JSON()["id"].(string)
	dup := must(t, bob.upload("image", "same.png", png), http.StatusCreated).JSON()["id"].(string) // same bytes, one blob
	msg := must(t, alice.sendMedia(conv, "image", id), http.StatusCreated).JSON()
	blobs := func() int {
		n := 0
		root := filepath.Join(ts.cfg.DataDir, "media")
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if rel, _ := filepath.Rel(root, p); err == nil && !d.IsDir() && !strings.HasPrefix(rel, "tmp") {
				n++
			}
			return nil
		})
		return n
	}
	if n := blobs(); n != 2 { // the image and its thumbnail, shared by both uploads
		t.Fatalf("%d blobs on disk, want 2", n)
	}
	must(t, alice.do("DELETE", "/api/v1/conversations/"+conv+"/messages/"+msg["id"].(string), nil), http.StatusNoContent)
	wantProblem(t, bob.download("/api/v1/media/"+id), http.StatusNotFound, "not_found")
	rows, deleted, err := ts.App.CollectMedia(ctx)
	if err != nil || rows != 1 || deleted != 0 {
		t.Fatalf("collect: %d rows, %d blobs, %v (bob's upload still uses the blob)", rows, deleted, err)
	}
	if n := blobs(); n != 2 {
		t.Fatalf("%d blobs, want 2", n)
	}
	// Bob never sends his: after a day it goes, and the blobs with it.
	now = now.Add(25 * time.Hour)
	rows, deleted, err = ts.App.CollectMedia(ctx)
	if err != nil || rows != 1 || deleted != 2 {
		t.Fatalf("collect: %d rows, %d blobs, %v", rows, deleted, err)
	}
	if n := blobs(); n != 0 {
		t.Fatalf("%d blobs left", n)
	}
	wantProblem(t, bob.download("/api/v1/media/"+dup), http.StatusNotFound, "not_found")

	// A blob without a row (a crash after the write) goes once an hour old.
	orphan := strings.Repeat("ab", 32)
	if err := ts.blobs.Put(ctx, orphan, strings.NewReader("orphan")); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(filepath.Join(ts.cfg.DataDir, "media", "ab", "ab", orphan), old, old)
	if _, deleted, err = ts.App.CollectMedia(ctx); err != nil || deleted != 1 || blobs() != 0 {
		t.Fatalf("orphan: deleted %d, %v, %d left", deleted, err, blobs())
	}
}

// TestRemovedInviteeSeesNothingNew: an invitee removed before accepting
// keeps only the invite's preview — no message or media posted while the
// invite waited.
func TestRemovedInviteeSeesNothingNew(t *testing.T) {
	ts := startServer(t)
	owner := ts.register("owner", "person")
	ts.register("stranger", "person")
	g := must(t, owner.do("POST", "/api/v1/conversations", map[string]any{"kind": "group", "title": "g", "members": []string{"stranger"}}), http.StatusCreated).JSON()
	group := g["id"].(string)
	id := must(t, owner.upload("image", "secret.png", mediatest.PNG(20, 20)), http.StatusCreated).JSON()["id"].(string)
	must(t, owner.sendMedia(group, "image", id), http.StatusCreated)
	owner.send(group, "private plans")
	must(t, owner.do("DELETE", "/api/v1/conversations/"+group+"/members/stranger", nil), http.StatusNoContent)

	stranger := &user{ts: ts, Handle: "stranger", Token: ts.login(t, "stranger", "laptop")}
	wantProblem(t, stranger.download("/api/v1/media/"+id), http.StatusNotFound, "not_found")
	r := stranger.do("GET", "/api/v1/conversations/"+group+"/messages", nil)
	if r.Status == http.StatusOK {
		for _, m := range r.Items() {
			if m["text"] == "private plans" || m["attachments"] != nil {
				t.Fatalf("removed invitee sees %v", m)
			}
		}
	}
}

// TestAnimatedWebP: an animated WebP uploads as a gif, without a thumbnail
// (Go cannot decode its frames), instead of being refused as damaged.
func TestAnimatedWebP(t *testing.T) {
	ts := startServer(t)
	alice := ts.register("alice", "person")
	m := must(t, alice.upload("", "a.webp", mediatest.AnimatedWebP(300, 200)), http.StatusCreated).JSON()
	if m["kind"] != "gif" || m["thumbnail"] != nil || m["width"].(float64) != 300 {
		t.Fatalf("animated webp %v", m)
	}
}
