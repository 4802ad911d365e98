package client

import (
	"context"
	"net/http"
	"time"
)

// TopicInput creates or changes a consent topic; empty fields are left
// as they are on update.
type TopicInput struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// Keyword: a customer's whole message equal to it opts them in.
	Keyword string `json:"keyword,omitempty"`
	// RotateForm replaces the opt-in link's secret (update only).
	RotateForm bool `json:"rotate_form,omitempty"`
}

// Topic is a subject customers consent to hear about.
type Topic struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Keyword     string `json:"keyword"`
	// FormToken is the secret of the shareable opt-in link at FormPath.
	FormToken string `json:"form_token"`
	FormPath  string `json:"form_path"`
	// Payload is the quick-reply or postback payload that opts in.
	Payload   string    `json:"payload"`
	CreatedAt time.Time `json:"created_at"`
}

// Topics lists the business's consent topics.
func (b *Business) Topics(ctx context.Context) ([]Topic, error) {
	var out Page[Topic]
	_, err := b.c.call(ctx, http.MethodGet, b.path("/topics"), nil, nil, &out)
	return out.Items, err
}

// CreateTopic creates a consent topic (business admins).
func (b *Business) CreateTopic(ctx context.Context, in TopicInput) (*Topic, error) {
	var out Topic
	_, err := b.c.call(ctx, http.MethodPost, b.path("/topics"), nil, in, &out)
	return ret(&out, err)
}

// UpdateTopic changes a consent topic (business admins).
func (b *Business) UpdateTopic(ctx context.Context, id string, in TopicInput) (*Topic, error) {
	var out Topic
	_, err := b.c.call(ctx, http.MethodPatch, b.path("/topics/"+esc(id)), nil, in, &out)
	return ret(&out, err)
}

// DeleteTopic deletes a consent topic (business admins).
func (b *Business) DeleteTopic(ctx context.Context, id string) error {
	return b.c.Do(ctx, http.MethodDelete, b.path("/topics/"+esc(id)), nil, nil)
}
