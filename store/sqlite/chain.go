package sqlite

import (
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// chainHead is the last entry of a conversation's chain, as the committer
// cache keeps it: a send then appends its entry with one INSERT.
type chainHead struct {
	index int64
	hash  string
}

// ChainHead implements parley.ChainTx.
func (t *tx) ChainHead(conversationID string) (int64, string, error) {
	if wc := t.cache(); wc != nil {
		if h, ok := wc.heads[conversationID]; ok {
			return h.index, h.hash, nil
		}
	}
	// The cache forgot it (it was full): the entries still due may hold
	// the head, so they go first.
	if err := t.flushChain(); err != nil {
		return 0, "", err
	}
	var idx int64
	var hash []byte
	err := t.queryRow(`SELECT idx, hash FROM chain_entries WHERE conversation_id = ? ORDER BY idx DESC LIMIT 1`, conversationID).Scan(&idx, &hash)
	if err == sql.ErrNoRows {
		idx, hash = 0, nil
	} else if err != nil {
		return 0, "", fmt.Errorf("chain head: %w", err)
	}
	h := chainHead{idx, hexOrEmpty(hash)}
	if wc := t.cache(); wc != nil {
		if wc.full() {
			wc.reset()
		}
		wc.heads[conversationID] = h
	}
	return h.index, h.hash, nil
}

// ChainHeads implements parley.ChainTx: the heads the cache lacks in one
// statement, each through the key index's last entry of its conversation.
func (t *tx) ChainHeads(conversationIDs []string) (map[string]parley.ChainHead, error) {
	out := make(map[string]parley.ChainHead, len(conversationIDs))
	wc := t.cache()
	var missing []string
	for _, id := range conversationIDs {
		if wc != nil {
			if h, ok := wc.heads[id]; ok {
				out[id] = parley.ChainHead{Index: h.index, Hash: h.hash}
				continue
			}
		}
		missing = append(missing, id)
	}
	if len(missing) == 0 {
		return out, nil
	}
	// As in ChainHead: the entries still due may hold some heads.
	if err := t.flushChain(); err != nil {
		return nil, err
	}
	rows, err := t.query(`SELECT e.conversation_id, e.idx, e.hash FROM json_each(?) j
		JOIN chain_entries e ON e.rowid = (SELECT rowid FROM chain_entries
			WHERE conversation_id = j.value ORDER BY idx DESC LIMIT 1)`, idList(missing))
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
			if wc.full() {
				wc.reset()
			}
			wc.heads[id] = chainHead{h.Index, h.Hash}
		}
	}
	return out, nil
}

// AppendChainEntry implements parley.ChainTx. In a write transaction
// the entry is due, not written: flush writes the entries of the whole
// group-commit batch in one INSERT (AppendChainEntries), at its end, or at
// the end of each update when the batch runs with savepoints, so a taken
// index fails the update it belongs to. A send's own INSERT of its entry
// was one of its three statements. Nothing in the store reads
// chain_entries in a write transaction without flushing them first
// (ChainHead, ChainEntries), and nothing updates or deletes them.
func (t *tx) AppendChainEntry(e *parley.ChainEntry) error {
	if _, _, _, err := e.Digests(); err != nil {
		return err
	}
	if !t.write {
		return parley.Errorf(parley.EInvalid, "chain entry appended in a read transaction")
	}
	t.chainDue = append(t.chainDue, e)
	if wc := t.cache(); wc != nil {
		if wc.full() {
			wc.reset()
		}
		wc.heads[e.ConversationID] = chainHead{e.Index, e.Hash}
	}
	return nil
}

// flushChain writes the chain entries that are due, in statements of
// chainChunks rows (prepared once and cached; a statement of the batch's
// own row count would be parsed anew for every batch: a third of the
// INSERT's CPU in profiles).
func (t *tx) flushChain() error {
	if len(t.chainDue) == 0 {
		return nil
	}
	due := t.chainDue
	rest := due
	for _, n := range chainChunks {
		for len(rest) >= n {
			if err := t.insertChain(rest[:n]); err != nil {
				// They stay due, so that the transaction cannot commit
				// without them even if the update that asked for the head
				// drops the error: the end of the batch (or of the update)
				// fails again, and its rollback drops them (dropDue).
				if wc := t.cache(); wc != nil {
					for _, e := range due {
						delete(wc.heads, e.ConversationID)
					}
				}
				return err
			}
			rest = rest[n:]
		}
	}
	clear(due)
	t.chainDue = due[:0]
	return nil
}

// chainChunks are the row counts of flushChain's statements, largest
// first; the last must be 1.
var chainChunks = []int{64, 16, 4, 1}

// chainInserts holds the INSERT of each of chainChunks' row counts.
var chainInserts = func() map[int]string {
	m := map[int]string{}
	for _, n := range chainChunks {
		var q strings.Builder
		// OR FAIL, as in AppendChainEntries: a taken index abandons the
		// batch (or, with savepoints, the update), so no statement
		// journal is needed.
		q.WriteString(`INSERT OR FAIL INTO chain_entries (conversation_id, idx, kind, message_id, seq, actor_id, subject_id, at, content, prev, hash) VALUES `)
		for i := range n {
			if i > 0 {
				q.WriteString(`, `)
			}
			q.WriteString(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		}
		m[n] = q.String()
	}
	return m
}()

// insertChain inserts es, whose count is one of chainChunks.
func (t *tx) insertChain(es []*parley.ChainEntry) error {
	args := make([]any, 0, len(es)*11)
	for _, e := range es {
		content, prev, hash, err := e.Digests()
		if err != nil {
			return err
		}
		args = append(args, e.ConversationID, e.Index, e.Kind, e.MessageID, e.Seq, e.ActorID, e.SubjectID,
			toNanos(e.At), nullBytes(content), prev, hash)
	}
	_, err := t.exec(chainInserts[len(es)], args...)
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "a chain entry exists (index taken)")
	} else if err != nil {
		return fmt.Errorf("append chain entries: %w", err)
	}
	return nil
}

// ChainEntries implements parley.ChainTx.
func (t *tx) ChainEntries(conversationID string, afterIndex int64, limit int) ([]*parley.ChainEntry, error) {
	if limit <= 0 {
		limit = 1000
	}
	if err := t.flushChain(); err != nil {
		return nil, err
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
