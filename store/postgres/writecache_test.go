package postgres

import (
	"testing"

	"github.com/parleyhq/parley"
)

// TestWriteCacheMemberIndex: a member row written again and again (a read
// marker moving) is listed once for a refresh, and the per-conversation
// index holds no more users than the cache holds rows.
func TestWriteCacheMemberIndex(t *testing.T) {
	c := newWriteCache()
	m := &parley.Member{ConversationID: "c1", UserID: "u1"}
	c.putConv(&parley.Conversation{ID: "c1"})
	for range 5 {
		c.putMember(m)
		c.dropMember(memberKey{"c1", "u1"}) // PutMember in a batch
	}
	c.putMember(m)
	c.putMember(&parley.Member{ConversationID: "c1", UserID: "u2"})
	c.dropMember(memberKey{"c1", "u2"})
	r := c.refreshTargets([]string{"c:c1"})
	if len(r.members) != 1 || r.members[0] != (memberKey{"c1", "u1"}) {
		t.Fatalf("refresh lists %v, want [c1/u1] once", r.members)
	}
	if n := len(c.byConv["c1"]); n != 1 {
		t.Fatalf("the conversation's index holds %d users, want 1", n)
	}
	c.dropConv("c1")
	if len(c.members) != 0 || len(c.byConv) != 0 {
		t.Fatalf("after dropConv: %d rows, %d conversations indexed", len(c.members), len(c.byConv))
	}
}

// TestWriteCacheRowKeys: an "s:" key (another node's send: the row, the
// chain, the inbox item) drops and refreshes those and keeps the
// members; a "c:" key for the same conversation brings the members in.
func TestWriteCacheRowKeys(t *testing.T) {
	c := newWriteCache()
	c.putConv(&parley.Conversation{ID: "c1"})
	c.putChain("c1", chainHead{3, "ab"})
	c.putNoInbox("c1")
	c.putMember(&parley.Member{ConversationID: "c1", UserID: "u1"})
	r := c.refreshTargets([]string{"s:c1", "s:c1"})
	if len(r.convs) != 1 || len(r.chain) != 1 || len(r.noInbox) != 1 || len(r.members) != 0 {
		t.Fatalf("refresh for s:c1 lists %+v, want the row, chain head and inbox once and no member", r)
	}
	if r := c.refreshTargets([]string{"s:c1", "c:c1"}); len(r.convs) != 1 || len(r.members) != 1 {
		t.Fatalf("refresh for s:c1 and c:c1 lists %+v, want the row once and the member", r)
	}
	c.invalidate([]string{"s:c1"})
	if len(c.convs)+len(c.chain)+len(c.noInbox) != 0 || len(c.members) != 1 {
		t.Fatalf("after s:c1: %d rows, %d heads, %d inbox marks, %d members; want only the member", len(c.convs), len(c.chain), len(c.noInbox), len(c.members))
	}
	c.invalidate([]string{"c:c1"})
	if len(c.members) != 0 {
		t.Fatal("c:c1 kept the member")
	}
}
