package app

import "github.com/parleyhq/parley"

// Route is where a new conversation (or a group add) lands for the recipient.
type Route string

// The routes.
const (
	// RouteInbox: straight to the recipient's inbox (or into the group).
	RouteInbox Route = "inbox"
	// RouteRequest: into the recipient's requests folder (or a group invite).
	RouteRequest Route = "requests"
	// RouteRefused: not allowed; the sender gets dm_not_allowed.
	RouteRefused Route = "refused"
)

// Contact is what the privacy rules know about a sender and a recipient.
type Contact struct {
	RecipientKind   parley.UserKind
	RecipientPolicy parley.DMPolicy
	// RecipientFollowsSender: the recipient follows the sender.
	RecipientFollowsSender bool
	// Blocked: either of the two blocks the other.
	Blocked bool
}

// RouteDM decides where a new direct conversation lands (DESIGN.md §1):
// a block in either direction refuses; a closed policy refuses; businesses
// and bots take customer DMs into their inbox; people the recipient follows
// reach the inbox; otherwise an open policy gives a request and a
// following-only policy refuses.
func RouteDM(c Contact) Route {
	switch {
	case c.Blocked:
		return RouteRefused
	case c.RecipientPolicy == parley.PolicyClosed:
		return RouteRefused
	case c.RecipientKind == parley.KindBusiness || c.RecipientKind == parley.KindBot:
		return RouteInbox
	case c.RecipientFollowsSender:
		return RouteInbox
	case c.RecipientPolicy == parley.PolicyFollowing:
		return RouteRefused
	default:
		return RouteRequest
	}
}

// RouteGroupAdd decides what adding someone to a group does: a block either
// way refuses; people who follow the adder are added (unless their policy
// is closed); people with an open policy get an invite in their requests
// folder; everyone else is refused, so that a group cannot carry what a
// direct message may not.
func RouteGroupAdd(c Contact) Route {
	switch {
	case c.Blocked, c.RecipientPolicy == parley.PolicyClosed:
		return RouteRefused
	case c.RecipientFollowsSender:
		return RouteInbox
	case c.RecipientPolicy == parley.PolicyOpen:
		return RouteRequest
	default:
		return RouteRefused
	}
}

// refusal explains a refused route without revealing blocks.
func refusal(c Contact) *parley.Error {
	switch {
	case c.Blocked:
		return parley.Errorf(parley.EDMNotAllowed, "you can't message this account")
	case c.RecipientPolicy == parley.PolicyClosed:
		return parley.Errorf(parley.EDMNotAllowed, "this account does not accept new conversations")
	default:
		return parley.Errorf(parley.EDMNotAllowed, "this account only accepts messages from people it follows")
	}
}

// contact loads what the privacy rules need about sender → recipient.
func contact(tx parley.Tx, sender, recipient *parley.User) (Contact, error) {
	c := Contact{RecipientKind: recipient.Kind, RecipientPolicy: recipient.DMPolicy}
	var err error
	if c.Blocked, err = blockedEither(tx, sender.ID, recipient.ID); err != nil {
		return c, err
	}
	if c.RecipientFollowsSender, err = tx.IsFollowing(recipient.ID, sender.ID); err != nil {
		return c, err
	}
	return c, nil
}

// blockedEither reports whether a blocks b or b blocks a.
func blockedEither(tx parley.Tx, a, b string) (bool, error) {
	return tx.BlockedEither(a, b)
}
