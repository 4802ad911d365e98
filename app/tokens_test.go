package app_test

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

func TestTokenExpiresAndScopes(t *testing.T) {
	s := newShop(t)
	u := s.register("dev", "Dev", parley.KindPerson)
	tok, err := s.a.CreateToken(s.ctx, u, app.TokenInput{Name: "ci", Scopes: []string{"read", "read", "business:write"}, ExpiresInDays: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.Scopes) != 2 || tok.Token == "" {
		t.Fatalf("token %+v", tok)
	}
	actor, err := s.a.Authenticate(s.ctx, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	if !actor.Allows(app.ScopeRead) || actor.Allows(app.ScopeMessages) || actor.Allows(app.ScopeAccount) {
		t.Fatalf("scopes %v", actor.Scopes)
	}
	// A token cannot make tokens.
	if _, err := s.a.CreateToken(s.ctx, actor, app.TokenInput{Name: "x", Scopes: []string{"read"}}); parley.ErrorCode(err) != parley.EInsufficientScope {
		t.Fatalf("token made a token: %v", err)
	}
	s.clock.Advance(23 * time.Hour)
	if _, err := s.a.Authenticate(s.ctx, tok.Token); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	s.clock.Advance(time.Hour)
	if _, err := s.a.Authenticate(s.ctx, tok.Token); parley.ErrorCode(err) != parley.EUnauthorized {
		t.Fatalf("after expiry: %v", err)
	}
}
