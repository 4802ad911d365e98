package server

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleyhq/parley/store/sqlite"
)

// TestUnsendLeavesNoTraceOnDisk unsends an edited, reacted, replied-to
// message and then searches every file in the data directory for its
// texts: SQLite's secure_delete and a checkpoint must leave none.
func TestUnsendLeavesNoTraceOnDisk(t *testing.T) {
	sqliteOnly(t)
	if os.Getenv("PARLEY_TEST_ENCRYPTION") == "1" {
		t.Skip("encrypted at rest, the text is never on disk to begin with (TestEncryptionAtRest)")
	}
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	secrets := []string{"zq-original-secret-7781", "zq-edited-secret-4410"}
	m := must(t, alice.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": secrets[0], "client_id": "s1"}), http.StatusCreated).JSON()
	path := "/api/v1/conversations/" + conv + "/messages/" + m["id"].(string)
	must(t, alice.do("PATCH", path, map[string]string{"text": secrets[1]}), http.StatusOK)
	must(t, bob.do("PUT", path+"/reactions/🔥", nil), http.StatusNoContent)
	bob.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": "noted", "reply_to": m["id"].(string)})
	for i := 0; i < 50; i++ { // push the message's page through the log a few times
		bob.send(conv, "filler message to churn pages")
	}
	db := ts.Store.(*sqlite.DB)
	checkpoint(t, db)
	if !dataContains(t, ts.cfg.DataDir, secrets[0]) {
		t.Fatal("the secret is not on disk before unsend: the search cannot find anything")
	}

	must(t, alice.do("DELETE", path, nil), http.StatusNoContent)
	// The server's own checkpointer truncates the log after an unsend; no
	// hand-run checkpoint here. Poll with a generous liveness bound.
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := 0
		for _, s := range secrets {
			if dataContains(t, ts.cfg.DataDir, s) {
				left++
			}
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d secrets still in the data directory after unsend", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dataContains reports whether any file under dir holds s.
func dataContains(t *testing.T, dir, s string) bool {
	t.Helper()
	found := false
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			found = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
