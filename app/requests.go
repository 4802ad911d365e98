package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/parleyhq/parley"
)

type requestCursor struct {
	S float64 `json:"s"`
	I string  `json:"i"`
}

// Requests lists the actor's message requests, lowest spam score first:
// the requests folder (filtered false) or its hidden "filtered"
// sub-folder (filtered true). Each direct request carries its triage.
func (a *App) Requests(ctx context.Context, actor *Actor, filtered bool, cursor string, limit int) (*Page[*ConversationView], error) {
	var after *parley.RequestCursor
	if cursor != "" {
		var c requestCursor
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(b) > 256 || json.Unmarshal(b, &c) != nil || c.I == "" {
			return nil, parley.Invalid("cursor", "cursor is not one this server gave")
		}
		after = &parley.RequestCursor{Score: c.S, ID: c.I}
	}
	limit, err := pageLimit(limit, 50)
	if err != nil {
		return nil, err
	}
	page := &Page[*ConversationView]{Items: []*ConversationView{}}
	err = a.view(ctx, func(tx parley.Tx) error {
		rows, err := tx.Requests(parley.RequestFilter{UserID: actor.User.ID, Filtered: filtered, After: after, Limit: limit + 1})
		if err != nil {
			return err
		}
		if len(rows) > limit {
			rows = rows[:limit]
			last := rows[limit-1]
			c := requestCursor{I: last.Conversation.ID}
			if last.Score != nil {
				c.S = last.Score.Score
			}
			b, _ := json.Marshal(c)
			page.NextCursor = base64.RawURLEncoding.EncodeToString(b)
		}
		for _, r := range rows {
			v, err := conversationView(tx, actor.User.ID, r.Conversation, r.Member, r.Conversation.Kind == parley.ConversationDirect)
			if err != nil {
				return err
			}
			page.Items = append(page.Items, v)
		}
		return nil
	})
	return page, err
}

// Bulk request actions.
const (
	BulkAccept  = "accept"
	BulkDecline = "decline"
	// BulkDelete declines and forgets the request's triage.
	BulkDelete = "delete"
	// BulkSpam reports the sender as spam (teaching the model) and
	// declines.
	BulkSpam = "spam"
)

// BulkResult is the outcome of a bulk action on one request.
type BulkResult struct {
	ID     string `json:"id"`
	OK     bool   `json:"ok"`
	Code   string `json:"code,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// BulkRequests applies one action to up to BulkMax requests of the actor,
// each on its own: one that fails (not the actor's, not a request) is
// reported in its result and the others go ahead. Internal errors stop
// the batch.
func (a *App) BulkRequests(ctx context.Context, actor *Actor, action string, ids []string) ([]BulkResult, error) {
	switch action {
	case BulkAccept, BulkDecline, BulkDelete, BulkSpam:
	default:
		return nil, parley.Invalid("action", "action is accept, decline, delete or spam")
	}
	if len(ids) == 0 || len(ids) > a.cfg.BulkMax {
		return nil, parley.Invalid("ids", "ids lists 1 to %d requests", a.cfg.BulkMax)
	}
	out := make([]BulkResult, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		var err error
		switch action {
		case BulkAccept:
			_, err = a.Accept(ctx, actor, id)
		case BulkDecline:
			err = a.Decline(ctx, actor, id)
		case BulkDelete:
			err = a.declineRequest(ctx, actor, id, false, true)
		case BulkSpam:
			err = a.declineRequest(ctx, actor, id, true, true)
		}
		r := BulkResult{ID: id, OK: err == nil}
		if err != nil {
			if parley.ErrorCode(err) == parley.EInternal {
				return nil, err
			}
			r.Code, r.Detail = parley.ErrorCode(err), parley.ErrorMessage(err)
		}
		out = append(out, r)
	}
	return out, nil
}

// ReportSpam reports a request's sender as spam: the model learns its
// text as spam, a report is filed for moderators, and the request is
// declined.
func (a *App) ReportSpam(ctx context.Context, actor *Actor, convID string) error {
	return a.declineRequest(ctx, actor, convID, true, false)
}

// declineRequest declines a pending request of the actor; with spam it
// first learns the text as spam and files a report about the sender; with
// forget it deletes the triage record (unless the model learned from it).
func (a *App) declineRequest(ctx context.Context, actor *Actor, convID string, spam, forget bool) error {
	return a.update(ctx, func(w *writer) error {
		c, m, err := membership(w, convID, actor.User.ID)
		if err != nil {
			return err
		}
		if m.Status != parley.StatusPending {
			return parley.Errorf(parley.EConflict, "this conversation is not a request")
		}
		if spam {
			if c.Kind != parley.ConversationDirect {
				return parley.Errorf(parley.EConflict, "only a direct request can be reported as spam here; report the inviter")
			}
			other, _, err := otherMember(w, c, actor.User.ID)
			if err != nil {
				return err
			}
			if err := a.learnRequest(w, c, actor.User.ID, other.UserID, true); err != nil {
				return err
			}
			texts, err := requestTexts(w, c, other.UserID)
			if err != nil {
				return err
			}
			detail := truncate(strings.Join(texts, "\n"), 500)
			if err := a.createReport(w, &parley.Report{ID: newID(), ReporterID: actor.User.ID, TargetUserID: other.UserID,
				ConversationID: c.ID, Reason: "spam", Detail: detail, CreatedAt: w.now}); err != nil {
				return err
			}
		} else if forget {
			if err := w.DeleteRequestScore(c.ID, actor.User.ID); err != nil {
				return err
			}
		}
		if c.Kind == parley.ConversationGroup {
			c.MemberCount--
			if err := w.UpdateConversation(c); err != nil {
				return err
			}
		}
		return setStatus(w, m, parley.StatusDeclined)
	})
}
