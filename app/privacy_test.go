package app

import (
	"fmt"
	"testing"

	"github.com/parleyhq/parley"
)

// TestRouteDM walks the whole privacy matrix: policy × follows × blocks ×
// kind. Each row states where a new conversation lands.
func TestRouteDM(t *testing.T) {
	type row struct {
		kind    parley.UserKind
		policy  parley.DMPolicy
		follows bool
		blocked bool
		want    Route
	}
	var rows []row
	for _, kind := range []parley.UserKind{parley.KindPerson, parley.KindBusiness, parley.KindBot} {
		for _, policy := range []parley.DMPolicy{parley.PolicyOpen, parley.PolicyFollowing, parley.PolicyClosed} {
			for _, follows := range []bool{false, true} {
				for _, blocked := range []bool{false, true} {
					rows = append(rows, row{kind, policy, follows, blocked, expectedDM(kind, policy, follows, blocked)})
				}
			}
		}
	}
	if len(rows) != 36 {
		t.Fatalf("matrix has %d rows, want 36", len(rows))
	}
	for _, r := range rows {
		name := fmt.Sprintf("%s/%s/follows=%v/blocked=%v", r.kind, r.policy, r.follows, r.blocked)
		t.Run(name, func(t *testing.T) {
			got := RouteDM(Contact{RecipientKind: r.kind, RecipientPolicy: r.policy, RecipientFollowsSender: r.follows, Blocked: r.blocked})
			if got != r.want {
				t.Errorf("RouteDM = %s, want %s", got, r.want)
			}
		})
	}
}

// expectedDM restates DESIGN.md §1 independently of RouteDM's switch.
func expectedDM(kind parley.UserKind, policy parley.DMPolicy, follows, blocked bool) Route {
	if blocked {
		return RouteRefused // a block silences both directions
	}
	if policy == parley.PolicyClosed {
		return RouteRefused // nobody may start a new conversation
	}
	business := kind == parley.KindBusiness || kind == parley.KindBot
	if business || follows {
		return RouteInbox // customers reach a business inbox; followed people reach the inbox
	}
	if policy == parley.PolicyFollowing {
		return RouteRefused
	}
	return RouteRequest
}

// TestRouteDMSpotChecks pins a few rows by hand, so that a shared mistake in
// expectedDM and RouteDM cannot hide.
func TestRouteDMSpotChecks(t *testing.T) {
	tests := []struct {
		name string
		c    Contact
		want Route
	}{
		{"stranger to open person", Contact{RecipientKind: parley.KindPerson, RecipientPolicy: parley.PolicyOpen}, RouteRequest},
		{"followed to open person", Contact{RecipientKind: parley.KindPerson, RecipientPolicy: parley.PolicyOpen, RecipientFollowsSender: true}, RouteInbox},
		{"stranger to following-only", Contact{RecipientKind: parley.KindPerson, RecipientPolicy: parley.PolicyFollowing}, RouteRefused},
		{"followed to following-only", Contact{RecipientKind: parley.KindPerson, RecipientPolicy: parley.PolicyFollowing, RecipientFollowsSender: true}, RouteInbox},
		{"followed to closed", Contact{RecipientKind: parley.KindPerson, RecipientPolicy: parley.PolicyClosed, RecipientFollowsSender: true}, RouteRefused},
		{"customer to business", Contact{RecipientKind: parley.KindBusiness, RecipientPolicy: parley.PolicyOpen}, RouteInbox},
		{"customer to following-only business", Contact{RecipientKind: parley.KindBusiness, RecipientPolicy: parley.PolicyFollowing}, RouteInbox},
		{"blocked customer to business", Contact{RecipientKind: parley.KindBusiness, RecipientPolicy: parley.PolicyOpen, Blocked: true}, RouteRefused},
		{"blocked friend", Contact{RecipientKind: parley.KindPerson, RecipientPolicy: parley.PolicyOpen, RecipientFollowsSender: true, Blocked: true}, RouteRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RouteDM(tt.c); got != tt.want {
				t.Errorf("RouteDM = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRouteGroupAdd(t *testing.T) {
	tests := []struct {
		name string
		c    Contact
		want Route
	}{
		{"follower is added", Contact{RecipientPolicy: parley.PolicyOpen, RecipientFollowsSender: true}, RouteInbox},
		{"follower with following policy is added", Contact{RecipientPolicy: parley.PolicyFollowing, RecipientFollowsSender: true}, RouteInbox},
		{"stranger is invited", Contact{RecipientPolicy: parley.PolicyOpen}, RouteRequest},
		{"stranger with following policy is refused", Contact{RecipientPolicy: parley.PolicyFollowing}, RouteRefused},
		{"closed follower is refused", Contact{RecipientPolicy: parley.PolicyClosed, RecipientFollowsSender: true}, RouteRefused},
		{"closed stranger is refused", Contact{RecipientPolicy: parley.PolicyClosed}, RouteRefused},
		{"blocked is refused", Contact{RecipientPolicy: parley.PolicyOpen, RecipientFollowsSender: true, Blocked: true}, RouteRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RouteGroupAdd(tt.c); got != tt.want {
				t.Errorf("RouteGroupAdd = %s, want %s", got, tt.want)
			}
		})
	}
}
