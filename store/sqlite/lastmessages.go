package sqlite

import (
	"encoding/json"
	"fmt"

	"github.com/parleyhq/parley"
)

// lastMessages finds the newest message of each [conversation, lo, hi]
// of a JSON list: a walk down the (conversation_id, seq) index from hi,
// then the row by its rowid.
const lastMessages = `SELECT ` + messageColsM + ` FROM json_each(?1) j
	JOIN messages m ON m.pos = (SELECT x.pos FROM messages x WHERE x.conversation_id = j.value ->> 0
	    AND x.seq BETWEEN j.value ->> 1 AND j.value ->> 2 ORDER BY x.seq DESC LIMIT 1)`

// LastMessages implements parley.MessageTx.
func (t *tx) LastMessages(ranges []parley.MessageRange) (map[string]*parley.Message, error) {
	out := make(map[string]*parley.Message, len(ranges))
	list := make([][3]any, 0, len(ranges))
	for _, r := range ranges {
		if r.MinSeq <= r.MaxSeq {
			list = append(list, [3]any{r.ConversationID, r.MinSeq, r.MaxSeq})
		}
	}
	if len(list) == 0 {
		return out, nil
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, fmt.Errorf("last messages: %w", err)
	}
	ms, err := t.scanMessages(lastMessages, string(b))
	if err != nil {
		return nil, fmt.Errorf("last messages: %w", err)
	}
	for _, m := range ms {
		out[m.ConversationID] = m
	}
	return out, nil
}
