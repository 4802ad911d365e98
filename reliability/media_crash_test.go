package reliability

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite" // to read the data directory after a crash

	"github.com/parleyhq/parley/internal/mediatest"
)

// TestKillNineDuringUploads kills the server with SIGKILL while clients
// upload, three times. Afterwards every acknowledged upload downloads with
// exactly its bytes, and no media row exists without its blob: a blob is
// written and synced before its row, so a crash can leave at worst a blob
// without a row (collected later), never a row without a blob.
func TestKillNineDuringUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes; skipped with -short")
	}
	n := &node{t: t, addr: freeAddr(t), dir: t.TempDir()}
	n.start()
	defer func() { n.kill() }()
	var reg struct {
		Token string `json:"token"`
	}
	if code, err := call(n.addr, "", "POST", "/api/v1/accounts", map[string]string{"handle": "uploader", "password": "crash test password"}, &reg); err != nil || code != 201 {
		t.Fatalf("register: %d %v", code, err)
	}
	var mu sync.Mutex
	acked := map[string][]byte{} // media id → the bytes sent
	upload := func(data []byte) (string, error) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("kind", "file")
		fw, _ := mw.CreateFormFile("file", "f.pdf")
		fw.Write(data)
		mw.Close()
		req, _ := http.NewRequest("POST", "http://"+n.addr+"/api/v1/media", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+reg.Token)
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 201 {
			return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
		}
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return "", err
		}
		return v.ID, nil
	}
	for round := range 3 {
		var stop atomic.Bool
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for !stop.Load() {
					data := append(mediatest.PDF(), make([]byte, 64<<10)...)
					rand.Read(data[len(mediatest.PDF()):])
					id, err := upload(data)
					if err != nil {
						continue // refused or cut by the kill: not acknowledged
					}
					mu.Lock()
					acked[id] = data
					mu.Unlock()
				}
			})
		}
		time.Sleep(time.Duration(400+200*round) * time.Millisecond)
		n.kill()
		stop.Store(true)
		wg.Wait()
		checkMediaRows(t, n.dir)
		n.start()
	}
	if len(acked) < 10 {
		t.Fatalf("only %d uploads acknowledged; the test proves nothing", len(acked))
	}
	for id, want := range acked {
		req, _ := http.NewRequest("GET", "http://"+n.addr+"/api/v1/media/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+reg.Token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, want) {
			t.Fatalf("acknowledged upload %s: status %d, %d bytes (want %d)", id, resp.StatusCode, len(got), len(want))
		}
	}
	t.Logf("%d acknowledged uploads across 3 kills, all intact", len(acked))
}

// checkMediaRows opens the data directory of a killed server and checks
// that every media row's blob (and thumbnail) is on disk.
func checkMediaRows(t *testing.T, dir string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id, blob_key, thumb_key FROM media`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, key, thumb string
		if err := rows.Scan(&id, &key, &thumb); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{key, thumb} {
			if k == "" {
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, "media", k[0:2], k[2:4], k)); err != nil {
				t.Fatalf("media %s: row without its blob %s: %v", id, k, err)
			}
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d media rows, every one with its blob", n)
}
