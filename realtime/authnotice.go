package realtime

import "time"

// typeAuthChanged tells every node that users' sessions or accounts
// changed (logout, revocation, suspension, a profile edit…): each forgets
// the tokens it cached for them (app.ForgetAuth). Not stored.
const typeAuthChanged = "auth.changed"

// AuthChanged tells every node, this one included, to forget the cached
// tokens of these users.
func (h *Hub) AuthChanged(userIDs []string) {
	if len(userIDs) == 0 {
		return
	}
	h.publish(notification{Type: typeAuthChanged, Audience: userIDs, CreatedAt: time.Now().UTC()})
}

// authNotice handles a notification of typeAuthChanged and reports
// whether it was one.
func (h *Hub) authNotice(n *notification) bool {
	if n.Type != typeAuthChanged {
		return false
	}
	h.app.ForgetAuth(n.Audience)
	return true
}
