package sqlite

import (
	"database/sql"
	"fmt"
	"slices"

	"github.com/parleyhq/parley"
)

// campaignActivity counts what happened to a campaign's recipients per
// bucket: settled recipients by bucket, state and reason in one grouped query;
// then, for each message sent, whether it was delivered and read (the
// contact's markers), the contact's first reply and first opt-out within
// the window (an index probe each). The PostgreSQL store runs the same
// SQL.
func campaignActivity(query func(string, ...any) (*sql.Rows, error), q parley.CampaignActivityQuery) ([]*parley.CampaignActivity, error) {
	if q.Bucket <= 0 {
		return nil, fmt.Errorf("campaign activity: bucket must be positive")
	}
	width := int64(q.Bucket)
	buckets := map[int64]*parley.CampaignActivity{}
	at := func(nanos int64) *parley.CampaignActivity {
		k := nanos - nanos%width // times are after the epoch
		b := buckets[k]
		if b == nil {
			b = &parley.CampaignActivity{At: fromNanos(k), Skipped: map[string]int{}}
			buckets[k] = b
		}
		return b
	}
	rows, err := query(`SELECT updated_at / CAST(? AS BIGINT), state, reason, count(*) FROM campaign_recipients
		WHERE campaign_id = ? AND state != 'pending' AND EXISTS (SELECT 1 FROM campaigns WHERE id = ? AND business_id = ?)
		GROUP BY 1, 2, 3`, width, q.CampaignID, q.CampaignID, q.BusinessID)
	if err != nil {
		return nil, fmt.Errorf("campaign activity: %w", err)
	}
	for rows.Next() {
		var k int64
		var state, reason string
		var n int
		if err := rows.Scan(&k, &state, &reason, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("campaign activity: %w", err)
		}
		b := at(k * width)
		switch state {
		case parley.RecipientSent:
			b.Sent += n
		case parley.RecipientFailed:
			b.Failed += n
		case parley.RecipientSkipped:
			b.Skipped[reason] += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("campaign activity: %w", err)
	}
	window := int64(q.Window)
	rows, err = query(`SELECT m.created_at,
			CASE WHEN mem.delivered_seq >= m.seq THEN 1 ELSE 0 END,
			CASE WHEN mem.read_seq >= m.seq THEN 1 ELSE 0 END,
			(SELECT min(x.created_at) FROM messages x WHERE x.conversation_id = m.conversation_id AND x.seq > m.seq
				AND x.sender_id = ct.user_id AND x.created_at < m.created_at + CAST(? AS BIGINT)),
			(SELECT min(cr.at) FROM consent_records cr WHERE cr.business_id = r2.business_id AND cr.contact_id = r.contact_id
				AND cr.opted_in = 0 AND (cr.topic_id = ? OR cr.topic_id = '') AND cr.at >= m.created_at
				AND cr.at < m.created_at + CAST(? AS BIGINT))
		FROM campaign_recipients r
		JOIN campaigns r2 ON r2.id = r.campaign_id
		JOIN messages m ON m.id = r.message_id
		JOIN contacts ct ON ct.business_id = r2.business_id AND ct.id = r.contact_id
		LEFT JOIN members mem ON mem.conversation_id = m.conversation_id AND mem.user_id = ct.user_id
		WHERE r.campaign_id = ? AND r2.business_id = ? AND r.state = 'sent'`,
		window, q.TopicID, window, q.CampaignID, q.BusinessID)
	if err != nil {
		return nil, fmt.Errorf("campaign activity: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sent int64
		var delivered, read int
		var replied, optedOut sql.NullInt64
		if err := rows.Scan(&sent, &delivered, &read, &replied, &optedOut); err != nil {
			return nil, fmt.Errorf("campaign activity: %w", err)
		}
		b := at(sent)
		b.Delivered += delivered
		b.Read += read
		if replied.Valid {
			at(replied.Int64).Replied++
		}
		if optedOut.Valid {
			at(optedOut.Int64).OptedOut++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("campaign activity: %w", err)
	}
	out := make([]*parley.CampaignActivity, 0, len(buckets))
	for _, b := range buckets {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b *parley.CampaignActivity) int { return a.At.Compare(b.At) })
	return out, nil
}
