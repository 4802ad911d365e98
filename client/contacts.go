package client

import (
	"context"
	"net/http"
)

// ContactChange changes a contact; nil fields stay as they are.
type ContactChange struct {
	Name *string `json:"name,omitempty"`
	// Attributes sets the given keys; a nil value deletes one.
	Attributes map[string]*string `json:"attributes,omitempty"`
	// Labels, when not nil, replaces the labels.
	Labels []string `json:"labels,omitempty"`
	Notes  *string  `json:"notes,omitempty"`
}

// UpdateContact changes a contact's profile.
func (b *Business) UpdateContact(ctx context.Context, id string, in ContactChange) (*Contact, error) {
	var out Contact
	_, err := b.c.call(ctx, http.MethodPatch, b.path("/contacts/"+esc(id)), nil, in, &out)
	return ret(&out, err)
}

// MergeContact merges contact id into the contact into, which stays and
// is returned.
func (b *Business) MergeContact(ctx context.Context, id, into string) (*Contact, error) {
	var out Contact
	_, err := b.c.call(ctx, http.MethodPost, b.path("/contacts/"+esc(id)+"/merge"), nil, map[string]string{"into": into}, &out)
	return ret(&out, err)
}
