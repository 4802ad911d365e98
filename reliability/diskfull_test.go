//go:build linux

package reliability

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// mountSmallDisk mounts a tmpfs of size bytes on a new temporary directory
// and unmounts it at the end of the test. The test is skipped, loudly,
// where mounting is not allowed (not root, no CAP_SYS_ADMIN).
func mountSmallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("DISK-FULL TEST DID NOT RUN: cannot mount a small tmpfs here (%v); run it as root (CI does)", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes zeros to path until the filesystem refuses with ENOSPC.
func fill(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	var n int64
	for {
		k, err := f.Write(buf)
		n += int64(k)
		if errors.Is(err, syscall.ENOSPC) {
			return n
		}
		if err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
}

// problem is the part of a problem+json body the test reads.
type problem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
}

// send posts one message and returns the status, the stored message on
// success and the problem otherwise.
func send(addr, token, conv, cid, text string) (int, message, problem, string, error) {
	b, _ := json.Marshal(map[string]string{"client_id": cid, "text": text})
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/conversations/"+conv+"/messages", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, message{}, problem{}, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, message{}, problem{}, "", err
	}
	var m message
	var p problem
	if resp.StatusCode == 201 || resp.StatusCode == 200 {
		err = json.Unmarshal(body, &m)
	} else {
		err = json.Unmarshal(body, &p)
	}
	return resp.StatusCode, m, p, resp.Header.Get("Content-Type"), err
}

// upload posts a file to the media route and returns the status and the
// problem, if any.
func upload(t *testing.T, addr, token, name string, data []byte) (int, problem) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/media", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	defer resp.Body.Close()
	var p problem
	json.NewDecoder(resp.Body).Decode(&p)
	return resp.StatusCode, p
}

// tempFiles lists the upload and blob temporary files under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.Contains(d.Name(), "parley-upload-") || strings.Contains(d.Name(), "parley-strip-") || strings.HasPrefix(d.Name(), "put-")) {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// TestDiskFull runs the server on a small filesystem and fills it while
// clients send. Sends must then fail with 507 problem+json (never an ack
// without persistence); once space is freed they succeed again without a
// restart; afterwards every acknowledged message is stored once with its
// acknowledged id and sequence, sequences are contiguous, nothing refused
// is stored, and the database passes PRAGMA integrity_check.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a filesystem; skipped with -short")
	}
	dir := mountSmallDisk(t, 48<<20)
	n := &node{t: t, addr: freeAddr(t), dir: filepath.Join(dir, "data")}
	n.start()
	defer func() { n.kill() }()

	const senders = 4
	var tokens [2]string
	for j := range tokens {
		var out struct {
			Token string `json:"token"`
		}
		body := map[string]string{"handle": fmt.Sprintf("disk%d", j), "password": "disk full test password"}
		if code, err := call(n.addr, "", "POST", "/api/v1/accounts", body, &out); err != nil || code != 201 {
			t.Fatalf("register: %d %v", code, err)
		}
		tokens[j] = out.Token
	}
	call(n.addr, tokens[1], "PUT", "/api/v1/users/disk0/follow", nil, nil)
	var conv struct {
		ID string `json:"id"`
	}
	if code, err := call(n.addr, tokens[0], "POST", "/api/v1/conversations", map[string]string{"kind": "direct", "with": "disk1"}, &conv); err != nil || code != 201 {
		t.Fatalf("conversation: %d %v", code, err)
	}

	var (
		mu       sync.Mutex
		acked    = map[string]message{}
		refused  = map[string]bool{}
		badCodes = map[string]int{}
	)
	text := string(bytes.Repeat([]byte("disk full test "), 200)) // 3 KB a message
	seq := 0
	// phase sends from several clients until stop says so; each send has a
	// new client id and is not retried.
	phase := func(name string, stop func(okInPhase, refusedInPhase int) bool) (ok, no int) {
		var wg sync.WaitGroup
		done := make(chan struct{})
		var once sync.Once
		for s := 0; s < senders; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-done:
						return
					default:
					}
					mu.Lock()
					seq++
					cid := fmt.Sprintf("%s-%d", name, seq)
					mu.Unlock()
					code, m, p, ctype, err := send(n.addr, tokens[0], conv.ID, cid, text)
					mu.Lock()
					switch {
					case err == nil && code == 201:
						acked[cid] = m
						ok++
					case err == nil && code == 507 && p.Code == "storage_full" && ctype == "application/problem+json":
						refused[cid] = true
						no++
					default:
						badCodes[fmt.Sprintf("%d %s %v", code, p.Code, err)]++
						refused[cid] = true // an error answer is no ack either
						no++
					}
					if stop(ok, no) {
						once.Do(func() { close(done) })
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return ok, no
	}

	// Some history first, then the disk fills up under the senders.
	phase("before", func(ok, _ int) bool { return ok >= 200 })
	filler := filepath.Join(dir, "filler")
	filled := fill(t, filler)
	fullOK, fullNo := phase("full", func(_, no int) bool { return no >= 200 })
	t.Logf("filled %d bytes; while full: %d acknowledged (space the database already held), %d refused", filled, fullOK, fullNo)
	if len(badCodes) > 0 {
		t.Errorf("answers other than 201 or 507 storage_full problem+json while full: %v", badCodes)
	}

	// An upload on a full disk is refused the same way and leaves no file.
	png := bytes.Repeat([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, 1)
	png = append(png, bytes.Repeat([]byte("x"), 256<<10)...)
	if code, p := upload(t, n.addr, tokens[0], "full.png", png); code != 507 || p.Code != "storage_full" {
		t.Errorf("upload on a full disk: %d %q, want 507 storage_full", code, p.Code)
	}
	if left := tempFiles(t, n.dir); len(left) > 0 {
		t.Errorf("a refused upload left files behind: %v", left)
	}

	// Reads still work on a full disk.
	if code, err := call(n.addr, tokens[1], "GET", "/api/v1/conversations/"+conv.ID+"/messages?limit=10", nil, nil); err != nil || code != 200 {
		t.Errorf("history on a full disk: %d %v", code, err)
	}

	// Free the space: sends succeed again, with no restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second) // a liveness bound, not a timing claim
	afterOK, _ := phase("after", func(ok, _ int) bool { return ok >= 100 || time.Now().After(deadline) })
	if afterOK < 100 {
		t.Fatalf("after freeing space only %d sends succeeded; the server did not recover without a restart\n%s", afterOK, n.logs)
	}

	// Classify, from the sender's view (client ids are shown to the sender).
	all := history(t, n.addr, tokens[0], conv.ID)
	byCID := map[string][]message{}
	for k, m := range all {
		if m.Seq != int64(k+1) {
			t.Fatalf("seq %d at position %d: a gap", m.Seq, k)
		}
		byCID[m.ClientID] = append(byCID[m.ClientID], m)
	}
	var lost, dup, storedRefused int
	for cid, want := range acked {
		got := byCID[cid]
		switch {
		case len(got) == 0:
			lost++
		case got[0].ID != want.ID || got[0].Seq != want.Seq:
			t.Errorf("%s acknowledged as %s/%d, stored as %s/%d", cid, want.ID, want.Seq, got[0].ID, got[0].Seq)
		}
	}
	for cid, got := range byCID {
		if len(got) > 1 {
			dup++
		}
		if refused[cid] {
			storedRefused++
		}
	}
	t.Logf("acknowledged %d, refused %d; stored %d; lost %d, duplicated %d, refused but stored %d",
		len(acked), len(refused), len(all), lost, dup, storedRefused)
	if lost != 0 || dup != 0 || storedRefused != 0 || len(all) != len(acked) {
		t.Fatalf("lost %d, duplicated %d, refused but stored %d, stored %d for %d acknowledged", lost, dup, storedRefused, len(all), len(acked))
	}
	if fullNo == 0 {
		t.Fatal("the disk never filled: no send was refused")
	}

	// The database file is sound.
	n.cmd.Process.Signal(syscall.SIGTERM)
	n.cmd.Wait()
	db, err := sql.Open("sqlite", filepath.Join(n.dir, "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	n.start() // for the deferred kill
}
