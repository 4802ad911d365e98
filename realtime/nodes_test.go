package realtime

import (
	"fmt"
	"testing"
	"time"
)

// TestPeerNodes: another node's heartbeats and deltas say who is online
// there; an offline delta takes a user off at once; a user no heartbeat
// or delta has named for nodeExpiry (their node gone silent, an offline
// delta lost) counts as offline.
func TestPeerNodes(t *testing.T) {
	now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	p := newPeerNodes()
	p.now = func() time.Time { return now }
	p.heard(&notification{Type: typeNodeUsers, ActorID: "n1", Audience: []string{"ann", "bob"}})
	p.heard(&notification{Type: typeNodeOnline, ActorID: "n2", UserID: "cat", Data: []byte(`{"online":true}`)})
	for _, u := range []string{"ann", "bob", "cat"} {
		if !p.online(u) {
			t.Fatalf("%s not online", u)
		}
	}
	if p.online("dan") {
		t.Fatal("dan online")
	}
	p.heard(&notification{Type: typeNodeOnline, ActorID: "n1", UserID: "bob", Data: []byte(`{"online":false}`)})
	if p.online("bob") || !p.online("ann") {
		t.Fatal("bob's last stream left n1")
	}
	// n1's next heartbeats (in two chunks) no longer name ann: her
	// offline delta was lost. She stays online until nodeExpiry.
	now = now.Add(nodeHeartbeat)
	p.heard(&notification{Type: typeNodeUsers, ActorID: "n1", Audience: []string{"dan"}})
	p.heard(&notification{Type: typeNodeUsers, ActorID: "n1", Audience: []string{"eve"}})
	p.heard(&notification{Type: typeNodeUsers, ActorID: "n2", Audience: []string{"cat"}})
	if !p.online("ann") || !p.online("dan") || !p.online("eve") {
		t.Fatal("a later chunk took users off")
	}
	now = now.Add(nodeExpiry - nodeHeartbeat + time.Second)
	if p.online("ann") || !p.online("dan") || !p.online("cat") {
		t.Fatal("ann, not named for longer than nodeExpiry, is online; or dan or cat went")
	}
	now = now.Add(nodeExpiry)
	if p.online("dan") || p.online("cat") {
		t.Fatal("silent nodes' users are online")
	}
	p.heard(&notification{Type: typeNodeUsers, ActorID: "n3", Audience: []string{"fay"}})
	if len(p.nodes) != 1 {
		t.Fatalf("expired nodes kept: %v", p.nodes)
	}
}

// TestHeartbeatChunks: a node's list goes out in messages of at most
// heartbeatChunk users, each user in one.
func TestHeartbeatChunks(t *testing.T) {
	got := chunks([]string{"a", "b", "c", "d", "e", "f", "g"}, 3)
	if fmt.Sprint(got) != "[[a b c] [d e f] [g]]" {
		t.Fatalf("chunks %v", got)
	}
	if got := chunks(nil, 3); len(got) != 0 {
		t.Fatalf("chunks of nothing: %v", got)
	}
}
