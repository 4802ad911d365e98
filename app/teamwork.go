package app

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/channel"
)

// NoteView is a private note as the team sees it.
type NoteView struct {
	ID             string         `json:"id"`
	ConversationID string         `json:"conversation_id"`
	Author         *UserSummary   `json:"author"`
	Text           string         `json:"text"`
	Mentions       []*UserSummary `json:"mentions"`
	CreatedAt      time.Time      `json:"created_at"`
}

var mentionRE = regexp.MustCompile(`(?:^|[^\w@])@([a-z0-9_][a-z0-9_.]{0,31})`)

// maxNoteLen caps a note's text in characters.
const maxNoteLen = 5000

// AddNote adds a private note to a customer conversation. @handles of team
// members are mentions. Notes live apart from messages and travel only in
// events addressed to the business, so no customer device can receive one.
func (a *App) AddNote(ctx context.Context, ba *BusinessActor, convID, text string) (*NoteView, error) {
	text, err := cleanText("text", text, maxNoteLen, true)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return nil, parley.Invalid("text", "a note needs text")
	}
	var view *NoteView
	err = a.update(ctx, func(w *writer) error {
		it, err := itemOf(w, ba, convID)
		if err != nil {
			return err
		}
		team, err := activeAgentIDs(w, ba.Business.ID)
		if err != nil {
			return err
		}
		var mentioned []string
		for _, m := range mentionRE.FindAllStringSubmatch(strings.ToLower(text), 20) {
			u, err := w.UserByHandle(m[1])
			if parley.IsNotFound(err) {
				continue
			} else if err != nil {
				return err
			}
			if (slices.Contains(team, u.ID) || u.ID == ba.Business.ID) && !slices.Contains(mentioned, u.ID) {
				mentioned = append(mentioned, u.ID)
			}
		}
		n := &parley.Note{ID: newSortableID(w.now), BusinessID: ba.Business.ID, ConversationID: convID, AuthorID: ba.agentID(),
			Text: text, Mentions: mentioned, CreatedAt: w.now}
		if err := w.CreateNote(n); err != nil {
			return err
		}
		if err := auditRow(w, ba.Business.ID, ba.agentID(), convID, parley.AuditNote, "", it.TeamID, 0, map[string]any{"note": n.ID}); err != nil {
			return err
		}
		vs, err := noteViews(w, []*parley.Note{n})
		if err != nil {
			return err
		}
		view = vs[0]
		return businessEvent(w, &parley.Event{Type: EventNoteCreated, ConversationID: convID, ActorID: ba.agentID(), Data: mustJSON(view)}, ba.Business.ID)
	})
	if err == nil {
		a.obs.NoteAdded()
	}
	return view, err
}

// Notes lists a customer conversation's notes, oldest first.
func (a *App) Notes(ctx context.Context, ba *BusinessActor, convID string) ([]*NoteView, error) {
	var out []*NoteView
	err := a.view(ctx, func(tx parley.Tx) error {
		if _, err := itemOf(tx, ba, convID); err != nil {
			return err
		}
		ns, err := tx.Notes(ba.Business.ID, convID)
		if err != nil {
			return err
		}
		out, err = noteViews(tx, ns)
		return err
	})
	return out, err
}

func noteViews(tx parley.Tx, ns []*parley.Note) ([]*NoteView, error) {
	ids := map[string]bool{}
	for _, n := range ns {
		ids[n.AuthorID] = true
		for _, m := range n.Mentions {
			ids[m] = true
		}
	}
	users, err := tx.UsersByIDs(keys(ids))
	if err != nil {
		return nil, err
	}
	out := make([]*NoteView, 0, len(ns))
	for _, n := range ns {
		v := &NoteView{ID: n.ID, ConversationID: n.ConversationID, Author: summarize(users[n.AuthorID]), Text: n.Text,
			Mentions: []*UserSummary{}, CreatedAt: n.CreatedAt}
		if v.Author == nil {
			v.Author = &UserSummary{ID: n.AuthorID}
		}
		for _, m := range n.Mentions {
			if u := users[m]; u != nil {
				v.Mentions = append(v.Mentions, summarize(u))
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// SavedReplyView is a saved reply.
type SavedReplyView struct {
	ID        string    `json:"id"`
	Shortcut  string    `json:"shortcut"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Variables []string  `json:"variables"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

func savedReplyView(r *parley.SavedReply) *SavedReplyView {
	return &SavedReplyView{ID: r.ID, Shortcut: r.Shortcut, Title: r.Title, Body: r.Body, Variables: templateVars(r.Body),
		CreatedBy: r.CreatedBy, UpdatedAt: r.UpdatedAt}
}

// SavedReplyInput creates or changes a saved reply; nil fields stay.
type SavedReplyInput struct {
	Shortcut *string `json:"shortcut"`
	Title    *string `json:"title"`
	Body     *string `json:"body"`
}

var shortcutRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// SavedReplies lists the business's saved replies; query filters by
// shortcut or title, as the composer does after "/".
func (a *App) SavedReplies(ctx context.Context, ba *BusinessActor, query string) ([]*SavedReplyView, error) {
	if len(query) > 100 {
		return nil, parley.Invalid("q", "q has at most 100 characters")
	}
	out := []*SavedReplyView{}
	err := a.view(ctx, func(tx parley.Tx) error {
		rs, err := tx.SavedReplies(ba.Business.ID, strings.TrimPrefix(strings.TrimSpace(query), "/"))
		if err != nil {
			return err
		}
		for _, r := range rs {
			out = append(out, savedReplyView(r))
		}
		return nil
	})
	return out, err
}

// SaveReply creates (id "") or changes a saved reply. Any team member may
// create one; its author or an admin may change or delete it.
func (a *App) SaveReply(ctx context.Context, ba *BusinessActor, id string, in SavedReplyInput) (*SavedReplyView, error) {
	if in.Shortcut != nil {
		s := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(*in.Shortcut), "/"))
		if !shortcutRE.MatchString(s) {
			return nil, parley.Invalid("shortcut", "a shortcut has 1 to 32 letters, digits, - or _")
		}
		in.Shortcut = &s
	} else if id == "" {
		return nil, parley.Invalid("shortcut", "a saved reply needs a shortcut")
	}
	if in.Title != nil {
		t, err := cleanText("title", *in.Title, 100, false)
		if err != nil {
			return nil, err
		}
		in.Title = &t
	}
	if in.Body != nil {
		b, err := cleanText("body", *in.Body, a.cfg.MaxTextLen, true)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(b) == "" {
			return nil, parley.Invalid("body", "a saved reply needs a body")
		}
		if bad := badVars(b); bad != "" {
			return nil, parley.Invalid("body", "unknown variable {{%s}}; use contact.first_name, contact.name, contact.handle, contact.<attribute>, conversation.<attribute>, agent.name, agent.first_name or business.name", bad)
		}
		in.Body = &b
	} else if id == "" {
		return nil, parley.Invalid("body", "a saved reply needs a body")
	}
	var view *SavedReplyView
	err := a.update(ctx, func(w *writer) error {
		r := &parley.SavedReply{ID: newID(), BusinessID: ba.Business.ID, CreatedBy: ba.agentID(), CreatedAt: w.now}
		if id != "" {
			var err error
			if r, err = w.SavedReply(ba.Business.ID, id); err != nil {
				return err
			}
			if r.CreatedBy != ba.agentID() && ba.Role != parley.AgentRoleAdmin {
				return parley.Errorf(parley.EForbidden, "only its author or an admin may change a saved reply")
			}
		}
		if in.Shortcut != nil {
			r.Shortcut = *in.Shortcut
		}
		if in.Title != nil {
			r.Title = *in.Title
		}
		if in.Body != nil {
			r.Body = *in.Body
		}
		r.UpdatedAt = w.now
		var err error
		if id == "" {
			err = w.CreateSavedReply(r)
		} else {
			err = w.UpdateSavedReply(r)
		}
		if parley.ErrorCode(err) == parley.EConflict {
			return parley.Errorf(parley.EConflict, "the shortcut /%s is taken", r.Shortcut)
		} else if err != nil {
			return err
		}
		view = savedReplyView(r)
		return nil
	})
	return view, err
}

// DeleteReply deletes a saved reply (its author or an admin).
func (a *App) DeleteReply(ctx context.Context, ba *BusinessActor, id string) error {
	return a.update(ctx, func(w *writer) error {
		r, err := w.SavedReply(ba.Business.ID, id)
		if err != nil {
			return err
		}
		if r.CreatedBy != ba.agentID() && ba.Role != parley.AgentRoleAdmin {
			return parley.Errorf(parley.EForbidden, "only its author or an admin may delete a saved reply")
		}
		return w.DeleteSavedReply(ba.Business.ID, id)
	})
}

var varRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// templateVars lists the variables of a template, in order, once each.
func templateVars(body string) []string {
	out := []string{}
	for _, m := range varRE.FindAllStringSubmatch(body, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// badVars returns the first variable no conversation could ever fill.
func badVars(body string) string {
	for _, v := range templateVars(body) {
		scope, name, ok := strings.Cut(v, ".")
		switch {
		case !ok || name == "":
			return v
		case scope == "contact", scope == "conversation":
		case scope == "agent" && (name == "name" || name == "first_name"):
		case scope == "business" && name == "name":
		default:
			return v
		}
	}
	return ""
}

// RenderedReply is a saved reply filled in for one conversation.
type RenderedReply struct {
	Text    string   `json:"text"`
	Missing []string `json:"missing"`
	// params are the values of the variables in order of first use (a
	// WhatsApp template's {{1}}, {{2}} ...).
	params []string
	// header and buttons are a WhatsApp template's header and button
	// parameters, filled in (templateparts.go).
	header  *channel.TemplateHeader
	buttons []channel.TemplateButton
}

// RenderReply fills a saved reply's variables for a conversation. Missing
// lists variables without a value; SendReply refuses those.
func (a *App) RenderReply(ctx context.Context, ba *BusinessActor, replyID, convID string) (*RenderedReply, error) {
	var out *RenderedReply
	err := a.view(ctx, func(tx parley.Tx) error {
		r, err := tx.SavedReply(ba.Business.ID, replyID)
		if err != nil {
			return err
		}
		out, err = render(tx, ba, r.Body, convID)
		return err
	})
	return out, err
}

func render(tx parley.Tx, ba *BusinessActor, body, convID string) (*RenderedReply, error) {
	it, err := itemOf(tx, ba, convID)
	if err != nil {
		return nil, err
	}
	return renderItem(tx, ba, body, it)
}

// renderItem fills body's variables for one customer conversation (or,
// with only BusinessID and ContactID set, for a contact).
func renderItem(tx parley.Tx, ba *BusinessActor, body string, it *parley.InboxItem) (*RenderedReply, error) {
	ct, u, err := itemContact(tx, ba, it)
	if err != nil {
		return nil, err
	}
	return renderWith(ba, body, it, ct, u), nil
}

// itemContact is an inbox item's contact and the contact's account (nil:
// gone).
func itemContact(tx parley.Tx, ba *BusinessActor, it *parley.InboxItem) (*parley.Contact, *parley.User, error) {
	ct, err := tx.Contact(ba.Business.ID, it.ContactID)
	if parley.IsNotFound(err) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	var u *parley.User
	if ct.UserID != "" {
		if u, err = tx.UserByID(ct.UserID); parley.IsNotFound(err) {
			u = nil
		} else if err != nil {
			return nil, nil, err
		}
	}
	return ct, u, nil
}

// renderWith fills body's variables from a conversation's inbox item, its
// contact and the contact's account (either may be nil: gone).
func renderWith(ba *BusinessActor, body string, it *parley.InboxItem, ct *parley.Contact, u *parley.User) *RenderedReply {
	vals := varsWith(ba, it, ct, u)
	out := &RenderedReply{Missing: []string{}}
	for _, name := range templateVars(body) {
		out.params = append(out.params, strings.TrimSpace(vals[name]))
	}
	out.Text = fillVars(body, vals, &out.Missing)
	return out
}

// fillVars replaces s's variables by their values; a variable without a
// value stays as written and is added to missing (once).
func fillVars(s string, vals map[string]string, missing *[]string) string {
	return varRE.ReplaceAllStringFunc(s, func(s string) string {
		name := varRE.FindStringSubmatch(s)[1]
		v := strings.TrimSpace(vals[name])
		if v == "" {
			if !slices.Contains(*missing, name) {
				*missing = append(*missing, name)
			}
			return s
		}
		return v
	})
}

// varsWith are the variables' values for a conversation's inbox item, its
// contact and the contact's account (either may be nil).
func varsWith(ba *BusinessActor, it *parley.InboxItem, ct *parley.Contact, u *parley.User) map[string]string {
	vals := map[string]string{"business.name": ba.Business.DisplayName}
	if vals["business.name"] == "" {
		vals["business.name"] = ba.Business.Handle
	}
	agent := ba.Business
	if ba.Agent != nil {
		agent = ba.Agent
	}
	vals["agent.name"] = agent.DisplayName
	vals["agent.first_name"] = firstName(agent.DisplayName)
	for k, v := range it.Attributes {
		vals["conversation."+k] = v
	}
	if ct != nil {
		vals["contact.name"] = ct.Name
		vals["contact.first_name"] = firstName(ct.Name)
		for k, v := range ct.Attributes {
			if _, set := vals["contact."+k]; !set {
				vals["contact."+k] = v
			}
		}
		if u != nil {
			vals["contact.handle"] = u.Handle
		}
	}
	return vals
}

func firstName(name string) string {
	f, _, _ := strings.Cut(strings.TrimSpace(name), " ")
	return f
}

// BusinessSend sends a reply as the business. With savedReply set the text
// is that reply with its variables filled in; a variable without a value
// refuses the send (unresolved_variable) rather than send it wrong.
func (a *App) BusinessSend(ctx context.Context, ba *BusinessActor, convID, savedReply string, in SendInput) (*MessageView, bool, error) {
	if in.Template != "" {
		if savedReply != "" || strings.TrimSpace(in.Text) != "" || (in.Kind != "" && in.Kind != parley.MessageText) {
			return nil, false, parley.Invalid("template", "send either text, a saved reply or a template")
		}
		tp, r, err := a.renderTemplate(ctx, ba, in.Template, convID)
		if err != nil {
			return nil, false, err
		}
		if len(r.Missing) > 0 {
			return nil, false, parley.Errorf(parley.EUnresolvedVar, "no value for {{%s}} in this conversation; fill it in or edit the template", strings.Join(r.Missing, "}}, {{"))
		}
		in.Text, in.class = r.Text, &sendClass{template: tp, params: r.params, header: r.header, buttons: r.buttons}
		if tag := channel.TagOf(in.SendMode); tag != "" && in.SendMode != channel.ModeHumanAgent && tp.TopicID != "" {
			// Checked before consent: whoever the contact is, a
			// promotion never goes with an update tag.
			return nil, false, parley.Errorf(parley.ETagNotAllowed, "the %s tag is for non-promotional updates: template %q is promotional (it has a topic)", tag, tp.Name)
		}
	}
	if savedReply != "" {
		if strings.TrimSpace(in.Text) != "" || (in.Kind != "" && in.Kind != parley.MessageText) {
			return nil, false, parley.Invalid("saved_reply", "send either text or a saved reply")
		}
		r, err := a.RenderReply(ctx, ba, savedReply, convID)
		if parley.IsNotFound(err) {
			return nil, false, parley.Invalid("saved_reply", "no such saved reply or conversation")
		} else if err != nil {
			return nil, false, err
		}
		if len(r.Missing) > 0 {
			return nil, false, parley.Errorf(parley.EUnresolvedVar, "no value for {{%s}} in this conversation; fill it in or edit the reply", strings.Join(r.Missing, "}}, {{"))
		}
		in.Text = r.Text
	}
	if in.OptinRequest != nil || in.SendMode == channel.ModeOptinRequest {
		switch {
		case in.OptinRequest == nil || in.SendMode != channel.ModeOptinRequest:
			return nil, false, parley.Invalid("optin_request", "an opt-in request is send_mode optin_request with optin_request: topic, title, frequency")
		case savedReply != "" || in.Template != "" || strings.TrimSpace(in.Text) != "" || len(in.Attachments) > 0 || (in.Kind != "" && in.Kind != parley.MessageText) ||
			len(in.QuickReplies)+len(in.Buttons)+len(in.Cards) > 0 || in.QuickReply != "":
			return nil, false, parley.Invalid("optin_request", "an opt-in request is sent alone: no text, saved reply, template, attachments or buttons")
		}
		v, err := a.prepareOptinRequest(ctx, ba, in.OptinRequest)
		if err != nil {
			return nil, false, err
		}
		in.Kind, in.Text, in.class = parley.MessageText, optinRequestText(v), &sendClass{optin: v}
	}
	if in.SendMode != "" {
		if len(in.SendMode) > 64 {
			return nil, false, parley.Invalid("send_mode", "send_mode is one of the conversation's send modes")
		}
		if in.class == nil {
			in.class = &sendClass{}
		}
		in.class.mode = in.SendMode
	}
	if err := a.view(ctx, func(tx parley.Tx) error { _, err := itemOf(tx, ba, convID); return err }); err != nil {
		return nil, false, err
	}
	return a.Send(ctx, ba.Actor, convID, in)
}

// InboxPresence tells the other team members that the actor is viewing
// ("viewing"), typing a reply ("typing") or has left ("left") a customer
// conversation: the collision warning. Typing also shows the customer the
// business typing.
func (a *App) InboxPresence(ctx context.Context, ba *BusinessActor, convID, state string) error {
	if state != "viewing" && state != "typing" && state != "left" {
		return parley.Invalid("state", "state is viewing, typing or left")
	}
	var audience []string
	err := a.view(ctx, func(tx parley.Tx) error {
		if _, err := itemOf(tx, ba, convID); err != nil {
			return err
		}
		team, err := activeAgentIDs(tx, ba.Business.ID)
		if err != nil {
			return err
		}
		for _, id := range append(team, ba.Business.ID) {
			if id != ba.agentID() {
				audience = append(audience, id)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(audience) > 0 {
		a.notify([]*parley.Event{{Type: EventInboxPresence, ConversationID: convID, ActorID: ba.agentID(),
			Data: mustJSON(map[string]string{"state": state, "business": ba.Business.ID}), CreatedAt: a.clock(), Audience: audience,
			As: ba.Business.ID}})
	}
	if state == "typing" || state == "left" {
		if err := a.Typing(ctx, ba.Actor, convID, state == "typing"); err != nil && parley.ErrorCode(err) != parley.EForbidden {
			return err
		}
	}
	return nil
}

// ContactView is a business's profile of a customer.
type ContactView struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	User          *UserSummary      `json:"user,omitempty"`
	Attributes    map[string]string `json:"attributes"`
	Labels        []string          `json:"labels"`
	Notes         string            `json:"notes"`
	CreatedAt     time.Time         `json:"created_at"`
	Conversations []*InboxItemView  `json:"conversations,omitempty"`
}

func contactView(tx parley.Tx, ct *parley.Contact, withConversations bool, now time.Time) (*ContactView, error) {
	v := &ContactView{ID: ct.ID, Name: ct.Name, Attributes: ct.Attributes, Labels: ct.Labels, Notes: ct.Notes, CreatedAt: ct.CreatedAt}
	if v.Attributes == nil {
		v.Attributes = map[string]string{}
	}
	if v.Labels == nil {
		v.Labels = []string{}
	}
	if ct.UserID != "" {
		u, err := tx.UserByID(ct.UserID)
		if err != nil && !parley.IsNotFound(err) {
			return nil, err
		}
		v.User = summarize(u)
	}
	if withConversations {
		items, err := tx.InboxItems(parley.InboxFilter{BusinessID: ct.BusinessID, ContactID: ct.ID, Limit: 100})
		if err != nil {
			return nil, err
		}
		if v.Conversations, err = itemViews(tx, items, now); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Contacts lists a page of the business's contacts by name.
func (a *App) Contacts(ctx context.Context, ba *BusinessActor, query, cursor string, limit int) (*Page[*ContactView], error) {
	limit, err := pageLimit(limit, 50)
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(query) > 100 {
		return nil, parley.Invalid("q", "q has at most 100 characters")
	}
	var afterName, afterID string
	if cursor != "" {
		c, err := decodeInboxCursor(cursor)
		if err != nil {
			return nil, err
		}
		afterID = c.ConversationID
		afterName, afterID, _ = strings.Cut(afterID, "\x00")
	}
	page := &Page[*ContactView]{Items: []*ContactView{}}
	err = a.view(ctx, func(tx parley.Tx) error {
		cs, err := tx.Contacts(ba.Business.ID, strings.TrimSpace(query), afterName, afterID, limit+1)
		if err != nil {
			return err
		}
		if len(cs) > limit {
			cs = cs[:limit]
			last := cs[limit-1]
			page.NextCursor = encodeInboxCursor(parley.InboxCursor{ConversationID: last.Name + "\x00" + last.ID})
		}
		for _, ct := range cs {
			v, err := contactView(tx, ct, false, a.clock())
			if err != nil {
				return err
			}
			page.Items = append(page.Items, v)
		}
		return nil
	})
	return page, err
}

// Contact returns one contact with their conversations with the business.
func (a *App) Contact(ctx context.Context, ba *BusinessActor, id string) (*ContactView, error) {
	var v *ContactView
	err := a.view(ctx, func(tx parley.Tx) error {
		ct, err := tx.Contact(ba.Business.ID, id)
		if err != nil {
			return err
		}
		if ct.MergedInto != "" {
			if ct, err = tx.Contact(ba.Business.ID, ct.MergedInto); err != nil {
				return err
			}
		}
		v, err = contactView(tx, ct, true, a.clock())
		return err
	})
	return v, err
}

// ContactChange edits a contact; nil fields stay, a null attribute deletes it.
type ContactChange struct {
	Name       *string            `json:"name"`
	Attributes map[string]*string `json:"attributes"`
	Labels     *[]string          `json:"labels"`
	Notes      *string            `json:"notes"`
}

// UpdateContact edits a contact's profile.
func (a *App) UpdateContact(ctx context.Context, ba *BusinessActor, id string, ch ContactChange) (*ContactView, error) {
	var v *ContactView
	err := a.update(ctx, func(w *writer) error {
		ct, err := w.Contact(ba.Business.ID, id)
		if err != nil {
			return err
		}
		if ct.MergedInto != "" {
			return parley.Errorf(parley.EConflict, "this contact was merged into another")
		}
		if ch.Name != nil {
			n, err := cleanText("name", *ch.Name, 100, false)
			if err != nil {
				return err
			}
			if strings.TrimSpace(n) == "" {
				return parley.Invalid("name", "a contact needs a name")
			}
			ct.Name = n
		}
		if ch.Attributes != nil {
			if ct.Attributes, err = applyAttributes(ct.Attributes, ch.Attributes); err != nil {
				return err
			}
		}
		if ch.Labels != nil {
			if ct.Labels, err = cleanLabels(*ch.Labels); err != nil {
				return err
			}
		}
		if ch.Notes != nil {
			if ct.Notes, err = cleanText("notes", *ch.Notes, maxNoteLen, true); err != nil {
				return err
			}
		}
		ct.UpdatedAt = w.now
		if err := w.PutContact(ct); err != nil {
			return err
		}
		v, err = contactView(w, ct, false, w.now)
		return err
	})
	return v, err
}

// MergeContacts folds a duplicate contact into another: its conversations
// move, attributes the target lacks are copied, labels join, notes are
// appended. The duplicate stays only as a pointer.
func (a *App) MergeContacts(ctx context.Context, ba *BusinessActor, fromID, intoID string) (*ContactView, error) {
	if fromID == intoID {
		return nil, parley.Invalid("into", "a contact cannot be merged into itself")
	}
	var v *ContactView
	err := a.update(ctx, func(w *writer) error {
		from, err := w.Contact(ba.Business.ID, fromID)
		if err != nil {
			return err
		}
		into, err := w.Contact(ba.Business.ID, intoID)
		if parley.IsNotFound(err) {
			return parley.Invalid("into", "no such contact")
		} else if err != nil {
			return err
		}
		if from.MergedInto != "" || into.MergedInto != "" {
			return parley.Errorf(parley.EConflict, "merged contacts cannot be merged again")
		}
		if from.UserID != "" && into.UserID != "" && from.UserID != into.UserID {
			return parley.Errorf(parley.EConflict, "both contacts are Parley accounts; only external contacts merge into an account")
		}
		if err := w.MoveContactItems(ba.Business.ID, from.ID, into.ID); err != nil {
			return err
		}
		if into.Attributes == nil {
			into.Attributes = map[string]string{}
		}
		for k, val := range from.Attributes {
			if _, ok := into.Attributes[k]; !ok {
				into.Attributes[k] = val
			}
		}
		labels := append(append([]string{}, into.Labels...), from.Labels...)
		if labels, err = cleanLabels(labels[:min(len(labels), maxLabels)]); err != nil {
			return err
		}
		into.Labels = labels
		if from.Notes != "" {
			into.Notes = strings.TrimSpace(into.Notes + "\n\n" + from.Notes)
		}
		if into.UserID == "" {
			into.UserID = from.UserID
		}
		into.UpdatedAt = w.now
		from.MergedInto, from.UpdatedAt, from.UserID = into.ID, w.now, ""
		if err := w.PutContact(from); err != nil {
			return err
		}
		if err := w.PutContact(into); err != nil {
			return err
		}
		if err := auditRow(w, ba.Business.ID, ba.agentID(), "", "contact_merged", "", "", 0, map[string]any{"from": from.ID, "into": into.ID}); err != nil {
			return err
		}
		v, err = contactView(w, into, true, w.now)
		return err
	})
	return v, err
}
