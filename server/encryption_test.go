package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/mediatest"
	"github.com/parleyhq/parley/sealed"
	"github.com/parleyhq/parley/store/sqlite"
)

// startAt starts a node on dataDir with the given master key (nil: none),
// and returns it with a function that stops it.
func startAt(t *testing.T, dataDir string, key []byte) (*testServer, func()) {
	t.Helper()
	cfg := Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dataDir
	cfg.App.Password = cheapPasswords
	cfg.App.SendPerConversation, cfg.App.SendBurst = 1e6, 1e6
	cfg.App.EncryptionKey = key
	s, err := Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}
	t.Cleanup(stop)
	return &testServer{Server: s, t: t, client: &http.Client{Timeout: 30 * time.Second}}, stop
}

func randomKey(t *testing.T) []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// encView is what the API answers about the data the test wrote: the
// same with and without encryption, before and after a restart or a
// rotation.
type encView struct {
	History []string
	Edits   []string
	Search  []string
	Media   string // SHA-256 of the bytes, so that a failure prints short
	Range   string
	Thumb   int
	File    string
}

func digest(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

// TestEncryptionAtRest writes messages (edited, replied to) and media with
// a master key, then looks through every file of the data directory — the
// database, its WAL, the blobs — for their plaintext and finds none. The
// API answers as without encryption; a restart with the key reads it all,
// one with a wrong key or none stops at start naming PARLEY_ENCRYPTION_KEY;
// a key rotation re-encrypts everything and drops the old data key.
func TestEncryptionAtRest(t *testing.T) {
	sqliteOnly(t)
	secrets := []string{
		"meet me at the harbour tonight, bring the blue folder",
		"meet me at the station tonight, bring the red folder",
		"the vault code is four four seven one",
	}
	reportedText := "carol's offer: wire 900 dollars to account zq-7781 today"
	fileText := []byte(strings.Repeat("zq confidential contract draft, clause nine: penalty 40000 EUR\n", 50))
	mp4 := mediatest.MP4(5000, 200000)
	png := mediatest.PNG(600, 400)

	run := func(t *testing.T, key []byte) (string, encView, *testServer, func()) {
		dir := filepath.Join(t.TempDir(), "data")
		ts, stop := startAt(t, dir, key)
		alice, bob, conv := friends(ts, "alice", "bob")
		m := alice.send(conv, secrets[0])
		path := "/api/v1/conversations/" + conv + "/messages/" + m["id"].(string)
		must(t, alice.do("PATCH", path, map[string]string{"text": secrets[1]}), http.StatusOK)
		must(t, bob.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": secrets[2], "reply_to": m["id"].(string)}), http.StatusCreated)
		vid := must(t, alice.upload("video", "v.mp4", mp4), http.StatusCreated).JSON()["id"].(string)
		img := must(t, alice.upload("image", "p.png", png), http.StatusCreated).JSON()["id"].(string)
		doc := must(t, alice.upload("file", "contract.txt", fileText), http.StatusCreated).JSON()["id"].(string)
		must(t, alice.sendMedia(conv, "video", vid), http.StatusCreated)
		must(t, alice.sendMedia(conv, "image", img), http.StatusCreated)
		must(t, alice.sendMedia(conv, "file", doc), http.StatusCreated)
		// A request alice reports as spam: the report quotes it.
		carol := ts.register("carol", "person")
		spam := carol.direct("alice")
		carol.send(spam, reportedText)
		must(t, alice.do("POST", "/api/v1/conversations/requests/bulk", map[string]any{"action": "spam", "ids": []string{spam}}), http.StatusOK)
		if _, err := ts.App.SetServerAdmin(context.Background(), "alice", true); err != nil {
			t.Fatal(err)
		}
		return dir, readView(t, bob, conv, m["id"].(string), vid, img, doc), ts, stop
	}
	// reported is the detail of the spam report as the admin reads it.
	reported := func(ts *testServer) string {
		alice := &user{ts: ts, Handle: "alice", Token: login(t, ts, "alice")}
		page := must(t, alice.do("GET", "/api/v1/admin/reports", nil), http.StatusOK).Items()
		if len(page) != 1 {
			t.Fatalf("reports: %v", page)
		}
		d, _ := page[0]["detail"].(string)
		if !strings.Contains(d, reportedText) {
			t.Fatalf("the report's detail %q does not quote the request", d)
		}
		return d
	}

	clearDir, clear, clearTS, _ := run(t, nil)
	clearReport := reported(clearTS)
	// Without a key the same search finds them: the search below can fail.
	for _, s := range []string{secrets[1], secrets[2], reportedText, string(fileText[:64]), string(mp4[3000:3100])} {
		if !dataContains(t, clearDir, s) {
			t.Fatalf("without encryption %q is not on disk: the search for plaintext proves nothing", s[:20])
		}
	}
	key := randomKey(t)
	dir, sealedView, ts, stop := run(t, key)
	if !reflect.DeepEqual(clear, sealedView) {
		t.Fatalf("the API answers differently with encryption:\n%+v\n%+v", clear, sealedView)
	}
	if d := reported(ts); d != clearReport {
		t.Fatalf("the report reads %q with encryption, %q without", d, clearReport)
	}
	checkpoint(t, ts.Store.(*sqlite.DB))
	// Written again after the checkpoint, so the WAL holds sealed rows too.
	alice := &user{ts: ts, Handle: "alice", Token: login(t, ts, "alice")}
	conv := alice.direct("bob")
	alice.send(conv, "a fresh one for the write-ahead log, about the harbour")
	bob := &user{ts: ts, Handle: "bob", Token: login(t, ts, "bob")}
	sealedView = readViewAgain(t, bob, sealedView)
	for _, s := range append(secrets, "a fresh one for the write-ahead log", reportedText) {
		if dataContains(t, dir, s) {
			t.Errorf("the data directory holds the message text %q", s)
		}
	}
	for what, b := range map[string][]byte{"video": mp4[3000:3100], "file": fileText[:64]} {
		if dataContains(t, dir, string(b)) {
			t.Errorf("the data directory holds the %s's bytes", what)
		}
	}

	// What docs/security.md says stays in clear: the search index's terms.
	// A word of a live message is in the file (as a term); once the message
	// is unsent, secure-delete removes it.
	term := "zqxylophonequartz"
	um := alice.send(conv, "the code word is "+term)
	db := ts.Store.(*sqlite.DB)
	if err := db.CatchUpSearch(context.Background()); err != nil { // the index takes new messages in steps
		t.Fatal(err)
	}
	checkpoint(t, db)
	if !dataContains(t, dir, term) {
		t.Error("the search index holds no term of a sealed message: is it indexed?")
	}
	if dataContains(t, dir, "code word is "+term) {
		t.Error("the data directory holds the sealed message's text")
	}
	must(t, alice.do("DELETE", "/api/v1/conversations/"+conv+"/messages/"+um["id"].(string), nil), http.StatusNoContent)
	deadline := time.Now().Add(20 * time.Second)
	for dataContains(t, dir, term) {
		if time.Now().After(deadline) {
			t.Fatal("an unsent sealed message's word is still in the data directory")
		}
		time.Sleep(100 * time.Millisecond)
	}
	sealedView = readViewAgain(t, bob, sealedView)
	stop()

	// Restart: with the key everything reads; wrong key or none fails.
	for name, k := range map[string][]byte{"wrong key": randomKey(t), "no key": nil} {
		cfg := Defaults()
		cfg.Listen, cfg.DataDir, cfg.App.EncryptionKey = "127.0.0.1:0", dir, k
		if s, err := Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
			s.Shutdown(context.Background())
			t.Fatalf("%s: the server started", name)
		} else if !strings.Contains(err.Error(), "PARLEY_ENCRYPTION_KEY") {
			t.Errorf("%s: error %q does not name PARLEY_ENCRYPTION_KEY", name, err)
		}
	}
	ts, stop = startAt(t, dir, key)
	bob = &user{ts: ts, Handle: "bob", Token: login(t, ts, "bob")}
	v := readViewAgain(t, bob, sealedView)
	if !reflect.DeepEqual(v, sealedView) {
		t.Fatalf("after a restart:\n%+v\n%+v", v, sealedView)
	}
	reported(ts)

	// Rotation: a new data key, everything re-encrypted, key 1 dropped.
	res, err := ts.App.RotateDataKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.NewKey != 2 || res.Resealed < 4 || res.BlobsSealed < 4 || !reflect.DeepEqual(res.DroppedKeys, []int64{1}) || !res.Complete {
		t.Fatalf("rotation %+v", res)
	}
	if v := readViewAgain(t, bob, sealedView); !reflect.DeepEqual(v, sealedView) {
		t.Fatalf("after rotation:\n%+v\n%+v", v, sealedView)
	}
	stop()
	ts, _ = startAt(t, dir, key)
	bob = &user{ts: ts, Handle: "bob", Token: login(t, ts, "bob")}
	if v := readViewAgain(t, bob, sealedView); !reflect.DeepEqual(v, sealedView) {
		t.Fatalf("after rotation and restart:\n%+v\n%+v", v, sealedView)
	}
	reported(ts)
	st, err := ts.App.KeyStatus(context.Background())
	if err != nil || len(st.Keys) != 1 || st.Keys[0].ID != 2 || st.Current != 2 {
		t.Fatalf("key status %+v %v", st, err)
	}
}

// TestEncryptionRewrap: a new master key rewraps the data keys; the next
// start needs the new key and reads everything.
func TestEncryptionRewrap(t *testing.T) {
	sqliteOnly(t)
	dir := filepath.Join(t.TempDir(), "data")
	oldKey := randomKey(t)
	ts, stop := startAt(t, dir, oldKey)
	alice, bob, conv := friends(ts, "alice", "bob")
	alice.send(conv, "before the new master key")
	newKey := randomKey(t)
	m, err := sealed.NewMasterKey(newKey)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ts.App.RewrapDataKeys(context.Background(), m); err != nil || n != 1 {
		t.Fatalf("rewrap: %d %v", n, err)
	}
	// The running server goes on, and can still rotate (under the new key).
	if _, err := ts.App.RotateDataKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	alice.send(conv, "after the new master key")
	stop()
	cfg := Defaults()
	cfg.Listen, cfg.DataDir, cfg.App.EncryptionKey = "127.0.0.1:0", dir, oldKey
	if _, err := Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "PARLEY_ENCRYPTION_KEY") {
		t.Fatalf("the old master key still starts the server: %v", err)
	}
	ts, _ = startAt(t, dir, newKey)
	bob = &user{ts: ts, Handle: "bob", Token: login(t, ts, "bob")}
	var texts []string
	for _, it := range must(t, bob.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items() {
		texts = append(texts, it["text"].(string))
	}
	if !reflect.DeepEqual(texts, []string{"before the new master key", "after the new master key"}) {
		t.Fatalf("history %q", texts)
	}
}

func login(t *testing.T, ts *testServer, handle string) string {
	t.Helper()
	r := must(t, ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": handle, "password": "correct horse battery"}), http.StatusCreated)
	return r.JSON()["token"].(string)
}

// encIDs remembers the ids readView used, for readViewAgain.
var encIDs struct{ conv, msg, vid, img, doc string }

func readView(t *testing.T, u *user, conv, msg, vid, img, doc string) encView {
	t.Helper()
	encIDs.conv, encIDs.msg, encIDs.vid, encIDs.img, encIDs.doc = conv, msg, vid, img, doc
	return readViewAgain(t, u, encView{})
}

func readViewAgain(t *testing.T, u *user, _ encView) encView {
	t.Helper()
	ids := encIDs
	var v encView
	for _, it := range must(t, u.do("GET", "/api/v1/conversations/"+ids.conv+"/messages", nil), http.StatusOK).Items() {
		line, _ := it["text"].(string)
		if it["deleted"] == true {
			line = "(unsent)"
		}
		if rt, ok := it["reply_to"].(map[string]any); ok {
			line += " | reply to: " + rt["text"].(string)
		}
		v.History = append(v.History, line)
	}
	for _, e := range must(t, u.do("GET", "/api/v1/conversations/"+ids.conv+"/messages/"+ids.msg+"/edits", nil), http.StatusOK).Items() {
		v.Edits = append(v.Edits, e["text"].(string))
	}
	for _, h := range must(t, u.do("GET", "/api/v1/search?"+url.Values{"q": {"folder"}}.Encode(), nil), http.StatusOK).Items() {
		v.Search = append(v.Search, h["message"].(map[string]any)["text"].(string))
	}
	media := must(t, u.download("/api/v1/media/"+ids.vid), http.StatusOK).Body
	rng := must(t, u.download("/api/v1/media/"+ids.vid, "Range", "bytes=70000-70099"), http.StatusPartialContent).Body
	if len(media) < 70100 || !bytes.Equal(rng, media[70000:70100]) {
		t.Fatal("a range of the video differs from the same bytes of the whole")
	}
	v.Media, v.Range = digest(media), digest(rng)
	v.Thumb = len(must(t, u.download("/api/v1/media/"+ids.img+"/thumbnail"), http.StatusOK).Body)
	v.File = digest(must(t, u.download("/api/v1/media/"+ids.doc), http.StatusOK).Body)
	return v
}

// checkpoint copies the WAL into the database file, retrying while
// readers (a stream's sync, the read batcher) keep the log busy: a
// checkpoint that finds a reader in the way is not an error of the store.
func checkpoint(t *testing.T, db *sqlite.DB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := db.Checkpoint(context.Background())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReportDetailThatDoesNotOpen: a report whose sealed detail is damaged
// is listed with a placeholder, and the moderator can still resolve it.
func TestReportDetailThatDoesNotOpen(t *testing.T) {
	sqliteOnly(t)
	ts, _ := startAt(t, filepath.Join(t.TempDir(), "data"), randomKey(t))
	carol, ann, mod := ts.register("carol", "person"), ts.register("ann", "person"), ts.register("mod", "person")
	if _, err := ts.App.SetServerAdmin(context.Background(), "mod", true); err != nil {
		t.Fatal(err)
	}
	spam := carol.direct("ann")
	carol.send(spam, "win a prize at https://x.example.top")
	must(t, ann.do("POST", "/api/v1/conversations/requests/bulk", map[string]any{"action": "spam", "ids": []string{spam}}), http.StatusOK)
	page := must(t, mod.do("GET", "/api/v1/admin/reports", nil), http.StatusOK).Items()
	if len(page) != 1 || !strings.Contains(fmt.Sprint(page[0]["detail"]), "win a prize") {
		t.Fatalf("reports: %v", page)
	}
	id := page[0]["id"].(string)
	// Damage it: a sealed value under key 1 that does not authenticate.
	err := ts.Store.Update(context.Background(), func(tx parley.Tx) error {
		return tx.SetReportDetail(id, sealed.TextKeyPrefix(1)+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	})
	if err != nil {
		t.Fatal(err)
	}
	page = must(t, mod.do("GET", "/api/v1/admin/reports", nil), http.StatusOK).Items()
	if len(page) != 1 || !strings.Contains(fmt.Sprint(page[0]["detail"]), "could not be decrypted") {
		t.Fatalf("a damaged detail: %v", page)
	}
	must(t, mod.do("POST", "/api/v1/admin/reports/"+id+"/resolve", map[string]any{"action": "dismiss"}), http.StatusOK)
}
