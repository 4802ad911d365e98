package postgres

import (
	"fmt"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/sealed"
	"github.com/parleyhq/parley/store/storeseal"
)

// SetKeyring turns on encryption at rest: message text written from now
// on is sealed under k's current data key, and sealed text read is
// opened. nil turns it off for writes (sealed rows then fail to read).
func (db *DB) SetKeyring(k *sealed.Keyring) { db.seal.Set(k) }

// DataKeys implements parley.KeyTx.
func (t *tx) DataKeys() ([]*parley.DataKey, error) {
	rows, err := t.query(`SELECT id, wrapped, created_at FROM data_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list data keys: %w", err)
	}
	defer rows.Close()
	out := []*parley.DataKey{}
	for rows.Next() {
		var k parley.DataKey
		var at int64
		if err := rows.Scan(&k.ID, &k.Wrapped, &at); err != nil {
			return nil, fmt.Errorf("scan data key: %w", err)
		}
		k.CreatedAt = fromNanos(at)
		out = append(out, &k)
	}
	return out, rows.Err()
}

// CreateDataKey implements parley.KeyTx.
func (t *tx) CreateDataKey(k *parley.DataKey) error {
	_, err := t.exec(`INSERT INTO data_keys (id, wrapped, created_at) VALUES (?, ?, ?)`, k.ID, k.Wrapped, toNanos(k.CreatedAt))
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "data key %d exists", k.ID)
	} else if err != nil {
		return fmt.Errorf("create data key: %w", err)
	}
	return nil
}

// UpdateDataKey implements parley.KeyTx.
func (t *tx) UpdateDataKey(k *parley.DataKey) error {
	res, err := t.exec(`UPDATE data_keys SET wrapped = ? WHERE id = ?`, k.Wrapped, k.ID)
	if err != nil {
		return fmt.Errorf("update data key: %w", err)
	}
	return mustAffect(res, "data key")
}

// DeleteDataKey implements parley.KeyTx.
func (t *tx) DeleteDataKey(id int64) error {
	res, err := t.exec(`DELETE FROM data_keys WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete data key: %w", err)
	}
	return mustAffect(res, "data key")
}

// DataKeyInUse implements parley.KeyTx. The key id is in clear at the
// start of every sealed value, so one LIKE per column finds its rows.
func (t *tx) DataKeyInUse(id int64) (bool, error) {
	p := storeseal.InUsePattern(id)
	var n int
	err := t.queryRow(`SELECT
		(SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE body LIKE ? ESCAPE '!' OR card LIKE ? ESCAPE '!' OR data LIKE ? ESCAPE '!' LIMIT 1) a) +
		(SELECT COUNT(*) FROM (SELECT 1 FROM message_edits WHERE body LIKE ? ESCAPE '!' LIMIT 1) b) +
		(SELECT COUNT(*) FROM (SELECT 1 FROM two_factor WHERE secret LIKE ? ESCAPE '!' LIMIT 1) c) +
		(SELECT COUNT(*) FROM (SELECT 1 FROM channels WHERE access_token LIKE ? ESCAPE '!' OR app_secret LIKE ? ESCAPE '!'
			OR verify_token LIKE ? ESCAPE '!' LIMIT 1) d) +
		(SELECT COUNT(*) FROM (SELECT 1 FROM reports WHERE detail LIKE ? ESCAPE '!' LIMIT 1) e)`, p, p, p, p, p, p, p, p, p).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("data key in use: %w", err)
	}
	return n > 0, nil
}

// ResealMessages implements parley.KeyTx.
func (t *tx) ResealMessages(afterPos int64, limit int) (int64, int, error) {
	k := t.db.seal.Get()
	rows, err := t.query(`SELECT id, pos, body, card, data,
		deleted_at IS NULL AND kind <> 'system' AND body <> '' AND search IS NULL
		FROM messages WHERE pos > ? ORDER BY pos LIMIT ?`, afterPos, limit)
	if err != nil {
		return 0, 0, fmt.Errorf("reseal messages: %w", err)
	}
	type row struct {
		id               string
		pos              int64
		body, card, data string
		unindexed        bool // live text missing from the search index
	}
	var batch []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.pos, &r.body, &r.card, &r.data, &r.unindexed); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("reseal messages: %w", err)
		}
		batch = append(batch, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("reseal messages: %w", err)
	}
	if len(batch) == 0 {
		return 0, 0, nil
	}
	last, n := batch[len(batch)-1].pos, 0
	if k == nil {
		return last, 0, nil
	}
	for _, r := range batch {
		edits, err := t.MessageEdits(r.id)
		if err != nil {
			return 0, 0, err
		}
		editsCurrent := true
		for _, e := range edits {
			editsCurrent = editsCurrent && storeseal.Current(k, e.Text)
		}
		current := storeseal.Current(k, r.body) && storeseal.Current(k, r.card) && storeseal.Current(k, r.data) && editsCurrent
		if current && !(r.unindexed && sealed.IsSealedText(r.body)) {
			continue
		}
		m := &parley.Message{ID: r.id, Text: r.body, Card: r.card, Data: r.data}
		if err := storeseal.OpenMessage(k, m); err != nil {
			return 0, 0, err
		}
		if r.unindexed && sealed.IsSealedText(r.body) {
			// A sealed body the index lacks (copied in by migrate-data):
			// index its plaintext.
			if _, err := t.exec(`UPDATE messages SET search = `+searchVector+` WHERE id = ?`, sealedFlag(r.body), m.Text, r.id); err != nil {
				return 0, 0, fmt.Errorf("reindex message: %w", err)
			}
		}
		if current {
			continue
		}
		sc, err := storeseal.SealMessage(k, m)
		if err != nil {
			return 0, 0, err
		}
		// The search index keeps its words: the text is the same.
		if _, err := t.exec(`UPDATE messages SET body = ?, card = ?, data = ? WHERE id = ?`, sc.Body, sc.Card, sc.Data, r.id); err != nil {
			return 0, 0, fmt.Errorf("reseal message: %w", err)
		}
		if _, err := t.exec(`DELETE FROM message_edits WHERE message_id = ?`, r.id); err != nil {
			return 0, 0, fmt.Errorf("reseal message edits: %w", err)
		}
		for _, e := range edits { // plaintext now (MessageEdits opened them)
			body, err := storeseal.SealEdit(k, e)
			if err != nil {
				return 0, 0, err
			}
			if _, err := t.exec(`INSERT INTO message_edits (message_id, body, edited_at) VALUES (?, ?, ?)`, e.MessageID, body, toNanos(e.EditedAt)); err != nil {
				return 0, 0, fmt.Errorf("reseal message edits: %w", err)
			}
		}
		n++
	}
	return last, n, nil
}
