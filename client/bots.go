package client

import (
	"context"
	"net/http"
)

// Bots are accounts of kind bot that a person or a business owns. They
// have no password and act only through API tokens their owner makes; a
// business's bot joins its team and answers customers through the
// Business routes while it holds a conversation. Managing bots needs a
// signed-in device of the owner, not an API token.

// CreateBot creates a bot owned by the caller.
func (c *Client) CreateBot(ctx context.Context, in BotRequest) (*Bot, error) {
	var out Bot
	_, err := c.call(ctx, http.MethodPost, "/bots", nil, in, &out)
	return ret(&out, err)
}

// Bots lists the caller's bots.
func (c *Client) Bots(ctx context.Context) ([]Bot, error) {
	var out Page[Bot]
	_, err := c.call(ctx, http.MethodGet, "/bots", nil, nil, &out)
	return out.Items, err
}

// UpdateBot changes a bot's display name or bio (Handle is ignored).
func (c *Client) UpdateBot(ctx context.Context, handle string, in BotRequest) (*Bot, error) {
	in.Handle = ""
	var out Bot
	_, err := c.call(ctx, http.MethodPatch, "/bots/"+esc(handle), nil, in, &out)
	return ret(&out, err)
}

// RetireBot revokes a bot's tokens (their streams close) and takes it off
// its business's team; its messages keep their sender.
func (c *Client) RetireBot(ctx context.Context, handle string) error {
	return c.Do(ctx, http.MethodDelete, "/bots/"+esc(handle), nil, nil)
}

// CreateBotToken makes an API token for a bot; the secret is in the
// answer's Token field, shown only this once. A business's bot answering
// customers needs the ScopeRead and ScopeBusiness scopes.
func (c *Client) CreateBotToken(ctx context.Context, handle string, in TokenRequest) (*Token, error) {
	var out Token
	_, err := c.call(ctx, http.MethodPost, "/bots/"+esc(handle)+"/tokens", nil, in, &out)
	return ret(&out, err)
}

// BotTokens lists a bot's tokens, without their secrets.
func (c *Client) BotTokens(ctx context.Context, handle string) ([]Token, error) {
	var out Page[Token]
	_, err := c.call(ctx, http.MethodGet, "/bots/"+esc(handle)+"/tokens", nil, nil, &out)
	return out.Items, err
}

// RotateBotToken replaces a bot token by a new one with the same name,
// scopes and lifetime; the old one stops working at once.
func (c *Client) RotateBotToken(ctx context.Context, handle, id string) (*Token, error) {
	var out Token
	_, err := c.call(ctx, http.MethodPost, "/bots/"+esc(handle)+"/tokens/"+esc(id)+"/rotate", nil, nil, &out)
	return ret(&out, err)
}

// RevokeBotToken revokes a bot token at once.
func (c *Client) RevokeBotToken(ctx context.Context, handle, id string) error {
	return c.Do(ctx, http.MethodDelete, "/bots/"+esc(handle)+"/tokens/"+esc(id), nil, nil)
}
