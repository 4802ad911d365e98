package sqlite

import (
	"fmt"
	"time"

	"github.com/parleyhq/parley"
)

// Channels, their threads and message links (migration 0016).

const channelCols = `id, business_id, platform, name, account_id, app_id, access_token, app_secret, verify_token, hint, language,
	created_by, created_at, updated_at, last_error, last_error_at, last_inbound_at, last_outbound_at, disabled_at`

func scanChannel(s scanner) (*parley.Channel, error) {
	var c parley.Channel
	var created, updated, errAt, inAt, outAt, disabled int64
	if err := s.Scan(&c.ID, &c.BusinessID, &c.Platform, &c.Name, &c.AccountID, &c.AppID, &c.AccessToken, &c.AppSecret,
		&c.VerifyToken, &c.Hint, &c.Language, &c.CreatedBy, &created, &updated, &c.LastError, &errAt, &inAt, &outAt, &disabled); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = fromNanos(created), fromNanos(updated)
	c.LastErrorAt, c.LastInboundAt, c.LastOutboundAt = fromNanos(errAt), fromNanos(inAt), fromNanos(outAt)
	c.DisabledAt = fromNanos(disabled)
	return &c, nil
}

// CreateChannel implements parley.ChannelTx.
func (t *tx) CreateChannel(c *parley.Channel) error {
	_, err := t.exec(`INSERT INTO channels (`+channelCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.BusinessID, c.Platform, c.Name, c.AccountID, c.AppID, c.AccessToken, c.AppSecret, c.VerifyToken, c.Hint,
		c.Language, c.CreatedBy, toNanos(c.CreatedAt), toNanos(c.UpdatedAt), c.LastError, toNanos(c.LastErrorAt),
		toNanos(c.LastInboundAt), toNanos(c.LastOutboundAt), toNanos(c.DisabledAt))
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "this %s account is connected already", c.Platform)
	} else if err != nil {
		return fmt.Errorf("create channel: %w", err)
	}
	return nil
}

// UpdateChannel implements parley.ChannelTx.
func (t *tx) UpdateChannel(c *parley.Channel) error {
	res, err := t.exec(`UPDATE channels SET name = ?, app_id = ?, access_token = ?, app_secret = ?, verify_token = ?, hint = ?,
		language = ?, disabled_at = ?, updated_at = ? WHERE id = ?`, c.Name, c.AppID, c.AccessToken, c.AppSecret, c.VerifyToken, c.Hint, c.Language,
		toNanos(c.DisabledAt), toNanos(c.UpdatedAt), c.ID)
	if err != nil {
		return fmt.Errorf("update channel: %w", err)
	}
	return mustAffect(res, "channel")
}

// Channel implements parley.ChannelTx.
func (t *tx) Channel(id string) (*parley.Channel, error) {
	c, err := scanChannel(t.queryRow(`SELECT `+channelCols+` FROM channels WHERE id = ?`, id))
	if err != nil {
		return nil, rowErr(err, "channel")
	}
	return c, nil
}

// Channels implements parley.ChannelTx.
func (t *tx) Channels(businessID string) ([]*parley.Channel, error) {
	return queryAll(t, "channels", scanChannel, `SELECT `+channelCols+` FROM channels WHERE business_id = ? ORDER BY created_at, id`, businessID)
}

// ChannelsAfter implements parley.ChannelTx.
func (t *tx) ChannelsAfter(afterID string, limit int) ([]*parley.Channel, error) {
	return queryAll(t, "channels after", scanChannel, `SELECT `+channelCols+` FROM channels WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
}

// NoteChannel implements parley.ChannelTx: one UPDATE of the channel's
// row (migration 0020c), a time moving only forward.
func (t *tx) NoteChannel(id string, n parley.ChannelNote) error {
	errAt := int64(0)
	if n.Error != "" {
		errAt = toNanos(n.ErrorAt)
	}
	_, err := t.exec(`UPDATE channels SET
		last_error = CASE WHEN ? > last_error_at THEN ? ELSE last_error END,
		last_error_at = MAX(last_error_at, ?),
		last_inbound_at = MAX(last_inbound_at, ?),
		last_outbound_at = MAX(last_outbound_at, ?)
		WHERE id = ?`, errAt, n.Error, errAt, toNanos(n.InboundAt), toNanos(n.OutboundAt), id)
	if err != nil {
		return fmt.Errorf("note channel: %w", err)
	}
	return nil
}

// QueuedChannelSends implements parley.ChannelTx.
func (t *tx) QueuedChannelSends(channelID string) (int, error) {
	var n int
	if err := t.queryRow(`SELECT COUNT(*) FROM channel_messages WHERE channel_id = ? AND status = 'queued'`, channelID).Scan(&n); err != nil {
		return 0, fmt.Errorf("queued channel sends: %w", err)
	}
	return n, nil
}

// DeleteChannel implements parley.ChannelTx.
func (t *tx) DeleteChannel(businessID, id string) error {
	if _, err := t.exec(`DELETE FROM channel_threads WHERE channel_id IN (SELECT id FROM channels WHERE id = ? AND business_id = ?)`, id, businessID); err != nil {
		return fmt.Errorf("delete channel threads: %w", err)
	}
	if _, err := t.exec(`DELETE FROM channel_optins WHERE channel_id IN (SELECT id FROM channels WHERE id = ? AND business_id = ?)`, id, businessID); err != nil {
		return fmt.Errorf("delete channel optins: %w", err)
	}
	if _, err := t.exec(`DELETE FROM channel_messages WHERE channel_id IN (SELECT id FROM channels WHERE id = ? AND business_id = ?)`, id, businessID); err != nil {
		return fmt.Errorf("delete channel messages: %w", err)
	}
	res, err := t.exec(`DELETE FROM channels WHERE id = ? AND business_id = ?`, id, businessID)
	if err != nil {
		return fmt.Errorf("delete channel: %w", err)
	}
	return mustAffect(res, "channel")
}

const threadCols = `channel_id, external_user_id, contact_id, user_id, conversation_id, last_inbound_at, created_at`

func scanThread(s scanner) (*parley.ChannelThread, error) {
	var th parley.ChannelThread
	var last, created int64
	if err := s.Scan(&th.ChannelID, &th.ExternalUserID, &th.ContactID, &th.UserID, &th.ConversationID, &last, &created); err != nil {
		return nil, err
	}
	th.LastInboundAt, th.CreatedAt = fromNanos(last), fromNanos(created)
	return &th, nil
}

// PutChannelThread implements parley.ChannelTx.
func (t *tx) PutChannelThread(th *parley.ChannelThread) error {
	_, err := t.exec(`INSERT OR REPLACE INTO channel_threads (`+threadCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		th.ChannelID, th.ExternalUserID, th.ContactID, th.UserID, th.ConversationID, toNanos(th.LastInboundAt), toNanos(th.CreatedAt))
	if err != nil {
		return fmt.Errorf("put channel thread: %w", err)
	}
	return nil
}

// ChannelThread implements parley.ChannelTx.
func (t *tx) ChannelThread(channelID, externalUserID string) (*parley.ChannelThread, error) {
	th, err := scanThread(t.queryRow(`SELECT `+threadCols+` FROM channel_threads WHERE channel_id = ? AND external_user_id = ?`, channelID, externalUserID))
	if err != nil {
		return nil, rowErr(err, "channel thread")
	}
	return th, nil
}

// ChannelThreadByConversation implements parley.ChannelTx.
func (t *tx) ChannelThreadByConversation(conversationID string) (*parley.ChannelThread, error) {
	th, err := scanThread(t.queryRow(`SELECT `+threadCols+` FROM channel_threads WHERE conversation_id = ?`, conversationID))
	if err != nil {
		return nil, rowErr(err, "channel thread")
	}
	return th, nil
}

const channelMessageCols = `message_id, channel_id, conversation_id, direction, platform_mid, mode, template, status, error, attempts,
	next_attempt_at, platform_at, data, work_at, created_at, updated_at`

func scanChannelMessage(s scanner) (*parley.ChannelMessage, error) {
	var m parley.ChannelMessage
	var next, pat, work, created, updated int64
	if err := s.Scan(&m.MessageID, &m.ChannelID, &m.ConversationID, &m.Direction, &m.PlatformMID, &m.Mode, &m.Template, &m.Status,
		&m.Error, &m.Attempts, &next, &pat, &m.Data, &work, &created, &updated); err != nil {
		return nil, err
	}
	m.NextAttemptAt, m.PlatformAt, m.WorkAt = fromNanos(next), fromNanos(pat), fromNanos(work)
	m.CreatedAt, m.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &m, nil
}

// CreateChannelMessage implements parley.ChannelTx.
func (t *tx) CreateChannelMessage(m *parley.ChannelMessage) error {
	_, err := t.exec(`INSERT INTO channel_messages (`+channelMessageCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.MessageID, m.ChannelID, m.ConversationID, m.Direction, m.PlatformMID, m.Mode, m.Template, m.Status, m.Error, m.Attempts,
		toNanos(m.NextAttemptAt), toNanos(m.PlatformAt), m.Data, toNanos(m.WorkAt), toNanos(m.CreatedAt), toNanos(m.UpdatedAt))
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "the message is linked already")
	} else if err != nil {
		return fmt.Errorf("create channel message: %w", err)
	}
	return nil
}

// UpdateChannelMessage implements parley.ChannelTx.
func (t *tx) UpdateChannelMessage(m *parley.ChannelMessage) error {
	res, err := t.exec(`UPDATE channel_messages SET platform_mid = ?, status = ?, error = ?, attempts = ?, next_attempt_at = ?,
		data = ?, work_at = ?, updated_at = ? WHERE message_id = ?`, m.PlatformMID, m.Status, m.Error, m.Attempts, toNanos(m.NextAttemptAt),
		m.Data, toNanos(m.WorkAt), toNanos(m.UpdatedAt), m.MessageID)
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "the platform message is linked already")
	} else if err != nil {
		return fmt.Errorf("update channel message: %w", err)
	}
	return mustAffect(res, "channel message")
}

// ChannelMessage implements parley.ChannelTx.
func (t *tx) ChannelMessage(messageID string) (*parley.ChannelMessage, error) {
	m, err := scanChannelMessage(t.queryRow(`SELECT `+channelMessageCols+` FROM channel_messages WHERE message_id = ?`, messageID))
	if err != nil {
		return nil, rowErr(err, "channel message")
	}
	return m, nil
}

// ChannelMessageByMID implements parley.ChannelTx.
func (t *tx) ChannelMessageByMID(channelID, mid string) (*parley.ChannelMessage, error) {
	if mid == "" {
		return nil, parley.Errorf(parley.ENotFound, "channel message not found")
	}
	m, err := scanChannelMessage(t.queryRow(`SELECT `+channelMessageCols+` FROM channel_messages WHERE channel_id = ? AND platform_mid = ?`, channelID, mid))
	if err != nil {
		return nil, rowErr(err, "channel message")
	}
	return m, nil
}

// ChannelMessages implements parley.ChannelTx.
func (t *tx) ChannelMessages(messageIDs []string) (map[string]*parley.ChannelMessage, error) {
	out := make(map[string]*parley.ChannelMessage, len(messageIDs))
	if len(messageIDs) == 0 {
		return out, nil
	}
	ms, err := queryAll(t, "channel messages", scanChannelMessage,
		`SELECT `+channelMessageCols+` FROM channel_messages WHERE message_id IN (SELECT value FROM json_each(?))`, idList(messageIDs))
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		out[m.MessageID] = m
	}
	return out, nil
}

// DueChannelSends implements parley.ChannelTx.
func (t *tx) DueChannelSends(due time.Time, limit int) ([]*parley.ChannelMessage, error) {
	return queryAll(t, "due channel sends", scanChannelMessage, `SELECT `+channelMessageCols+` FROM channel_messages
		WHERE status = 'queued' AND next_attempt_at <= ?
		AND NOT EXISTS (SELECT 1 FROM channels c WHERE c.id = channel_messages.channel_id AND c.disabled_at > 0)
		ORDER BY next_attempt_at, message_id LIMIT ?`, toNanos(due), limit)
}

// DueChannelWork implements parley.ChannelTx.
func (t *tx) DueChannelWork(due time.Time, limit int) ([]*parley.ChannelMessage, error) {
	return queryAll(t, "due channel work", scanChannelMessage, `SELECT `+channelMessageCols+` FROM channel_messages
		WHERE work_at > 0 AND work_at <= ? ORDER BY work_at, message_id LIMIT ?`, toNanos(due), limit)
}

// Opt-ins to a topic on a platform (migration 0026).

const optinCols = `channel_id, external_user_id, topic_id, token, frequency, timezone, status, expires_at, last_sent_at, created_at, updated_at`

func scanOptin(s scanner) (*parley.ChannelOptin, error) {
	var o parley.ChannelOptin
	var exp, last, created, updated int64
	if err := s.Scan(&o.ChannelID, &o.ExternalUserID, &o.TopicID, &o.Token, &o.Frequency, &o.Timezone, &o.Status, &exp, &last,
		&created, &updated); err != nil {
		return nil, err
	}
	o.ExpiresAt, o.LastSentAt, o.CreatedAt, o.UpdatedAt = fromNanos(exp), fromNanos(last), fromNanos(created), fromNanos(updated)
	return &o, nil
}

// PutChannelOptin implements parley.ChannelTx.
func (t *tx) PutChannelOptin(o *parley.ChannelOptin) error {
	_, err := t.exec(`INSERT OR REPLACE INTO channel_optins (`+optinCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ChannelID, o.ExternalUserID, o.TopicID, o.Token, o.Frequency, o.Timezone, o.Status, toNanos(o.ExpiresAt), toNanos(o.LastSentAt),
		toNanos(o.CreatedAt), toNanos(o.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put channel optin: %w", err)
	}
	return nil
}

// ChannelOptins implements parley.ChannelTx.
func (t *tx) ChannelOptins(channelID, externalUserID string) ([]*parley.ChannelOptin, error) {
	return queryAll(t, "channel optins", scanOptin, `SELECT `+optinCols+` FROM channel_optins
		WHERE channel_id = ? AND external_user_id = ? ORDER BY topic_id`, channelID, externalUserID)
}
