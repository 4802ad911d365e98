package httpapi

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// bizHandler is a route of a business's inbox, for its team.
type bizHandler func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error

// biz authenticates and checks that the actor works for the business
// named by {business}.
func (s *Server) biz(pattern string, h bizHandler) {
	s.auth(pattern, func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		ba, err := s.app.ActAs(r.Context(), actor, r.PathValue("business"))
		if err != nil {
			return err
		}
		return h(w, r, ba)
	})
}

// bizConv is biz for routes of one customer conversation ({id}) that
// reuse a personal route, acting as the business.
func (s *Server) bizConv(pattern string, h authed) {
	s.biz(pattern, func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		if err := s.app.CheckInboxConversation(r.Context(), ba, r.PathValue("id")); err != nil {
			return err
		}
		return h(w, r, ba.Actor)
	})
}

func (s *Server) businessRoutes() {
	s.auth("GET /api/v1/business", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		bs, err := s.app.MyBusinesses(r.Context(), actor)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"items": bs})
	})
	const b = "/api/v1/business/{business}"

	// Team.
	s.biz("GET "+b+"/agents", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		ags, err := s.app.Agents(r.Context(), ba)
		return reply(w, map[string]any{"items": ags}, err)
	})
	s.biz("PUT "+b+"/agents/{handle}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in app.AgentChange
		if err := decode(w, r, &in); err != nil {
			return err
		}
		v, err := s.app.PutAgent(r.Context(), ba, r.PathValue("handle"), in)
		return reply(w, v, err)
	})
	s.biz("DELETE "+b+"/agents/{handle}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		if err := s.app.RemoveAgent(r.Context(), ba, r.PathValue("handle")); err != nil {
			return err
		}
		return noContent(w)
	})
	s.biz("GET "+b+"/teams", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		ts, err := s.app.Teams(r.Context(), ba)
		return reply(w, map[string]any{"items": ts}, err)
	})
	s.biz("POST "+b+"/teams", s.saveTeam)
	s.biz("PATCH "+b+"/teams/{team}", s.saveTeam)
	s.biz("DELETE "+b+"/teams/{team}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		if err := s.app.DeleteTeam(r.Context(), ba, r.PathValue("team")); err != nil {
			return err
		}
		return noContent(w)
	})
	for method, on := range map[string]bool{"PUT": true, "DELETE": false} {
		s.biz(method+" "+b+"/teams/{team}/members/{handle}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
			if err := s.app.SetTeamMember(r.Context(), ba, r.PathValue("team"), r.PathValue("handle"), on); err != nil {
				return err
			}
			return noContent(w)
		})
	}
	s.biz("GET "+b+"/settings", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		st, err := s.app.Settings(r.Context(), ba)
		return reply(w, st, err)
	})
	s.biz("PUT "+b+"/settings", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in app.BusinessSettings
		if err := decode(w, r, &in); err != nil {
			return err
		}
		st, err := s.app.PutSettings(r.Context(), ba, &in)
		return reply(w, st, err)
	})

	// The inbox.
	s.biz("GET "+b+"/conversations", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		limit, err := queryInt(r, "limit")
		if err != nil {
			return err
		}
		q := r.URL.Query()
		page, err := s.app.Inbox(r.Context(), ba, app.InboxQuery{View: q.Get("view"), Status: q.Get("status"), Team: q.Get("team"),
			Label: q.Get("label"), Assignee: q.Get("assignee"), Contact: q.Get("contact"), Cursor: q.Get("cursor"), Limit: int(limit)})
		return reply(w, page, err)
	})
	s.biz("GET "+b+"/counts", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		c, err := s.app.Counts(r.Context(), ba)
		return reply(w, c, err)
	})
	s.biz("GET "+b+"/conversations/{id}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		d, err := s.app.InboxConversation(r.Context(), ba, r.PathValue("id"))
		return reply(w, d, err)
	})
	s.biz("PATCH "+b+"/conversations/{id}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in app.ItemChange
		if err := decode(w, r, &in); err != nil {
			return err
		}
		v, err := s.app.UpdateItem(r.Context(), ba, r.PathValue("id"), in)
		return reply(w, v, err)
	})
	s.biz("POST "+b+"/conversations/{id}/messages", s.businessSend)
	s.bizConv("GET "+b+"/conversations/{id}/messages", s.listMessages)
	s.bizConv("POST "+b+"/conversations/{id}/read", s.markRead)
	s.bizConv("PATCH "+b+"/conversations/{id}/messages/{mid}", s.editMessage)
	s.bizConv("DELETE "+b+"/conversations/{id}/messages/{mid}", s.unsend)
	s.bizConv("POST "+b+"/conversations/{id}/messages/{mid}/redact", s.redact)
	s.bizConv("PUT "+b+"/conversations/{id}/messages/{mid}/reactions/{emoji}", s.react(true))
	s.bizConv("DELETE "+b+"/conversations/{id}/messages/{mid}/reactions/{emoji}", s.react(false))
	s.biz("POST "+b+"/conversations/{id}/presence", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in struct {
			State string `json:"state"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		if err := s.app.InboxPresence(r.Context(), ba, r.PathValue("id"), in.State); err != nil {
			return err
		}
		return noContent(w)
	})
	s.biz("GET "+b+"/conversations/{id}/notes", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		ns, err := s.app.Notes(r.Context(), ba, r.PathValue("id"))
		return reply(w, map[string]any{"items": ns}, err)
	})
	s.biz("POST "+b+"/conversations/{id}/notes", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in struct {
			Text string `json:"text"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		n, err := s.app.AddNote(r.Context(), ba, r.PathValue("id"), in.Text)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, n)
	})
	s.biz("GET "+b+"/conversations/{id}/audit", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		return s.audit(w, r, ba, r.PathValue("id"))
	})
	s.biz("GET "+b+"/audit", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		return s.audit(w, r, ba, "")
	})

	// Saved replies.
	s.biz("GET "+b+"/saved-replies", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		rs, err := s.app.SavedReplies(r.Context(), ba, r.URL.Query().Get("q"))
		return reply(w, map[string]any{"items": rs}, err)
	})
	s.biz("POST "+b+"/saved-replies", s.saveReply)
	s.biz("PATCH "+b+"/saved-replies/{reply}", s.saveReply)
	s.biz("DELETE "+b+"/saved-replies/{reply}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		if err := s.app.DeleteReply(r.Context(), ba, r.PathValue("reply")); err != nil {
			return err
		}
		return noContent(w)
	})
	s.biz("GET "+b+"/saved-replies/{reply}/render", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		out, err := s.app.RenderReply(r.Context(), ba, r.PathValue("reply"), r.URL.Query().Get("conversation"))
		return reply(w, out, err)
	})

	// Contacts.
	s.biz("GET "+b+"/contacts", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		limit, err := queryInt(r, "limit")
		if err != nil {
			return err
		}
		page, err := s.app.Contacts(r.Context(), ba, r.URL.Query().Get("q"), r.URL.Query().Get("cursor"), int(limit))
		return reply(w, page, err)
	})
	s.biz("GET "+b+"/contacts/{contact}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		c, err := s.app.Contact(r.Context(), ba, r.PathValue("contact"))
		return reply(w, c, err)
	})
	s.biz("PATCH "+b+"/contacts/{contact}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in app.ContactChange
		if err := decode(w, r, &in); err != nil {
			return err
		}
		c, err := s.app.UpdateContact(r.Context(), ba, r.PathValue("contact"), in)
		return reply(w, c, err)
	})
	s.biz("POST "+b+"/contacts/{contact}/merge", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in struct {
			Into string `json:"into"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		c, err := s.app.MergeContacts(r.Context(), ba, r.PathValue("contact"), in.Into)
		return reply(w, c, err)
	})

	// Reports.
	s.biz("GET "+b+"/reports", s.inboxReport)

	s.campaignRoutes()
}

// reply writes v as 200 JSON unless err.
func reply(w http.ResponseWriter, v any, err error) error {
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) saveTeam(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
	var in app.TeamInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	id := r.PathValue("team")
	t, err := s.app.SaveTeam(r.Context(), ba, id, in)
	if err != nil {
		return err
	}
	if id == "" {
		return writeJSON(w, http.StatusCreated, t)
	}
	return writeJSON(w, http.StatusOK, t)
}

func (s *Server) saveReply(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
	var in app.SavedReplyInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	id := r.PathValue("reply")
	v, err := s.app.SaveReply(r.Context(), ba, id, in)
	if err != nil {
		return err
	}
	if id == "" {
		return writeJSON(w, http.StatusCreated, v)
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) businessSend(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
	var in struct {
		ClientID    string   `json:"client_id"`
		Kind        string   `json:"kind"`
		Text        string   `json:"text"`
		ReplyTo     string   `json:"reply_to"`
		Attachments []string `json:"attachments"`
		SavedReply  string   `json:"saved_reply"`
		Template    string   `json:"template"`
		SendMode    string   `json:"send_mode"`
		// OptinRequest goes with send_mode optin_request (Messenger).
		OptinRequest *app.OptinRequestInput `json:"optin_request"`
		app.StructuredBody
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	m, created, err := s.app.BusinessSend(r.Context(), ba, r.PathValue("id"), in.SavedReply, in.Apply(app.SendInput{ClientID: in.ClientID,
		Kind: parley.MessageKind(in.Kind), Text: in.Text, ReplyTo: in.ReplyTo, Attachments: in.Attachments, Template: in.Template,
		SendMode: in.SendMode, OptinRequest: in.OptinRequest}))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, m)
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor, convID string) error {
	after, err := queryInt(r, "after")
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	rows, err := s.app.Audit(r.Context(), ba, convID, after, int(limit))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": rows})
}

// queryTime reads an RFC 3339 time, or a date meaning its midnight in loc.
func queryTime(r *http.Request, name string, loc *time.Location) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, v, loc)
	if err != nil {
		return time.Time{}, parley.Invalid(name, "%s is an RFC 3339 time or a date like 2026-11-27", name)
	}
	return t, nil
}

// inboxReport serves the inbox report as JSON, or as CSV (one row per agent
// and team, then the totals) with format=csv.
func (s *Server) inboxReport(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
	q := r.URL.Query()
	// Dates are midnights in the report's zone (an unknown zone is
	// refused by the app below).
	loc := time.UTC
	if tz := q.Get("tz"); tz != "" && tz != "Local" {
		if l, err := time.LoadLocation(tz); err == nil {
			loc = l
		}
	}
	from, err := queryTime(r, "from", loc)
	if err != nil {
		return err
	}
	to, err := queryTime(r, "to", loc)
	if err != nil {
		return err
	}
	rep, err := s.app.InboxReport(r.Context(), ba, from, to, q.Get("bucket"), q.Get("tz"))
	if err != nil {
		return err
	}
	switch q.Get("format") {
	case "", "json":
		return writeJSON(w, http.StatusOK, rep)
	case "csv":
		return writeReportCSV(w, ba, rep)
	}
	return parley.Invalid("format", "format is json or csv")
}

func writeReportCSV(w http.ResponseWriter, ba *app.BusinessActor, rep *app.Report) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-report-%s.csv"`, ba.Business.Handle, rep.From.Format("2006-01-02")))
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"scope", "name", "opened", "resolved", "first_responses", "first_response_p50_s", "first_response_p90_s",
		"resolution_p50_s", "resolution_p90_s", "first_response_breaches", "resolution_breaches", "csat_count", "csat_average"})
	row := func(scope, name string, x app.ReportRow) {
		sec := func(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64) }
		_ = cw.Write([]string{scope, csvSafe(name), strconv.Itoa(x.Opened), strconv.Itoa(x.Resolved), strconv.Itoa(x.FirstResponses),
			sec(x.FirstResponseP50), sec(x.FirstResponseP90), sec(x.ResolutionP50), sec(x.ResolutionP90),
			strconv.Itoa(x.FirstResponseBreak), strconv.Itoa(x.ResolutionBreaches), strconv.Itoa(x.CSATCount),
			strconv.FormatFloat(x.CSATAverage, 'f', 2, 64)})
	}
	for _, a := range rep.Agents {
		row("agent", a.Agent.Handle, a)
	}
	for _, t := range rep.Teams {
		row("team", t.TeamName, t)
	}
	row("total", "", rep.Totals)
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}
