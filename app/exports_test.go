package app_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/blob"
	"github.com/parleyhq/parley/internal/mediatest"
	"github.com/parleyhq/parley/records"
)

// clock is a settable clock for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type recordsEnv struct {
	a     *app.App
	db    parley.Store
	blobs string // the blob directory
	clk   *clock
	key   ed25519.PrivateKey
	users map[string]*app.Actor
}

func newRecordsApp(t testing.TB) *recordsEnv { return newRecordsAppWith(t, nil) }

// newRecordsAppWith is newRecordsApp with cfg changed by tune first.
func newRecordsAppWith(t testing.TB, tune func(*app.Config)) *recordsEnv {
	t.Helper()
	dir := t.TempDir()
	db := openStore(t)
	blobs, err := blob.OpenDisk(filepath.Join(dir, "media"))
	if err == nil {
		err = os.MkdirAll(filepath.Join(dir, "tmp"), 0o700)
	}
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now().UTC()}
	cfg := app.Config{Password: cheap, SendPerConversation: 1e9, SendBurst: 1e9,
		Media:   app.MediaConfig{TempDir: filepath.Join(dir, "tmp")},
		Records: app.RecordsConfig{Dir: filepath.Join(dir, "exports"), Key: key, ProgressEvery: 7}}
	if tune != nil {
		tune(&cfg)
	}
	a := app.New(db, cfg, app.WithBlobs(blobs), app.WithClock(clk.now))
	t.Cleanup(a.StopExports) // before the store closes (cleanups run last first)
	return &recordsEnv{a: a, db: db, blobs: filepath.Join(dir, "media"), clk: clk, key: key, users: map[string]*app.Actor{}}
}

func (e *recordsEnv) user(t testing.TB, handle string) *app.Actor {
	t.Helper()
	return e.userKind(t, handle, "")
}

// userKind is user for an account of a kind ("": a person).
func (e *recordsEnv) userKind(t testing.TB, handle string, kind parley.UserKind) *app.Actor {
	t.Helper()
	if u := e.users[handle]; u != nil {
		return u
	}
	ctx := context.Background()
	auth, err := e.a.Register(ctx, app.Registration{Handle: handle, Password: "records password", Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	actor, err := e.a.Authenticate(ctx, auth.Token)
	if err != nil {
		t.Fatal(err)
	}
	e.users[handle] = actor
	return actor
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// fixture builds a direct conversation with text, an image, an edit and
// an unsend, and a group in which carol is added and then removed.
func (e *recordsEnv) fixture(t *testing.T) (direct, group string) {
	ctx := context.Background()
	alice, bob, carol := e.user(t, "alice"), e.user(t, "bob"), e.user(t, "carol")
	for _, p := range [][2]*app.Actor{{alice, bob}, {bob, alice}, {carol, alice}, {alice, carol}} {
		if err := e.a.Follow(ctx, p[0], p[1].User.Handle, true); err != nil {
			t.Fatal(err)
		}
	}
	conv, _, err := e.a.CreateDirect(ctx, alice, "bob")
	if err != nil {
		t.Fatal(err)
	}
	send := func(who *app.Actor, convID, text string) *app.MessageView {
		v, _, err := e.a.Send(ctx, who, convID, app.SendInput{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	send(alice, conv.ID, "hello <script>alert(1)</script> bob")
	edited := send(bob, conv.ID, "first version")
	if _, err := e.a.Edit(ctx, bob, conv.ID, edited.ID, "second version"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Edit(ctx, bob, conv.ID, edited.ID, "third version"); err != nil {
		t.Fatal(err)
	}
	unsent := send(alice, conv.ID, "a secret I take back")
	if err := e.a.Unsend(ctx, alice, conv.ID, unsent.ID); err != nil {
		t.Fatal(err)
	}
	up, err := e.a.Upload(ctx, alice, parley.MessageImage, bytes.NewReader(mediatest.PNG(40, 30)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.a.Send(ctx, alice, conv.ID, app.SendInput{Kind: parley.MessageImage, Text: "a picture", Attachments: []string{up.ID}}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		send([]*app.Actor{alice, bob}[i%2], conv.ID, fmt.Sprintf("message %d", i))
	}
	g, _, err := e.a.CreateGroup(ctx, alice, app.GroupInput{Title: "Team", Members: []string{"bob"}})
	if err != nil {
		t.Fatal(err)
	}
	send(alice, g.ID, "before carol")
	if _, err := e.a.AddMembers(ctx, alice, g.ID, []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	send(carol, g.ID, "carol here")
	send(bob, g.ID, "hi carol")
	if err := e.a.RemoveMember(ctx, alice, g.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	send(alice, g.ID, "after carol")
	return conv.ID, g.ID
}

// export runs an export to the end and returns its ZIP.
func (e *recordsEnv) export(t *testing.T, who *app.Actor, in app.ExportInput) (*app.ExportView, []byte) {
	t.Helper()
	ctx := context.Background()
	v, err := e.a.StartExport(ctx, who, in)
	if err != nil {
		t.Fatal(err)
	}
	if v.State != parley.ExportQueued {
		t.Fatalf("new job state %q", v.State)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if v, err = e.a.Export(ctx, who, v.ID); err != nil {
			t.Fatal(err)
		}
		if v.State == parley.ExportDone || v.State == parley.ExportFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("export still %s after 30 s", v.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if v.State != parley.ExportDone {
		t.Fatalf("export failed: %s", v.Error)
	}
	return v, e.download(t, v)
}

func (e *recordsEnv) download(t *testing.T, v *app.ExportView) []byte {
	t.Helper()
	f, err := e.open(v)
	if err != nil {
		t.Fatalf("open %s: %v", v.DownloadURL, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *recordsEnv) open(v *app.ExportView) (io.ReadCloser, error) {
	u, err := url.Parse(v.DownloadURL)
	if err != nil {
		return nil, err
	}
	id := strings.TrimSuffix(strings.TrimPrefix(u.Path, "/api/v1/exports/"), "/download")
	f, _, err := e.a.OpenExport(context.Background(), id, u.Query().Get("expires"), u.Query().Get("sig"))
	return f, err
}

func verify(t *testing.T, zipBytes []byte, key ed25519.PublicKey) *records.Report {
	t.Helper()
	rep, err := records.Verify(bytes.NewReader(zipBytes), int64(len(zipBytes)), records.Options{TrustedKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// rezip copies an export, letting edit change (or, returning nil, drop)
// each file's bytes.
func rezip(t *testing.T, in []byte, edit func(name string, b []byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if b = edit(f.Name, b); b == nil {
			continue
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func readZip(t *testing.T, in []byte, name string) []byte {
	t.Helper()
	var got []byte
	rezip(t, in, func(n string, b []byte) []byte {
		if n == name {
			got = b
		}
		return b
	})
	if got == nil {
		t.Fatalf("%s not in the export", name)
	}
	return got
}

func wantProblem(t *testing.T, rep *records.Report, want ...string) {
	t.Helper()
	if rep.OK {
		t.Fatalf("verify passed; want problems %q", want)
	}
	all := strings.Join(rep.Problems, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("problems lack %q:\n%s", w, all)
		}
	}
}

func TestExportRoundTripAndTampering(t *testing.T) {
	e := newRecordsApp(t)
	direct, _ := e.fixture(t)
	alice := e.user(t, "alice")
	pub := e.key.Public().(ed25519.PublicKey)
	v, zipBytes := e.export(t, alice, app.ExportInput{Scope: parley.ExportConversation, ConversationID: direct})
	if v.Total != 24 || v.Done != v.Total {
		t.Fatalf("progress %d/%d, want 24/24", v.Done, v.Total)
	}
	rep := verify(t, zipBytes, pub)
	if !rep.OK || !rep.SignatureValid || len(rep.Conversations) != 1 || !rep.Conversations[0].OK {
		t.Fatalf("verify of an untouched export: %+v", rep)
	}
	if c := rep.Conversations[0]; c.Messages != 24 || c.Purged != 1 {
		t.Fatalf("conversation report %+v, want 24 messages, 1 purged", c)
	}

	dir := records.ConversationDir(direct)
	var conv records.Conversation
	if err := json.Unmarshal(readZip(t, zipBytes, dir+"conversation.json"), &conv); err != nil {
		t.Fatal(err)
	}
	// The unsent message is a tombstone: no content anywhere in the ZIP.
	all := string(rezipConcat(t, zipBytes))
	if strings.Contains(all, "a secret I take back") {
		t.Fatal("the unsent text is in the export")
	}
	// The transcript escapes what people wrote and runs no script.
	html := string(readZip(t, zipBytes, dir+"transcript.html"))
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;") {
		t.Fatal("the transcript does not escape message text")
	}
	if !strings.Contains(html, `src="../../media/`) {
		t.Fatal("the transcript does not show the image from the ZIP")
	}
	entries := strings.Split(strings.TrimSpace(string(readZip(t, zipBytes, dir+"chain.jsonl"))), "\n")
	entryOf := func(msgID, kind string) records.Entry {
		for _, line := range entries {
			var en records.Entry
			json.Unmarshal([]byte(line), &en)
			if en.Message == msgID && en.Kind == kind {
				return en
			}
		}
		t.Fatalf("no %s entry for %s", kind, msgID)
		return records.Entry{}
	}
	hello, edited := conv.Messages[0], conv.Messages[1]
	if len(edited.Versions) != 2 || edited.Text != "third version" {
		t.Fatalf("edited message exported as %+v", edited)
	}

	t.Run("flip one byte", func(t *testing.T) {
		bad := rezip(t, zipBytes, func(name string, b []byte) []byte {
			if name == dir+"conversation.json" {
				b = bytes.Replace(b, []byte("second version"), []byte("secont version"), 1)
			}
			return b
		})
		wantProblem(t, verify(t, bad, pub),
			"file "+dir+"conversation.json: sha256 mismatch",
			fmt.Sprintf("conversation %s: entry %d: content hash mismatch for message %s (version 2)", direct, entryOfNth(t, entries, edited.ID, 1), edited.ID))
	})
	t.Run("drop one message", func(t *testing.T) {
		bad := rezip(t, zipBytes, func(name string, b []byte) []byte {
			if name == dir+"conversation.json" {
				var c records.Conversation
				json.Unmarshal(b, &c)
				c.Messages = c.Messages[1:]
				b, _ = json.Marshal(c)
			}
			return b
		})
		wantProblem(t, verify(t, bad, pub),
			fmt.Sprintf("conversation %s: entry %d: message %s missing", direct, entryOf(hello.ID, parley.ChainMessage).Index, hello.ID))
	})
	t.Run("reorder two entries", func(t *testing.T) {
		bad := rezip(t, zipBytes, func(name string, b []byte) []byte {
			if name == dir+"chain.jsonl" {
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				lines[3], lines[4] = lines[4], lines[3]
				b = []byte(strings.Join(lines, "\n") + "\n")
			}
			return b
		})
		wantProblem(t, verify(t, bad, pub), fmt.Sprintf("conversation %s: entries 4 and 5 out of order", direct))
	})
	t.Run("drop one entry", func(t *testing.T) {
		bad := rezip(t, zipBytes, func(name string, b []byte) []byte {
			if name == dir+"chain.jsonl" {
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				b = []byte(strings.Join(append(lines[:11:11], lines[12:]...), "\n") + "\n")
			}
			return b
		})
		wantProblem(t, verify(t, bad, pub), fmt.Sprintf("conversation %s: entry 12 missing", direct))
	})
	t.Run("alter an entry", func(t *testing.T) {
		bad := rezip(t, zipBytes, func(name string, b []byte) []byte {
			if name == dir+"chain.jsonl" {
				b = bytes.Replace(b, []byte(`"index":7,"kind":"`), []byte(`"index":7,"kind":"x`), 1)
			}
			return b
		})
		wantProblem(t, verify(t, bad, pub), fmt.Sprintf("conversation %s: entry 7: hash mismatch", direct))
	})
	t.Run("alter the manifest", func(t *testing.T) {
		bad := rezip(t, zipBytes, func(name string, b []byte) []byte {
			if name == records.ManifestPath {
				b = bytes.Replace(b, []byte(`"messages": 24`), []byte(`"messages": 23`), 1)
			}
			return b
		})
		wantProblem(t, verify(t, bad, pub), "signature invalid")
	})
	t.Run("another key", func(t *testing.T) {
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		wantProblem(t, verify(t, zipBytes, other.Public().(ed25519.PublicKey)), "not by the trusted key")
	})
	t.Run("alter a media file", func(t *testing.T) {
		bad := rezip(t, zipBytes, func(name string, b []byte) []byte {
			if strings.HasPrefix(name, "media/") {
				b = append([]byte(nil), b...)
				b[len(b)/2] ^= 1
			}
			return b
		})
		wantProblem(t, verify(t, bad, pub), "file media/", "sha256 mismatch")
	})
}

// entryOfNth returns the index of the n-th edit entry (from 1) of a message.
func entryOfNth(t *testing.T, lines []string, msgID string, n int) int64 {
	t.Helper()
	for _, line := range lines {
		var en records.Entry
		json.Unmarshal([]byte(line), &en)
		if en.Message == msgID && en.Kind == parley.ChainEdit {
			if n--; n == 0 {
				return en.Index
			}
		}
	}
	t.Fatalf("no edit %d of %s", n, msgID)
	return 0
}

func rezipConcat(t *testing.T, in []byte) []byte {
	var all []byte
	rezip(t, in, func(_ string, b []byte) []byte {
		all = append(all, b...)
		return b
	})
	return all
}

func TestExportAccountAndViews(t *testing.T) {
	e := newRecordsApp(t)
	_, group := e.fixture(t)
	pub := e.key.Public().(ed25519.PublicKey)
	// After carol's removal the group is renamed and dave joins: neither
	// is hers to see.
	ctx := context.Background()
	alice, dave := e.user(t, "alice"), e.user(t, "dave")
	for _, p := range [][2]*app.Actor{{alice, dave}, {dave, alice}} {
		if err := e.a.Follow(ctx, p[0], p[1].User.Handle, true); err != nil {
			t.Fatal(err)
		}
	}
	renamed := "Renamed after carol left"
	if _, err := e.a.UpdateGroup(ctx, alice, group, app.GroupUpdate{Title: &renamed}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.AddMembers(ctx, alice, group, []string{"dave"}); err != nil {
		t.Fatal(err)
	}
	if v, err := e.a.Conversation(ctx, e.user(t, "carol"), group); err != nil || v.Title != "Team" {
		t.Fatalf("carol's view of the group after a rename: %+v %v", v, err)
	}
	// carol's account: the group only from her joining to her removal.
	_, zipBytes := e.export(t, e.user(t, "carol"), app.ExportInput{Scope: parley.ExportAccount})
	rep := verify(t, zipBytes, pub)
	if !rep.OK {
		t.Fatalf("carol's export: %v", rep.Problems)
	}
	var conv records.Conversation
	if err := json.Unmarshal(readZip(t, zipBytes, records.ConversationDir(group)+"conversation.json"), &conv); err != nil {
		t.Fatal(err)
	}
	if conv.Title != "Team" {
		t.Fatalf("carol's export names the group %q, a title from after her removal", conv.Title)
	}
	for _, m := range conv.Members {
		if m.Person.ID == dave.User.ID {
			t.Fatal("carol's export lists dave, who joined after her removal")
		}
	}
	var texts []string
	for _, m := range conv.Messages {
		if m.Kind == "text" {
			texts = append(texts, m.Text)
		}
	}
	if got := strings.Join(texts, "|"); got != "carol here|hi carol" {
		t.Fatalf("carol's view of the group: %q", got)
	}
	if !strings.Contains(string(readZip(t, zipBytes, records.AccountPath)), `"handle": "carol"`) {
		t.Fatal("account.json lacks the profile")
	}
	// alice's account: both conversations from the start.
	_, zipBytes = e.export(t, e.user(t, "alice"), app.ExportInput{Scope: parley.ExportAccount})
	if rep := verify(t, zipBytes, pub); !rep.OK || len(rep.Conversations) != 2 {
		t.Fatalf("alice's export: %+v", rep)
	}
}

// TestExportBusiness: an admin of a business exports every conversation
// of the business at once (scope business), as the business sees them;
// an agent who is not an admin, an outsider and bad requests cannot.
func TestExportBusiness(t *testing.T) {
	e := newRecordsApp(t)
	ctx := context.Background()
	shop := e.userKind(t, "shop", parley.KindBusiness)
	owner, err := e.a.ActAs(ctx, shop, "shop")
	if err != nil {
		t.Fatal(err)
	}
	admin, agent := "admin", "agent"
	ann, bo := e.user(t, "ann"), e.user(t, "bob")
	if _, err := e.a.PutAgent(ctx, owner, "ann", app.AgentChange{Role: &admin}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.PutAgent(ctx, owner, "bob", app.AgentChange{Role: &agent}); err != nil {
		t.Fatal(err)
	}
	var convs []string
	for _, h := range []string{"cus1", "cus2"} {
		c, _, err := e.a.CreateDirect(ctx, e.user(t, h), "shop")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.a.Send(ctx, e.user(t, h), c.ID, app.SendInput{Text: "hello from " + h}); err != nil {
			t.Fatal(err)
		}
		convs = append(convs, c.ID)
	}
	v, zipBytes := e.export(t, ann, app.ExportInput{Scope: parley.ExportBusiness, Business: "shop"})
	if v.Scope != parley.ExportBusiness || v.Business != "shop" || v.Total != 2 || v.Done != 2 {
		t.Fatalf("job %+v", v)
	}
	rep := verify(t, zipBytes, e.key.Public().(ed25519.PublicKey))
	var got []string
	for _, c := range rep.Conversations {
		got = append(got, c.ID)
	}
	slices.Sort(got)
	slices.Sort(convs)
	if !rep.OK || rep.Scope != parley.ExportBusiness || !slices.Equal(got, convs) {
		t.Fatalf("the business's export: %+v, want conversations %v", rep, convs)
	}
	if !strings.Contains(string(readZip(t, zipBytes, records.ManifestPath)), `"handle": "shop"`) {
		t.Fatal("the manifest does not name the business")
	}
	for _, c := range []struct {
		who  *app.Actor
		in   app.ExportInput
		code string
	}{
		{bo, app.ExportInput{Scope: parley.ExportBusiness, Business: "shop"}, parley.EForbidden},
		{e.user(t, "mallory"), app.ExportInput{Scope: parley.ExportBusiness, Business: "shop"}, parley.ENotFound},
		{ann, app.ExportInput{Scope: parley.ExportBusiness}, parley.EInvalid},
		{ann, app.ExportInput{Scope: parley.ExportBusiness, Business: "shop", ConversationID: convs[0]}, parley.EInvalid},
	} {
		if _, err := e.a.StartExport(ctx, c.who, c.in); parley.ErrorCode(err) != c.code {
			t.Errorf("%s exporting %+v: %v, want %s", c.who.User.Handle, c.in, err, c.code)
		}
	}
}

func TestExportAuthorization(t *testing.T) {
	e := newRecordsApp(t)
	direct, group := e.fixture(t)
	ctx := context.Background()
	alice, carol, mallory := e.user(t, "alice"), e.user(t, "carol"), e.user(t, "mallory")
	for _, conv := range []string{direct, group} {
		_, err := e.a.StartExport(ctx, mallory, app.ExportInput{Scope: parley.ExportConversation, ConversationID: conv})
		if parley.ErrorCode(err) != parley.ENotFound {
			t.Fatalf("a non-member's export of %s: %v, want not_found", conv, err)
		}
	}
	// carol was removed from the group but may export what she saw; the
	// direct conversation is not hers.
	if _, err := e.a.StartExport(ctx, carol, app.ExportInput{Scope: parley.ExportConversation, ConversationID: direct}); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("carol's export of alice and bob's conversation: %v", err)
	}
	if _, err := e.a.StartExport(ctx, mallory, app.ExportInput{Scope: parley.ExportConversation, ConversationID: direct, Business: "alice"}); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("export as a business that is not one: %v", err)
	}
	v, _ := e.export(t, alice, app.ExportInput{Scope: parley.ExportConversation, ConversationID: direct})
	if _, err := e.a.Export(ctx, mallory, v.ID); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("another user's job: %v, want not_found", err)
	}
	if list, err := e.a.Exports(ctx, mallory); err != nil || len(list) != 0 {
		t.Fatalf("mallory's list: %v %v", list, err)
	}
	u, _ := url.Parse(v.DownloadURL)
	q := u.Query()
	for name, args := range map[string][3]string{
		"forged signature": {v.ID, q.Get("expires"), strings.Repeat("0", 64)},
		"later expiry":     {v.ID, fmt.Sprint(v.ExpiresAt.Unix() + 3600), q.Get("sig")},
		"other job":        {"nope", q.Get("expires"), q.Get("sig")},
	} {
		if _, _, err := e.a.OpenExport(ctx, args[0], args[1], args[2]); parley.ErrorCode(err) != parley.ELinkExpired {
			t.Fatalf("%s: %v, want link_expired", name, err)
		}
	}
	e.clk.add(25 * time.Hour)
	if _, err := e.open(v); parley.ErrorCode(err) != parley.ELinkExpired {
		t.Fatalf("expired link: %v, want link_expired", err)
	}
	if n, err := e.a.CleanExports(ctx, false); err != nil || n != 1 {
		t.Fatalf("CleanExports: %d, %v", n, err)
	}
	if _, err := e.a.Export(ctx, alice, v.ID); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("job after cleanup: %v", err)
	}
}

// TestExportAfterExpiry: the reaper purges disappearing messages; the
// chain keeps their content hashes and an expire entry, and the export
// still verifies, with the expired message as a tombstone.
func TestExportAfterExpiry(t *testing.T) {
	e := newRecordsApp(t)
	direct, _ := e.fixture(t)
	ctx := context.Background()
	alice := e.user(t, "alice")
	if _, err := e.a.SetDisappearing(ctx, alice, direct, 300); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.a.Send(ctx, alice, direct, app.SendInput{Text: "this one disappears"}); err != nil {
		t.Fatal(err)
	}
	e.clk.add(6 * time.Minute)
	// Expired, not yet reaped: the export leaves it out all the same.
	_, zipBytes := e.export(t, alice, app.ExportInput{Scope: parley.ExportConversation, ConversationID: direct})
	rep := verify(t, zipBytes, e.key.Public().(ed25519.PublicKey))
	if !rep.OK || rep.Conversations[0].Purged != 2 {
		t.Fatalf("export after expiry, before the reaper: %+v", rep)
	}
	if strings.Contains(string(rezipConcat(t, zipBytes)), "this one disappears") {
		t.Fatal("expired content in the export before the reaper ran")
	}
	if _, err := e.a.Reap(ctx); err != nil {
		t.Fatal(err)
	}
	_, zipBytes = e.export(t, alice, app.ExportInput{Scope: parley.ExportConversation, ConversationID: direct})
	rep = verify(t, zipBytes, e.key.Public().(ed25519.PublicKey))
	if !rep.OK || rep.Conversations[0].Purged != 2 {
		t.Fatalf("export after expiry: %+v", rep)
	}
	if strings.Contains(string(rezipConcat(t, zipBytes)), "this one disappears") {
		t.Fatal("expired content in the export")
	}
	chain := string(readZip(t, zipBytes, records.ConversationDir(direct)+"chain.jsonl"))
	if !strings.Contains(chain, `"kind":"expire"`) {
		t.Fatal("no expire entry in the chain")
	}
}
