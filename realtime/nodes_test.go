package realtime

import (
	"testing"
	"time"
)

// TestPeerNodes: another node's heartbeat lists its online users, its
// deltas add and remove one, a newer heartbeat replaces the list, and a
// node not heard of for nodeExpiry counts as having no one online.
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
	p.heard(&notification{Type: typeNodeUsers, ActorID: "n1", Audience: []string{"dan"}})
	if p.online("ann") || !p.online("dan") {
		t.Fatal("a heartbeat replaces the node's list")
	}
	now = now.Add(nodeExpiry - time.Second)
	p.heard(&notification{Type: typeNodeUsers, ActorID: "n2", Audience: []string{"cat"}})
	now = now.Add(2 * time.Second) // n1 silent for longer than nodeExpiry, n2 heard
	if p.online("dan") || !p.online("cat") {
		t.Fatal("a silent node's users still online, or a live one's gone")
	}
}
