package httpapi

import (
	"net/http"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

func (s *Server) routes() {
	s.handle("GET /healthz", func(w http.ResponseWriter, r *http.Request) error {
		return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.handle("GET /readyz", func(w http.ResponseWriter, r *http.Request) error {
		if err := s.ready(r.Context()); err != nil {
			s.log.Warn("not ready", "err", err)
			return writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		}
		return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	s.handle("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		_, err := w.Write(openAPI)
		return err
	})
	s.handle("/api/", func(w http.ResponseWriter, r *http.Request) error {
		return parley.Errorf(parley.ENotFound, "no such route: %s %s", r.Method, r.URL.Path)
	})

	// Accounts and sessions.
	s.handle("POST /api/v1/accounts", s.register)
	s.handle("POST /api/v1/sessions", s.login)
	s.auth("GET /api/v1/sessions", s.listSessions)
	s.auth("DELETE /api/v1/sessions", s.logoutEverywhere)
	s.auth("DELETE /api/v1/sessions/current", s.logout)
	s.auth("DELETE /api/v1/sessions/{id}", s.revokeSession)
	s.auth("GET /api/v1/me", s.getMe)
	s.auth("PATCH /api/v1/me", s.patchMe)
	s.auth("DELETE /api/v1/me", s.deleteMe)
	s.auth("PUT /api/v1/me/password", s.changePassword)
	s.handle("POST /api/v1/sessions/second-factor", s.completeLogin)
	s.auth("GET /api/v1/me/2fa", s.twoFactorStatus)
	s.auth("POST /api/v1/me/2fa/setup", s.setupTwoFactor)
	s.auth("POST /api/v1/me/2fa/confirm", s.confirmTwoFactor)
	s.auth("POST /api/v1/me/2fa/disable", s.disableTwoFactor)
	s.auth("POST /api/v1/me/2fa/recovery-codes", s.regenerateRecoveryCodes)
	s.auth("GET /api/v1/admin/audit-log", s.listAuditLog)
	s.auth("GET /api/v1/admin/audit-log/verify", s.verifyAuditLog)
	s.auth("GET /api/v1/me/blocks", s.listBlocks)
	s.auth("GET /api/v1/tokens", s.listTokens)
	s.auth("POST /api/v1/tokens", s.createToken)
	s.auth("DELETE /api/v1/tokens/{id}", s.revokeToken)

	// Other users.
	s.auth("GET /api/v1/users/{handle}", s.getUser)
	s.auth("PUT /api/v1/users/{handle}/follow", s.follow(true))
	s.auth("DELETE /api/v1/users/{handle}/follow", s.follow(false))
	s.auth("PUT /api/v1/users/{handle}/block", s.block(true))
	s.auth("DELETE /api/v1/users/{handle}/block", s.block(false))
	s.auth("POST /api/v1/users/{handle}/report", s.report)

	// Conversations.
	s.auth("POST /api/v1/conversations", s.createConversation)
	s.auth("GET /api/v1/conversations", s.listConversations)
	s.auth("GET /api/v1/conversations/{id}", s.getConversation)
	s.auth("PATCH /api/v1/conversations/{id}", s.patchConversation)
	s.auth("POST /api/v1/conversations/{id}/accept", s.accept)
	s.auth("POST /api/v1/conversations/{id}/decline", s.decline)
	s.auth("PUT /api/v1/conversations/{id}/archive", s.file(func(*http.Request) (app.FolderChange, error) { return app.FolderChange{Archived: ptr(true)}, nil }))
	s.auth("DELETE /api/v1/conversations/{id}/archive", s.file(func(*http.Request) (app.FolderChange, error) { return app.FolderChange{Archived: ptr(false)}, nil }))
	s.auth("PUT /api/v1/conversations/{id}/pin", s.file(func(*http.Request) (app.FolderChange, error) { return app.FolderChange{Pinned: ptr(true)}, nil }))
	s.auth("DELETE /api/v1/conversations/{id}/pin", s.file(func(*http.Request) (app.FolderChange, error) { return app.FolderChange{Pinned: ptr(false)}, nil }))
	s.auth("PUT /api/v1/conversations/{id}/mute", s.mute)
	s.auth("DELETE /api/v1/conversations/{id}/mute", s.file(func(*http.Request) (app.FolderChange, error) { return app.FolderChange{MutedUntil: &time.Time{}}, nil }))
	s.auth("POST /api/v1/conversations/{id}/members", s.addMembers)
	s.auth("DELETE /api/v1/conversations/{id}/members/{handle}", s.removeMember)
	s.auth("PUT /api/v1/conversations/{id}/members/{handle}/role", s.setRole)
	s.auth("POST /api/v1/conversations/{id}/leave", s.leave)
	s.auth("POST /api/v1/conversations/{id}/read", s.markRead)
	s.auth("POST /api/v1/conversations/{id}/delivered", s.markDelivered)
	s.auth("POST /api/v1/conversations/{id}/typing", s.typingNow)
	s.auth("PUT /api/v1/conversations/{id}/disappearing", s.setDisappearing)

	// Request triage, filters and moderation.
	s.auth("POST /api/v1/conversations/{id}/report-spam", s.reportSpam)
	s.auth("POST /api/v1/conversations/requests/bulk", s.bulkRequests)
	s.auth("GET /api/v1/me/filters", s.listFilters(false))
	s.auth("POST /api/v1/me/filters", s.addFilter(false))
	s.auth("DELETE /api/v1/me/filters/{id}", s.deleteFilter(false))
	s.auth("GET /api/v1/admin/filters", s.listFilters(true))
	s.auth("POST /api/v1/admin/filters", s.addFilter(true))
	s.auth("DELETE /api/v1/admin/filters/{id}", s.deleteFilter(true))
	s.auth("GET /api/v1/admin/reports", s.listReports)
	s.auth("POST /api/v1/admin/reports/{id}/resolve", s.resolveReport)

	// Real time.
	s.auth("GET /api/v1/sync", s.sync)
	s.auth("GET /api/v1/presence", s.presence)
	s.auth("POST /api/v1/stream/tickets", s.issueTicket)
	s.handle("GET /api/v1/stream", s.stream)

	// Records: exports, their verification and the signing key.
	s.auth("POST /api/v1/exports", s.startExport)
	s.auth("GET /api/v1/exports", s.listExports)
	s.auth("GET /api/v1/exports/{id}", s.getExport)
	s.handle("GET /api/v1/exports/{id}/download", s.downloadExport)
	s.auth("POST /api/v1/exports/verify", s.verifyExport)
	s.handle("GET /api/v1/records/key", s.recordsKey)

	// Media.
	s.auth("POST /api/v1/media", s.upload)
	s.auth("GET /api/v1/media/{id}", s.download(false))
	s.auth("GET /api/v1/media/{id}/thumbnail", s.download(true))
	s.auth("GET /api/v1/sticker-packs", s.listStickerPacks)
	s.auth("POST /api/v1/sticker-packs", s.createStickerPack)
	s.auth("DELETE /api/v1/sticker-packs/{id}", s.deleteStickerPack)
	s.auth("POST /api/v1/sticker-packs/{id}/stickers", s.addSticker)
	s.auth("GET /api/v1/stickers/{id}/image", s.stickerImage)

	// Messages.
	s.auth("POST /api/v1/conversations/{id}/messages", s.send)
	s.auth("GET /api/v1/conversations/{id}/messages", s.listMessages)
	s.auth("PATCH /api/v1/conversations/{id}/messages/{mid}", s.editMessage)
	s.auth("DELETE /api/v1/conversations/{id}/messages/{mid}", s.unsend)
	s.auth("POST /api/v1/conversations/{id}/messages/{mid}/redact", s.redact)
	s.auth("GET /api/v1/conversations/{id}/messages/{mid}/edits", s.editHistory)
	s.auth("PUT /api/v1/conversations/{id}/messages/{mid}/reactions/{emoji}", s.react(true))
	s.auth("DELETE /api/v1/conversations/{id}/messages/{mid}/reactions/{emoji}", s.react(false))

	// Search.
	s.auth("GET /api/v1/search", s.search)
	s.biz("GET /api/v1/business/{business}/search", s.businessSearch)

	// Business inbox.
	s.businessRoutes()
	s.retentionRoutes()
	s.adminRetentionRoutes()

	// Bots.
	s.botRoutes()

	// Webhooks.
	s.webhookRoutes()

	// Channels: Messenger, Instagram and WhatsApp into the inbox.
	s.channelRoutes()
}

func ptr[T any](v T) *T { return &v }
