package client_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/server"
)

// TestAuditLogStickersAndVerify reads, exports and verifies the server's
// audit log, adds a sticker to a pack and has the server verify an export,
// against a real server.
func TestAuditLogStickersAndVerify(t *testing.T) {
	_, anon := start(t, func(c *server.Config) { c.App.Admins = []string{"operator"} })
	ctx := testContext(t)
	root := register(t, anon, "operator", "")
	alice := register(t, anon, "alice", "")
	register(t, anon, "bob", "")
	for _, h := range []string{"alice", "bob"} {
		if _, err := anon.Login(ctx, client.LoginRequest{Handle: h, Password: "not the password"}); err == nil {
			t.Fatal("a wrong password logged in")
		}
	}

	// The audit log holds the failed login; filters and pages work.
	fails, err := root.AuditLog(ctx, client.AuditQuery{Action: "login.failure", Actor: "bob"})
	if err != nil || len(fails.Items) != 1 || fails.Items[0].Details["handle"] != "bob" || len(fails.Items[0].Hash) != 64 {
		t.Fatalf("audit log, failed logins %+v %v", fails, err)
	}
	all, err := root.AuditLog(ctx, client.AuditQuery{})
	if err != nil || len(all.Items) < 2 {
		t.Fatalf("audit log %+v %v", all, err)
	}
	page, err := root.AuditLog(ctx, client.AuditQuery{Limit: 1})
	if err != nil || len(page.Items) != 1 || page.NextCursor == "" {
		t.Fatalf("audit log, one row %+v %v", page, err)
	}
	next, err := root.AuditLog(ctx, client.AuditQuery{Limit: 1, Cursor: page.NextCursor})
	if err != nil || len(next.Items) != 1 || next.Items[0].Seq != page.Items[0].Seq+1 || next.Items[0].PrevHash != page.Items[0].Hash {
		t.Fatalf("audit log, the next row %+v %v", next, err)
	}
	if _, err := alice.AuditLog(ctx, client.AuditQuery{}); !client.IsCode(err, "forbidden") {
		t.Fatalf("a non-admin read the audit log: %v", err)
	}
	d, err := root.ExportAuditLog(ctx, client.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []client.AuditRecord
	sc := bufio.NewScanner(d.Body)
	for sc.Scan() {
		var r client.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("an export line %q: %v", sc.Text(), err)
		}
		lines = append(lines, r)
	}
	d.Body.Close()
	if len(lines) < len(all.Items) || lines[0].Hash != all.Items[0].Hash || !strings.HasPrefix(d.ContentType, "application/x-ndjson") {
		t.Fatalf("audit export: %d lines (%s), the page had %d", len(lines), d.ContentType, len(all.Items))
	}
	v, err := root.VerifyAuditLog(ctx)
	if err != nil || !v.OK || v.Rows < int64(len(lines)) || v.BrokenSeq != 0 {
		t.Fatalf("verify the audit log %+v %v", v, err)
	}

	// Stickers: an admin adds an image to a pack, everyone sees it.
	pack, err := root.CreateStickerPack(ctx, "Dots")
	if err != nil {
		t.Fatal(err)
	}
	st, err := root.AddSticker(ctx, pack.ID, "🔴", "dot.png", bytes.NewReader(dotPNG(t)))
	if err != nil || st.PackID != pack.ID || st.Emoji != "🔴" || st.ContentType != "image/png" || st.Width != 32 {
		t.Fatalf("add sticker %+v %v", st, err)
	}
	if _, err := alice.AddSticker(ctx, pack.ID, "", "dot.png", bytes.NewReader(dotPNG(t))); !client.IsCode(err, "forbidden") {
		t.Fatalf("a non-admin added a sticker: %v", err)
	}
	if _, err := root.AddSticker(ctx, pack.ID, "", "notes.txt", strings.NewReader("not an image")); err == nil {
		t.Fatal("a text file became a sticker")
	}
	img, err := alice.StickerImage(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(img.Body)
	img.Body.Close()
	if !bytes.Equal(got, dotPNG(t)) {
		t.Fatalf("sticker image: %d bytes, not the upload", len(got))
	}

	// An export the server made verifies; a file that is not one is refused.
	conv, err := alice.StartDirect(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, conv.ID, client.SendRequest{Text: "keep this on record"}); err != nil {
		t.Fatal(err)
	}
	job, err := alice.StartExport(ctx, client.ExportRequest{Scope: "conversation", ConversationID: conv.ID})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the export completes", func() bool {
		job, err = alice.Export(ctx, job.ID)
		if err != nil || job.State == client.ExportFailed {
			t.Fatalf("export %+v %v", job, err)
		}
		return job.State == client.ExportDone
	})
	zd, err := alice.DownloadExport(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	zipped, err := io.ReadAll(zd.Body)
	zd.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := alice.VerifyExport(ctx, bytes.NewReader(zipped))
	if err != nil || !rep.OK || !rep.SignatureValid || !rep.TrustedKey || len(rep.Conversations) != 1 ||
		rep.Conversations[0].ID != conv.ID || rep.Conversations[0].Messages != 1 || len(rep.Problems) != 0 {
		t.Fatalf("verify export %+v %v", rep, err)
	}
	if _, err := alice.VerifyExport(ctx, strings.NewReader("not a zip")); !client.IsCode(err, "invalid") {
		t.Fatalf("verify a non-ZIP: %v", err)
	}
}

// dotPNG is a 32×32 red dot.
func dotPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 32, 32))
	for y := range 32 {
		for x := range 32 {
			if (x-16)*(x-16)+(y-16)*(y-16) < 100 {
				img.Set(x, y, color.NRGBA{R: 255, A: 255})
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
