package server

import (
	"archive/zip"
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestExportOverHTTP runs an export through the API: the job's progress,
// the signed link (followed without a bearer token), the verify endpoint
// on the untouched and on an altered ZIP, and who may do what.
func TestExportOverHTTP(t *testing.T) {
	ts := startServer(t)
	alice, bob, mallory := ts.register("alice", "person"), ts.register("bob", "person"), ts.register("mallory", "person")
	must(t, bob.do("PUT", "/api/v1/users/alice/follow", nil), http.StatusNoContent)
	conv := alice.direct("bob")
	for i := range 12 {
		alice.send(conv, "message "+strings.Repeat("x", i))
	}
	key := must(t, ts.do("", "GET", "/api/v1/records/key", nil), http.StatusOK).JSON()
	if key["algorithm"] != "ed25519" || key["public_key"] == "" {
		t.Fatalf("key: %v", key)
	}

	wantProblem(t, mallory.do("POST", "/api/v1/exports", map[string]string{"scope": "conversation", "conversation_id": conv}), http.StatusNotFound, "not_found")
	wantProblem(t, alice.do("POST", "/api/v1/exports", map[string]string{"scope": "everything"}), http.StatusUnprocessableEntity, "invalid")
	job := must(t, alice.do("POST", "/api/v1/exports", map[string]string{"scope": "conversation", "conversation_id": conv}), http.StatusAccepted).JSON()
	id := job["id"].(string)
	wantProblem(t, mallory.do("GET", "/api/v1/exports/"+id, nil), http.StatusNotFound, "not_found")
	deadline := time.Now().Add(30 * time.Second)
	for job["state"] != "done" {
		if job["state"] == "failed" || time.Now().After(deadline) {
			t.Fatalf("job: %v", job)
		}
		time.Sleep(20 * time.Millisecond)
		job = must(t, alice.do("GET", "/api/v1/exports/"+id, nil), http.StatusOK).JSON()
	}
	if job["done"].(float64) != 12 || job["total"].(float64) != 12 {
		t.Fatalf("progress %v/%v, want 12/12", job["done"], job["total"])
	}
	if items := must(t, alice.do("GET", "/api/v1/exports", nil), http.StatusOK).Items(); len(items) != 1 || items[0]["id"] != id {
		t.Fatalf("list: %v", items)
	}
	link := job["download_url"].(string)
	dl := must(t, ts.do("", "GET", link, nil), http.StatusOK)
	if ct := dl.Header.Get("Content-Type"); ct != "application/zip" || !strings.Contains(dl.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download headers: %v", dl.Header)
	}
	wantProblem(t, ts.do("", "GET", strings.Replace(link, "sig=", "sig=00", 1), nil), http.StatusGone, "link_expired")
	wantProblem(t, ts.do("", "GET", "/api/v1/exports/"+id+"/download", nil), http.StatusGone, "link_expired")

	wantProblem(t, ts.do("", "POST", "/api/v1/exports/verify", dl.Body), http.StatusUnauthorized, "unauthorized")
	rep := must(t, mallory.do("POST", "/api/v1/exports/verify", dl.Body), http.StatusOK).JSON()
	if rep["ok"] != true || rep["trusted_key"] != true {
		t.Fatalf("verify: %v", rep)
	}
	// Without a file the manifest lists, the report names it.
	var altered bytes.Buffer
	zr, err := zip.NewReader(bytes.NewReader(dl.Body), int64(len(dl.Body)))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(&altered)
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "transcript.html") {
			continue
		}
		w, _ := zw.Create(f.Name)
		rc, _ := f.Open()
		var b bytes.Buffer
		b.ReadFrom(rc)
		rc.Close()
		w.Write(b.Bytes())
	}
	zw.Close()
	rep = must(t, alice.do("POST", "/api/v1/exports/verify", altered.Bytes()), http.StatusOK).JSON()
	if rep["ok"] != false || !strings.Contains(strings.Join(toStrings(rep["problems"]), "\n"), "file conversations/"+conv+"/transcript.html missing") {
		t.Fatalf("verify of an altered export: %v", rep)
	}
	wantProblem(t, alice.do("POST", "/api/v1/exports/verify", "not a zip"), http.StatusUnprocessableEntity, "invalid")
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
