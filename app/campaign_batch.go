package app

import (
	"context"
	"errors"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/channel"
)

// Campaign messages go out a chunk per transaction: one read transaction
// renders the chunk, one write transaction sends it. Both read what they
// need of the whole chunk with set reads (a statement per kind of row,
// not per recipient). In the write, each recipient passes the same checks
// as any business message — membership and blocks (checkSend), then the
// messaging policy (checkPolicyFrom: consent, STOP, the frequency cap,
// quiet hours, the window), fed from the chunk's set reads made in that
// same transaction — and either gets its message, its recipient row
// marked sent, or its row marked with why not; the campaign's counters
// are written once per chunk. Everything a chunk decides commits together
// or not at all, so a crash still neither skips nor repeats anyone.
// Recipients the chunk cannot take as they are (no conversation yet, a
// conversation that is a request or archived, a text a server filter
// flags) go through deliverOne, the message-by-message path.

// errChunkFallback rolls back a chunk so that its recipients go one by
// one.
var errChunkFallback = errors.New("campaign chunk falls back")

// recipientOutcome is what a refusal makes of a recipient: it waits
// (pending, until wait has passed), is skipped or failed, with the
// refusal's code as reason. ok is false for an internal error.
func recipientOutcome(err error) (state, reason string, wait time.Duration, ok bool) {
	code := parley.ErrorCode(err)
	switch {
	case code == parley.EQuietHours || code == parley.ERateLimited:
		var pe *parley.Error
		wait = time.Minute
		if errors.As(err, &pe) && pe.RetryAfter > 0 {
			wait = pe.RetryAfter
		}
		return parley.RecipientPending, code, wait, true
	case code == parley.EChannelDisabled:
		// The contact's channel is paused: the recipient waits for its
		// resume, like the held outbox.
		return parley.RecipientPending, code, channelPausedPoll, true
	case code == parley.ENoConsent || code == parley.EWindowClosed || code == parley.EFrequencyCap || code == parley.ETagNotAllowed:
		return parley.RecipientSkipped, code, 0, true
	case code == parley.EInternal || code == parley.EStorageFull:
		return "", "", 0, false
	default:
		return parley.RecipientFailed, code, 0, true
	}
}

// chunkItem is one recipient of a chunk, rendered.
type chunkItem struct {
	r      *parley.CampaignRecipient
	convID string
	text   string
	params []string
	// header and buttons are the template's WhatsApp parts, filled in.
	header  *channel.TemplateHeader
	buttons []channel.TemplateButton
	// skip, when set, settles the recipient without a send.
	skip string
}

// deliverChunk sends a chunk of due recipients of a running campaign. It
// returns the recipients left for deliverOne and whether the campaign
// halted (paused or cancelled). On an error nothing of the chunk was
// stored.
func (a *App) deliverChunk(ctx context.Context, ba *BusinessActor, tp *parley.Template, c *parley.Campaign,
	due []*parley.CampaignRecipient) (rest []*parley.CampaignRecipient, halted bool, err error) {
	start := time.Now()
	items := make([]*chunkItem, 0, len(due))
	ids := make([]string, len(due))
	for i, r := range due {
		ids[i] = r.ContactID
	}
	err = a.view(ctx, func(tx parley.Tx) error {
		items, rest = items[:0], rest[:0]
		cts, err := tx.ContactsByIDs(c.BusinessID, ids)
		if err != nil {
			return err
		}
		latest, err := tx.LatestInboxItems(c.BusinessID, ids)
		if err != nil {
			return err
		}
		var userIDs []string
		for _, ct := range cts {
			if ct.UserID != "" {
				userIDs = append(userIDs, ct.UserID)
			}
		}
		users, err := tx.UsersByIDs(userIDs)
		if err != nil {
			return err
		}
		for _, r := range due {
			ct := cts[r.ContactID]
			switch it := latest[r.ContactID]; {
			case ct == nil:
				items = append(items, &chunkItem{r: r, skip: "no_contact"})
			case ct.MergedInto != "":
				items = append(items, &chunkItem{r: r, skip: "merged"})
			case it == nil:
				rest = append(rest, r) // no conversation yet: deliverOne opens one
			default:
				var u *parley.User
				if ct.UserID != "" {
					u = users[ct.UserID]
				}
				if u != nil && u.Kind == parley.KindExternal {
					// A person on Messenger, Instagram or WhatsApp: the
					// platform's rules and the outbox (channelOnSend)
					// are Send's, so deliverOne sends it.
					rest = append(rest, r)
					continue
				}
				if out := templateWith(ba, tp, it, ct, u); len(out.Missing) > 0 {
					items = append(items, &chunkItem{r: r, skip: parley.EUnresolvedVar})
				} else {
					items = append(items, &chunkItem{r: r, convID: it.ConversationID, text: out.Text, params: out.params,
						header: out.header, buttons: out.buttons})
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	// The server's filters, as Send applies them: a refusing match fails
	// the recipient; a flagging one files a report, which deliverOne does.
	sendable := items[:0]
	for _, it := range items {
		if it.skip == "" {
			text, err := cleanText("text", it.text, a.cfg.MaxTextLen, true)
			if err != nil {
				it.skip = parley.ErrorCode(err)
			} else if _, flags, err := a.checkServerFilters(ctx, text); err != nil && parley.ErrorCode(err) == parley.EInternal {
				return nil, false, err
			} else if err != nil {
				it.skip = parley.ErrorCode(err)
			} else if len(flags) > 0 {
				rest = append(rest, it.r)
				continue
			}
			it.text = text
		}
		sendable = append(sendable, it)
	}
	items = sendable
	var created []*MessageView
	var later []*parley.CampaignRecipient
	var outcomes []string // the state each recipient was given, for the metrics
	err = a.update(ctx, func(w *writer) error {
		created, later, outcomes, halted = created[:0], later[:0], outcomes[:0], false
		cc, err := w.Campaign(c.BusinessID, c.ID)
		if err != nil {
			return err
		}
		if cc.Status != parley.CampaignRunning {
			halted = true
			return nil
		}
		st, err := loadSettings(w, c.BusinessID)
		if err != nil {
			return err
		}
		// The chunk's rows, one set read each, in this transaction.
		ids := make([]string, 0, len(items))
		for _, item := range items {
			ids = append(ids, item.r.ContactID)
		}
		recs, err := w.RecipientsOf(c.ID, ids)
		if err != nil {
			return err
		}
		// Each contact's newest conversation: the one the chunk rendered
		// for, or the recipient goes alone (chunkSend).
		latest, err := w.LatestConversations(c.BusinessID, ids)
		if err != nil {
			return err
		}
		src, err := loadChunkPolicy(w, c.BusinessID, tp.TopicID, &st.Messaging, ids)
		if err != nil {
			return err
		}
		// What the chunk decides, written below with a statement per kind
		// of row: the recipients' rows, the messages (with their sequence
		// numbers and chain entries) and the caps.
		var settled []*parley.CampaignRecipient
		var ms []*parley.Message
		convs := map[string]bool{}
		settle := func(r *parley.CampaignRecipient, state, reason string, notBefore time.Time) {
			r.State, r.Reason, r.NotBefore, r.UpdatedAt = state, reason, notBefore, w.now
			settled = append(settled, r)
			outcomes = append(outcomes, state)
			switch state {
			case parley.RecipientFailed:
				cc.Failed++
			case parley.RecipientSkipped:
				if cc.Skipped == nil {
					cc.Skipped = map[string]int{}
				}
				cc.Skipped[reason]++
			}
		}
		// The chunk's memberships in two set reads, not two point reads
		// a message (which the committer's cache answers only while it
		// holds every conversation of the campaign).
		restore, err := useChunkReads(w, ba.Business.ID, items, latest)
		if err != nil {
			return err
		}
		defer restore()
		for _, item := range items {
			r := recs[item.r.ContactID]
			if r == nil || r.State != parley.RecipientPending {
				continue // settled meanwhile (another node)
			}
			if item.skip != "" {
				state := parley.RecipientSkipped
				if item.skip != "no_contact" && item.skip != "merged" && item.skip != parley.EUnresolvedVar {
					state = parley.RecipientFailed
				}
				settle(r, state, item.skip, time.Time{})
				continue
			}
			if convs[item.convID] {
				// Two contacts of one conversation: the second goes alone.
				later = append(later, item.r)
				continue
			}
			m, refusal, err := a.chunkSend(w, src, latest[item.r.ContactID], ba, tp, st, c, item)
			switch {
			case errors.Is(err, errChunkFallback):
				later = append(later, item.r)
				continue
			case err != nil:
				return err
			case refusal != nil:
				state, reason, wait, ok := recipientOutcome(refusal)
				if !ok {
					return refusal
				}
				nb := time.Time{}
				if wait > 0 {
					nb = w.now.Add(wait)
				}
				settle(r, state, reason, nb)
				continue
			}
			convs[item.convID] = true
			r.State, r.Reason, r.MessageID, r.NotBefore, r.UpdatedAt = parley.RecipientSent, "", m.ID, time.Time{}, w.now
			settled = append(settled, r)
			cc.Sent++
			outcomes = append(outcomes, parley.RecipientSent)
			ms = append(ms, m)
		}
		restore()
		// The chunk's sequence numbers, then its messages in one
		// statement (the search index then writes one segment for them
		// all), their chain entries, the recipients' rows and the caps.
		// A taken client id cannot be: each recipient was pending in this
		// transaction.
		convIDs := make([]string, len(ms))
		for i, m := range ms {
			convIDs[i] = m.ConversationID
		}
		seqs, err := w.AllocSeqs(convIDs, w.now)
		if err != nil {
			return err
		}
		for _, m := range ms {
			m.Seq = seqs[m.ConversationID]
		}
		if err := w.CreateMessages(ms); err != nil {
			return err
		}
		if err := w.messagesCreated(ms); err != nil {
			return err
		}
		if err := w.PutRecipients(settled); err != nil {
			return err
		}
		if err := src.flush(); err != nil {
			return err
		}
		for _, m := range ms {
			created = append(created, &MessageView{ID: m.ID, ConversationID: m.ConversationID, Seq: m.Seq, Sender: summarize(ba.Business),
				ClientID: m.ClientID, Kind: string(m.Kind), Text: m.Text, CreatedAt: m.CreatedAt, ExpiresAt: m.ExpiresAt})
		}
		cc.UpdatedAt = w.now
		return w.UpdateCampaign(cc)
	})
	if err != nil {
		return nil, false, err
	}
	for _, v := range created {
		a.maybeFetchCard(v, ba.Business.ID)
	}
	for range created {
		a.obs.MessageSent(sendResult(true, nil), time.Since(start))
	}
	for _, state := range outcomes {
		a.obs.CampaignRecipient(state)
	}
	return append(rest, later...), halted, nil
}

// chunkSend makes one campaign message in a chunk's transaction, after
// the checks every business message passes, and writes nothing itself:
// membership and blocks (checkSend), then the messaging policy
// (checkPolicyFrom with the chunk's reads, which counts the promotion
// against the cap as it passes, written with the chunk's). The caller
// takes the chunk's sequence numbers and stores its messages together,
// so the message comes back without its Seq. latest is the conversation
// of the contact's newest inbox item in this transaction ("" none).
// refusal is a check's
// answer; errChunkFallback sends the recipient through deliverOne (a
// conversation that is a request or archived: Send's way of handling them
// writes first).
func (a *App) chunkSend(w *writer, src policyReads, latest string, ba *BusinessActor, tp *parley.Template, st *BusinessSettings,
	c *parley.Campaign, item *chunkItem) (m *parley.Message, refusal error, err error) {
	if latest == "" || latest != item.convID {
		return nil, nil, errChunkFallback // the contact's conversation changed since rendering (a merge, a new one)
	}
	// What the policy reads of the item: whose it is.
	it := &parley.InboxItem{ConversationID: latest, BusinessID: c.BusinessID, ContactID: item.r.ContactID}
	conv, me, err := membership(w, item.convID, ba.Business.ID)
	if err != nil {
		return nil, err, nil
	}
	if conv.Kind != parley.ConversationDirect || me.Status != parley.StatusActive {
		return nil, nil, errChunkFallback
	}
	other, _, err := otherMember(w, conv, ba.Business.ID)
	if err != nil {
		return nil, nil, err
	}
	if other.Status != parley.StatusActive || other.Folder == parley.FolderArchived {
		return nil, nil, errChunkFallback
	}
	if _, _, err := a.checkSend(w, conv, me, ba.Actor); err != nil {
		return nil, err, nil
	}
	sc := &sendClass{template: tp, params: item.params, header: item.header, buttons: item.buttons, campaign: &campaignMark{campaignID: c.ID, contactID: item.r.ContactID}}
	if err := a.checkPolicyFrom(w, src, it, st, ba.Actor, sc); err != nil {
		if parley.ErrorCode(err) == parley.EInternal {
			return nil, nil, err
		}
		return nil, err, nil
	}
	m = &parley.Message{ID: newSortableID(w.now), ConversationID: conv.ID, SenderID: ba.Business.ID,
		ClientID: "cmp." + c.ID + "." + item.r.ContactID, Kind: parley.MessageText, Text: item.text, CreatedAt: w.now,
		ExpiresAt: expiry(conv, w.now)}
	return m, nil, nil
}

// chunkReads answers a chunk's membership reads — each conversation with
// the business's membership of it, and the other member with the block
// between the two — from two set reads made in the transaction that
// sends the chunk. Other reads go to the store, and so do these once the
// transaction wrote a member row of the conversation. Like the stores'
// caches it hands out copies: callers change what they get.
type chunkReads struct {
	parley.Tx
	userID string
	convs  map[string]parley.MemberConversation
	peers  map[string]parley.PeerMember
}

// useChunkReads reads the memberships of the items that chunkSend may
// send (those with a conversation that is still the contact's latest)
// and has w read through them until restore, which the caller must call
// before anything else runs in w (restore is idempotent).
func useChunkReads(w *writer, userID string, items []*chunkItem, latest map[string]string) (restore func(), err error) {
	var ids []string
	for _, it := range items {
		if it.skip == "" && it.convID != "" && latest[it.r.ContactID] == it.convID {
			ids = append(ids, it.convID)
		}
	}
	r := &chunkReads{Tx: w.Tx, userID: userID}
	if r.convs, err = w.ConversationMembers(userID, ids); err != nil {
		return nil, err
	}
	peers := make(map[string]string, len(r.convs))
	for id, mc := range r.convs {
		if mc.Conversation.Kind != parley.ConversationDirect {
			continue
		}
		if peer, err := directPeer(mc.Conversation, userID); err == nil {
			peers[id] = peer
		}
	}
	if r.peers, err = w.Peers(userID, peers); err != nil {
		return nil, err
	}
	w.Tx = r
	return func() { w.Tx = r.Tx }, nil
}

// ConversationMember answers from the set read when it can.
func (r *chunkReads) ConversationMember(convID, userID string) (*parley.Conversation, *parley.Member, error) {
	if mc, ok := r.convs[convID]; ok && userID == r.userID {
		c, m := *mc.Conversation, *mc.Member
		return &c, &m, nil
	}
	return r.Tx.ConversationMember(convID, userID)
}

// Peer answers from the set read when it can.
func (r *chunkReads) Peer(convID, userID, peerID string) (*parley.Member, bool, error) {
	if p, ok := r.peers[convID]; ok && userID == r.userID && p.Member.UserID == peerID {
		m := *p.Member
		return &m, p.Blocked, nil
	}
	return r.Tx.Peer(convID, userID, peerID)
}

// PutMember writes m; the conversation's reads go to the store after it.
// Nothing in chunkSend writes a member row today (a request or an
// archived conversation falls back first), nor any of the rows below:
// these keep the answers exact if that changes.
func (r *chunkReads) PutMember(m *parley.Member) error {
	delete(r.convs, m.ConversationID)
	delete(r.peers, m.ConversationID)
	return r.Tx.PutMember(m)
}

// SetBlock writes a block; every peer's read goes to the store after it.
func (r *chunkReads) SetBlock(blockerID, blockedID string, on bool, at time.Time) (bool, error) {
	clear(r.peers)
	return r.Tx.SetBlock(blockerID, blockedID, on, at)
}

// UpdateConversation writes c; its reads go to the store after it.
func (r *chunkReads) UpdateConversation(c *parley.Conversation) error {
	delete(r.convs, c.ID)
	delete(r.peers, c.ID)
	return r.Tx.UpdateConversation(c)
}

// chunkPolicy answers the policy's reads for a chunk's contacts from set
// reads made once, in the transaction that sends the chunk, and keeps
// their caps' writes for one statement (flush); anything else it reads
// and writes row by row.
type chunkPolicy struct {
	txPolicy
	businessID string
	ids        map[string]bool // the chunk's contacts
	reaches    map[string]*parley.Reach
	put        []*parley.Reach // the chunk's contacts' reaches to write, each once
	putSet     map[string]bool
	topicID    string
	consents   map[string]*parley.Consent // to topicID
	contacts   map[string]*parley.Contact // nil: read row by row
	templates  map[string]*parley.Template
	topics     map[string]*parley.Topic
}

// loadChunkPolicy reads the policy state of contactIDs and their consent
// to topicID (a promotional template's topic, "" none), and their
// contacts when quiet hours need their time zones.
func loadChunkPolicy(tx parley.Tx, businessID, topicID string, p *MessagingPolicy, contactIDs []string) (*chunkPolicy, error) {
	cp := &chunkPolicy{txPolicy: txPolicy{tx}, businessID: businessID, ids: make(map[string]bool, len(contactIDs)), topicID: topicID,
		templates: map[string]*parley.Template{}, topics: map[string]*parley.Topic{}, putSet: map[string]bool{}}
	for _, id := range contactIDs {
		cp.ids[id] = true
	}
	var err error
	if cp.reaches, err = tx.ReachOf(businessID, contactIDs); err != nil {
		return nil, err
	}
	if topicID != "" {
		if cp.consents, err = tx.TopicConsents(businessID, topicID, contactIDs); err != nil {
			return nil, err
		}
	}
	if p.QuietStart != "" {
		if cp.contacts, err = tx.ContactsByIDs(businessID, contactIDs); err != nil {
			return nil, err
		}
	}
	return cp, nil
}

func (cp *chunkPolicy) reach(businessID, contactID string) (*parley.Reach, error) {
	if !cp.ids[contactID] {
		return cp.txPolicy.reach(businessID, contactID)
	}
	if r := cp.reaches[contactID]; r != nil {
		return r, nil
	}
	return nil, parley.Errorf(parley.ENotFound, "no reach")
}

func (cp *chunkPolicy) putReach(r *parley.Reach) error {
	if !cp.ids[r.ContactID] || r.BusinessID != cp.businessID {
		return cp.txPolicy.putReach(r)
	}
	if !cp.putSet[r.ContactID] {
		cp.put = append(cp.put, r)
		cp.putSet[r.ContactID] = true
	} else {
		for i, p := range cp.put {
			if p.ContactID == r.ContactID {
				cp.put[i] = r // the newest state of a contact written twice
			}
		}
	}
	cp.reaches[r.ContactID] = r // what the next read sees
	return nil
}

// flush writes the reaches putReach kept.
func (cp *chunkPolicy) flush() error {
	err := cp.tx.PutReaches(cp.put)
	cp.put, cp.putSet = nil, map[string]bool{}
	return err
}

func (cp *chunkPolicy) optedIn(businessID, contactID, topicID string) (bool, error) {
	if !cp.ids[contactID] || topicID != cp.topicID || cp.consents == nil {
		return cp.txPolicy.optedIn(businessID, contactID, topicID)
	}
	c := cp.consents[contactID]
	return c != nil && c.OptedIn, nil
}

func (cp *chunkPolicy) contact(businessID, id string) (*parley.Contact, error) {
	if !cp.ids[id] || cp.contacts == nil {
		return cp.txPolicy.contact(businessID, id)
	}
	if c := cp.contacts[id]; c != nil {
		return c, nil
	}
	return nil, parley.Errorf(parley.ENotFound, "no contact")
}

// template and topic are read once per chunk: the same rows for every
// recipient, as of this transaction.
func (cp *chunkPolicy) template(businessID, id string) (*parley.Template, error) {
	if t, ok := cp.templates[id]; ok {
		if t == nil {
			return nil, parley.Errorf(parley.ENotFound, "no template")
		}
		return t, nil
	}
	t, err := cp.txPolicy.template(businessID, id)
	if err != nil && !parley.IsNotFound(err) {
		return nil, err
	}
	cp.templates[id] = t
	return t, err
}

func (cp *chunkPolicy) topic(businessID, id string) (*parley.Topic, error) {
	if t, ok := cp.topics[id]; ok {
		if t == nil {
			return nil, parley.Errorf(parley.ENotFound, "no topic")
		}
		return t, nil
	}
	t, err := cp.txPolicy.topic(businessID, id)
	if err != nil && !parley.IsNotFound(err) {
		return nil, err
	}
	cp.topics[id] = t
	return t, err
}
