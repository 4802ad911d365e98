package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parleyhq/parley"
)

// Admin moderation: the reports queue for the server's administrators,
// with dismiss, suspend and ban; promoting accounts to server admin.

// ReportFilterReason is the reason of the reports the server files itself
// when a flagging filter matches a message.
const ReportFilterReason = "filter"

// Report resolutions.
const (
	ResolveDismiss = "dismiss"
	ResolveSuspend = "suspend"
	ResolveBan     = "ban"
)

// Audit actions of moderation (docs/records.md lists them).
const (
	AuditReportDismiss = "report.dismiss"
	AuditReportSuspend = "report.suspend"
	AuditReportBan     = "report.ban"
	AuditUserBan       = "user.ban"
	AuditUserPromote   = "user.promote"
	AuditUserDemote    = "user.demote"
	AuditFilterCreate  = "filter.create"
	AuditFilterDelete  = "filter.delete"
	auditTargetReport  = "report"
	auditTargetUser    = "user"
	auditTargetFilter  = "filter"
)

// auditModeration records an administrator's action in the server-wide
// audit log, in the transaction of the action. actor is nil for the admin
// CLI (the origin then names it).
func (a *App) auditModeration(w *writer, actor *Actor, action, targetType, targetID string, details map[string]string) error {
	e := AuditEntry{Action: action, TargetType: targetType, TargetID: targetID, Details: details}
	if actor != nil {
		e.ActorID = actor.User.ID
	}
	return a.audit(w, e)
}

// fileFilterReport files a report about a message a flagging server filter
// matched.
func (a *App) fileFilterReport(w *writer, m *parley.Message, f FilterMatch) error {
	return a.createReport(w, &parley.Report{ID: newID(), TargetUserID: m.SenderID, ConversationID: m.ConversationID, MessageID: m.ID,
		Reason: ReportFilterReason, Detail: fmt.Sprintf("server filter %s %q", f.Kind, f.Pattern), CreatedAt: w.now})
}

// reportDetailContext is the associated data of a report's sealed detail.
func reportDetailContext(id string) string { return "report:" + id + ":detail" }

// createReport stores r with its detail sealed when encryption at rest is
// on: a reporter's words, and the request a "report as spam" quotes, are
// message content. r itself keeps the plaintext.
func (a *App) createReport(w *writer, r *parley.Report) error {
	stored := *r
	var err error
	// Under the data key (nil keyring: as it is). Not a.seal: its older
	// master-key format is for secrets, and text a reporter types may
	// start with that format's prefix.
	if stored.Detail, err = a.keyring.SealText(r.Detail, []byte(reportDetailContext(r.ID))); err != nil {
		return err
	}
	return w.CreateReport(&stored)
}

func (a *App) requireServerAdmin(actor *Actor) error {
	if !a.IsAdmin(actor) {
		return parley.Errorf(parley.EForbidden, "only the server's administrators moderate")
	}
	return nil
}

// ReportedMessage is a message as a moderator sees it in a report's context.
type ReportedMessage struct {
	ID        string       `json:"id"`
	Seq       int64        `json:"seq"`
	Sender    *UserSummary `json:"sender"`
	Kind      string       `json:"kind"`
	Text      string       `json:"text"`
	CreatedAt time.Time    `json:"created_at"`
	Deleted   bool         `json:"deleted,omitempty"`
	// Reported marks the message the report is about.
	Reported bool `json:"reported,omitempty"`
}

// ReportView is one report of the queue.
type ReportView struct {
	ID         string       `json:"id"`
	Reason     string       `json:"reason"`
	Detail     string       `json:"detail,omitempty"`
	CreatedAt  time.Time    `json:"created_at"`
	Status     string       `json:"status"`
	Resolution string       `json:"resolution,omitempty"`
	ResolvedBy *UserSummary `json:"resolved_by,omitempty"`
	ResolvedAt *time.Time   `json:"resolved_at,omitempty"`
	Note       string       `json:"note,omitempty"`
	// Reporter is absent for reports the server filed (a flagging filter).
	Reporter       *UserSummary `json:"reporter,omitempty"`
	Target         *Account     `json:"target"`
	ConversationID string       `json:"conversation_id,omitempty"`
	// Context is the reported message with up to reportContext messages
	// on either side, oldest first.
	Context []ReportedMessage `json:"context,omitempty"`
}

// reportContext is how many messages around a reported one a moderator sees.
const reportContext = 3

type reportCursor struct {
	T int64  `json:"t"`
	I string `json:"i"`
}

// Reports lists the reports queue (status open, resolved or "" for all),
// newest first, for the server's administrators.
func (a *App) Reports(ctx context.Context, actor *Actor, status, cursor string, limit int) (*Page[*ReportView], error) {
	if err := a.requireServerAdmin(actor); err != nil {
		return nil, err
	}
	if status != "" && status != parley.ReportOpen && status != parley.ReportResolved {
		return nil, parley.Invalid("status", "status is open or resolved")
	}
	f := parley.ReportFilter{Status: status}
	if cursor != "" {
		var c reportCursor
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(b) > 256 || json.Unmarshal(b, &c) != nil || c.I == "" {
			return nil, parley.Invalid("cursor", "cursor is not one this server gave")
		}
		f.BeforeAt, f.BeforeID = time.Unix(0, c.T).UTC(), c.I
	}
	var err error
	if limit, err = pageLimit(limit, 50); err != nil {
		return nil, err
	}
	f.Limit = limit + 1
	page := &Page[*ReportView]{Items: []*ReportView{}}
	err = a.view(ctx, func(tx parley.Tx) error {
		rs, err := tx.Reports(f)
		if err != nil {
			return err
		}
		if len(rs) > limit {
			rs = rs[:limit]
			last := rs[limit-1]
			b, _ := json.Marshal(reportCursor{T: last.CreatedAt.UnixNano(), I: last.ID})
			page.NextCursor = base64.RawURLEncoding.EncodeToString(b)
		}
		for _, r := range rs {
			v, err := a.reportView(tx, r)
			if err != nil {
				return err
			}
			page.Items = append(page.Items, v)
		}
		return nil
	})
	return page, err
}

func (a *App) reportView(tx parley.Tx, r *parley.Report) (*ReportView, error) {
	detail, err := a.keyring.OpenText(r.Detail, []byte(reportDetailContext(r.ID)))
	if err != nil {
		// A detail that does not open (a damaged row) must not keep the
		// moderators from the queue or from acting on the report.
		a.log.Error("report detail does not open", "report", r.ID, "err", err)
		detail = "[this report's detail could not be decrypted; see the server log]"
	}
	v := &ReportView{ID: r.ID, Reason: r.Reason, Detail: detail, CreatedAt: r.CreatedAt, Status: r.Status, Resolution: r.Resolution,
		ResolvedAt: r.ResolvedAt, Note: r.Note, ConversationID: r.ConversationID}
	ids := []string{r.TargetUserID}
	if r.ReporterID != "" {
		ids = append(ids, r.ReporterID)
	}
	if r.ResolvedBy != "" {
		ids = append(ids, r.ResolvedBy)
	}
	var msgs []*parley.Message
	if r.MessageID != "" {
		m, err := tx.MessageByID(r.MessageID)
		if err != nil && !parley.IsNotFound(err) {
			return nil, err
		}
		if err == nil {
			msgs, err = tx.Messages(parley.MessageRange{ConversationID: m.ConversationID, MinSeq: max(1, m.Seq-reportContext),
				MaxSeq: m.Seq + reportContext, Limit: 2*reportContext + 1})
			if err != nil {
				return nil, err
			}
			for _, x := range msgs {
				ids = append(ids, x.SenderID)
			}
		}
	}
	users, err := tx.UsersByIDs(ids)
	if err != nil {
		return nil, err
	}
	if u := users[r.TargetUserID]; u != nil {
		v.Target = accountView(u)
	} else {
		v.Target = &Account{ID: r.TargetUserID}
	}
	if r.ReporterID != "" {
		v.Reporter = summarizeOrID(users, r.ReporterID)
	}
	if r.ResolvedBy != "" {
		v.ResolvedBy = summarizeOrID(users, r.ResolvedBy)
	}
	for _, m := range msgs {
		v.Context = append(v.Context, ReportedMessage{ID: m.ID, Seq: m.Seq, Sender: summarizeOrID(users, m.SenderID), Kind: string(m.Kind),
			Text: m.Text, CreatedAt: m.CreatedAt, Deleted: m.DeletedAt != nil, Reported: m.ID == r.MessageID})
	}
	return v, nil
}

func summarizeOrID(users map[string]*parley.User, id string) *UserSummary {
	if u := users[id]; u != nil {
		return summarize(u)
	}
	return &UserSummary{ID: id}
}

// ResolveInput is a moderator's decision on a report.
type ResolveInput struct {
	// Action is dismiss, suspend or ban.
	Action string `json:"action"`
	// HideMessages, with ban, hides the account's messages from everyone
	// else.
	HideMessages bool   `json:"hide_messages"`
	Note         string `json:"note"`
}

// ResolveReport closes an open report with a decision: dismiss (nothing
// else happens), suspend the reported account (its sessions end), or ban
// it (suspended for good; optionally its messages hidden). The decision
// is recorded in the audit log.
func (a *App) ResolveReport(ctx context.Context, actor *Actor, id string, in ResolveInput) (*ReportView, error) {
	if err := a.requireServerAdmin(actor); err != nil {
		return nil, err
	}
	switch in.Action {
	case ResolveDismiss, ResolveSuspend, ResolveBan:
	default:
		return nil, parley.Invalid("action", "action is dismiss, suspend or ban")
	}
	if in.HideMessages && in.Action != ResolveBan {
		return nil, parley.Invalid("hide_messages", "hide_messages goes with a ban")
	}
	note, err := cleanText("note", in.Note, 2000, true)
	if err != nil {
		return nil, err
	}
	var view *ReportView
	var target *parley.User
	var ended []string
	err = a.update(ctx, func(w *writer) error {
		ended = nil
		r, err := w.ReportByID(id)
		if parley.IsNotFound(err) || len(id) > 64 {
			return parley.Errorf(parley.ENotFound, "report not found")
		} else if err != nil {
			return err
		}
		if r.Status != parley.ReportOpen {
			return parley.Errorf(parley.EConflict, "this report was resolved already")
		}
		if in.Action != ResolveDismiss {
			if target, err = w.UserByID(r.TargetUserID); err != nil {
				return err
			}
			if target.ID == actor.User.ID {
				return parley.Errorf(parley.EConflict, "you cannot suspend or ban yourself")
			}
			if in.Action == ResolveBan {
				target.Banned = true
				target.MessagesHidden = target.MessagesHidden || in.HideMessages
			}
			if ended, err = suspendUser(w, target, true); err != nil {
				return err
			}
		}
		t := w.now
		r.Status, r.Resolution, r.ResolvedBy, r.ResolvedAt, r.Note = parley.ReportResolved, in.Action, actor.User.ID, &t, note
		if err := w.ResolveReport(r); err != nil {
			return err
		}
		details := map[string]string{"target_user": r.TargetUserID, "reason": r.Reason}
		if in.HideMessages {
			details["hide_messages"] = "true"
		}
		if note != "" {
			details["note"] = note
		}
		if err := a.auditModeration(w, actor, "report."+in.Action, auditTargetReport, r.ID, details); err != nil {
			return err
		}
		view, err = a.reportView(w, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(ended) > 0 {
		a.revoke(target.ID, ended)
	}
	return view, nil
}

// Ban bans an account for good from the admin CLI: it is suspended, its
// sessions end, and with hideMessages its messages are hidden from
// everyone else.
func (a *App) Ban(ctx context.Context, handle string, hideMessages bool) (*Account, error) {
	var u *parley.User
	var ended []string
	err := a.update(ctx, func(w *writer) error {
		var err error
		if u, err = userByHandle(w, handle); err != nil {
			return err
		}
		u.Banned, u.MessagesHidden = true, u.MessagesHidden || hideMessages
		if ended, err = suspendUser(w, u, true); err != nil {
			return err
		}
		return a.auditModeration(w, nil, AuditUserBan, auditTargetUser, u.ID,
			map[string]string{"handle": u.Handle, "hide_messages": fmt.Sprint(hideMessages)})
	})
	if err != nil {
		return nil, err
	}
	if len(ended) > 0 {
		a.revoke(u.ID, ended)
	}
	return accountView(u), nil
}

// SetServerAdmin makes an account a server administrator (on) or not,
// from the admin CLI (parley user promote / demote).
func (a *App) SetServerAdmin(ctx context.Context, handle string, on bool) (*Account, error) {
	var u *parley.User
	err := a.update(ctx, func(w *writer) error {
		var err error
		if u, err = userByHandle(w, handle); err != nil {
			return err
		}
		if on && u.Kind != parley.KindPerson {
			return parley.Invalid("handle", "only a person's account can be a server admin")
		}
		u.ServerAdmin, u.UpdatedAt = on, w.now
		if err := w.UpdateUser(u); err != nil {
			return err
		}
		action := AuditUserPromote
		if !on {
			action = AuditUserDemote
		}
		return a.auditModeration(w, nil, action, auditTargetUser, u.ID, map[string]string{"handle": u.Handle})
	})
	if err != nil {
		return nil, err
	}
	return accountView(u), nil
}
