package postgres

import (
	"encoding/json"
	"fmt"

	"github.com/parleyhq/parley"
)

// lastMessages finds the newest message of each [conversation, lo, hi]
// of a JSON list, one index walk each.
const lastMessages = `SELECT ` + messageColsM + ` FROM json_array_elements(?::json) AS j(v)
	CROSS JOIN LATERAL (SELECT ` + messageCols + ` FROM messages WHERE conversation_id = j.v ->> 0
	    AND seq BETWEEN (j.v ->> 1)::bigint AND (j.v ->> 2)::bigint ORDER BY seq DESC LIMIT 1) AS m`

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
