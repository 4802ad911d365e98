package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/parleyhq/parley"
)

// refreshSet names the cache entries of conversations that another node
// changed and that this node had cached: catchUp reads them again, all
// at once, instead of dropping them and letting each update of the batch
// read what it misses one statement at a time. Two nodes that both write
// into the same conversations (the two members of a direct conversation
// on different nodes) otherwise pay four to six round trips per send, and
// they are paid under the positions lock, which every node's batch waits
// for.
type refreshSet struct {
	convs   []string // conversation rows
	chain   []string // chain heads
	noInbox []string // conversations known to have no inbox item
	members []memberKey
}

func (r *refreshSet) empty() bool {
	return len(r.convs)+len(r.chain)+len(r.noInbox)+len(r.members) == 0
}

// refreshTargets returns what the cache holds of the conversations that
// keys name: for a "c:" key the conversation's row, chain head, inbox
// item and members, for an "s:" key all but the members; nothing when
// keys drop the whole cache anyway.
func (c *writeCache) refreshTargets(keys []string) refreshSet {
	var r refreshSet
	seen := map[string]bool{}
	seenMembers := map[string]bool{}
	for _, k := range keys {
		id, ok := strings.CutPrefix(k, "c:")
		withMembers := ok
		if !ok {
			if id, ok = strings.CutPrefix(k, "s:"); !ok {
				if strings.HasPrefix(k, "b:") {
					continue
				}
				return refreshSet{} // "*" or a key of a newer build: a reset
			}
		}
		if !seen[id] {
			seen[id] = true
			if _, ok := c.convs[id]; ok {
				r.convs = append(r.convs, id)
			}
			if _, ok := c.chain[id]; ok {
				r.chain = append(r.chain, id)
			}
			if c.noInbox[id] {
				r.noInbox = append(r.noInbox, id)
			}
		}
		if withMembers && !seenMembers[id] {
			seenMembers[id] = true
			for u := range c.byConv[id] {
				if _, ok := c.members[memberKey{id, u}]; ok {
					r.members = append(r.members, memberKey{id, u})
				}
			}
		}
	}
	return r
}

// refreshSelect reads, per conversation, its row, its chain head (0 and
// no hash without entries, as ChainHead reads it) and whether it has an
// inbox item; refreshConvs and refreshChanged say which conversations.
// list_from_conversation is an integer column read as a bool: pgx's own
// rows (lockAndRead) scan only a boolean into a bool.
var refreshSelect = `SELECT ` + strings.Replace(convColsC, "c.list_from_conversation", "c.list_from_conversation <> 0", 1) + `, COALESCE(h.idx, 0), h.hash,
		EXISTS (SELECT 1 FROM inbox_items i WHERE i.conversation_id = c.id)
	FROM conversations c
	LEFT JOIN LATERAL (SELECT idx, hash FROM chain_entries e WHERE e.conversation_id = c.id
		ORDER BY idx DESC LIMIT 1) h ON true`

// refreshConvs is the read of a refresh of the conversations $1.
var refreshConvs = refreshSelect + ` WHERE c.id = ANY($1::text[])`

// refreshChanged reads the conversations that other nodes' batches since
// gen $1 changed (cache_changes, as catchUpQuery), at most $3 of them:
// lockAndRead sends it with the lock, so that a batch after another
// node's sends into conversations this node also serves finds their new
// rows and chain heads in the round trip it pays anyway, rather than in
// another one under the lock. Nothing when $1 is -1 (no cache to
// refresh) or the ring no longer holds every gen since.
var refreshChanged = refreshSelect + ` WHERE c.id IN (SELECT substr(k, 3) FROM write_gen w, cache_changes ch, unnest(ch.keys) k
		WHERE $1 >= 0 AND ch.gen > $1 AND ch.gen <= w.last_value AND w.last_value - $1 < $2
			AND (k LIKE 'c:%' OR k LIKE 's:%'))
	LIMIT $3`

// refreshPipelined is refreshChanged's limit, which bounds what a batch
// reads under the lock for conversations it may not have cached (another
// node's campaign changes a thousand at once): past it, those this node
// had cached and the rows did not hold are read by refresh.
const refreshPipelined = 32

// without returns r less the conversation rows, chain heads and inbox
// marks of the conversations in rows (put back already); members stay.
func (r refreshSet) without(rows []refreshedConv) refreshSet {
	have := make(map[string]bool, len(rows))
	for i := range rows {
		have[rows[i].conv.ID] = true
	}
	keep := func(ids []string) []string {
		var out []string
		for _, id := range ids {
			if !have[id] {
				out = append(out, id)
			}
		}
		return out
	}
	return refreshSet{convs: keep(r.convs), chain: keep(r.chain), noInbox: keep(r.noInbox), members: r.members}
}

// refreshedConv is one row of refreshSelect.
type refreshedConv struct {
	conv  parley.Conversation
	head  chainHead
	inbox bool
}

// scanRefreshed scans a row of refreshSelect.
func scanRefreshed(scan func(dest ...any) error) (refreshedConv, error) {
	var r refreshedConv
	var created, activity int64
	var key sql.NullString
	var hash []byte
	if err := scan(append(scanConvDest(&r.conv, &created, &activity, &key), &r.head.idx, &hash, &r.inbox)...); err != nil {
		return r, err
	}
	r.conv.CreatedAt, r.conv.LastActivityAt, r.conv.DirectKey = fromNanos(created), fromNanos(activity), key.String
	r.head.hash = hexOrEmpty(hash)
	return r, nil
}

// putRefreshed puts back, of the rows read, the entries r names, and
// returns how many.
func (db *DB) putRefreshed(rows []refreshedConv, r refreshSet) int {
	want := func(list []string) map[string]bool {
		m := make(map[string]bool, len(list))
		for _, id := range list {
			m[id] = true
		}
		return m
	}
	wantConv, wantChain, wantNoInbox := want(r.convs), want(r.chain), want(r.noInbox)
	n := 0
	for i := range rows {
		row := &rows[i]
		id := row.conv.ID
		if wantConv[id] {
			db.cache.putConv(&row.conv)
			n++
		}
		if wantChain[id] {
			db.cache.putChain(id, row.head)
			n++
		}
		if wantNoInbox[id] && !row.inbox {
			db.cache.putNoInbox(id)
			n++
		}
	}
	return n
}

// refresh reads again, under the positions lock at the start of a batch,
// the entries of r that invalidate has just dropped, and puts back those
// that still exist: at most two statements whatever their number (it
// returns the entries put back and the statements run). The rows are
// read as the misses would have read them at that point (nothing of the
// batch is written yet, and no other node writes until this batch
// commits), so the cache stays exact.
func (db *DB) refresh(ctx context.Context, stx sqlRunner, r refreshSet) (n, reads int, err error) {
	if ids := union(r.convs, r.chain, r.noInbox); len(ids) > 0 {
		reads++
		rows, err := stx.QueryContext(ctx, refreshConvs, ids)
		if err != nil {
			return 0, reads, fmt.Errorf("refresh conversations: %w", err)
		}
		var got []refreshedConv
		for rows.Next() {
			row, err := scanRefreshed(rows.Scan)
			if err != nil {
				rows.Close()
				return 0, reads, fmt.Errorf("refresh conversations: %w", err)
			}
			got = append(got, row)
		}
		if err := rows.Close(); err != nil {
			return 0, reads, fmt.Errorf("refresh conversations: %w", err)
		}
		if err := rows.Err(); err != nil {
			return 0, reads, fmt.Errorf("refresh conversations: %w", err)
		}
		n += db.putRefreshed(got, r)
	}
	if len(r.members) > 0 {
		reads++
		convs := make([]string, len(r.members))
		users := make([]string, len(r.members))
		for i, k := range r.members {
			convs[i], users[i] = k.conv, k.user
		}
		rows, err := stx.QueryContext(ctx, `SELECT `+memberColsM+` FROM members m
			JOIN unnest($1::text[], $2::text[]) AS k(conv, usr) ON m.conversation_id = k.conv AND m.user_id = k.usr`, convs, users)
		if err != nil {
			return 0, reads, fmt.Errorf("refresh members: %w", err)
		}
		for rows.Next() {
			m, err := scanMember(rows)
			if err != nil {
				rows.Close()
				return 0, reads, fmt.Errorf("refresh members: %w", err)
			}
			db.cache.putMember(m)
			n++
		}
		if err := rows.Close(); err != nil {
			return 0, reads, fmt.Errorf("refresh members: %w", err)
		}
		if err := rows.Err(); err != nil {
			return 0, reads, fmt.Errorf("refresh members: %w", err)
		}
	}
	return n, reads, nil
}

// union returns the distinct strings of lists.
func union(lists ...[]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lists {
		for _, s := range l {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}
