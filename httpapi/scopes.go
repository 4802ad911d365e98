package httpapi

import (
	"strings"

	"github.com/parleyhq/parley/app"
)

// requiredScope is the API token scope a route needs ("" for none: a token
// may always end itself). Signed-in devices have every scope; see
// app.Actor.Allows. Unknown writes need a device.
func requiredScope(pattern string) string {
	method, path, _ := strings.Cut(pattern, " ")
	switch {
	case path == "/api/v1/sessions/current" && method == "DELETE":
		return ""
	case path == "/api/v1/me" && method == "DELETE": // deleting the account: a device only
		return app.ScopeAccount
	case strings.HasPrefix(path, "/api/v1/sessions"), strings.HasPrefix(path, "/api/v1/tokens"), path == "/api/v1/me/password",
		strings.HasPrefix(path, "/api/v1/me/2fa"):
		return app.ScopeAccount
	case strings.HasPrefix(path, "/api/v1/admin"): // GET too: the reports queue holds others' messages
		return app.ScopeAccount
	case strings.HasPrefix(path, "/api/v1/business"):
		return app.ScopeBusiness
	case strings.HasPrefix(path, "/api/v1/webhooks"): // GET too
		return app.ScopeWebhooks
	case method == "GET", path == "/api/v1/stream/tickets":
		return app.ScopeRead
	case path == "/api/v1/media", strings.HasPrefix(path, "/api/v1/sticker-packs"):
		return app.ScopeMedia
	case strings.Contains(path, "/messages"), strings.HasSuffix(path, "/read"),
		strings.HasSuffix(path, "/delivered"), strings.HasSuffix(path, "/typing"):
		return app.ScopeMessages
	case strings.HasPrefix(path, "/api/v1/me"), strings.HasPrefix(path, "/api/v1/users/"), strings.HasPrefix(path, "/api/v1/consent/"):
		return app.ScopeProfile
	case strings.HasPrefix(path, "/api/v1/conversations"):
		return app.ScopeConversations
	}
	return app.ScopeAccount
}
