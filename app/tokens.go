package app

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// API token scopes. A signed-in device may do everything; an API token only
// what its scopes name, and never manage the account (sessions, tokens,
// password) — that needs a person at a device.
const (
	ScopeRead          = "read"                // every GET, sync and the stream
	ScopeMessages      = "messages:write"      // send, edit, unsend, react, read and typing
	ScopeConversations = "conversations:write" // start, accept, decline, file, groups
	ScopeProfile       = "profile:write"       // profile, follows, blocks, reports
	ScopeMedia         = "media:write"         // uploads
	ScopeBusiness      = "business:write"      // act in a business inbox the user works for
	ScopeWebhooks      = "webhooks:write"      // manage the account's webhooks (listing them too)
	// ScopeAccount is never granted to a token.
	ScopeAccount = "account"
)

// TokenScopes lists the scopes a token may have.
var TokenScopes = []string{ScopeRead, ScopeMessages, ScopeConversations, ScopeProfile, ScopeMedia, ScopeBusiness, ScopeWebhooks}

// Token limits.
const (
	maxTokensPerUser = 50
	maxTokenDays     = 3650
)

// Allows reports whether the actor may act within scope: devices may do
// everything, tokens what their scopes say.
func (a *Actor) Allows(scope string) bool {
	if a.Scopes == nil {
		return true
	}
	return scope != ScopeAccount && slices.Contains(a.Scopes, scope)
}

// RequireScope returns the insufficient_scope error unless the actor
// allows scope.
func (a *Actor) RequireScope(scope string) error {
	if a.Allows(scope) {
		return nil
	}
	if scope == ScopeAccount {
		return parley.Errorf(parley.EInsufficientScope, "API tokens cannot manage sessions, tokens or the password; sign in on a device")
	}
	return parley.Errorf(parley.EInsufficientScope, "this token lacks the %q scope", scope)
}

// TokenView is an API token as its owner sees it; Token is set only in
// the answer that created it.
type TokenView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt time.Time  `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	Token      string     `json:"token,omitempty"`
}

func tokenView(s *parley.Session) *TokenView {
	return &TokenView{ID: s.ID, Name: s.Name, Scopes: append([]string{}, s.Scopes...), CreatedAt: s.CreatedAt,
		LastUsedAt: s.LastUsedAt, ExpiresAt: s.ExpiresAt}
}

// TokenInput creates an API token.
type TokenInput struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	// ExpiresInDays is 0 for a token that does not expire.
	ExpiresInDays int `json:"expires_in_days"`
}

// CreateToken makes an API token for the actor. The token is shown once;
// only its hash is kept.
func (a *App) CreateToken(ctx context.Context, actor *Actor, in TokenInput) (*TokenView, error) {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return nil, err
	}
	return a.createToken(ctx, actor.User.ID, actor.User, in)
}

// createToken makes an API token for user (the actor, or a bot of
// theirs); actorID is who asks, for the audit log.
func (a *App) createToken(ctx context.Context, actorID string, user *parley.User, in TokenInput) (*TokenView, error) {
	name, err := cleanText("name", in.Name, 100, false)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" {
		return nil, parley.Invalid("name", "a token needs a name, e.g. \"deploy bot\"")
	}
	if len(in.Scopes) == 0 {
		return nil, parley.Invalid("scopes", "a token needs at least one scope: %s", strings.Join(TokenScopes, ", "))
	}
	var scopes []string
	for _, sc := range in.Scopes {
		if !slices.Contains(TokenScopes, sc) {
			return nil, parley.Invalid("scopes", "unknown scope %q; scopes are %s", sc, strings.Join(TokenScopes, ", "))
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	slices.Sort(scopes)
	if in.ExpiresInDays < 0 || in.ExpiresInDays > maxTokenDays {
		return nil, parley.Invalid("expires_in_days", "expires_in_days is 0 (never) to %d", maxTokenDays)
	}
	now := a.clock()
	token, hash := newToken()
	s := &parley.Session{ID: newID(), UserID: user.ID, TokenHash: hash, Device: "API token", CreatedAt: now, LastUsedAt: now,
		Kind: parley.SessionToken, Name: name, Scopes: scopes}
	if in.ExpiresInDays > 0 {
		exp := now.Add(time.Duration(in.ExpiresInDays) * 24 * time.Hour)
		s.ExpiresAt = &exp
	}
	err = a.update(ctx, func(w *writer) error {
		ss, err := w.Sessions(user.ID)
		if err != nil {
			return err
		}
		n := 0
		for _, x := range ss {
			if x.Kind == parley.SessionToken {
				n++
			}
		}
		if n >= maxTokensPerUser {
			return parley.Errorf(parley.EConflict, "an account has at most %d API tokens; revoke one first", maxTokensPerUser)
		}
		if err := w.CreateSession(s); err != nil {
			return err
		}
		return a.audit(w, AuditEntry{ActorID: actorID, Action: AuditTokenCreate, TargetType: "token", TargetID: s.ID,
			Details: map[string]string{"user_id": user.ID, "name": name, "scopes": strings.Join(scopes, ",")}})
	})
	if err != nil {
		return nil, err
	}
	v := tokenView(s)
	v.Token = token
	return v, nil
}

// Tokens lists the actor's API tokens, newest first.
func (a *App) Tokens(ctx context.Context, actor *Actor) ([]*TokenView, error) {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return nil, err
	}
	out := []*TokenView{}
	err := a.view(ctx, func(tx parley.Tx) error {
		ss, err := tx.Sessions(actor.User.ID)
		for _, s := range ss {
			if s.Kind == parley.SessionToken {
				out = append(out, tokenView(s))
			}
		}
		return err
	})
	return out, err
}

// RevokeToken deletes one of the actor's API tokens; its live streams end.
func (a *App) RevokeToken(ctx context.Context, actor *Actor, id string) error {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return err
	}
	err := a.update(ctx, func(w *writer) error {
		ss, err := w.Sessions(actor.User.ID)
		if err != nil {
			return err
		}
		for _, s := range ss {
			if s.ID == id && s.Kind == parley.SessionToken {
				if err := w.DeleteSession(actor.User.ID, id); err != nil {
					return err
				}
				return a.audit(w, AuditEntry{ActorID: actor.User.ID, Action: AuditTokenRevoke, TargetType: "token", TargetID: id,
					Details: map[string]string{"user_id": actor.User.ID, "name": s.Name}})
			}
		}
		return parley.Errorf(parley.ENotFound, "token not found")
	})
	if err != nil {
		return err
	}
	a.revoke(actor.User.ID, []string{id})
	return nil
}
