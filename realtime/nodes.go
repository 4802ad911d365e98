package realtime

import (
	"context"
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
//     in messages of at most heartbeatChunk users (a NATS message is 1 MB
//     at most), which both repairs a lost delta and keeps the users
//     online in the others' eyes: a user not heard of for nodeExpiry
//     (their node killed or cut off from the bus, an offline delta lost)
//     counts as offline.
//
// Nothing is stored: a node that starts learns the others' users from
// their next heartbeat.

// Node presence types travel on the bus; they are not stored.
const (
	typeNodeOnline = "node.online"
	typeNodeUsers  = "node.users"
)

// nodeHeartbeat is how often a node lists its online users; nodeExpiry is
// how long the others trust what they heard of a user.
var (
	nodeHeartbeat  = 10 * time.Second
	nodeExpiry     = 3 * nodeHeartbeat
	heartbeatChunk = 5000
)

// peerNodes is what this node knows of the others' online users: when
// each was last said to be online, by node.
type peerNodes struct {
	mu    sync.Mutex
	nodes map[string]map[string]time.Time
	swept time.Time
	now   func() time.Time
}

func newPeerNodes() *peerNodes {
	return &peerNodes{nodes: map[string]map[string]time.Time{}, now: time.Now}
}

func newNodeID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// online reports whether another node said recently that it has a stream
// of the user.
func (p *peerNodes) online(userID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for _, users := range p.nodes {
		if at, ok := users[userID]; ok && now.Sub(at) <= nodeExpiry {
			return true
		}
	}
	return false
}

// heard records a node presence notification from another node.
func (p *peerNodes) heard(n *notification) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	users := p.nodes[n.ActorID]
	if users == nil {
		users = map[string]time.Time{}
		p.nodes[n.ActorID] = users
	}
	switch n.Type {
	case typeNodeUsers:
		for _, u := range n.Audience {
			users[u] = now
		}
	case typeNodeOnline:
		var d struct {
			Online bool `json:"online"`
		}
		_ = json.Unmarshal(n.Data, &d)
		if d.Online {
			users[n.UserID] = now
		} else {
			delete(users, n.UserID)
		}
	}
	if now.Sub(p.swept) > nodeHeartbeat {
		// Forget what expired, so that memory follows who is online.
		p.swept = now
		for id, users := range p.nodes {
			for u, at := range users {
				if now.Sub(at) > nodeExpiry {
					delete(users, u)
				}
			}
			if len(users) == 0 {
				delete(p.nodes, id)
			}
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
		if n.Type == typeNodeOnline {
			var d struct {
				Online, Announced bool
			}
			_ = json.Unmarshal(n.Data, &d)
			switch {
			case d.Online:
			case d.Announced:
				// That node told the user's peers: nothing left to settle.
				h.awayMu.Lock()
				delete(h.away, n.UserID)
				h.awayMu.Unlock()
			default:
				go h.settleAway(n.UserID)
			}
		}
	}
	return true
}

// settleAway announces offline those of users this node left while
// another node still had them (Hub.presence) whom no node has now: the
// other node said its last stream of them went, or its word expired.
func (h *Hub) settleAway(users ...string) {
	for _, u := range users {
		h.awayMu.Lock()
		gone := h.away[u] && !h.OnlineAnywhere(u)
		if gone {
			delete(h.away, u)
		}
		h.awayMu.Unlock()
		if gone {
			if err := h.app.Presence(context.Background(), u, false); err != nil {
				h.log.Warn("presence", "user", u, "err", err)
			}
		}
	}
}

// OnlineAnywhere reports whether the user has a stream on this node or,
// as far as the last heartbeats say, on another.
func (h *Hub) OnlineAnywhere(userID string) bool {
	h.mu.RLock()
	local := h.streams[userID] > 0
	h.mu.RUnlock()
	return local || h.peers.online(userID)
}

// OnlineElsewhere reports whether, as far as the last word of the other
// nodes says, one of them has a stream of the user.
func (h *Hub) OnlineElsewhere(userID string) bool { return h.peers.online(userID) }

// announceNode tells the other nodes that a user's first stream came to
// this node, or their last one left it, and whether the user's peers were
// told (announced: false when another node still had them).
func (h *Hub) announceNode(userID string, online, announced bool) {
	d, _ := json.Marshal(map[string]bool{"online": online, "announced": announced})
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
		for _, chunk := range chunks(users, heartbeatChunk) {
			h.publish(notification{Type: typeNodeUsers, ActorID: h.nodeID, Audience: chunk, CreatedAt: time.Now().UTC()})
		}
		h.awayMu.Lock()
		away := make([]string, 0, len(h.away))
		for u := range h.away {
			away = append(away, u)
		}
		h.awayMu.Unlock()
		h.settleAway(away...)
	}
}

// chunks splits list into pieces of at most n.
func chunks(list []string, n int) [][]string {
	var out [][]string
	for len(list) > 0 {
		c := list[:min(len(list), n)]
		list = list[len(c):]
		out = append(out, c)
	}
	return out
}
