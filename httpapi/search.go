package httpapi

import (
	"net/http"

	"github.com/parleyhq/parley/app"
)

// searchQuery reads the query parameters of a search.
func searchQuery(r *http.Request) (app.SearchQuery, error) {
	v := r.URL.Query()
	limit, err := queryInt(r, "limit")
	if err != nil {
		return app.SearchQuery{}, err
	}
	return app.SearchQuery{Q: v.Get("q"), Conversation: v.Get("conversation"), From: v.Get("from"),
		After: v.Get("after"), Before: v.Get("before"), Has: v.Get("has"), Sort: v.Get("sort"),
		Cursor: v.Get("cursor"), Limit: int(limit)}, nil
}

// search finds messages in the actor's conversations and in those of the
// businesses they work for.
func (s *Server) search(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	q, err := searchQuery(r)
	if err != nil {
		return err
	}
	page, err := s.app.Search(r.Context(), actor, q)
	return reply(w, page, err)
}

// businessSearch finds messages in one business's conversations, for its
// team.
func (s *Server) businessSearch(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
	q, err := searchQuery(r)
	if err != nil {
		return err
	}
	page, err := s.app.BusinessSearch(r.Context(), ba, q)
	return reply(w, page, err)
}
