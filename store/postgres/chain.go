package postgres

import (
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// ChainHead implements parley.ChainTx. In a write transaction it locks
// the conversation's row first: nodes that append to one chain at once
// then take turns. The committer's cache answers without a statement
// when this node appended to or read the chain since its cache was last
// valid: the positions lock then already keeps every other writer out.
func (t *tx) ChainHead(conversationID string) (int64, string, error) {
	wc := t.cache()
	if wc != nil {
		if h, ok := wc.chain[conversationID]; ok {
			return h.idx, h.hash, nil
		}
	}
	if t.write {
		var one int
		if err := t.queryRow(`SELECT 1 FROM conversations WHERE id = ? FOR UPDATE`, conversationID).Scan(&one); err != nil && err != sql.ErrNoRows {
			return 0, "", fmt.Errorf("lock chain: %w", err)
		}
	}
	var idx int64
	var hash []byte
	err := t.queryRow(`SELECT idx, hash FROM chain_entries WHERE conversation_id = ? ORDER BY idx DESC LIMIT 1`, conversationID).Scan(&idx, &hash)
	if err != nil && err != sql.ErrNoRows {
		return 0, "", fmt.Errorf("chain head: %w", err)
	}
	if wc != nil {
		wc.putChain(conversationID, chainHead{idx, hexOrEmpty(hash)})
	}
	return idx, hexOrEmpty(hash), nil
}

// ChainHeads implements parley.ChainTx: what the cache lacks in one
// statement per step, the rows locked in id order (as ChainHead locks
// its one) and then each chain's last entry.
func (t *tx) ChainHeads(conversationIDs []string) (map[string]parley.ChainHead, error) {
	out := make(map[string]parley.ChainHead, len(conversationIDs))
	wc := t.cache()
	var missing []string
	for _, id := range conversationIDs {
		if wc != nil {
			if h, ok := wc.chain[id]; ok {
				out[id] = parley.ChainHead{Index: h.idx, Hash: h.hash}
				continue
			}
		}
		missing = append(missing, id)
	}
	if len(missing) == 0 {
		return out, nil
	}
	list := idList(missing)
	if t.write {
		if _, err := t.exec(`SELECT 1 FROM conversations WHERE id IN (SELECT json_array_elements_text(?::json))
			ORDER BY id FOR UPDATE`, list); err != nil {
			return nil, fmt.Errorf("lock chains: %w", err)
		}
	}
	rows, err := t.query(`SELECT j.id, e.idx, e.hash FROM json_array_elements_text(?::json) AS j(id)
		CROSS JOIN LATERAL (SELECT idx, hash FROM chain_entries WHERE conversation_id = j.id
			ORDER BY idx DESC LIMIT 1) e`, list)
	if err != nil {
		return nil, fmt.Errorf("chain heads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var h parley.ChainHead
		var hash []byte
		if err := rows.Scan(&id, &h.Index, &hash); err != nil {
			return nil, fmt.Errorf("chain heads: %w", err)
		}
		h.Hash = hexOrEmpty(hash)
		out[id] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chain heads: %w", err)
	}
	for _, id := range missing {
		h := out[id] // the zero head when the conversation has no entry
		out[id] = h
		if wc != nil {
			wc.putChain(id, chainHead{h.Index, h.Hash})
		}
	}
	return out, nil
}

// AppendChainEntry implements parley.ChainTx. In a write transaction the
// row is written later, with every other entry appended meanwhile, in one
// multi-row INSERT (see tx.flush): a batch of sends costs one statement
// for its chain entries. A taken index then fails the update at that
// point, before its savepoint is released.
func (t *tx) AppendChainEntry(e *parley.ChainEntry) error {
	content, prev, hash, err := e.Digests()
	if err != nil {
		return err
	}
	t.touchConvRow(e.ConversationID)
	row := chainRow{e.ConversationID, e.Index, e.Kind, e.MessageID, e.Seq, e.ActorID, e.SubjectID, toNanos(e.At), nullBytes(content), prev, hash}
	if wc := t.cache(); wc != nil {
		t.chains = append(t.chains, row)
		wc.putChain(e.ConversationID, chainHead{e.Index, hexOrEmpty(hash)})
		return nil
	}
	return t.insertChain([]chainRow{row})
}

// chainRow is one chain_entries row waiting to be written.
type chainRow struct {
	conv    string
	idx     int64
	kind    string
	msg     string
	seq     int64
	actor   string
	subject string
	at      int64
	content any // []byte or nil
	prev    []byte
	hash    []byte
}

// chainInsert returns the INSERT of rows as a data-modifying WITH item
// (", ch AS (…)"; empty without rows) whose parameters are numbered from
// first, and its arguments.
func chainInsert(rows []chainRow, first int) (string, []any) {
	if len(rows) == 0 {
		return "", nil
	}
	cols := make([][]any, 11)
	for _, r := range rows {
		for i, v := range []any{r.conv, r.idx, r.kind, r.msg, r.seq, r.actor, r.subject, r.at, r.content, r.prev, r.hash} {
			cols[i] = append(cols[i], v)
		}
	}
	types := []string{"text", "bigint", "text", "text", "bigint", "text", "text", "bigint", "bytea", "bytea", "bytea"}
	params := make([]string, len(types))
	for i, ty := range types {
		params[i] = fmt.Sprintf("$%d::%s[]", first+i, ty)
	}
	return `, ch AS (INSERT INTO chain_entries (conversation_id, idx, kind, message_id, seq, actor_id, subject_id, at, content, prev, hash)
		SELECT * FROM unnest(` + strings.Join(params, ", ") + `))`,
		[]any{textArr(cols[0]), intArr(cols[1]), textArr(cols[2]), textArr(cols[3]), intArr(cols[4]), textArr(cols[5]), textArr(cols[6]),
			intArr(cols[7]), bytesArr(cols[8]), bytesArr(cols[9]), bytesArr(cols[10])}
}

// insertChain writes chain entries in one statement.
func (t *tx) insertChain(rows []chainRow) error {
	ch, args := chainInsert(rows, 1)
	t.wrote = true
	_, err := t.sqlTx.ExecContext(t.ctx, `WITH x AS (SELECT 1)`+ch+` SELECT 1`, args...)
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "chain entry %d of conversation %s exists", rows[0].idx, rows[0].conv)
	} else if err != nil {
		return fmt.Errorf("append chain entry: %w", err)
	}
	return nil
}

func textArr(v []any) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = x.(string)
	}
	return out
}

func intArr(v []any) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = x.(int64)
	}
	return out
}

func bytesArr(v []any) [][]byte {
	out := make([][]byte, len(v))
	for i, x := range v {
		if b, ok := x.([]byte); ok {
			out[i] = b
		}
	}
	return out
}

// ChainEntries implements parley.ChainTx.
func (t *tx) ChainEntries(conversationID string, afterIndex int64, limit int) ([]*parley.ChainEntry, error) {
	if limit <= 0 {
		limit = 1000
	}
	return queryAll(t, "list chain entries", func(s scanner) (*parley.ChainEntry, error) {
		e := &parley.ChainEntry{}
		var at int64
		var content, prev, hash []byte
		if err := s.Scan(&e.ConversationID, &e.Index, &e.Kind, &e.MessageID, &e.Seq, &e.ActorID, &e.SubjectID, &at, &content, &prev, &hash); err != nil {
			return nil, err
		}
		e.At = fromNanos(at)
		e.ContentHash, e.PrevHash, e.Hash = hexOrEmpty(content), hexOrEmpty(prev), hexOrEmpty(hash)
		return e, nil
	}, `SELECT conversation_id, idx, kind, message_id, seq, actor_id, subject_id, at, content, prev, hash
		FROM chain_entries WHERE conversation_id = ? AND idx > ? ORDER BY idx LIMIT ?`, conversationID, afterIndex, limit)
}

func hexOrEmpty(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return hex.EncodeToString(b)
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// exportJobCols are the columns scanExportJob reads.
const exportJobCols = `id, owner_id, scope, conversation_id, business_id, state, done, total, error, file, size,
	created_at, finished_at, expires_at, lease_until`

func scanExportJob(s scanner) (*parley.ExportJob, error) {
	j := &parley.ExportJob{}
	var created, finished, expires, lease int64
	if err := s.Scan(&j.ID, &j.OwnerID, &j.Scope, &j.ConversationID, &j.BusinessID, &j.State, &j.Done, &j.Total, &j.Error,
		&j.File, &j.Size, &created, &finished, &expires, &lease); err != nil {
		return nil, err
	}
	j.CreatedAt, j.FinishedAt, j.ExpiresAt, j.LeaseUntil = fromNanos(created), fromNanos(finished), fromNanos(expires), fromNanos(lease)
	return j, nil
}

// CreateExportJob implements parley.ExportTx.
func (t *tx) CreateExportJob(j *parley.ExportJob) error {
	_, err := t.exec(`INSERT INTO export_jobs (`+exportJobCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		j.ID, j.OwnerID, j.Scope, j.ConversationID, j.BusinessID, j.State, j.Done, j.Total, j.Error,
		j.File, j.Size, toNanos(j.CreatedAt), toNanos(j.FinishedAt), toNanos(j.ExpiresAt), toNanos(j.LeaseUntil))
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "export job %s exists", j.ID)
	} else if err != nil {
		return fmt.Errorf("create export job: %w", err)
	}
	return nil
}

// ExportJobByID implements parley.ExportTx.
func (t *tx) ExportJobByID(id string) (*parley.ExportJob, error) {
	j, err := scanExportJob(t.queryRow(`SELECT `+exportJobCols+` FROM export_jobs WHERE id = ?`, id))
	if err != nil {
		return nil, rowErr(err, "export")
	}
	return j, nil
}

// UpdateExportJob implements parley.ExportTx.
func (t *tx) UpdateExportJob(j *parley.ExportJob) error {
	res, err := t.exec(`UPDATE export_jobs SET state = ?, done = ?, total = ?, error = ?, file = ?, size = ?,
		finished_at = ?, expires_at = ?, lease_until = ? WHERE id = ?`, j.State, j.Done, j.Total, j.Error, j.File, j.Size,
		toNanos(j.FinishedAt), toNanos(j.ExpiresAt), toNanos(j.LeaseUntil), j.ID)
	if err != nil {
		return fmt.Errorf("update export job: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("export")
	}
	return nil
}

// ExportJobs implements parley.ExportTx.
func (t *tx) ExportJobs(ownerID string, limit int) ([]*parley.ExportJob, error) {
	if limit <= 0 {
		limit = 50
	}
	return queryAll(t, "list export jobs", scanExportJob, `SELECT `+exportJobCols+` FROM export_jobs WHERE owner_id = ?
		ORDER BY created_at DESC, id DESC LIMIT ?`, ownerID, limit)
}

// ExportJobsExpiredBefore implements parley.ExportTx.
func (t *tx) ExportJobsExpiredBefore(before time.Time, unfinished bool, limit int) ([]*parley.ExportJob, error) {
	if limit <= 0 {
		limit = 100
	}
	return queryAll(t, "list expired export jobs", scanExportJob, `SELECT `+exportJobCols+` FROM export_jobs
		WHERE (expires_at > 0 AND expires_at < ?) OR (? = 1 AND state IN ('queued', 'running') AND lease_until < ?)
		ORDER BY created_at LIMIT ?`, toNanos(before), boolInt(unfinished), toNanos(before), limit)
}

// RenewExportLease implements parley.ExportTx.
func (t *tx) RenewExportLease(id string, until time.Time) error {
	res, err := t.exec(`UPDATE export_jobs SET lease_until = ? WHERE id = ? AND state IN ('queued', 'running')`, toNanos(until), id)
	if err != nil {
		return fmt.Errorf("renew export lease: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("export")
	}
	return nil
}

// DeleteExportJob implements parley.ExportTx.
func (t *tx) DeleteExportJob(id string) error {
	res, err := t.exec(`DELETE FROM export_jobs WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete export job: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("export")
	}
	return nil
}

// Memberships implements parley.ExportTx.
func (t *tx) Memberships(userID string) ([]*parley.Member, error) {
	return queryAll(t, "list memberships", scanMember, `SELECT `+memberCols+` FROM members WHERE user_id = ?
		ORDER BY joined_at, conversation_id`, userID)
}
