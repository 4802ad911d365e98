package postgres

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/parleyhq/parley"
)

const mediaCols = `id, owner_id, kind, content_type, size, width, height, duration_ms, blob_key,
	thumb_key, thumb_type, thumb_width, thumb_height, conversation_id, message_id, position, created_at`

func scanMedia(s interface{ Scan(...any) error }) (*parley.Media, error) {
	var m parley.Media
	var kind string
	var created int64
	if err := s.Scan(&m.ID, &m.OwnerID, &kind, &m.ContentType, &m.Size, &m.Width, &m.Height, &m.DurationMS, &m.BlobKey,
		&m.ThumbKey, &m.ThumbType, &m.ThumbWidth, &m.ThumbHeight, &m.ConversationID, &m.MessageID, &m.Position, &created); err != nil {
		return nil, err
	}
	m.Kind, m.CreatedAt = parley.MessageKind(kind), fromNanos(created)
	return &m, nil
}

// CreateMedia implements parley.MediaTx.
func (t *tx) CreateMedia(m *parley.Media) error {
	_, err := t.guarded(`INSERT INTO media (`+mediaCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		m.ID, m.OwnerID, string(m.Kind), m.ContentType, m.Size, m.Width, m.Height, m.DurationMS, m.BlobKey,
		m.ThumbKey, m.ThumbType, m.ThumbWidth, m.ThumbHeight, m.ConversationID, m.MessageID, m.Position, toNanos(m.CreatedAt))
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "media %s exists", m.ID)
	} else if err != nil {
		return fmt.Errorf("create media: %w", err)
	}
	return nil
}

// MediaByID implements parley.MediaTx.
func (t *tx) MediaByID(id string) (*parley.Media, error) {
	m, err := scanMedia(t.queryRow(`SELECT `+mediaCols+` FROM media WHERE id = ?`, id))
	if err != nil {
		return nil, rowErr(err, "media")
	}
	return m, nil
}

// AttachMedia implements parley.MediaTx.
func (t *tx) AttachMedia(id, conversationID, messageID string, position int) error {
	res, err := t.exec(`UPDATE media SET conversation_id = ?, message_id = ?, position = ? WHERE id = ? AND message_id = ''`,
		conversationID, messageID, position, id)
	if err != nil {
		return fmt.Errorf("attach media: %w", err)
	}
	if ok, err := affected(res); err != nil {
		return err
	} else if !ok {
		return parley.Errorf(parley.EConflict, "media %s was already sent", id)
	}
	return nil
}

// MediaOfMessages implements parley.MediaTx.
func (t *tx) MediaOfMessages(messageIDs []string) (map[string][]*parley.Media, error) {
	out := map[string][]*parley.Media{}
	if len(messageIDs) == 0 {
		return out, nil
	}
	rows, err := t.query(`SELECT `+mediaCols+` FROM media
		WHERE message_id IN (SELECT json_array_elements_text(?::json)) ORDER BY message_id, position`, idList(messageIDs))
	if err != nil {
		return nil, fmt.Errorf("load attachments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanMedia(rows)
		if err != nil {
			return nil, fmt.Errorf("scan attachment: %w", err)
		}
		out[m.MessageID] = append(out[m.MessageID], m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load attachments: %w", err)
	}
	return out, nil
}

// UploadedBytesSince implements parley.MediaTx.
func (t *tx) UploadedBytesSince(ownerID string, since time.Time) (int64, error) {
	var n sql.NullInt64
	if err := t.queryRow(`SELECT SUM(size) FROM media
		WHERE owner_id = ? AND created_at >= ? AND position >= 0 AND kind != 'sticker'`, ownerID, toNanos(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("uploaded bytes: %w", err)
	}
	return n.Int64, nil
}

// CollectableMedia implements parley.MediaTx.
func (t *tx) CollectableMedia(unsentBefore time.Time, limit int) ([]*parley.Media, error) {
	rows, err := t.query(`SELECT `+mediaCols+` FROM media WHERE message_id = '' AND created_at < ?1
		UNION ALL
		SELECT `+mediaColsM+` FROM media md JOIN messages m ON m.id = md.message_id
		WHERE md.message_id != '' AND m.deleted_at IS NOT NULL
		LIMIT ?2`, toNanos(unsentBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("collectable media: %w", err)
	}
	defer rows.Close()
	var out []*parley.Media
	for rows.Next() {
		m, err := scanMedia(rows)
		if err != nil {
			return nil, fmt.Errorf("scan media: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

const mediaColsM = `md.id, md.owner_id, md.kind, md.content_type, md.size, md.width, md.height, md.duration_ms, md.blob_key,
	md.thumb_key, md.thumb_type, md.thumb_width, md.thumb_height, md.conversation_id, md.message_id, md.position, md.created_at`

// DeleteMedia implements parley.MediaTx.
func (t *tx) DeleteMedia(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := t.exec(`DELETE FROM media WHERE id IN (SELECT json_array_elements_text(?::json))`, idList(ids)); err != nil {
		return fmt.Errorf("delete media: %w", err)
	}
	return nil
}

// BlobInUse implements parley.MediaTx.
func (t *tx) BlobInUse(key string) (bool, error) {
	var n bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM media WHERE blob_key = ?1)
		OR EXISTS (SELECT 1 FROM media WHERE thumb_key = ?1 AND thumb_key != '')
		OR EXISTS (SELECT 1 FROM stickers WHERE blob_key = ?1)`, key).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("blob in use: %w", err)
	}
	return n, nil
}
