package parley

import "time"

// Topic is a subject a business sends promotions about ("offers",
// "restock alerts"). Contacts opt in per topic.
type Topic struct {
	BusinessID  string
	ID          string
	Name        string
	Description string
	// Keyword, when a customer's whole message is it (any case), opts
	// them in ("" none). Stored upper-case.
	Keyword string
	// FormToken is the secret of the topic's shareable opt-in link.
	FormToken string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// The channels a consent can come through.
const (
	ConsentQuickReply = "quick_reply"
	ConsentKeyword    = "keyword"
	ConsentForm       = "form"
	ConsentAPI        = "api"
	ConsentSettings   = "settings"
	ConsentStop       = "stop"
	// ConsentNotification is an opt-in (or stop) of Messenger's
	// notification messages for the topic.
	ConsentNotification = "notification_messages"
)

// Consent is a contact's current answer for one topic of a business,
// with how and when it was given and its proof (the message or request
// that gave it).
type Consent struct {
	BusinessID string
	ContactID  string
	TopicID    string
	OptedIn    bool
	Channel    string
	Proof      string
	At         time.Time
}

// ConsentRecord is one change of consent, kept for good as proof.
// TopicID "" is every topic at once (STOP).
type ConsentRecord struct {
	ID         int64
	BusinessID string
	ContactID  string
	TopicID    string
	OptedIn    bool
	Channel    string
	Proof      string
	At         time.Time
}

// Reach is what the messaging policy knows of one contact of a business.
type Reach struct {
	BusinessID string
	ContactID  string
	// LastInboundAt is the contact's last message to the business.
	LastInboundAt time.Time
	// StoppedAt is when the contact sent STOP; nil once they opt in again.
	StoppedAt *time.Time
	// Promos are the contact's recent promotional messages, oldest first
	// (the app keeps as many as its frequency cap needs).
	Promos []time.Time
}

// The approval states of a template.
const (
	TemplateDraft    = "draft"
	TemplateApproved = "approved"
)

// Template is a business's message with {{variables}}: what campaigns
// send, and what may reach a contact outside the messaging window.
type Template struct {
	BusinessID string
	ID         string
	Name       string
	Body       string
	// TopicID makes the template promotional: it goes only to contacts
	// opted in to the topic ("" a service template).
	TopicID string
	// Components are the WhatsApp header and button parameters with
	// their variables, as app-owned JSON ("" none).
	Components string
	Status     string
	CreatedBy  string
	ApprovedBy string
	ApprovedAt *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// SegmentFilter selects a business's contacts: every condition set must
// hold. Merged contacts are never selected.
type SegmentFilter struct {
	BusinessID string
	// Topics: opted in to each.
	Topics []string
	// Labels: has each.
	Labels []string
	// Attributes: each key has the value; a condition with Value "" only
	// needs the key set.
	Attributes []AttributeCondition
	// ActiveSince: the contact wrote to the business at or after it.
	ActiveSince time.Time
	// InactiveSince: the contact has not written since it (or never).
	InactiveSince time.Time
}

// AttributeCondition is one attribute of a segment.
type AttributeCondition struct {
	Key   string
	Value string
}

// The states of a campaign.
const (
	CampaignDraft     = "draft"
	CampaignScheduled = "scheduled"
	CampaignRunning   = "running"
	CampaignPaused    = "paused"
	CampaignDone      = "done"
	CampaignCancelled = "cancelled"
)

// Campaign is a template sent to a segment of a business's contacts who
// opted in to a topic.
type Campaign struct {
	ID         string
	BusinessID string
	Name       string
	TemplateID string
	TopicID    string
	// Segment is the app's description of the audience (JSON).
	Segment     string
	Status      string
	ScheduledAt *time.Time
	// Rate is messages per second.
	Rate      float64
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	StartedAt *time.Time
	EndedAt   *time.Time
	// Total is the number of recipients; Sent, Failed and Skipped (by
	// reason) count what happened to them so far.
	Total   int
	Sent    int
	Failed  int
	Skipped map[string]int
}

// The states of a campaign's recipient.
const (
	RecipientPending = "pending"
	RecipientSent    = "sent"
	RecipientSkipped = "skipped"
	RecipientFailed  = "failed"
)

// CampaignRecipient is one contact of a campaign and what became of it:
// the worker's persisted progress.
type CampaignRecipient struct {
	CampaignID string
	ContactID  string
	State      string
	// Reason says why it was skipped or failed, or why it waits.
	Reason    string
	MessageID string
	// NotBefore defers a pending recipient (quiet hours, frequency cap).
	NotBefore time.Time
	UpdatedAt time.Time
}

// CampaignActivityQuery asks what happened to a campaign's recipients,
// in buckets of time.
type CampaignActivityQuery struct {
	BusinessID string
	CampaignID string
	// TopicID is the campaign's topic: opting out of it (or of every
	// topic, STOP) counts as an opt-out.
	TopicID string
	// Bucket is the width of a bucket; buckets start at multiples of it
	// since the Unix epoch.
	Bucket time.Duration
	// Window bounds replies and opt-outs: only those within it after the
	// campaign's message count.
	Window time.Duration
}

// CampaignActivity is what happened to a campaign's recipients in one
// bucket of time. Sent, Failed and Skipped (by reason) count recipients
// settled in the bucket; Delivered and Read count the messages sent in
// the bucket that reached one of the contact's devices and that the
// contact read (markers say how far, not when); Replied and OptedOut
// count contacts whose first reply, or first opt-out of the topic, within
// the window after the message fell in the bucket.
type CampaignActivity struct {
	At        time.Time
	Sent      int
	Delivered int
	Read      int
	Replied   int
	OptedOut  int
	Failed    int
	Skipped   map[string]int
}

// CampaignTx stores consent, the messaging policy's state, templates,
// segments and campaigns.
type CampaignTx interface {
	// CreateTopic inserts t (EConflict when the name or keyword is taken);
	// UpdateTopic saves Name, Description, Keyword, FormToken, UpdatedAt;
	// DeleteTopic deletes it. Both ENotFound when it is not the business's.
	CreateTopic(t *Topic) error
	UpdateTopic(t *Topic) error
	DeleteTopic(businessID, id string) error
	// Topic returns a topic or ENotFound; TopicByToken finds one by its
	// form token; Topics lists a business's topics by name.
	Topic(businessID, id string) (*Topic, error)
	TopicByToken(token string) (*Topic, error)
	Topics(businessID string) ([]*Topic, error)

	// PutConsent inserts or replaces a contact's consent for a topic;
	// Consents lists a contact's, by topic id.
	PutConsent(c *Consent) error
	Consents(businessID, contactID string) ([]*Consent, error)
	// AppendConsentRecord inserts r and sets r.ID; ConsentRecords lists a
	// contact's records, newest first, up to limit.
	AppendConsentRecord(r *ConsentRecord) error
	ConsentRecords(businessID, contactID string, limit int) ([]*ConsentRecord, error)
	// ContactsOfUser lists the unmerged contacts of an account, one per
	// business.
	ContactsOfUser(userID string) ([]*Contact, error)

	// Reach returns a contact's policy state or ENotFound; PutReach
	// inserts or replaces it.
	Reach(businessID, contactID string) (*Reach, error)
	PutReach(r *Reach) error
	// PutReaches does what PutReach does for each of rs (a contact at
	// most once; EInvalid otherwise), in one statement where the store
	// can: the campaign worker's chunks. ENotFound when a business is
	// gone; the caller then abandons the transaction.
	PutReaches(rs []*Reach) error

	// CreateTemplate inserts t (EConflict when the name is taken);
	// UpdateTemplate saves every field but CreatedAt and CreatedBy;
	// DeleteTemplate deletes. Both ENotFound when not the business's.
	CreateTemplate(t *Template) error
	UpdateTemplate(t *Template) error
	DeleteTemplate(businessID, id string) error
	// Template returns one or ENotFound; Templates lists by name.
	Template(businessID, id string) (*Template, error)
	Templates(businessID string) ([]*Template, error)

	// CountSegment counts the contacts f selects.
	CountSegment(f SegmentFilter) (int, error)
	// SegmentContacts lists up to limit ids of contacts f selects, in id
	// order, after afterID.
	SegmentContacts(f SegmentFilter, afterID string, limit int) ([]string, error)

	// CreateCampaign inserts c; UpdateCampaign saves every field but ID,
	// BusinessID, CreatedBy and CreatedAt (ENotFound if gone).
	CreateCampaign(c *Campaign) error
	UpdateCampaign(c *Campaign) error
	// Campaign returns a business's campaign or ENotFound; Campaigns
	// lists a business's campaigns, newest first.
	Campaign(businessID, id string) (*Campaign, error)
	Campaigns(businessID string) ([]*Campaign, error)
	// CampaignsToRun lists the campaigns of every business that are
	// running, or scheduled at or before now, oldest first.
	CampaignsToRun(now time.Time) ([]*Campaign, error)
	// AddRecipients adds pending recipients to a campaign, skipping those
	// it has, and returns how many were new.
	AddRecipients(campaignID string, contactIDs []string, at time.Time) (int, error)
	// DueRecipients lists up to limit pending recipients of a campaign
	// whose NotBefore is at or before now, earliest first.
	DueRecipients(campaignID string, now time.Time, limit int) ([]*CampaignRecipient, error)
	// NextPending returns the earliest NotBefore of a campaign's pending
	// recipients, or ENotFound when none is pending.
	NextPending(campaignID string) (time.Time, error)
	// Recipient returns one recipient or ENotFound; PutRecipient saves
	// State, Reason, MessageID, NotBefore and UpdatedAt (ENotFound if gone).
	Recipient(campaignID, contactID string) (*CampaignRecipient, error)
	PutRecipient(r *CampaignRecipient) error
	// PutRecipients does what PutRecipient does for each of rs (a
	// recipient at most once; EInvalid otherwise), in one statement where
	// the store can. ENotFound when any is gone; the caller then abandons
	// the transaction (some may be saved).
	PutRecipients(rs []*CampaignRecipient) error
	// Recipients lists a page of a campaign's recipients in one state
	// ("" any), in contact id order, after afterID.
	Recipients(campaignID, state, afterID string, limit int) ([]*CampaignRecipient, error)
	// The set reads of the campaign worker, one statement each for a
	// chunk of recipients. Each returns, keyed by contact id, the rows of
	// the contacts in contactIDs that have one: a contact without one is
	// absent, and no ids give an empty map. ReachOf returns their policy
	// state; TopicConsents their consent to one topic; RecipientsOf their
	// recipient rows of a campaign; ContactsByIDs the contacts themselves
	// (merged ones too); LatestInboxItems, for each, the inbox item of its
	// conversation with the newest activity (the one InboxItems with
	// ContactID and Limit 1 returns), labels included; LatestConversations
	// only that item's conversation id (what a chunk's write transaction
	// checks against what it rendered).
	ReachOf(businessID string, contactIDs []string) (map[string]*Reach, error)
	TopicConsents(businessID, topicID string, contactIDs []string) (map[string]*Consent, error)
	RecipientsOf(campaignID string, contactIDs []string) (map[string]*CampaignRecipient, error)
	ContactsByIDs(businessID string, contactIDs []string) (map[string]*Contact, error)
	LatestInboxItems(businessID string, contactIDs []string) (map[string]*InboxItem, error)
	LatestConversations(businessID string, contactIDs []string) (map[string]string, error)
	// CampaignActivity lists, oldest first, the buckets of q's campaign
	// in which something happened (none for a campaign without settled
	// recipients).
	CampaignActivity(q CampaignActivityQuery) ([]*CampaignActivity, error)
}
