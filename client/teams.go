package client

import (
	"context"
	"net/http"
	"time"
)

// Assignment modes of a team.
const (
	AssignManual     = ""
	AssignRoundRobin = "round_robin"
	AssignLeastLoad  = "least_load"
)

// Hours are business hours: open intervals per weekday in a time zone,
// minus holidays. A day not listed is closed.
type Hours struct {
	// TimeZone is an IANA zone name such as "Europe/Berlin".
	TimeZone string `json:"time_zone"`
	// Days maps "mon" … "sun" to intervals like "09:00-17:30".
	Days map[string][]string `json:"days"`
	// Holidays are closed dates in the zone, e.g. "2026-12-25".
	Holidays []string `json:"holidays,omitempty"`
}

// TeamInput creates or changes a team; nil fields are left as they are
// on update.
type TeamInput struct {
	Name *string `json:"name,omitempty"`
	// Assign is AssignManual, AssignRoundRobin or AssignLeastLoad.
	Assign *string `json:"assign,omitempty"`
	Hours  *Hours  `json:"hours,omitempty"`
	// ClearHours removes the team's own hours (the business's apply).
	ClearHours bool `json:"clear_hours,omitempty"`
}

// Team is a group of agents inside a business.
type Team struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	Assign    string        `json:"assign"`
	Hours     *Hours        `json:"hours,omitempty"`
	Members   []UserSummary `json:"members"`
	CreatedAt time.Time     `json:"created_at"`
}

// Teams lists the business's teams.
func (b *Business) Teams(ctx context.Context) ([]Team, error) {
	var out Page[Team]
	_, err := b.c.call(ctx, http.MethodGet, b.path("/teams"), nil, nil, &out)
	return out.Items, err
}

// CreateTeam creates a team (business admins).
func (b *Business) CreateTeam(ctx context.Context, in TeamInput) (*Team, error) {
	var out Team
	_, err := b.c.call(ctx, http.MethodPost, b.path("/teams"), nil, in, &out)
	return ret(&out, err)
}

// UpdateTeam changes a team (business admins).
func (b *Business) UpdateTeam(ctx context.Context, id string, in TeamInput) (*Team, error) {
	var out Team
	_, err := b.c.call(ctx, http.MethodPatch, b.path("/teams/"+esc(id)), nil, in, &out)
	return ret(&out, err)
}

// DeleteTeam deletes a team (business admins).
func (b *Business) DeleteTeam(ctx context.Context, id string) error {
	return b.c.Do(ctx, http.MethodDelete, b.path("/teams/"+esc(id)), nil, nil)
}

// AddTeamMember adds an agent to a team.
func (b *Business) AddTeamMember(ctx context.Context, team, handle string) error {
	return b.c.Do(ctx, http.MethodPut, b.path("/teams/"+esc(team)+"/members/"+esc(handle)), nil, nil)
}

// RemoveTeamMember removes an agent from a team.
func (b *Business) RemoveTeamMember(ctx context.Context, team, handle string) error {
	return b.c.Do(ctx, http.MethodDelete, b.path("/teams/"+esc(team)+"/members/"+esc(handle)), nil, nil)
}
