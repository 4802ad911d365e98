package postgres

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// ---- Topics ----

const topicCols = `business_id, id, name, description, keyword, form_token, created_at, updated_at`

func scanTopic(s scanner) (*parley.Topic, error) {
	var t parley.Topic
	var created, updated int64
	if err := s.Scan(&t.BusinessID, &t.ID, &t.Name, &t.Description, &t.Keyword, &t.FormToken, &created, &updated); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &t, nil
}

// CreateTopic implements parley.CampaignTx.
func (t *tx) CreateTopic(tp *parley.Topic) error {
	_, err := t.guarded(`INSERT INTO topics (`+topicCols+`, name_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tp.BusinessID, tp.ID, tp.Name, tp.Description, tp.Keyword, tp.FormToken, toNanos(tp.CreatedAt), toNanos(tp.UpdatedAt),
		strings.ToLower(tp.Name))
	switch {
	case isUnique(err):
		return parley.Errorf(parley.EConflict, "the business has a topic with this name or keyword")
	case isForeignKey(err):
		return notFound("business")
	case err != nil:
		return fmt.Errorf("create topic: %w", err)
	}
	return nil
}

// UpdateTopic implements parley.CampaignTx.
func (t *tx) UpdateTopic(tp *parley.Topic) error {
	res, err := t.guarded(`UPDATE topics SET name = ?, name_key = ?, description = ?, keyword = ?, form_token = ?, updated_at = ?
		WHERE business_id = ? AND id = ?`, tp.Name, strings.ToLower(tp.Name), tp.Description, tp.Keyword, tp.FormToken,
		toNanos(tp.UpdatedAt), tp.BusinessID, tp.ID)
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "the business has a topic with this name or keyword")
	} else if err != nil {
		return fmt.Errorf("update topic: %w", err)
	}
	return mustAffect(res, "topic")
}

// DeleteTopic implements parley.CampaignTx. The topic's consents go with
// it; their records stay.
func (t *tx) DeleteTopic(businessID, id string) error {
	res, err := t.exec(`DELETE FROM topics WHERE business_id = ? AND id = ?`, businessID, id)
	if err != nil {
		return fmt.Errorf("delete topic: %w", err)
	}
	if err := mustAffect(res, "topic"); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM consents WHERE business_id = ? AND topic_id = ?`, businessID, id); err != nil {
		return fmt.Errorf("delete topic consents: %w", err)
	}
	return nil
}

// Topic implements parley.CampaignTx.
func (t *tx) Topic(businessID, id string) (*parley.Topic, error) {
	tp, err := scanTopic(t.queryRow(`SELECT `+topicCols+` FROM topics WHERE business_id = ? AND id = ?`, businessID, id))
	if err != nil {
		return nil, rowErr(err, "topic")
	}
	return tp, nil
}

// TopicByToken implements parley.CampaignTx.
func (t *tx) TopicByToken(token string) (*parley.Topic, error) {
	if token == "" {
		return nil, notFound("topic")
	}
	tp, err := scanTopic(t.queryRow(`SELECT `+topicCols+` FROM topics WHERE form_token = ?`, token))
	if err != nil {
		return nil, rowErr(err, "topic")
	}
	return tp, nil
}

// Topics implements parley.CampaignTx.
func (t *tx) Topics(businessID string) ([]*parley.Topic, error) {
	return queryAll(t, "topics", scanTopic, `SELECT `+topicCols+` FROM topics WHERE business_id = ? ORDER BY name_key, id`, businessID)
}

// ---- Consent ----

func scanConsent(s scanner) (*parley.Consent, error) {
	var c parley.Consent
	var at int64
	if err := s.Scan(&c.BusinessID, &c.ContactID, &c.TopicID, &c.OptedIn, &c.Channel, &c.Proof, &at); err != nil {
		return nil, err
	}
	c.At = fromNanos(at)
	return &c, nil
}

// PutConsent implements parley.CampaignTx.
func (t *tx) PutConsent(c *parley.Consent) error {
	_, err := t.guarded(`INSERT INTO consents (business_id, contact_id, topic_id, opted_in, channel, proof, at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (business_id, contact_id, topic_id) DO UPDATE SET opted_in = excluded.opted_in, channel = excluded.channel,
		proof = excluded.proof, at = excluded.at`, c.BusinessID, c.ContactID, c.TopicID, c.OptedIn, c.Channel, c.Proof, toNanos(c.At))
	if isForeignKey(err) {
		return notFound("business")
	} else if err != nil {
		return fmt.Errorf("put consent: %w", err)
	}
	return nil
}

// Consents implements parley.CampaignTx.
func (t *tx) Consents(businessID, contactID string) ([]*parley.Consent, error) {
	return queryAll(t, "consents", scanConsent, `SELECT business_id, contact_id, topic_id, opted_in, channel, proof, at
		FROM consents WHERE business_id = ? AND contact_id = ? ORDER BY topic_id`, businessID, contactID)
}

// AppendConsentRecord implements parley.CampaignTx.
func (t *tx) AppendConsentRecord(r *parley.ConsentRecord) error {
	err := t.guardedRow(func(row *sql.Row) error { return row.Scan(&r.ID) }, `INSERT INTO consent_records (business_id, contact_id,
		topic_id, opted_in, channel, proof, at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.BusinessID, r.ContactID, r.TopicID, r.OptedIn, r.Channel, r.Proof, toNanos(r.At))
	if isForeignKey(err) {
		return notFound("business")
	} else if err != nil {
		return fmt.Errorf("append consent record: %w", err)
	}
	return nil
}

// ConsentRecords implements parley.CampaignTx.
func (t *tx) ConsentRecords(businessID, contactID string, limit int) ([]*parley.ConsentRecord, error) {
	if limit <= 0 {
		limit = 100
	}
	return queryAll(t, "consent records", func(s scanner) (*parley.ConsentRecord, error) {
		var r parley.ConsentRecord
		var at int64
		if err := s.Scan(&r.ID, &r.BusinessID, &r.ContactID, &r.TopicID, &r.OptedIn, &r.Channel, &r.Proof, &at); err != nil {
			return nil, err
		}
		r.At = fromNanos(at)
		return &r, nil
	}, `SELECT id, business_id, contact_id, topic_id, opted_in, channel, proof, at FROM consent_records
		WHERE business_id = ? AND contact_id = ? ORDER BY id DESC LIMIT ?`, businessID, contactID, limit)
}

// ContactsOfUser implements parley.CampaignTx.
func (t *tx) ContactsOfUser(userID string) ([]*parley.Contact, error) {
	if userID == "" {
		return []*parley.Contact{}, nil
	}
	return queryAll(t, "contacts of user", scanContact, `SELECT `+contactCols+` FROM contacts
		WHERE user_id = ? AND user_id != '' AND merged_into = '' ORDER BY business_id`, userID)
}

// ---- Reach ----

// Reach implements parley.CampaignTx.
func (t *tx) Reach(businessID, contactID string) (*parley.Reach, error) {
	r, err := scanReach(t.queryRow(`SELECT `+reachCols+` FROM contact_reach WHERE business_id = ? AND contact_id = ?`,
		businessID, contactID))
	if err != nil {
		return nil, rowErr(err, "reach")
	}
	return r, nil
}

const reachCols = `business_id, contact_id, last_inbound_at, stopped_at, promos`

func scanReach(s scanner) (*parley.Reach, error) {
	var r parley.Reach
	var last int64
	var stopped sql.NullInt64
	var promos string
	if err := s.Scan(&r.BusinessID, &r.ContactID, &last, &stopped, &promos); err != nil {
		return nil, err
	}
	r.LastInboundAt, r.StoppedAt = fromNanos(last), fromNullNanos(stopped)
	if promos != "" {
		for _, p := range strings.Split(promos, ",") {
			var n int64
			if _, err := fmt.Sscan(p, &n); err != nil {
				return nil, fmt.Errorf("promos of contact %s: %w", r.ContactID, err)
			}
			r.Promos = append(r.Promos, fromNanos(n))
		}
	}
	return &r, nil
}

// PutReach implements parley.CampaignTx.
func (t *tx) PutReach(r *parley.Reach) error {
	ps := make([]string, len(r.Promos))
	for i, p := range r.Promos {
		ps[i] = fmt.Sprint(toNanos(p))
	}
	_, err := t.guarded(`INSERT INTO contact_reach (business_id, contact_id, last_inbound_at, stopped_at, promos) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (business_id, contact_id) DO UPDATE SET last_inbound_at = excluded.last_inbound_at,
		stopped_at = excluded.stopped_at, promos = excluded.promos`,
		r.BusinessID, r.ContactID, toNanos(r.LastInboundAt), toNullNanos(r.StoppedAt), strings.Join(ps, ","))
	if isForeignKey(err) {
		return notFound("business")
	} else if err != nil {
		return fmt.Errorf("put reach: %w", err)
	}
	return nil
}

// putContactTags replaces the index rows of a contact's labels and
// attributes; a merged contact has none, and its consents leave with
// them (their records stay), so that no segment selects it.
func (t *tx) putContactTags(c *parley.Contact) error {
	if _, err := t.exec(`DELETE FROM contact_tags WHERE business_id = ? AND contact_id = ?`, c.BusinessID, c.ID); err != nil {
		return fmt.Errorf("contact tags: %w", err)
	}
	if c.MergedInto != "" {
		if _, err := t.exec(`DELETE FROM consents WHERE business_id = ? AND contact_id = ?`, c.BusinessID, c.ID); err != nil {
			return fmt.Errorf("merged contact's consents: %w", err)
		}
		return nil
	}
	const ins = `INSERT INTO contact_tags (business_id, kind, name, value, contact_id) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`
	for _, l := range c.Labels {
		if _, err := t.exec(ins, c.BusinessID, "l", l, "", c.ID); err != nil {
			return fmt.Errorf("contact tags: %w", err)
		}
	}
	for k, v := range c.Attributes {
		if _, err := t.exec(ins, c.BusinessID, "a", k, v, c.ID); err != nil {
			return fmt.Errorf("contact tags: %w", err)
		}
	}
	return nil
}

// ---- Templates ----

const templateCols = `business_id, id, name, body, topic_id, status, created_by, approved_by, approved_at, created_at, updated_at, components`

func scanTemplate(s scanner) (*parley.Template, error) {
	var tp parley.Template
	var approved sql.NullInt64
	var created, updated int64
	if err := s.Scan(&tp.BusinessID, &tp.ID, &tp.Name, &tp.Body, &tp.TopicID, &tp.Status, &tp.CreatedBy, &tp.ApprovedBy,
		&approved, &created, &updated, &tp.Components); err != nil {
		return nil, err
	}
	tp.ApprovedAt, tp.CreatedAt, tp.UpdatedAt = fromNullNanos(approved), fromNanos(created), fromNanos(updated)
	return &tp, nil
}

// CreateTemplate implements parley.CampaignTx.
func (t *tx) CreateTemplate(tp *parley.Template) error {
	_, err := t.guarded(`INSERT INTO templates (`+templateCols+`, name_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tp.BusinessID, tp.ID, tp.Name, tp.Body, tp.TopicID, tp.Status, tp.CreatedBy, tp.ApprovedBy, toNullNanos(tp.ApprovedAt),
		toNanos(tp.CreatedAt), toNanos(tp.UpdatedAt), tp.Components, strings.ToLower(tp.Name))
	switch {
	case isUnique(err):
		return parley.Errorf(parley.EConflict, "the business has a template with this name")
	case isForeignKey(err):
		return notFound("business")
	case err != nil:
		return fmt.Errorf("create template: %w", err)
	}
	return nil
}

// UpdateTemplate implements parley.CampaignTx.
func (t *tx) UpdateTemplate(tp *parley.Template) error {
	res, err := t.guarded(`UPDATE templates SET name = ?, name_key = ?, body = ?, topic_id = ?, status = ?, approved_by = ?,
		approved_at = ?, updated_at = ?, components = ? WHERE business_id = ? AND id = ?`, tp.Name, strings.ToLower(tp.Name), tp.Body, tp.TopicID,
		tp.Status, tp.ApprovedBy, toNullNanos(tp.ApprovedAt), toNanos(tp.UpdatedAt), tp.Components, tp.BusinessID, tp.ID)
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "the business has a template with this name")
	} else if err != nil {
		return fmt.Errorf("update template: %w", err)
	}
	return mustAffect(res, "template")
}

// DeleteTemplate implements parley.CampaignTx.
func (t *tx) DeleteTemplate(businessID, id string) error {
	res, err := t.exec(`DELETE FROM templates WHERE business_id = ? AND id = ?`, businessID, id)
	if err != nil {
		return fmt.Errorf("delete template: %w", err)
	}
	return mustAffect(res, "template")
}

// Template implements parley.CampaignTx.
func (t *tx) Template(businessID, id string) (*parley.Template, error) {
	tp, err := scanTemplate(t.queryRow(`SELECT `+templateCols+` FROM templates WHERE business_id = ? AND id = ?`, businessID, id))
	if err != nil {
		return nil, rowErr(err, "template")
	}
	return tp, nil
}

// Templates implements parley.CampaignTx.
func (t *tx) Templates(businessID string) ([]*parley.Template, error) {
	return queryAll(t, "templates", scanTemplate, `SELECT `+templateCols+` FROM templates WHERE business_id = ? ORDER BY name_key, id`, businessID)
}

// ---- Segments ----

// segmentSQL builds the query of a segment: the first condition drives
// (an index range read in contact id order) and every other one is an
// EXISTS probe of an index, so the cost is one index entry per candidate.
func segmentSQL(f parley.SegmentFilter, what, afterID string) (string, []any) {
	type cond struct {
		from  string // driver: selects contact_id AS id
		probe string // EXISTS body, correlated on d.id
		args  []any
	}
	var cs []cond
	for _, tp := range f.Topics {
		cs = append(cs, cond{
			`SELECT contact_id AS id FROM consents WHERE business_id = ? AND topic_id = ? AND opted_in = 1`,
			`SELECT 1 FROM consents WHERE business_id = ? AND contact_id = d.id AND topic_id = ? AND opted_in = 1`,
			[]any{f.BusinessID, tp}})
	}
	for _, l := range f.Labels {
		cs = append(cs, cond{
			`SELECT contact_id AS id FROM contact_tags WHERE business_id = ? AND kind = 'l' AND name = ? AND value = ''`,
			`SELECT 1 FROM contact_tags WHERE business_id = ? AND kind = 'l' AND name = ? AND value = '' AND contact_id = d.id`,
			[]any{f.BusinessID, l}})
	}
	for _, a := range f.Attributes {
		if a.Value == "" {
			cs = append(cs, cond{
				`SELECT contact_id AS id FROM contact_tags WHERE business_id = ? AND kind = 'a' AND name = ?`,
				`SELECT 1 FROM contact_tags WHERE business_id = ? AND contact_id = d.id AND kind = 'a' AND name = ?`,
				[]any{f.BusinessID, a.Key}})
			continue
		}
		cs = append(cs, cond{
			`SELECT contact_id AS id FROM contact_tags WHERE business_id = ? AND kind = 'a' AND name = ? AND value = ?`,
			`SELECT 1 FROM contact_tags WHERE business_id = ? AND kind = 'a' AND name = ? AND value = ? AND contact_id = d.id`,
			[]any{f.BusinessID, a.Key, a.Value}})
	}
	if !f.ActiveSince.IsZero() {
		cs = append(cs, cond{
			`SELECT contact_id AS id FROM contact_reach WHERE business_id = ? AND last_inbound_at >= ?`,
			`SELECT 1 FROM contact_reach WHERE business_id = ? AND contact_id = d.id AND last_inbound_at >= ?`,
			[]any{f.BusinessID, toNanos(f.ActiveSince)}})
	}
	if len(cs) == 0 { // every contact is a candidate
		cs = append(cs, cond{`SELECT id FROM contacts WHERE business_id = ? AND merged_into = ''`, "", []any{f.BusinessID}})
	}
	if !f.InactiveSince.IsZero() {
		cs = append(cs, cond{"",
			`NOT EXISTS (SELECT 1 FROM contact_reach WHERE business_id = ? AND contact_id = d.id AND last_inbound_at >= ?)`,
			[]any{f.BusinessID, toNanos(f.InactiveSince)}})
	}
	q := `SELECT ` + what + ` FROM (` + cs[0].from + `) d WHERE d.id > ?`
	args := append(append([]any{}, cs[0].args...), afterID)
	for _, c := range cs[1:] {
		q += ` AND `
		if strings.HasPrefix(c.probe, "NOT ") {
			q += c.probe
		} else {
			q += `EXISTS (` + c.probe + `)`
		}
		args = append(args, c.args...)
	}
	return q, args
}

// CountSegment implements parley.CampaignTx.
//
// Every condition's index lists its contacts in id order (0037 gives
// contact_reach's primary key last_inbound_at), so the count is a merge of
// ordered index-only scans. The planner prefers hashing them in parallel
// workers, which on 1,000,000 contacts took about three times the CPU
// and, even at low load, two to four times as long (BENCHMARKS.md, issue
// 8); for this one statement, with two conditions or more, hash joins and
// parallel workers are off. One condition is a single index range, which
// parallel workers do count faster.
func (t *tx) CountSegment(f parley.SegmentFilter) (int, error) {
	q, args := segmentSQL(f, "count(*)", "")
	conds := len(f.Topics) + len(f.Labels) + len(f.Attributes)
	if !f.ActiveSince.IsZero() {
		conds++
	}
	if !f.InactiveSince.IsZero() {
		conds++
	}
	if conds < 2 {
		var n int
		if err := t.queryRow(q, args...).Scan(&n); err != nil {
			return 0, fmt.Errorf("count segment: %w", err)
		}
		return n, nil
	}
	var hash, workers string
	if err := t.queryRow(`SELECT current_setting('enable_hashjoin'), current_setting('max_parallel_workers_per_gather'),
		set_config('enable_hashjoin', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)`).
		Scan(&hash, &workers, new(string), new(string)); err != nil {
		return 0, fmt.Errorf("count segment: %w", err)
	}
	var n int
	if err := t.queryRow(q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count segment: %w", err)
	}
	if err := t.queryRow(`SELECT set_config('enable_hashjoin', ?, true), set_config('max_parallel_workers_per_gather', ?, true)`,
		hash, workers).Scan(new(string), new(string)); err != nil {
		return 0, fmt.Errorf("count segment: %w", err)
	}
	return n, nil
}

// SegmentContacts implements parley.CampaignTx.
func (t *tx) SegmentContacts(f parley.SegmentFilter, afterID string, limit int) ([]string, error) {
	q, args := segmentSQL(f, "d.id", afterID)
	q += ` ORDER BY d.id LIMIT ?`
	args = append(args, limit)
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("segment contacts: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("segment contacts: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ---- Campaigns ----

const campaignCols = `id, business_id, name, template_id, topic_id, segment, status, scheduled_at, rate, created_by, created_at,
	updated_at, started_at, ended_at, total, sent, failed, skipped`

func scanCampaign(s scanner) (*parley.Campaign, error) {
	var c parley.Campaign
	var scheduled, started, ended sql.NullInt64
	var created, updated int64
	var skipped string
	if err := s.Scan(&c.ID, &c.BusinessID, &c.Name, &c.TemplateID, &c.TopicID, &c.Segment, &c.Status, &scheduled, &c.Rate,
		&c.CreatedBy, &created, &updated, &started, &ended, &c.Total, &c.Sent, &c.Failed, &skipped); err != nil {
		return nil, err
	}
	c.ScheduledAt, c.StartedAt, c.EndedAt = fromNullNanos(scheduled), fromNullNanos(started), fromNullNanos(ended)
	c.CreatedAt, c.UpdatedAt = fromNanos(created), fromNanos(updated)
	if err := fromJSON(skipped, &c.Skipped); err != nil {
		return nil, fmt.Errorf("skipped of campaign %s: %w", c.ID, err)
	}
	return &c, nil
}

// CreateCampaign implements parley.CampaignTx.
func (t *tx) CreateCampaign(c *parley.Campaign) error {
	skipped, err := toJSON(c.Skipped, len(c.Skipped) == 0)
	if err != nil {
		return fmt.Errorf("create campaign: %w", err)
	}
	_, err = t.guarded(`INSERT INTO campaigns (`+campaignCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.BusinessID, c.Name, c.TemplateID, c.TopicID, c.Segment, c.Status, toNullNanos(c.ScheduledAt), c.Rate, c.CreatedBy,
		toNanos(c.CreatedAt), toNanos(c.UpdatedAt), toNullNanos(c.StartedAt), toNullNanos(c.EndedAt), c.Total, c.Sent, c.Failed, skipped)
	switch {
	case isUnique(err):
		return parley.Errorf(parley.EConflict, "campaign %s exists", c.ID)
	case isForeignKey(err):
		return notFound("business")
	case err != nil:
		return fmt.Errorf("create campaign: %w", err)
	}
	return nil
}

// UpdateCampaign implements parley.CampaignTx.
func (t *tx) UpdateCampaign(c *parley.Campaign) error {
	skipped, err := toJSON(c.Skipped, len(c.Skipped) == 0)
	if err != nil {
		return fmt.Errorf("update campaign: %w", err)
	}
	res, err := t.exec(`UPDATE campaigns SET name = ?, template_id = ?, topic_id = ?, segment = ?, status = ?, scheduled_at = ?,
		rate = ?, updated_at = ?, started_at = ?, ended_at = ?, total = ?, sent = ?, failed = ?, skipped = ? WHERE id = ?`,
		c.Name, c.TemplateID, c.TopicID, c.Segment, c.Status, toNullNanos(c.ScheduledAt), c.Rate, toNanos(c.UpdatedAt),
		toNullNanos(c.StartedAt), toNullNanos(c.EndedAt), c.Total, c.Sent, c.Failed, skipped, c.ID)
	if err != nil {
		return fmt.Errorf("update campaign: %w", err)
	}
	return mustAffect(res, "campaign")
}

// Campaign implements parley.CampaignTx.
func (t *tx) Campaign(businessID, id string) (*parley.Campaign, error) {
	c, err := scanCampaign(t.queryRow(`SELECT `+campaignCols+` FROM campaigns WHERE id = ? AND business_id = ?`, id, businessID))
	if err != nil {
		return nil, rowErr(err, "campaign")
	}
	return c, nil
}

// Campaigns implements parley.CampaignTx.
func (t *tx) Campaigns(businessID string) ([]*parley.Campaign, error) {
	return queryAll(t, "campaigns", scanCampaign, `SELECT `+campaignCols+` FROM campaigns WHERE business_id = ?
		ORDER BY created_at DESC, id DESC`, businessID)
}

// CampaignsToRun implements parley.CampaignTx.
func (t *tx) CampaignsToRun(now time.Time) ([]*parley.Campaign, error) {
	return queryAll(t, "campaigns to run", scanCampaign, `SELECT `+campaignCols+` FROM campaigns
		WHERE status = 'running' OR (status = 'scheduled' AND scheduled_at <= ?) ORDER BY created_at, id`, toNanos(now))
}

// AddRecipients implements parley.CampaignTx.
func (t *tx) AddRecipients(campaignID string, contactIDs []string, at time.Time) (int, error) {
	res, err := t.guarded(`INSERT INTO campaign_recipients (campaign_id, contact_id, state, updated_at)
		SELECT ?, v, 'pending', ? FROM jsonb_array_elements_text(?::jsonb) AS v ON CONFLICT DO NOTHING`,
		campaignID, toNanos(at), idList(contactIDs))
	if isForeignKey(err) {
		return 0, notFound("campaign")
	} else if err != nil {
		return 0, fmt.Errorf("add recipients: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

const recipientCols = `campaign_id, contact_id, state, reason, message_id, not_before, updated_at`

func scanRecipient(s scanner) (*parley.CampaignRecipient, error) {
	var r parley.CampaignRecipient
	var nb, updated int64
	if err := s.Scan(&r.CampaignID, &r.ContactID, &r.State, &r.Reason, &r.MessageID, &nb, &updated); err != nil {
		return nil, err
	}
	r.NotBefore, r.UpdatedAt = fromNanos(nb), fromNanos(updated)
	return &r, nil
}

// DueRecipients implements parley.CampaignTx.
func (t *tx) DueRecipients(campaignID string, now time.Time, limit int) ([]*parley.CampaignRecipient, error) {
	return queryAll(t, "due recipients", scanRecipient, `SELECT `+recipientCols+` FROM campaign_recipients
		WHERE campaign_id = ? AND state = 'pending' AND not_before <= ? ORDER BY not_before, contact_id LIMIT ?`,
		campaignID, toNanos(now), limit)
}

// NextPending implements parley.CampaignTx.
func (t *tx) NextPending(campaignID string) (time.Time, error) {
	var nb int64
	err := t.queryRow(`SELECT not_before FROM campaign_recipients WHERE campaign_id = ? AND state = 'pending'
		ORDER BY not_before LIMIT 1`, campaignID).Scan(&nb)
	if err != nil {
		return time.Time{}, rowErr(err, "pending recipient")
	}
	return fromNanos(nb), nil
}

// Recipient implements parley.CampaignTx.
func (t *tx) Recipient(campaignID, contactID string) (*parley.CampaignRecipient, error) {
	r, err := scanRecipient(t.queryRow(`SELECT `+recipientCols+` FROM campaign_recipients WHERE campaign_id = ? AND contact_id = ?`,
		campaignID, contactID))
	if err != nil {
		return nil, rowErr(err, "recipient")
	}
	return r, nil
}

// PutRecipient implements parley.CampaignTx.
func (t *tx) PutRecipient(r *parley.CampaignRecipient) error {
	res, err := t.exec(`UPDATE campaign_recipients SET state = ?, reason = ?, message_id = ?, not_before = ?, updated_at = ?
		WHERE campaign_id = ? AND contact_id = ?`, r.State, r.Reason, r.MessageID, toNanos(r.NotBefore), toNanos(r.UpdatedAt),
		r.CampaignID, r.ContactID)
	if err != nil {
		return fmt.Errorf("put recipient: %w", err)
	}
	return mustAffect(res, "recipient")
}

// Recipients implements parley.CampaignTx.
func (t *tx) Recipients(campaignID, state, afterID string, limit int) ([]*parley.CampaignRecipient, error) {
	if limit <= 0 {
		limit = 50
	}
	if state == "" {
		return queryAll(t, "recipients", scanRecipient, `SELECT `+recipientCols+` FROM campaign_recipients
			WHERE campaign_id = ? AND contact_id > ? ORDER BY contact_id LIMIT ?`, campaignID, afterID, limit)
	}
	// Failed and skipped recipients have an index of their own (a
	// campaign may have few among many); the literal term lets the
	// planner see that it applies. The others are read in key order.
	unsent := ""
	if state == parley.RecipientFailed || state == parley.RecipientSkipped {
		unsent = ` AND state IN ('failed', 'skipped')`
	}
	return queryAll(t, "recipients", scanRecipient, `SELECT `+recipientCols+` FROM campaign_recipients
		WHERE campaign_id = ? AND state = ?`+unsent+` AND contact_id > ? ORDER BY contact_id LIMIT ?`, campaignID, state, afterID, limit)
}

// CampaignActivity implements parley.CampaignTx.
func (t *tx) CampaignActivity(q parley.CampaignActivityQuery) ([]*parley.CampaignActivity, error) {
	return campaignActivity(t.query, q)
}
