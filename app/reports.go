package app

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/parleyhq/parley"
)

// Report is a business's inbox activity over a period: volume by hour or
// day, first-response and resolution times (median and p90), SLA breaches
// and CSAT, overall and per agent and team. It is computed from the audit
// log, so it counts what happened, not what the inbox looks like now.
type Report struct {
	From          time.Time      `json:"from"`
	To            time.Time      `json:"to"`
	Bucket        string         `json:"bucket"`
	TimeZone      string         `json:"time_zone"`
	Volume        []VolumeBucket `json:"volume"`
	Totals        ReportRow      `json:"totals"`
	Agents        []ReportRow    `json:"agents"`
	Teams         []ReportRow    `json:"teams"`
	OverdueNow    int            `json:"overdue_now"`
	CSATHistogram [5]int         `json:"csat_histogram"`
}

// VolumeBucket counts conversations opened and resolved in one hour or day.
type VolumeBucket struct {
	Start    time.Time `json:"start"`
	Opened   int       `json:"opened"`
	Resolved int       `json:"resolved"`
}

// ReportRow is the measures of the whole business, an agent or a team.
type ReportRow struct {
	Agent              *UserSummary `json:"agent,omitempty"`
	TeamID             string       `json:"team_id,omitempty"`
	TeamName           string       `json:"team_name,omitempty"`
	Opened             int          `json:"opened"`
	Resolved           int          `json:"resolved"`
	FirstResponses     int          `json:"first_responses"`
	FirstResponseP50   int64        `json:"first_response_p50_ms"`
	FirstResponseP90   int64        `json:"first_response_p90_ms"`
	ResolutionP50      int64        `json:"resolution_p50_ms"`
	ResolutionP90      int64        `json:"resolution_p90_ms"`
	FirstResponseBreak int          `json:"first_response_breaches"`
	ResolutionBreaches int          `json:"resolution_breaches"`
	CSATCount          int          `json:"csat_count"`
	CSATAverage        float64      `json:"csat_average"`
	CSATHistogram      [5]int       `json:"csat_histogram"`
	// Assigned counts assignments to the agent (or into the team),
	// automatic and by hand; Opened is counted for the business and teams.
	Assigned int `json:"assigned"`

	firstMS, resolveMS []int64
	csatSum            int64
}

// MaxReportDays bounds a report's period.
const MaxReportDays = 366

// InboxReport computes the business's report for [from, to) in buckets of
// "hour" or "day" in the time zone tz (default UTC).
func (a *App) InboxReport(ctx context.Context, ba *BusinessActor, from, to time.Time, bucket, tz string) (*Report, error) {
	if bucket == "" {
		bucket = "day"
	}
	if bucket != "hour" && bucket != "day" {
		return nil, parley.Invalid("bucket", "bucket is hour or day")
	}
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return nil, parley.Invalid("tz", "tz is an IANA zone name such as Europe/Berlin")
	}
	if to.IsZero() {
		to = a.clock()
	}
	if from.IsZero() {
		from = to.Add(-7 * 24 * time.Hour)
	}
	if !from.Before(to) {
		return nil, parley.Invalid("from", "from is before to")
	}
	if to.Sub(from) > MaxReportDays*24*time.Hour {
		return nil, parley.Invalid("from", "a report covers at most %d days", MaxReportDays)
	}
	if bucket == "hour" && to.Sub(from) > 31*24*time.Hour {
		return nil, parley.Invalid("bucket", "hourly reports cover at most 31 days")
	}
	rep := &Report{From: from.UTC(), To: to.UTC(), Bucket: bucket, TimeZone: tz, Volume: []VolumeBucket{}, Agents: []ReportRow{}, Teams: []ReportRow{}}
	// Buckets start at local midnight or the local hour.
	startOf := func(t time.Time) time.Time {
		lt := t.In(loc)
		if bucket == "hour" {
			return time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), 0, 0, 0, loc)
		}
		return time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	}
	index := map[int64]int{}
	for b := startOf(from); b.Before(to); {
		index[b.Unix()] = len(rep.Volume)
		rep.Volume = append(rep.Volume, VolumeBucket{Start: b.UTC()})
		if bucket == "hour" {
			b = b.Add(time.Hour)
		} else {
			b = time.Date(b.Year(), b.Month(), b.Day()+1, 0, 0, 0, 0, loc)
		}
	}
	agents := map[string]*ReportRow{}
	teams := map[string]*ReportRow{}
	rowsFor := func(agentID, teamID string) []*ReportRow {
		out := []*ReportRow{&rep.Totals}
		if agentID != "" && agentID != ba.Business.ID {
			if agents[agentID] == nil {
				agents[agentID] = &ReportRow{}
			}
			out = append(out, agents[agentID])
		}
		if teamID != "" {
			if teams[teamID] == nil {
				teams[teamID] = &ReportRow{TeamID: teamID}
			}
			out = append(out, teams[teamID])
		}
		return out
	}
	err = a.view(ctx, func(tx parley.Tx) error {
		var after int64
		for {
			rows, err := tx.Audit(parley.AuditFilter{BusinessID: ba.Business.ID, From: from, To: to, AfterID: after, Limit: 5000,
				Actions: []string{parley.AuditOpened, parley.AuditFirstResponse, parley.AuditResolved, parley.AuditCSAT, parley.AuditAssigned}})
			if err != nil {
				return err
			}
			for _, r := range rows {
				var d struct {
					Breached bool `json:"breached"`
				}
				if len(r.Data) > 0 {
					_ = json.Unmarshal(r.Data, &d)
				}
				switch r.Action {
				case parley.AuditOpened:
					if i, ok := index[startOf(r.At).Unix()]; ok {
						rep.Volume[i].Opened++
					}
					for _, row := range rowsFor("", r.TeamID) {
						row.Opened++
					}
				case parley.AuditFirstResponse:
					for _, row := range rowsFor(r.AgentID, r.TeamID) {
						row.FirstResponses++
						row.firstMS = append(row.firstMS, r.Value)
						if d.Breached {
							row.FirstResponseBreak++
						}
					}
				case parley.AuditResolved:
					if i, ok := index[startOf(r.At).Unix()]; ok {
						rep.Volume[i].Resolved++
					}
					for _, row := range rowsFor(r.AgentID, r.TeamID) {
						row.Resolved++
						row.resolveMS = append(row.resolveMS, r.Value)
						if d.Breached {
							row.ResolutionBreaches++
						}
					}
				case parley.AuditCSAT:
					if r.Value < 1 || r.Value > 5 {
						break
					}
					rep.CSATHistogram[r.Value-1]++
					for _, row := range rowsFor(r.AgentID, r.TeamID) {
						row.CSATCount++
						row.csatSum += r.Value
						row.CSATHistogram[r.Value-1]++
					}
				case parley.AuditAssigned:
					if r.AgentID == "" && r.TeamID == "" {
						break // an unassignment
					}
					for _, row := range rowsFor(r.AgentID, r.TeamID) {
						row.Assigned++
					}
				}
				after = r.ID
			}
			if len(rows) < 5000 {
				break
			}
		}
		now := a.clock()
		n, err := tx.CountInbox(parley.InboxFilter{BusinessID: ba.Business.ID, OverdueAt: &now,
			Statuses: []parley.InboxStatus{parley.InboxOpen, parley.InboxPending, parley.InboxSnoozed}}, 100000)
		if err != nil {
			return err
		}
		rep.OverdueNow = n
		ids := make([]string, 0, len(agents))
		for id := range agents {
			ids = append(ids, id)
		}
		users, err := tx.UsersByIDs(ids)
		if err != nil {
			return err
		}
		for id, row := range agents {
			row.Agent = summarize(users[id])
			if row.Agent == nil {
				row.Agent = &UserSummary{ID: id}
			}
			rep.Agents = append(rep.Agents, *row.finish())
		}
		ts, err := tx.Teams(ba.Business.ID)
		if err != nil {
			return err
		}
		names := map[string]string{}
		for _, t := range ts {
			names[t.ID] = t.Name
		}
		for id, row := range teams {
			row.TeamName = names[id]
			rep.Teams = append(rep.Teams, *row.finish())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep.Totals.finish()
	slices.SortFunc(rep.Agents, func(x, y ReportRow) int { return compareStrings(x.Agent.Handle, y.Agent.Handle) })
	slices.SortFunc(rep.Teams, func(x, y ReportRow) int { return compareStrings(x.TeamName, y.TeamName) })
	return rep, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (r *ReportRow) finish() *ReportRow {
	r.FirstResponseP50, r.FirstResponseP90 = percentile(r.firstMS, 50), percentile(r.firstMS, 90)
	r.ResolutionP50, r.ResolutionP90 = percentile(r.resolveMS, 50), percentile(r.resolveMS, 90)
	if r.CSATCount > 0 {
		r.CSATAverage = float64(r.csatSum) / float64(r.CSATCount)
	}
	return r
}

// percentile returns the nearest-rank percentile p of xs (0 when empty).
func percentile(xs []int64, p int) int64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100 // ceil(p/100 * n)
	if rank < 1 {
		rank = 1
	}
	return s[rank-1]
}

// AuditView is one audit row as the team sees it.
type AuditView struct {
	ID             int64           `json:"id"`
	ConversationID string          `json:"conversation_id,omitempty"`
	Actor          *UserSummary    `json:"actor"`
	Action         string          `json:"action"`
	Agent          *UserSummary    `json:"agent,omitempty"`
	TeamID         string          `json:"team_id,omitempty"`
	Value          int64           `json:"value,omitempty"`
	Data           json.RawMessage `json:"data,omitempty"`
	At             time.Time       `json:"at"`
}

// Audit lists the business's audit log (admins only), oldest first after
// the cursor id, optionally for one conversation.
func (a *App) Audit(ctx context.Context, ba *BusinessActor, convID string, afterID int64, limit int) ([]*AuditView, error) {
	if err := ba.requireAdmin(); err != nil && convID == "" {
		return nil, err
	}
	limit, err := pageLimit(limit, 100)
	if err != nil {
		return nil, err
	}
	out := []*AuditView{}
	err = a.view(ctx, func(tx parley.Tx) error {
		if convID != "" {
			if _, err := itemOf(tx, ba, convID); err != nil {
				return err
			}
		}
		rows, err := tx.Audit(parley.AuditFilter{BusinessID: ba.Business.ID, ConversationID: convID, AfterID: afterID, Limit: limit})
		if err != nil {
			return err
		}
		ids := map[string]bool{}
		for _, r := range rows {
			ids[r.ActorID] = true
			if r.AgentID != "" {
				ids[r.AgentID] = true
			}
		}
		users, err := tx.UsersByIDs(keys(ids))
		if err != nil {
			return err
		}
		for _, r := range rows {
			v := &AuditView{ID: r.ID, ConversationID: r.ConversationID, Actor: summarize(users[r.ActorID]), Action: r.Action,
				TeamID: r.TeamID, Value: r.Value, Data: r.Data, At: r.At}
			if v.Actor == nil {
				v.Actor = &UserSummary{ID: r.ActorID}
			}
			if r.AgentID != "" {
				v.Agent = summarize(users[r.AgentID])
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}
