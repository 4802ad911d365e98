package parley

// AdminTx answers the questions of the server's operators (the admin CLI):
// every account, and counts over the whole store.
type AdminTx interface {
	// Users lists accounts in handle order, after f.AfterHandle, at most
	// f.Limit of them (all when 0), of kind f.Kind when it is set.
	Users(f UserFilter) ([]*User, error)
	// Stats counts what the store holds.
	Stats() (*Stats, error)
}

// UserFilter selects accounts for AdminTx.Users.
type UserFilter struct {
	Kind        UserKind // "" for every kind
	AfterHandle string   // the last handle of the previous page
	Limit       int      // 0 for no limit
}

// Stats are counts over the whole store, for operators.
type Stats struct {
	// Users counts accounts by kind; every kind is present, zero or not.
	Users map[UserKind]int `json:"users"`
	// SuspendedUsers counts suspended accounts of any kind.
	SuspendedUsers int `json:"suspended_users"`
	// Conversations counts conversations by kind ("direct", "group").
	Conversations map[ConversationKind]int `json:"conversations"`
	// Messages counts messages, unsent ones (tombstones) included.
	Messages int64 `json:"messages"`
	// MediaFiles counts uploads; MediaBytes adds up the size of each
	// distinct stored blob (identical files are stored once).
	MediaFiles int64 `json:"media_files"`
	MediaBytes int64 `json:"media_bytes"`
	// Sessions counts signed-in devices; Tokens API tokens.
	Sessions int `json:"sessions"`
	Tokens   int `json:"tokens"`
	// BusinessInboxes counts business accounts with at least one
	// customer conversation, InboxConversations those conversations, and
	// Agents the active team members of all businesses.
	BusinessInboxes    int `json:"business_inboxes"`
	InboxConversations int `json:"inbox_conversations"`
	Agents             int `json:"agents"`
}
