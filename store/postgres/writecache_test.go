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
