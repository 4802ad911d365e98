package app

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/parleyhq/parley"
)

// Account deletion (issue 10). Deleting an account runs in two steps:
//
//  1. One transaction ends the account: every session and API token goes
//     (their streams close), two-factor goes, the bots it owns are retired,
//     it leaves its conversations and business teams, its profile is
//     wiped (display name "Deleted account", no bio, no password) and
//     DeletedAt is set. The handle stays on the row, reserved, for
//     DeletionConfig.HandleReserve; afterwards the next registration of
//     it releases it (releaseHandle).
//  2. Under the erase policy, its messages are then purged in batches of
//     ReapBatch, one transaction each, like the reaper does: text, edits,
//     reactions and attachments (PurgeMessage, which the search index
//     follows; blobs no other message uses are deleted), with a
//     message.erased event and an "erase" chain entry each, so exports
//     still verify. Messages a legal hold covers are kept (anonymised).
//     Under the anonymise policy the messages stay; their sender shows as
//     "Deleted account".
//
// Step 2 is idempotent: `parley user delete` on an already deleted
// account runs it again, finishing what a crash interrupted.

// Deletion policies (DeletionConfig.Policy).
const (
	DeletionErase     = "erase"
	DeletionAnonymise = "anonymise"
)

// DeletedAccountName is what a deleted account's display name becomes.
const DeletedAccountName = "Deleted account"

// DeletionConfig is the server's account deletion policy.
type DeletionConfig struct {
	// Policy is DeletionErase (default) or DeletionAnonymise.
	Policy string
	// HandleReserve is how long a deleted account's handle stays taken
	// (default 30 days), so that nobody can pose as the person at once.
	HandleReserve time.Duration
}

func (c *DeletionConfig) setDefaults() {
	if c.Policy == "" {
		c.Policy = DeletionErase
	}
	if c.HandleReserve <= 0 {
		c.HandleReserve = 30 * 24 * time.Hour
	}
}

// AuditUserDelete is the audit action of an account deletion.
const AuditUserDelete = "user.delete"

// DeleteAccountInput is what a person confirms their deletion with.
type DeleteAccountInput struct {
	Password string `json:"password"`
	// Code is a current authenticator or recovery code, required when
	// two-factor authentication is on.
	Code string `json:"code,omitempty"`
}

// AccountDeletion is what a deletion did.
type AccountDeletion struct {
	Handle string `json:"handle"`
	// Policy is the server's policy: erase or anonymise.
	Policy string `json:"policy"`
	// Erased counts messages whose content was purged; Kept the messages
	// that stay with their sender shown as "Deleted account" (all of them
	// under anonymise, the held ones under erase).
	Erased int `json:"erased"`
	Kept   int `json:"kept"`
	// Held counts the messages kept because a legal hold covers them;
	// Note then says so.
	Held int    `json:"held"`
	Note string `json:"note,omitempty"`
	// MediaRows and Blobs are the attachments deleted with erased
	// messages, and the files no other message used.
	MediaRows int `json:"media_rows"`
	Blobs     int `json:"blobs"`
	// SessionsEnded counts signed-in devices and API tokens ended;
	// ConversationsLeft the memberships left; BotsRetired the bots the
	// account owned.
	SessionsEnded     int `json:"sessions_ended"`
	ConversationsLeft int `json:"conversations_left"`
	BotsRetired       int `json:"bots_retired"`
	// HandleReservedUntil is when the handle may be registered again.
	HandleReservedUntil time.Time `json:"handle_reserved_until"`
}

// DeleteAccount deletes the actor's own account after checking their
// password (and second factor when it is on). A signed-in device only: an
// API token cannot delete its account.
func (a *App) DeleteAccount(ctx context.Context, actor *Actor, in DeleteAccountInput) (*AccountDeletion, error) {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return nil, err
	}
	if actor.Agent != nil {
		return nil, parley.Errorf(parley.EForbidden, "a business account is deleted by signing in as it")
	}
	if err := a.checkActorPassword(ctx, actor, in.Password); err != nil {
		return nil, err
	}
	return a.deleteAccount(ctx, actor.User.ID, "self", func(w *writer) error {
		tf, err := w.TwoFactor(actor.User.ID)
		if parley.IsNotFound(err) || (err == nil && tf.ConfirmedAt.IsZero()) {
			return nil
		} else if err != nil {
			return err
		}
		if in.Code == "" {
			return &parley.Error{Code: parley.EForbidden, Field: "code", Message: "two-factor authentication is on: give a current code"}
		}
		ok, _, err := a.checkSecondFactor(w, tf, in.Code)
		if err != nil {
			return err
		}
		if !ok {
			return &parley.Error{Code: parley.EForbidden, Field: "code", Message: "the code is wrong"}
		}
		return nil
	})
}

// DeleteAccountByHandle deletes an account from the admin CLI (parley
// user delete). On an account deleted already, it finishes the erasure
// of its content (what a crash may have interrupted).
func (a *App) DeleteAccountByHandle(ctx context.Context, handle string) (*AccountDeletion, error) {
	h, err := lookupHandle(handle)
	if err != nil {
		return nil, err
	}
	var u *parley.User
	if err := a.view(ctx, func(tx parley.Tx) error {
		u, err = tx.UserByHandle(h)
		return err
	}); err != nil {
		return nil, err
	}
	if u.DeletedAt != nil {
		res := &AccountDeletion{Handle: u.Handle, Policy: a.cfg.Deletion.Policy, HandleReservedUntil: u.DeletedAt.Add(a.cfg.Deletion.HandleReserve)}
		return res, a.eraseContent(ctx, u.ID, res)
	}
	return a.deleteAccount(ctx, u.ID, "operator", nil)
}

// deleteAccount runs both steps; check, when set, runs first in the
// transaction of step 1 and refuses the deletion by returning an error.
func (a *App) deleteAccount(ctx context.Context, userID, by string, check func(w *writer) error) (*AccountDeletion, error) {
	res := &AccountDeletion{Policy: a.cfg.Deletion.Policy}
	var ended []string
	var refused error
	err := a.update(ctx, func(w *writer) error {
		*res, ended, refused = AccountDeletion{Policy: a.cfg.Deletion.Policy}, nil, nil
		u, err := w.UserByID(userID)
		if err != nil {
			return err
		}
		if u.DeletedAt != nil {
			return parley.Errorf(parley.ENotFound, "user not found")
		}
		if check != nil {
			if err := check(w); err != nil {
				if parley.ErrorCode(err) == parley.EInternal {
					return err
				}
				// A wrong code must still commit what checking it wrote
				// (a recovery code's use, the replay guard).
				refused = err
				return nil
			}
		}
		res.Handle = u.Handle
		if ended, err = a.endAccount(w, u, res); err != nil {
			return err
		}
		return a.audit(w, AuditEntry{ActorID: actorOrEmpty(by, u.ID), Action: AuditUserDelete, TargetType: "user", TargetID: u.ID,
			Details: map[string]string{"handle": u.Handle, "policy": res.Policy, "by": by,
				"sessions_ended": strconv.Itoa(res.SessionsEnded), "conversations_left": strconv.Itoa(res.ConversationsLeft)}})
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	a.revoke(userID, ended)
	return res, a.eraseContent(ctx, userID, res)
}

func actorOrEmpty(by, userID string) string {
	if by == "self" {
		return userID
	}
	return ""
}

// endAccount is step 1 inside its transaction; it returns the sessions
// whose streams must close.
func (a *App) endAccount(w *writer, u *parley.User, res *AccountDeletion) ([]string, error) {
	// The last admin of a business must hand it over first: nobody could
	// manage its team afterwards.
	agents, err := w.AgentOf(u.ID)
	if err != nil {
		return nil, err
	}
	for _, ag := range agents {
		if ag.Role != parley.AgentRoleAdmin {
			continue
		}
		team, err := w.Agents(ag.BusinessID)
		if err != nil {
			return nil, err
		}
		others := 0
		for _, o := range team {
			if o.UserID != u.ID && o.Active && o.Role == parley.AgentRoleAdmin {
				others++
			}
		}
		if others == 0 {
			b, err := w.UserByID(ag.BusinessID)
			if err != nil {
				return nil, err
			}
			return nil, parley.Errorf(parley.ELastAdmin, "the account is the last admin of @%s: make someone else an admin of it first", b.Handle)
		}
	}
	for _, ag := range agents {
		ag.Active, ag.UpdatedAt = false, w.now
		if err := w.PutAgent(ag); err != nil {
			return nil, err
		}
		if err := agentsChanged(w, ag.BusinessID, u.ID); err != nil {
			return nil, err
		}
	}
	ended, err := deleteAllSessions(w, u.ID)
	if err != nil {
		return nil, err
	}
	res.SessionsEnded = len(ended)
	if err := w.DeleteTwoFactor(u.ID); err != nil && !parley.IsNotFound(err) {
		return nil, err
	}
	bots, err := w.UsersByOwner(u.ID)
	if err != nil {
		return nil, err
	}
	for _, bot := range bots {
		botEnded, err := retireBot(w, u.ID, bot)
		if err != nil {
			return nil, err
		}
		ended = append(ended, botEnded...)
		res.BotsRetired++
	}
	ms, err := w.Memberships(u.ID)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.Status != parley.StatusActive && m.Status != parley.StatusPending {
			continue
		}
		c, err := w.ConversationByID(m.ConversationID)
		if err != nil {
			return nil, err
		}
		if c.Kind == parley.ConversationGroup && m.Role == parley.RoleOwner {
			if err := handOver(w, c, m, u.ID); err != nil {
				return nil, err
			}
		}
		if err := departMember(w, c, m, parley.StatusLeft, u.ID); err != nil {
			return nil, err
		}
		res.ConversationsLeft++
	}
	u.DisplayName, u.Bio, u.PasswordHash = DeletedAccountName, "", ""
	u.DMPolicy, u.ShowPresence, u.DeletedAt, u.UpdatedAt = parley.PolicyClosed, false, &w.now, w.now
	res.HandleReservedUntil = w.now.Add(a.cfg.Deletion.HandleReserve)
	return ended, w.UpdateUser(u)
}

// deleteAllSessions deletes every session of a user, devices and API
// tokens, and returns their ids.
func deleteAllSessions(w *writer, userID string) ([]string, error) {
	ss, err := w.Sessions(userID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(ss))
	for _, s := range ss {
		if err := w.DeleteSession(userID, s.ID); err != nil {
			return nil, err
		}
		ids = append(ids, s.ID)
	}
	return ids, nil
}

// eraseContent is step 2: under the erase policy it purges the account's
// messages that no legal hold covers, in batches; it counts what stays.
func (a *App) eraseContent(ctx context.Context, userID string, res *AccountDeletion) error {
	var after int64
	for {
		var n, erased, kept, held int
		var keys []string
		var next int64
		err := a.update(ctx, func(w *writer) error {
			n, erased, kept, held, keys, next = 0, 0, 0, 0, nil, after
			msgs, err := w.MessagesBySender(userID, after, ReapBatch)
			if err != nil || len(msgs) == 0 {
				return err
			}
			n, next = len(msgs), msgs[len(msgs)-1].Pos
			holds, err := loadHolds(w)
			if err != nil {
				return err
			}
			var gone []string
			for _, m := range msgs {
				if m.DeletedAt != nil || m.Kind == parley.MessageSystem {
					continue // nothing of theirs left, or the server's words
				}
				isHeld, err := holds.held(w, m.ConversationID)
				if err != nil {
					return err
				}
				if a.cfg.Deletion.Policy != DeletionErase || isHeld {
					kept++
					if isHeld && a.cfg.Deletion.Policy == DeletionErase {
						held++
					}
					continue
				}
				if err := w.PurgeMessage(m.ID, w.now); err != nil {
					return err
				}
				if err := w.event(&parley.Event{Type: parley.EventMessageErased, ConversationID: m.ConversationID, MessageID: m.ID, Seq: m.Seq}); err != nil {
					return err
				}
				gone = append(gone, m.ID)
				erased++
			}
			keys, err = deleteAttachments(w, gone)
			return err
		})
		if err != nil {
			return err
		}
		res.Erased += erased
		res.Kept += kept
		res.Held += held
		res.MediaRows += len(keys) / 2
		blobs, err := a.dropBlobs(ctx, keys)
		res.Blobs += blobs
		if err != nil {
			return err
		}
		if n < ReapBatch {
			break
		}
		after = next
	}
	if res.Held > 0 {
		res.Note = fmt.Sprintf("a legal hold covers %d of the account's messages: they were kept, anonymised (sender shown as %q), until the hold is released", res.Held, DeletedAccountName)
	}
	return nil
}

// releaseHandle frees handle for a new account when a deleted account
// holds it and its reservation is over: the old row's handle becomes one
// no registration can take. A live or still reserved handle stays, and
// creating the user then fails with handle_taken.
func (a *App) releaseHandle(w *writer, handle string) error {
	u, err := w.UserByHandle(handle)
	if parley.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if u.DeletedAt == nil || w.now.Before(u.DeletedAt.Add(a.cfg.Deletion.HandleReserve)) {
		return nil
	}
	u.Handle, u.UpdatedAt = "~"+u.ID, w.now
	return w.UpdateUser(u)
}

// accountGone is how a deleted account answers a lookup by handle.
func accountGone(u *parley.User) bool { return u != nil && u.DeletedAt != nil }
