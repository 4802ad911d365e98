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
// keys name; nothing when keys drop the whole cache anyway.
func (c *writeCache) refreshTargets(keys []string) refreshSet {
	var r refreshSet
	seen := map[string]bool{}
	for _, k := range keys {
		id, ok := strings.CutPrefix(k, "c:")
		if !ok {
			if strings.HasPrefix(k, "b:") {
				continue
			}
			return refreshSet{} // "*" or a key of a newer build: a reset
		}
		if seen[id] {
			continue
		}
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
		for u := range c.byConv[id] {
			if _, ok := c.members[memberKey{id, u}]; ok {
				r.members = append(r.members, memberKey{id, u})
			}
		}
	}
	return r
}

// refreshConvs is the read of a refresh: per conversation its row, its
// chain head (0 and no hash without entries, as ChainHead reads it) and
// whether it has an inbox item.
const refreshConvs = `SELECT ` + convColsC + `, COALESCE(h.idx, 0), h.hash,
		EXISTS (SELECT 1 FROM inbox_items i WHERE i.conversation_id = c.id)
	FROM conversations c
	LEFT JOIN LATERAL (SELECT idx, hash FROM chain_entries e WHERE e.conversation_id = c.id
		ORDER BY idx DESC LIMIT 1) h ON true
	WHERE c.id = ANY($1::text[])`

// refresh reads again, under the positions lock at the start of a batch,
// the entries of r that invalidate has just dropped, and puts back those
// that still exist: two statements whatever their number. The rows are
// read as the misses would have read them at that point (nothing of the
// batch is written yet, and no other node writes until this batch
// commits), so the cache stays exact.
func (db *DB) refresh(ctx context.Context, stx *sql.Tx, r refreshSet) (int, error) {
	n := 0
	if ids := union(r.convs, r.chain, r.noInbox); len(ids) > 0 {
		want := func(list []string) map[string]bool {
			m := make(map[string]bool, len(list))
			for _, id := range list {
				m[id] = true
			}
			return m
		}
		wantConv, wantChain, wantNoInbox := want(r.convs), want(r.chain), want(r.noInbox)
		rows, err := stx.QueryContext(ctx, refreshConvs, ids)
		if err != nil {
			return 0, fmt.Errorf("refresh conversations: %w", err)
		}
		for rows.Next() {
			var c parley.Conversation
			var created, activity, idx int64
			var key sql.NullString
			var hash []byte
			var inbox bool
			if err := rows.Scan(append(scanConvDest(&c, &created, &activity, &key), &idx, &hash, &inbox)...); err != nil {
				rows.Close()
				return 0, fmt.Errorf("refresh conversations: %w", err)
			}
			c.CreatedAt, c.LastActivityAt, c.DirectKey = fromNanos(created), fromNanos(activity), key.String
			if wantConv[c.ID] {
				db.cache.putConv(&c)
				n++
			}
			if wantChain[c.ID] {
				db.cache.putChain(c.ID, chainHead{idx, hexOrEmpty(hash)})
				n++
			}
			if wantNoInbox[c.ID] && !inbox {
				db.cache.putNoInbox(c.ID)
				n++
			}
		}
		if err := rows.Close(); err != nil {
			return 0, fmt.Errorf("refresh conversations: %w", err)
		}
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("refresh conversations: %w", err)
		}
	}
	if len(r.members) > 0 {
		convs := make([]string, len(r.members))
		users := make([]string, len(r.members))
		for i, k := range r.members {
			convs[i], users[i] = k.conv, k.user
		}
		rows, err := stx.QueryContext(ctx, `SELECT `+memberColsM+` FROM members m
			JOIN unnest($1::text[], $2::text[]) AS k(conv, usr) ON m.conversation_id = k.conv AND m.user_id = k.usr`, convs, users)
		if err != nil {
			return 0, fmt.Errorf("refresh members: %w", err)
		}
		for rows.Next() {
			m, err := scanMember(rows)
			if err != nil {
				rows.Close()
				return 0, fmt.Errorf("refresh members: %w", err)
			}
			db.cache.putMember(m)
			n++
		}
		if err := rows.Close(); err != nil {
			return 0, fmt.Errorf("refresh members: %w", err)
		}
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("refresh members: %w", err)
		}
	}
	return n, nil
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
