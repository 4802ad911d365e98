package httpapi

import (
	"net/http"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// campaignRoutes are consent, topics, templates, segments and campaigns
// (issue 8), and a person's own subscriptions.
func (s *Server) campaignRoutes() {
	const b = "/api/v1/business/{business}"

	// Topics.
	s.biz("GET "+b+"/topics", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		ts, err := s.app.Topics(r.Context(), ba)
		return reply(w, map[string]any{"items": ts}, err)
	})
	saveTopic := func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in app.TopicInput
		if err := decode(w, r, &in); err != nil {
			return err
		}
		id := r.PathValue("topic")
		v, err := s.app.SaveTopic(r.Context(), ba, id, in)
		return created(w, v, err, id == "")
	}
	s.biz("POST "+b+"/topics", saveTopic)
	s.biz("PATCH "+b+"/topics/{topic}", saveTopic)
	s.biz("DELETE "+b+"/topics/{topic}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		if err := s.app.DeleteTopic(r.Context(), ba, r.PathValue("topic")); err != nil {
			return err
		}
		return noContent(w)
	})

	// A contact's consent.
	s.biz("GET "+b+"/contacts/{contact}/consent", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		v, err := s.app.ContactConsent(r.Context(), ba, r.PathValue("contact"))
		return reply(w, v, err)
	})
	for method, in := range map[string]bool{"PUT": true, "DELETE": false} {
		s.biz(method+" "+b+"/contacts/{contact}/consent/{topic}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
			v, err := s.app.SetContactConsent(r.Context(), ba, r.PathValue("contact"), r.PathValue("topic"), in, requestID(w))
			return reply(w, v, err)
		})
	}
	s.biz("DELETE "+b+"/contacts/{contact}/consent", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		v, err := s.app.SetContactConsent(r.Context(), ba, r.PathValue("contact"), "", false, requestID(w))
		return reply(w, v, err)
	})

	// Templates.
	s.biz("GET "+b+"/templates", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		ts, err := s.app.Templates(r.Context(), ba)
		return reply(w, map[string]any{"items": ts}, err)
	})
	saveTemplate := func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in app.TemplateInput
		if err := decode(w, r, &in); err != nil {
			return err
		}
		id := r.PathValue("template")
		v, err := s.app.SaveTemplate(r.Context(), ba, id, in)
		return created(w, v, err, id == "")
	}
	s.biz("POST "+b+"/templates", saveTemplate)
	s.biz("PATCH "+b+"/templates/{template}", saveTemplate)
	s.biz("DELETE "+b+"/templates/{template}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		if err := s.app.DeleteTemplate(r.Context(), ba, r.PathValue("template")); err != nil {
			return err
		}
		return noContent(w)
	})
	s.biz("GET "+b+"/templates/{template}/preview", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		v, err := s.app.PreviewTemplate(r.Context(), ba, r.PathValue("template"), r.URL.Query().Get("contact"))
		return reply(w, v, err)
	})

	// Segments and campaigns.
	s.biz("POST "+b+"/segments/count", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in app.Segment
		if err := decode(w, r, &in); err != nil {
			return err
		}
		n, err := s.app.CountSegment(r.Context(), ba, in)
		return reply(w, map[string]int{"count": n}, err)
	})
	s.biz("GET "+b+"/campaigns", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		cs, err := s.app.Campaigns(r.Context(), ba)
		return reply(w, map[string]any{"items": cs}, err)
	})
	s.biz("POST "+b+"/campaigns", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in app.CampaignInput
		if err := decode(w, r, &in); err != nil {
			return err
		}
		v, err := s.app.CreateCampaign(r.Context(), ba, in)
		return created(w, v, err, true)
	})
	s.biz("GET "+b+"/campaigns/{campaign}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		v, err := s.app.Campaign(r.Context(), ba, r.PathValue("campaign"))
		return reply(w, v, err)
	})
	s.biz("PUT "+b+"/campaigns/{campaign}/status", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in app.CampaignChange
		if err := decode(w, r, &in); err != nil {
			return err
		}
		v, err := s.app.SetCampaignStatus(r.Context(), ba, r.PathValue("campaign"), in)
		return reply(w, v, err)
	})
	s.biz("GET "+b+"/campaigns/{campaign}/recipients", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		limit, err := queryInt(r, "limit")
		if err != nil {
			return err
		}
		q := r.URL.Query()
		page, err := s.app.CampaignRecipients(r.Context(), ba, r.PathValue("campaign"), q.Get("state"), q.Get("cursor"), int(limit))
		return reply(w, page, err)
	})
	s.biz("GET "+b+"/campaigns/{campaign}/stats", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		secs, err := queryInt(r, "bucket")
		if err != nil {
			return err
		}
		if secs < 0 || secs > 86400 {
			return parley.Invalid("bucket", "bucket is 60, 300, 900, 3600, 21600 or 86400 seconds")
		}
		st, err := s.app.CampaignStats(r.Context(), ba, r.PathValue("campaign"), time.Duration(secs)*time.Second)
		return reply(w, st, err)
	})

	// The opt-in link of a topic, and a person's own subscriptions.
	s.handle("GET /api/v1/consent/{token}", func(w http.ResponseWriter, r *http.Request) error {
		f, err := s.app.ConsentFormInfo(r.Context(), r.PathValue("token"))
		return reply(w, f, err)
	})
	s.auth("POST /api/v1/consent/{token}", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		v, err := s.app.ConsentFormSubmit(r.Context(), actor, r.PathValue("token"), requestID(w))
		return reply(w, v, err)
	})
	s.auth("GET /api/v1/me/subscriptions", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		subs, err := s.app.MySubscriptions(r.Context(), actor)
		return reply(w, map[string]any{"items": subs}, err)
	})
	s.auth("DELETE /api/v1/me/subscriptions/{handle}", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		v, err := s.app.Unsubscribe(r.Context(), actor, r.PathValue("handle"), "", requestID(w))
		return reply(w, v, err)
	})
	s.auth("DELETE /api/v1/me/subscriptions/{handle}/{topic}", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		v, err := s.app.Unsubscribe(r.Context(), actor, r.PathValue("handle"), r.PathValue("topic"), requestID(w))
		return reply(w, v, err)
	})
}

// created writes v as 201 when isNew, else 200, unless err.
func created(w http.ResponseWriter, v any, err error, isNew bool) error {
	if err != nil {
		return err
	}
	if isNew {
		return writeJSON(w, http.StatusCreated, v)
	}
	return writeJSON(w, http.StatusOK, v)
}

// requestID is the id of the request being answered: the proof of a
// consent given through the API.
func requestID(w http.ResponseWriter) string { return "request " + w.Header().Get("X-Request-Id") }
