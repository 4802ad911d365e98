package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBackupRestoreVerify: parley backup while parley serve runs (over the
// admin socket), parley restore into an empty data directory, a server on
// the restored copy with the messages; parley verify on an export of it,
// untouched and cut short.
func TestBackupRestoreVerify(t *testing.T) {
	c := newCLI(t)
	c.run("", "migrate")
	url, stop := c.startServe()
	_, alice := post(t, url+"/api/v1/accounts", "", map[string]string{"handle": "alice", "password": "correct horse battery"})
	_, bob := post(t, url+"/api/v1/accounts", "", map[string]string{"handle": "bob", "password": "correct horse battery"})
	at, bt := alice["token"].(string), bob["token"].(string)
	post(t, url+"/api/v1/users/alice/follow", bt, nil)
	_, conv := post(t, url+"/api/v1/conversations", at, map[string]string{"kind": "direct", "with": "bob"})
	convID := conv["id"].(string)
	for _, text := range []string{"one", "two", "three"} {
		if code, m := post(t, url+"/api/v1/conversations/"+convID+"/messages", at, map[string]string{"text": text}); code != http.StatusCreated {
			t.Fatalf("send: %d %v", code, m)
		}
	}
	dest := filepath.Join(t.TempDir(), "backup")
	var res struct {
		Dir      string `json:"dir"`
		Database int64  `json:"database_bytes"`
	}
	c.ok(&res, "", "backup", dest)
	if res.Dir != dest || res.Database == 0 {
		t.Fatalf("backup: %+v", res)
	}
	if code, _, errs := c.run("", "backup", dest); code != exitFailed || !strings.Contains(errs, "not empty") {
		t.Fatalf("a second backup into the same directory: %d %s", code, errs)
	}
	if code, _, errs := c.run("", "restore", dest); code != exitFailed || !strings.Contains(errs, "holds the data directory") {
		t.Fatalf("restore over a running server: %d %s", code, errs)
	}

	// An export while the server runs, verified offline.
	_, job := post(t, url+"/api/v1/exports", at, map[string]string{"scope": "account"})
	id := job["id"].(string)
	for deadline := time.Now().Add(30 * time.Second); job["state"] != "done"; {
		if job["state"] == "failed" || time.Now().After(deadline) {
			t.Fatalf("export: %v", job)
		}
		time.Sleep(20 * time.Millisecond)
		_, job = get(t, url+"/api/v1/exports/"+id, at)
	}
	_, key := get(t, url+"/api/v1/records/key", "")
	resp, err := http.Get(url + job["download_url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	zipBytes, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "export.zip")
	os.WriteFile(file, zipBytes, 0o600)
	code, out, errs := c.run("", "verify", "--key", key["public_key"].(string), file)
	if code != 0 || !strings.Contains(out, "verified") || !strings.Contains(out, "(the trusted key)") || strings.Contains(out, "warning") {
		t.Fatalf("verify: %d %s %s", code, out, errs)
	}
	// Without --key the export's own key is all there is: it says so.
	if code, out, errs := c.run("", "verify", file); code != 0 || !strings.Contains(out, "warning: the signer was checked against the export's own key only") {
		t.Fatalf("verify without --key: %d %s %s", code, out, errs)
	}
	os.WriteFile(file, zipBytes[:len(zipBytes)/2], 0o600)
	if code, _, _ := c.run("", "verify", file); code != exitFailed {
		t.Fatalf("verify of half a ZIP: exit %d", code)
	}

	// Restore into a fresh data directory and serve from it.
	r := &cli{t: t, dir: filepath.Join(t.TempDir(), "restored")}
	var rres struct {
		MediaFiles int `json:"media_files"`
	}
	r.ok(&rres, "", "restore", dest)
	url, stop = r.startServe()
	defer stop()
	code, login := post(t, url+"/api/v1/sessions", "", map[string]string{"handle": "alice", "password": "correct horse battery"})
	if code != http.StatusCreated {
		t.Fatalf("login on the restored copy: %d %v", code, login)
	}
	code, page := get(t, url+"/api/v1/conversations/"+convID+"/messages", login["token"].(string))
	if code != http.StatusOK || len(page["items"].([]any)) != 3 {
		t.Fatalf("messages on the restored copy: %d %v", code, page)
	}
	_, key2 := get(t, url+"/api/v1/records/key", "")
	if key2["public_key"] != key["public_key"] {
		t.Fatal("the restored server signs with another key")
	}
}
