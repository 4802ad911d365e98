package server

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
)

func TestConversationListing(t *testing.T) {
	ts := startServer(t)
	me := ts.register("me_user", "person")
	var convs []string
	var others []*user
	for i := 0; i < 5; i++ {
		o := ts.register(fmt.Sprintf("friend%d", i), "person")
		must(t, o.do("PUT", "/api/v1/users/me_user/follow", nil), http.StatusNoContent)
		must(t, me.do("PUT", "/api/v1/users/"+o.Handle+"/follow", nil), http.StatusNoContent)
		c := me.direct(o.Handle)
		o.send(c, fmt.Sprintf("hello from %d", i))
		convs, others = append(convs, c), append(others, o)
	}
	// Newest activity first.
	want := slices.Clone(convs)
	slices.Reverse(want)
	if got := me.folder("inbox"); !slices.Equal(got, want) {
		t.Fatalf("inbox order %v, want %v", got, want)
	}
	// New activity moves a conversation to the top, with unread counts and
	// the last message.
	others[0].send(convs[0], "bump")
	others[0].send(convs[0], "bump again")
	items := must(t, me.do("GET", "/api/v1/conversations", nil), http.StatusOK).Items()
	top := items[0]
	if top["id"] != convs[0] || top["unread_count"] != 3.0 || top["last_message"].(map[string]any)["text"] != "bump again" {
		t.Errorf("top of inbox = %v", top)
	}
	// My own messages are not unread; reading clears.
	me.send(convs[0], "reply")
	must(t, me.do("POST", "/api/v1/conversations/"+convs[0]+"/read", map[string]int{"seq": 4}), http.StatusOK)
	if v := must(t, me.do("GET", "/api/v1/conversations/"+convs[0], nil), http.StatusOK).JSON(); v["unread_count"] != 0.0 {
		t.Errorf("unread after read = %v", v["unread_count"])
	}

	// Cursor pagination visits each conversation once.
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		r := must(t, me.do("GET", "/api/v1/conversations?limit=2"+cursor, nil), http.StatusOK)
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		decodeInto(t, r.Body, &page)
		for _, it := range page.Items {
			seen = append(seen, it.ID)
		}
		if page.NextCursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		cursor = "&cursor=" + page.NextCursor
	}
	if len(seen) != 5 || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != 5 {
		t.Errorf("paged %v", seen)
	}
	wantProblem(t, me.do("GET", "/api/v1/conversations?cursor=garbage!", nil), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, me.do("GET", "/api/v1/conversations?folder=spam", nil), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, me.do("GET", "/api/v1/conversations?limit=5000", nil), http.StatusUnprocessableEntity, "invalid")

	// Pin puts a conversation first; archive moves it out of the inbox.
	must(t, me.do("PUT", "/api/v1/conversations/"+convs[2]+"/pin", nil), http.StatusOK)
	if got := me.folder("inbox"); got[0] != convs[2] {
		t.Errorf("pinned conversation not first: %v", got)
	}
	must(t, me.do("DELETE", "/api/v1/conversations/"+convs[2]+"/pin", nil), http.StatusOK)
	must(t, me.do("PUT", "/api/v1/conversations/"+convs[1]+"/archive", nil), http.StatusOK)
	if got := me.folder("archived"); !slices.Equal(got, []string{convs[1]}) {
		t.Errorf("archived = %v", got)
	}
	if got := me.folder("inbox"); slices.Contains(got, convs[1]) {
		t.Error("archived conversation still in inbox")
	}
	// A new message brings an archived conversation back …
	others[1].send(convs[1], "are you there?")
	if got := me.folder("inbox"); got[0] != convs[1] {
		t.Errorf("archived conversation did not come back on a new message: %v", got)
	}
	// … unless it is muted.
	muted := must(t, me.do("PUT", "/api/v1/conversations/"+convs[3]+"/mute", map[string]int{"duration_seconds": 3600}), http.StatusOK).JSON()
	if muted["muted_until"] == nil {
		t.Errorf("mute: %v", muted)
	}
	must(t, me.do("PUT", "/api/v1/conversations/"+convs[3]+"/archive", nil), http.StatusOK)
	others[3].send(convs[3], "psst")
	if got := me.folder("archived"); !slices.Equal(got, []string{convs[3]}) {
		t.Errorf("muted archived conversation came back: archived = %v", got)
	}
	must(t, me.do("DELETE", "/api/v1/conversations/"+convs[3]+"/mute", nil), http.StatusOK)
	must(t, me.do("DELETE", "/api/v1/conversations/"+convs[3]+"/archive", nil), http.StatusOK)
	if got := me.folder("inbox"); !slices.Contains(got, convs[3]) {
		t.Error("unarchive did not return to inbox")
	}
	// Folders are per member: the other side is unaffected.
	if got := others[3].folder("inbox"); !slices.Equal(got, []string{convs[3]}) {
		t.Errorf("other side's inbox = %v", got)
	}
}

func TestHistoryPaging(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	for i := 1; i <= 25; i++ {
		u := alice
		if i%2 == 0 {
			u = bob
		}
		u.send(conv, fmt.Sprintf("m%d", i))
	}
	seqs := func(path string) ([]float64, string) {
		r := must(t, alice.do("GET", "/api/v1/conversations/"+conv+"/messages"+path, nil), http.StatusOK)
		var page struct {
			Items []struct {
				Seq float64 `json:"seq"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		decodeInto(t, r.Body, &page)
		var out []float64
		for _, it := range page.Items {
			out = append(out, it.Seq)
		}
		return out, page.NextCursor
	}
	// Newest page, then backwards by cursor.
	got, next := seqs("?limit=10")
	if !slices.Equal(got, []float64{16, 17, 18, 19, 20, 21, 22, 23, 24, 25}) || next != "b16" {
		t.Fatalf("newest page %v next %q", got, next)
	}
	got, next = seqs("?limit=10&cursor=" + next)
	if got[0] != 6 || got[9] != 15 || next != "b6" {
		t.Fatalf("second page %v next %q", got, next)
	}
	got, next = seqs("?limit=10&cursor=" + next)
	if !slices.Equal(got, []float64{1, 2, 3, 4, 5}) || next != "" {
		t.Fatalf("last page %v next %q", got, next)
	}
	// Forwards from a seq.
	got, next = seqs("?after_seq=20")
	if !slices.Equal(got, []float64{21, 22, 23, 24, 25}) || next != "" {
		t.Fatalf("after 20: %v %q", got, next)
	}
	got, _ = seqs("?before_seq=3")
	if !slices.Equal(got, []float64{1, 2}) {
		t.Fatalf("before 3: %v", got)
	}
	wantProblem(t, alice.do("GET", "/api/v1/conversations/"+conv+"/messages?after_seq=x", nil), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, alice.do("GET", "/api/v1/conversations/"+conv+"/messages?after_seq=1&before_seq=5", nil), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, alice.do("GET", "/api/v1/conversations/"+conv+"/messages?cursor=zz", nil), http.StatusUnprocessableEntity, "invalid")
}

func TestGroups(t *testing.T) {
	ts := startServer(t)
	owner := ts.register("owner", "person")
	fan := ts.register("fan", "person")           // follows owner: added directly
	stranger := ts.register("stranger", "person") // does not: invited
	closed := ts.register("closed_one", "person")
	must(t, fan.do("PUT", "/api/v1/users/owner/follow", nil), http.StatusNoContent)
	must(t, closed.do("PATCH", "/api/v1/me", map[string]string{"dm_policy": "closed"}), http.StatusOK)

	g := must(t, owner.do("POST", "/api/v1/conversations", map[string]any{"kind": "group", "title": "Book club", "members": []string{"fan", "stranger", "closed_one", "ghost_user", "fan"}}), http.StatusCreated).JSON()
	conv := g["id"].(string)
	results := map[string]string{}
	for _, r := range g["added"].([]any) {
		rm := r.(map[string]any)
		results[rm["handle"].(string)] = rm["result"].(string)
	}
	if results["fan"] != "already_member" && results["fan"] != "added" || results["stranger"] != "invited" || results["closed_one"] != "refused" || results["ghost_user"] != "refused" {
		t.Errorf("add results = %v", results)
	}
	if g["title"] != "Book club" || g["role"] != "owner" || g["member_count"] != 3.0 {
		t.Errorf("group = %v", g)
	}
	if got := fan.folder("inbox"); !slices.Equal(got, []string{conv}) {
		t.Errorf("fan inbox = %v", got)
	}
	if got := stranger.folder("requests"); !slices.Equal(got, []string{conv}) {
		t.Errorf("stranger requests = %v", got)
	}
	// An invitee cannot post until they accept.
	wantProblem(t, stranger.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": "hi"}), http.StatusForbidden, "forbidden")
	must(t, stranger.do("POST", "/api/v1/conversations/"+conv+"/accept", nil), http.StatusOK)
	stranger.send(conv, "thanks for the invite")
	wantProblem(t, closed.do("GET", "/api/v1/conversations/"+conv, nil), http.StatusNotFound, "not_found")
	// A declined invite leaves the group.
	decliner := ts.register("decliner", "person")
	must(t, owner.do("POST", "/api/v1/conversations/"+conv+"/members", map[string]any{"members": []string{"decliner"}}), http.StatusOK)
	// An invitee previews the invite, not the group's traffic.
	owner.send(conv, "members-only chatter")
	preview := must(t, decliner.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items()
	for _, m := range preview {
		if m["kind"] != "system" {
			t.Errorf("invitee previews a message: %v", m)
		}
	}
	must(t, decliner.do("POST", "/api/v1/conversations/"+conv+"/decline", nil), http.StatusNoContent)
	if v := must(t, owner.do("GET", "/api/v1/conversations/"+conv, nil), http.StatusOK).JSON(); v["member_count"] != 3.0 {
		t.Errorf("member_count after a decline = %v", v["member_count"])
	}

	// Roles: members cannot add under the default policy; admins can.
	newbie := ts.register("newbie", "person")
	must(t, newbie.do("PUT", "/api/v1/users/fan/follow", nil), http.StatusNoContent)
	wantProblem(t, fan.do("POST", "/api/v1/conversations/"+conv+"/members", map[string]any{"members": []string{"newbie"}}), http.StatusForbidden, "forbidden")
	wantProblem(t, fan.do("PUT", "/api/v1/conversations/"+conv+"/members/stranger/role", map[string]string{"role": "admin"}), http.StatusForbidden, "forbidden")
	must(t, owner.do("PUT", "/api/v1/conversations/"+conv+"/members/fan/role", map[string]string{"role": "admin"}), http.StatusNoContent)
	added := must(t, fan.do("POST", "/api/v1/conversations/"+conv+"/members", map[string]any{"members": []string{"newbie"}}), http.StatusOK).Items()
	if added[0]["result"] != "added" {
		t.Errorf("admin add: %v", added)
	}
	// A new member sees history from when they joined.
	hist := must(t, newbie.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items()
	for _, m := range hist {
		if m["text"] == "thanks for the invite" {
			t.Error("new member sees messages from before they joined")
		}
	}
	// A reply to a message from before they joined shows them no content.
	var old string
	for _, m := range must(t, owner.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items() {
		if m["text"] == "thanks for the invite" {
			old = m["id"].(string)
		}
	}
	must(t, owner.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": "you're welcome", "reply_to": old}), http.StatusCreated)
	hist = must(t, newbie.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items()
	last := hist[len(hist)-1]
	if rt := last["reply_to"].(map[string]any); rt["id"] != old || rt["text"] != nil || rt["sender_id"] != nil {
		t.Errorf("new member sees the quoted old message: %v", rt)
	}
	// Admins remove members, not the owner.
	wantProblem(t, fan.do("DELETE", "/api/v1/conversations/"+conv+"/members/owner", nil), http.StatusForbidden, "forbidden")
	must(t, fan.do("DELETE", "/api/v1/conversations/"+conv+"/members/newbie", nil), http.StatusNoContent)
	wantProblem(t, newbie.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": "let me back"}), http.StatusForbidden, "forbidden")
	owner.send(conv, "after newbie left")
	hist = must(t, newbie.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items()
	for _, m := range hist {
		if m["text"] == "after newbie left" {
			t.Error("removed member sees messages after removal")
		}
	}

	// Settings and leaving.
	wantProblem(t, stranger.do("PATCH", "/api/v1/conversations/"+conv, map[string]string{"title": "Mine now"}), http.StatusForbidden, "forbidden")
	v := must(t, fan.do("PATCH", "/api/v1/conversations/"+conv, map[string]string{"title": "Book club 2", "invite_policy": "members"}), http.StatusOK).JSON()
	if v["title"] != "Book club 2" || v["invite_policy"] != "members" {
		t.Errorf("patched group = %v", v)
	}
	// The owner leaves: the admin inherits the group.
	must(t, owner.do("POST", "/api/v1/conversations/"+conv+"/leave", nil), http.StatusNoContent)
	v = must(t, fan.do("GET", "/api/v1/conversations/"+conv, nil), http.StatusOK).JSON()
	if v["role"] != "owner" || v["member_count"] != 2.0 {
		t.Errorf("after owner left: role %v members %v", v["role"], v["member_count"])
	}
	wantProblem(t, owner.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": "I'm back"}), http.StatusForbidden, "forbidden")
	// Direct conversations are archived, not left.
	pat, _, direct := friends(ts, "pat", "sam")
	wantProblem(t, pat.do("POST", "/api/v1/conversations/"+direct+"/leave", nil), http.StatusConflict, "conflict")
	wantProblem(t, pat.do("POST", "/api/v1/conversations/"+direct+"/members", map[string]any{"members": []string{"owner"}}), http.StatusConflict, "conflict")
}

func TestGroupSizeLimit(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.App.MaxGroupMembers = 3 })
	owner := ts.register("owner", "person")
	var handles []string
	for i := 0; i < 3; i++ {
		u := ts.register(fmt.Sprintf("member%d", i), "person")
		must(t, u.do("PUT", "/api/v1/users/owner/follow", nil), http.StatusNoContent)
		handles = append(handles, u.Handle)
	}
	wantProblem(t, owner.do("POST", "/api/v1/conversations", map[string]any{"kind": "group", "title": "too big", "members": handles}), http.StatusConflict, "group_full")
	g := must(t, owner.do("POST", "/api/v1/conversations", map[string]any{"kind": "group", "title": "just right", "members": handles[:2]}), http.StatusCreated).JSON()
	wantProblem(t, owner.do("POST", "/api/v1/conversations/"+g["id"].(string)+"/members", map[string]any{"members": handles[2:]}), http.StatusConflict, "group_full")
}
