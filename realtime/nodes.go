package realtime

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"
)

// Who is online on the other nodes. A user is online when a stream of
// theirs is connected to some node; the app asks (to assign a customer
// conversation to an online agent, to list a team's agents) on whichever
// node handles the request. Each node tells the others over the bus:
//
//   - node.online when a user's first stream connects to it or their last
//     one goes (as it announces presence);
//   - node.users, every nodeHeartbeat, the whole list of its users online,
//     which both repairs a lost delta and keeps the node alive in the
//     others' eyes: a node not heard of for nodeExpiry (killed, cut off
//     from the bus) counts as having no one online.
//
// Nothing is stored: a node that starts learns the others' users from
// their next heartbeat.

// Node presence types travel on the bus; they are not stored.
const (
	typeNodeOnline = "node.online"
	typeNodeUsers  = "node.users"
)

// nodeHeartbeat is how often a node lists its online users; nodeExpiry is
// how long the others trust a list.
var (
	nodeHeartbeat = 10 * time.Second
	nodeExpiry    = 3 * nodeHeartbeat
)

// peerNodes is what this node knows of the others' online users.
type peerNodes struct {
	mu    sync.Mutex
	nodes map[string]*peerNode
	now   func() time.Time
}

type peerNode struct {
	users map[string]bool
	seen  time.Time
}

func newPeerNodes() *peerNodes {
	return &peerNodes{nodes: map[string]*peerNode{}, now: time.Now}
}

func newNodeID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// online reports whether another node, heard of recently, has a stream
// of the user.
func (p *peerNodes) online(userID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for id, n := range p.nodes {
		if now.Sub(n.seen) > nodeExpiry {
			delete(p.nodes, id)
			continue
		}
		if n.users[userID] {
			return true
		}
	}
	return false
}

// heard records a node presence notification from another node.
func (p *peerNodes) heard(n *notification) {
	p.mu.Lock()
	defer p.mu.Unlock()
	node := p.nodes[n.ActorID]
	if node == nil {
		node = &peerNode{users: map[string]bool{}}
		p.nodes[n.ActorID] = node
	}
	node.seen = p.now()
	switch n.Type {
	case typeNodeUsers:
		node.users = make(map[string]bool, len(n.Audience))
		for _, u := range n.Audience {
			node.users[u] = true
		}
	case typeNodeOnline:
		var d struct {
			Online bool `json:"online"`
		}
		_ = json.Unmarshal(n.Data, &d)
		if d.Online {
			node.users[n.UserID] = true
		} else {
			delete(node.users, n.UserID)
		}
	}
}

// nodeNotice handles a node presence notification; it reports whether n
// was one. A node's own come back to it over the bus and are ignored.
func (h *Hub) nodeNotice(n *notification) bool {
	if n.Type != typeNodeOnline && n.Type != typeNodeUsers {
		return false
	}
	if n.ActorID != h.nodeID {
		h.peers.heard(n)
	}
	return true
}

// OnlineAnywhere reports whether the user has a stream on this node or,
// as far as the last heartbeats say, on another.
func (h *Hub) OnlineAnywhere(userID string) bool {
	h.mu.RLock()
	local := h.streams[userID] > 0
	h.mu.RUnlock()
	return local || h.peers.online(userID)
}

// announceNode tells the other nodes that a user's first stream came to
// this node, or their last one left it.
func (h *Hub) announceNode(userID string, online bool) {
	d, _ := json.Marshal(map[string]bool{"online": online})
	h.publish(notification{Type: typeNodeOnline, ActorID: h.nodeID, UserID: userID, Data: d, CreatedAt: time.Now().UTC()})
}

// heartbeat lists this node's online users to the others until the hub
// closes.
func (h *Hub) heartbeat() {
	t := time.NewTicker(nodeHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-t.C:
		}
		h.mu.RLock()
		users := make([]string, 0, len(h.streams))
		for u := range h.streams {
			users = append(users, u)
		}
		h.mu.RUnlock()
		h.publish(notification{Type: typeNodeUsers, ActorID: h.nodeID, Audience: users, CreatedAt: time.Now().UTC()})
	}
}
