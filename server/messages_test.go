package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// friends registers two users who follow each other and returns their
// direct conversation.
func friends(ts *testServer, a, b string) (*user, *user, string) {
	ua, ub := ts.register(a, "person"), ts.register(b, "person")
	must(ts.t, ua.do("PUT", "/api/v1/users/"+b+"/follow", nil), http.StatusNoContent)
	must(ts.t, ub.do("PUT", "/api/v1/users/"+a+"/follow", nil), http.StatusNoContent)
	return ua, ub, ua.direct(b)
}

func lastSeq(t *testing.T, u *user, conv string) float64 {
	t.Helper()
	return must(t, u.do("GET", "/api/v1/conversations/"+conv, nil), http.StatusOK).JSON()["last_seq"].(float64)
}

func TestIdempotentSend(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	body := map[string]string{"client_id": "c-1", "text": "only once"}
	first := must(t, alice.do("POST", "/api/v1/conversations/"+conv+"/messages", body), http.StatusCreated).JSON()
	for i := 0; i < 3; i++ {
		again := must(t, alice.do("POST", "/api/v1/conversations/"+conv+"/messages", body), http.StatusOK).JSON()
		if again["id"] != first["id"] || again["seq"] != first["seq"] || again["client_id"] != "c-1" {
			t.Fatalf("resend gave %v, want %v", again, first)
		}
	}
	if got := lastSeq(t, bob, conv); got != 1 {
		t.Errorf("last_seq = %v after resends, want 1", got)
	}
	msgs := must(t, bob.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items()
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored, want 1", len(msgs))
	}
	if _, ok := msgs[0]["client_id"]; ok {
		t.Error("bob sees alice's client_id")
	}
	// The same client id from another sender is another message.
	must(t, bob.do("POST", "/api/v1/conversations/"+conv+"/messages", body), http.StatusCreated)
	// Concurrent retries of one send still store it once.
	var wg sync.WaitGroup
	ids := make([]string, 20)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := alice.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "c-2", "text": "racing"})
			if r.Status == http.StatusCreated || r.Status == http.StatusOK {
				ids[i] = r.JSON()["id"].(string)
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == "" {
			t.Fatalf("concurrent resends gave different ids: %v", ids)
		}
	}
	if got := lastSeq(t, bob, conv); got != 3 {
		t.Errorf("last_seq = %v, want 3", got)
	}
}

func TestConcurrentSendersGetContiguousSeqs(t *testing.T) {
	ts := startServer(t)
	owner := ts.register("owner", "person")
	const senders, each = 50, 4
	var handles []string
	var users []*user
	for i := 0; i < senders; i++ {
		u := ts.register(fmt.Sprintf("sender%02d", i), "person")
		must(t, u.do("PUT", "/api/v1/users/owner/follow", nil), http.StatusNoContent)
		users, handles = append(users, u), append(handles, u.Handle)
	}
	g := must(t, owner.do("POST", "/api/v1/conversations", map[string]any{"kind": "group", "title": "busy", "members": handles}), http.StatusCreated).JSON()
	conv := g["id"].(string)
	base := g["last_seq"].(float64)
	if g["member_count"] != float64(senders+1) {
		t.Fatalf("member_count = %v", g["member_count"])
	}
	var wg sync.WaitGroup
	seqs := make(chan float64, senders*each)
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				r := u.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": fmt.Sprint(j), "text": fmt.Sprintf("from %d #%d", i, j)})
				if r.Status != http.StatusCreated {
					t.Errorf("send: %d %s", r.Status, r.Body)
					return
				}
				seqs <- r.JSON()["seq"].(float64)
			}
		}()
	}
	wg.Wait()
	close(seqs)
	var got []float64
	for s := range seqs {
		got = append(got, s)
	}
	slices.Sort(got)
	for i, s := range got {
		if want := base + float64(i+1); s != want {
			t.Fatalf("acknowledged seqs are not contiguous: position %d has %v, want %v", i, s, want)
		}
	}
	// What was acknowledged is what is stored, in order, without gaps.
	var stored []float64
	cursor := ""
	for {
		r := must(t, owner.do("GET", "/api/v1/conversations/"+conv+"/messages?limit=200&after_seq=0"+cursor, nil), http.StatusOK)
		var page struct {
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"next_cursor"`
		}
		decodeInto(t, r.Body, &page)
		for _, m := range page.Items {
			stored = append(stored, m["seq"].(float64))
		}
		if page.NextCursor == "" {
			break
		}
		cursor = "&cursor=" + page.NextCursor
	}
	for i, s := range stored {
		if s != float64(i+1) {
			t.Fatalf("stored seq %v at position %d", s, i)
		}
	}
	if len(stored) != int(base)+senders*each {
		t.Fatalf("stored %d messages, want %d", len(stored), int(base)+senders*each)
	}
}

func TestEditReactReadUnsend(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	m1 := alice.send(conv, "first draft")
	id := m1["id"].(string)
	path := "/api/v1/conversations/" + conv + "/messages/" + id

	// Edit keeps history; only the sender may edit.
	e := must(t, alice.do("PATCH", path, map[string]string{"text": "second draft"}), http.StatusOK).JSON()
	if e["text"] != "second draft" || e["edited_at"] == nil {
		t.Errorf("edited = %v", e)
	}
	must(t, alice.do("PATCH", path, map[string]string{"text": "final"}), http.StatusOK)
	wantProblem(t, bob.do("PATCH", path, map[string]string{"text": "hijack"}), http.StatusForbidden, "forbidden")
	edits := must(t, bob.do("GET", path+"/edits", nil), http.StatusOK).Items()
	if len(edits) != 2 || edits[0]["text"] != "first draft" || edits[1]["text"] != "second draft" {
		t.Errorf("edits = %v", edits)
	}

	// Reply and reactions.
	reply := must(t, bob.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": "nice", "reply_to": id}), http.StatusCreated).JSON()
	if rt := reply["reply_to"].(map[string]any); rt["id"] != id || rt["text"] != "final" {
		t.Errorf("reply_to = %v", rt)
	}
	wantProblem(t, bob.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": "x", "reply_to": "nope"}), http.StatusUnprocessableEntity, "invalid")
	must(t, bob.do("PUT", path+"/reactions/👍", nil), http.StatusNoContent)
	must(t, bob.do("PUT", path+"/reactions/👍", nil), http.StatusNoContent) // one of each per user
	must(t, bob.do("PUT", path+"/reactions/❤️", nil), http.StatusNoContent)
	must(t, alice.do("PUT", path+"/reactions/👍", nil), http.StatusNoContent)
	for _, bad := range []string{"abc", "%20", "👍👍👍👍👍👍👍👍👍👍👍👍👍👍👍👍👍"} {
		wantProblem(t, bob.do("PUT", path+"/reactions/"+bad, nil), http.StatusUnprocessableEntity, "invalid")
	}
	msgs := must(t, alice.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items()
	rs := msgs[0]["reactions"].([]any)
	if len(rs) != 2 || rs[0].(map[string]any)["count"] != 2.0 || rs[0].(map[string]any)["me"] != true || rs[1].(map[string]any)["count"] != 1.0 {
		t.Errorf("reactions = %v", rs)
	}
	must(t, bob.do("DELETE", path+"/reactions/❤️", nil), http.StatusNoContent)
	must(t, bob.do("DELETE", path+"/reactions/❤️", nil), http.StatusNoContent)

	// Read markers never move backwards and cap at the last message.
	read := func(seq int) float64 {
		return must(t, bob.do("POST", "/api/v1/conversations/"+conv+"/read", map[string]int{"seq": seq}), http.StatusOK).JSON()["read_seq"].(float64)
	}
	if got := read(1); got != 1 {
		t.Errorf("read 1 → %v", got)
	}
	if got := read(99); got != 2 {
		t.Errorf("read 99 → %v, want 2 (the last seq)", got)
	}
	if got := read(1); got != 2 {
		t.Errorf("read moved backwards to %v", got)
	}
	wantProblem(t, bob.do("POST", "/api/v1/conversations/"+conv+"/read", map[string]int{"seq": 0}), http.StatusUnprocessableEntity, "invalid")
	if v := must(t, alice.do("GET", "/api/v1/conversations/"+conv, nil), http.StatusOK).JSON(); member(t, v, "bob")["read_seq"] != 2.0 {
		t.Errorf("alice sees bob's read_seq %v", member(t, v, "bob")["read_seq"])
	}

	// Unsend: a tombstone stays, content goes everywhere.
	wantProblem(t, bob.do("DELETE", path, nil), http.StatusForbidden, "forbidden")
	must(t, alice.do("DELETE", path, nil), http.StatusNoContent)
	must(t, alice.do("DELETE", path, nil), http.StatusNoContent)
	msgs = must(t, bob.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items()
	if len(msgs) != 2 || msgs[0]["deleted"] != true || msgs[0]["seq"] != 1.0 {
		t.Fatalf("after unsend: %v", msgs)
	}
	if _, ok := msgs[0]["text"]; ok {
		t.Errorf("tombstone keeps text: %v", msgs[0])
	}
	if _, ok := msgs[0]["reactions"]; ok {
		t.Errorf("tombstone keeps reactions: %v", msgs[0])
	}
	if rt := msgs[1]["reply_to"].(map[string]any); rt["deleted"] != true || rt["text"] != nil {
		t.Errorf("reply preview of an unsent message: %v", rt)
	}
	if edits := must(t, bob.do("GET", path+"/edits", nil), http.StatusOK).Items(); len(edits) != 0 {
		t.Errorf("edits survive unsend: %v", edits)
	}
	wantProblem(t, alice.do("PATCH", path, map[string]string{"text": "zombie"}), http.StatusConflict, "conflict")
	wantProblem(t, bob.do("PUT", path+"/reactions/👍", nil), http.StatusConflict, "conflict")
	for _, body := range []string{string(ts.fetch(t, bob, "/api/v1/conversations/"+conv)), string(ts.fetch(t, bob, "/api/v1/conversations"))} {
		for _, s := range []string{"first draft", "second draft", "final"} {
			if strings.Contains(body, s) {
				t.Errorf("%q still visible after unsend: %s", s, body)
			}
		}
	}
	// Resending the unsent message's client id does not resurrect it.
	m := must(t, alice.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "k", "text": "gone soon"}), http.StatusCreated).JSON()
	must(t, alice.do("DELETE", "/api/v1/conversations/"+conv+"/messages/"+m["id"].(string), nil), http.StatusNoContent)
	again := must(t, alice.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "k", "text": "gone soon"}), http.StatusOK).JSON()
	if again["id"] != m["id"] || again["deleted"] != true {
		t.Errorf("resend of an unsent message: %v", again)
	}
}

// fetch GETs path as u and returns the body.
func (ts *testServer) fetch(t *testing.T, u *user, path string) []byte {
	t.Helper()
	return must(t, u.do("GET", path, nil), http.StatusOK).Body
}

func TestEditWindow(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.App.EditWindow = time.Millisecond })
	alice, _, conv := friends(ts, "alice", "bob")
	m := alice.send(conv, "too late to fix")
	time.Sleep(5 * time.Millisecond)
	wantProblem(t, alice.do("PATCH", "/api/v1/conversations/"+conv+"/messages/"+m["id"].(string), map[string]string{"text": "fixed"}), http.StatusForbidden, "edit_window_closed")
}
