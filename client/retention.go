package client

import (
	"context"
	"net/http"
	"time"
)

// Disappearing-message timers accepted by SetDisappearing.
const (
	DisappearOff     = 0
	Disappear5Min    = 5 * time.Minute
	Disappear1Hour   = time.Hour
	Disappear24Hours = 24 * time.Hour
	Disappear7Days   = 7 * 24 * time.Hour
	Disappear90Days  = 90 * 24 * time.Hour
)

// SetDisappearing sets the conversation's disappearing-message timer
// (one of the Disappear… values; 0 turns it off) and returns the
// conversation.
func (c *Client) SetDisappearing(ctx context.Context, id string, after time.Duration) (*Conversation, error) {
	return c.conversationCall(ctx, http.MethodPut, id, "/disappearing", map[string]int64{"disappear_after": int64(after / time.Second)})
}
