package client_test

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
)

// coverage maps every operationId of httpapi/openapi.json to the client
// method that calls it ("Client.X" or "Business.X"), or to "-" and the
// reason it is deliberately left out.
var coverage = map[string]string{
	"healthz":  "- probe for load balancers, not part of the API",
	"readyz":   "- probe for load balancers, not part of the API",
	"openapi":  "- the OpenAPI document itself",
	"stream":   "Client.Stream",
	"register": "Client.Register", "login": "Client.Login",
	"listSessions": "Client.Sessions", "logoutEverywhere": "Client.LogoutEverywhere",
	"logout": "Client.Logout", "revokeSession": "Client.EndSession",
	"getMe": "Client.Me", "updateMe": "Client.UpdateMe", "changePassword": "Client.ChangePassword",
	"listBlocks": "Client.Blocks", "getUser": "Client.User", "follow": "Client.Follow",
	"unfollow": "Client.Unfollow", "block": "Client.Block", "unblock": "Client.Unblock",
	"report":             "Client.Report",
	"createConversation": "Client.StartDirect", "listConversations": "Client.Conversations",
	"getConversation": "Client.Conversation", "updateGroup": "Client.UpdateGroup",
	"accept": "Client.Accept", "decline": "Client.Decline", "archive": "Client.Archive",
	"unarchive": "Client.Unarchive", "pin": "Client.Pin", "unpin": "Client.Unpin",
	"mute": "Client.Mute", "unmute": "Client.Unmute", "addMembers": "Client.AddMembers",
	"removeMember": "Client.RemoveMember", "setRole": "Client.SetRole", "leave": "Client.Leave",
	"markRead": "Client.MarkRead", "markDelivered": "Client.MarkDelivered", "typing": "Client.Typing", "sendMessage": "Client.Send", "listMessages": "Client.Messages",
	"editMessage": "Client.Edit", "unsendMessage": "Client.Unsend", "redactMessage": "Client.Redact",
	"deleteAccount": "Client.DeleteAccount", "redactInboxMessage": "Business.Redact", "editHistory": "Client.Edits",
	"react": "Client.React", "unreact": "Client.Unreact", "sync": "Client.Sync", "presence": "Client.OnlinePeers",
	"search": "Client.Search", "issueStreamTicket": "Client.NewStreamTicket",
	"uploadMedia": "Client.Upload", "downloadMedia": "Client.Download",
	"downloadThumbnail": "Client.Thumbnail", "listStickerPacks": "Client.StickerPacks",
	"createStickerPack": "Client.CreateStickerPack", "deleteStickerPack": "Client.DeleteStickerPack", "addSticker": "Client.AddSticker", "stickerImage": "Client.StickerImage",
	"myBusinesses": "Client.Businesses",
	"listAgents":   "Business.Agents", "putAgent": "Business.SetAgent", "removeAgent": "Business.RemoveAgent",
	"listTeams": "Business.Teams", "createTeam": "Business.CreateTeam", "updateTeam": "Business.UpdateTeam", "deleteTeam": "Business.DeleteTeam",
	"addTeamMember": "Business.AddTeamMember", "removeTeamMember": "Business.RemoveTeamMember",
	"getBusinessSettings": "Business.Settings", "putBusinessSettings": "Business.SetSettings",
	"listInbox": "Business.Conversations", "inboxCounts": "Business.Counts",
	"getInboxConversation": "Business.Conversation", "updateInboxConversation": "Business.UpdateConversation",
	"businessSend": "Business.Send", "listInboxMessages": "Business.Messages",
	"markInboxRead": "Business.MarkRead", "editInboxMessage": "Business.Edit",
	"unsendInboxMessage": "Business.Unsend", "reactInbox": "Business.React",
	"unreactInbox": "Business.Unreact", "inboxPresence": "Business.Presence",
	"listNotes": "Business.Notes", "addNote": "Business.AddNote",
	"conversationAudit": "Business.ConversationAudit", "businessAudit": "Business.Audit",
	"listSavedReplies": "Business.SavedReplies", "createSavedReply": "Business.CreateSavedReply",
	"updateSavedReply": "Business.UpdateSavedReply", "deleteSavedReply": "Business.DeleteSavedReply",
	"renderSavedReply": "Business.RenderSavedReply", "searchBusiness": "Business.Search",
	"listContacts": "Business.Contacts", "getContact": "Business.Contact",
	"updateContact": "Business.UpdateContact", "mergeContact": "Business.MergeContact", "inboxReport": "Business.Report",
	"listTokens": "Client.Tokens", "createToken": "Client.CreateToken", "revokeToken": "Client.RevokeToken",
	"listBots": "Client.Bots", "createBot": "Client.CreateBot", "updateBot": "Client.UpdateBot",
	"retireBot": "Client.RetireBot", "listBotTokens": "Client.BotTokens",
	"createBotToken": "Client.CreateBotToken", "rotateBotToken": "Client.RotateBotToken",
	"revokeBotToken": "Client.RevokeBotToken", "postback": "Client.Postback",
	"handover": "Business.Handover", "testRules": "Business.TestRules",
	"listWebhooks": "Client.Webhooks", "createWebhook": "Client.CreateWebhook", "getWebhook": "Client.Webhook", "updateWebhook": "Client.UpdateWebhook",
	"deleteWebhook": "Client.DeleteWebhook", "listDeliveries": "Client.Deliveries", "replayDelivery": "Client.ReplayDelivery", "testWebhook": "Client.TestWebhook",
	"setDisappearing": "Client.SetDisappearing",
	"listHolds":       "Business.Holds", "placeHold": "Business.PlaceHold", "releaseHold": "Business.ReleaseHold", "getRetention": "Business.Retention",
	"setRetention": "Business.SetRetention", "startRetention": "Business.StartRetention", "getRetentionJob": "Business.RetentionJob",
	"completeLogin": "Client.CompleteLogin", "twoFactorStatus": "Client.TwoFactorStatus",
	"setupTwoFactor": "Client.SetupTwoFactor", "confirmTwoFactor": "Client.ConfirmTwoFactor",
	"disableTwoFactor": "Client.DisableTwoFactor", "regenerateRecoveryCodes": "Client.RegenerateRecoveryCodes",
	"reportSpam": "Client.ReportSpam", "bulkRequests": "Client.BulkRequests",
	"listMyFilters": "Client.Filters", "addMyFilter": "Client.AddFilter", "deleteMyFilter": "Client.DeleteFilter",
	"listServerFilters": "Client.ServerFilters", "addServerFilter": "Client.AddServerFilter",
	"deleteServerFilter": "Client.DeleteServerFilter",
	"listReports":        "Client.Reports", "resolveReport": "Client.ResolveReport", "listAuditLog": "Client.AuditLog", "verifyAuditLog": "Client.VerifyAuditLog",
	"adminListHolds": "Client.AdminHolds", "adminPlaceHold": "Client.AdminPlaceHold", "adminReleaseHold": "Client.AdminReleaseHold",
	"adminStartRetention": "Client.AdminStartRetention", "adminGetRetentionJob": "Client.AdminRetentionJob",
	"listTopics": "Business.Topics", "createTopic": "Business.CreateTopic",
	"updateTopic": "Business.UpdateTopic", "deleteTopic": "Business.DeleteTopic",
	"getConsent": "Business.Consent", "optOutContact": "Business.OptOutAll", "optInContact": "Business.OptIn", "optOutContactTopic": "Business.OptOut",
	"listTemplates": "Business.Templates", "createTemplate": "Business.CreateTemplate", "updateTemplate": "Business.UpdateTemplate", "deleteTemplate": "Business.DeleteTemplate",
	"previewTemplate": "Business.PreviewTemplate", "countSegment": "Business.CountSegment", "listCampaigns": "Business.Campaigns", "createCampaign": "Business.CreateCampaign",
	"getCampaign": "Business.Campaign", "setCampaignStatus": "Business.SetCampaignStatus", "listCampaignRecipients": "Business.CampaignRecipients", "getCampaignStats": "Business.CampaignStats",
	"consentForm": "Client.ConsentForm", "consentFormSubmit": "Client.SubmitConsentForm", "mySubscriptions": "Client.Subscriptions",
	"unsubscribeAll": "Client.Unsubscribe", "unsubscribeTopic": "Client.UnsubscribeTopic",
	"startExport": "Client.StartExport", "listExports": "Client.Exports", "getExport": "Client.Export",
	"downloadExport": "Client.DownloadExport", "verifyExport": "Client.VerifyExport", "recordsKey": "Client.RecordsKey",
	"listChannels": "Business.Channels", "connectChannel": "Business.ConnectChannel", "getChannel": "Business.Channel",
	"disconnectChannel": "Business.DisconnectChannel", "getSendModes": "Business.SendModes", "updateChannel": "Business.UpdateChannel",
	"getChannelMedia":       "- fetched by Meta's servers (a signed link given in a Send API call), not by clients",
	"verifyChannelWebhook":  "- called by Meta's servers (the subscription handshake), not by clients",
	"receiveChannelWebhook": "- called by Meta's servers (signed with the app secret), not by clients",
}

// TestEveryOperationHasAMethod fails when an operation of the OpenAPI
// document has no client method and no stated reason to be left out, or
// when the table names a method that does not exist.
func TestEveryOperationHasAMethod(t *testing.T) {
	b, err := os.ReadFile("../httpapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	types := map[string]reflect.Type{
		"Client":   reflect.TypeFor[*client.Client](),
		"Business": reflect.TypeFor[*client.Business](),
	}
	seen := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op struct {
				OperationID string `json:"operationId"`
			}
			if json.Unmarshal(raw, &op) != nil || op.OperationID == "" {
				continue
			}
			id := op.OperationID
			seen[id] = true
			entry, ok := coverage[id]
			switch {
			case !ok:
				t.Errorf("%s %s (%s) has no client method: add one and an entry in coverage", strings.ToUpper(method), path, id)
			case strings.HasPrefix(entry, "- "):
				// Deliberately left out, with the reason in the entry.
			default:
				recv, name, ok := strings.Cut(entry, ".")
				typ := types[recv]
				if !ok || typ == nil {
					t.Errorf("%s: bad entry %q", id, entry)
					continue
				}
				if _, ok := typ.MethodByName(name); !ok {
					t.Errorf("%s: *client.%s has no method %s", id, recv, name)
				}
			}
		}
	}
	for id := range coverage {
		if !seen[id] {
			t.Errorf("coverage lists %s, which the OpenAPI document no longer has", id)
		}
	}
}
