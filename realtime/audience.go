package realtime

import (
	"sync"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// audienceCache remembers who may care about a conversation, so that a
// busy conversation costs one membership query, not one per message. The
// hub asks for the audience on the bus delivery goroutine, where a query
// per notification would queue every later notification behind it.
//
// It stays exact through the notifications themselves: every membership
// change (join, invite, leave, removal, a request accepted or declined, a
// new conversation) is published after its commit like any other change,
// and any notification of a conversation other than the kinds in
// keepsAudience drops that conversation's entry before the hub looks it up.
// A lookup made after that reads a snapshot that includes the change. A gap
// in the notifications clears everything, and entries expire after
// audienceTTL in case a publish was lost without a gap being seen.
type audienceCache struct {
	mu      sync.Mutex
	entries map[string]audienceEntry
	now     func() time.Time
}

type audienceEntry struct {
	users []string
	// large marks an audience too big to keep: looked up every time
	// (the fan-out reads it with the message anyway).
	large bool
	at    time.Time
	// rows is everyone the conversation's changes may concern in a
	// sync (app.AudienceAt), for coverage.
	rows []string
	// pos is the position the audience was read at (app.AudienceAt).
	pos int64
}

const (
	audienceTTL    = 5 * time.Second
	maxAudiences   = 20000
	maxCachedUsers = 2000 // bigger audiences are looked up every time
)

// keepsAudience lists the notification types that never change who is a
// member of a conversation.
var keepsAudience = map[string]bool{
	parley.EventMessageCreated:  true,
	parley.EventMessageEdited:   true,
	parley.EventMessageUnsent:   true,
	parley.EventMessageUpdated:  true,
	parley.EventReactionAdded:   true,
	parley.EventReactionRemoved: true,
	parley.EventRead:            true,
	parley.EventDelivered:       true,
	parley.EventTyping:          true,
	app.EventInboxUpdated:       true,
	app.EventNoteCreated:        true,
	app.EventInboxPresence:      true,
}

func newAudienceCache() *audienceCache {
	return &audienceCache{entries: map[string]audienceEntry{}, now: time.Now}
}

// seen is called with every notification before it is handled.
func (c *audienceCache) seen(n *notification) {
	if n.Type == app.EventAgentsChanged {
		// A business's team changed: the audience of every one of its
		// conversations did. Such changes are rare; forget everything.
		c.clear()
		return
	}
	if n.ConversationID == "" || keepsAudience[n.Type] {
		return
	}
	c.mu.Lock()
	delete(c.entries, n.ConversationID)
	c.mu.Unlock()
}

// clear forgets everything (after a gap in the notifications).
func (c *audienceCache) clear() {
	c.mu.Lock()
	c.entries = map[string]audienceEntry{}
	c.mu.Unlock()
}

// get returns the cached audience of a conversation; large (with ok and
// no users) says it is bigger than maxCachedUsers.
// rows and pos are the entry's (see audienceEntry).
func (c *audienceCache) get(convID string) (users, rows []string, pos int64, large, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[convID]
	if !ok || c.now().Sub(e.at) > audienceTTL {
		return nil, nil, 0, false, false
	}
	return e.users, e.rows, e.pos, e.large, true
}

func (c *audienceCache) put(convID string, users, rows []string, pos int64) {
	e := audienceEntry{users: users, rows: rows, at: c.now(), pos: pos}
	if len(rows) > maxCachedUsers {
		e = audienceEntry{large: true, at: e.at, pos: pos}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxAudiences {
		c.entries = map[string]audienceEntry{}
	}
	c.entries[convID] = e
}
