// Package storetest is a conformance suite for parley.Store implementations.
// It uses nothing but the parley.Store interface, so that every store
// passes the same tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) parley.Store { ... })
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// Run runs the conformance suite. open must return a fresh, empty store
// each time it is called, and arrange for it to be closed when t ends.
func Run(t *testing.T, open func(t *testing.T) parley.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s parley.Store)
	}{
		{"Ping", testPing},
		{"User/CreateAndLookup", testUserCreateLookup},
		{"User/HandleTaken", testUserHandleTaken},
		{"User/NotFound", testUserNotFound},
		{"User/Update", testUserUpdate},
		{"User/UsersByIDs", testUsersByIDs},
		{"User/ByOwner", testUsersByOwner},
		{"User/Suspended", testUserSuspended},
		{"User/Deleted", testUserDeleted},
		{"Admin/Users", testUsersList},
		{"Admin/Stats", testStats},
		{"Session/CreateAndLookup", testSessionCreateLookup},
		{"Session/Token", testSessionToken},
		{"Session/ListAndTouch", testSessionListTouch},
		{"Session/Delete", testSessionDelete},
		{"Graph/Follow", testFollow},
		{"Graph/Block", testBlock},
		{"Graph/Report", testReport},
		{"Moderation/UserFlags", testUserModerationFlags},
		{"Moderation/RequestScores", testRequestScores},
		{"Moderation/SpamModel", testSpamModel},
		{"Moderation/Fingerprints", testFingerprints},
		{"Moderation/FollowOverlapAndReports", testFollowOverlapAndReports},
		{"Moderation/Filters", testFilters},
		{"Moderation/ReportsQueue", testReportsQueue},
		{"Conversation/CreateAndLookup", testConversationCreateLookup},
		{"Conversation/CountCreatedBy", testCountConversationsCreatedBy},
		{"Conversation/DirectKeyConflict", testDirectKeyConflict},
		{"Conversation/Update", testConversationUpdate},
		{"Conversation/AllocSeq", testAllocSeq},
		{"Conversation/AllocSeqConcurrent", testAllocSeqConcurrent},
		{"Conversation/AllocSeqAfterLookup", testAllocSeqAfterLookup},
		{"Conversation/Members", testMembers},
		{"Conversation/MemberStates", testMemberStates},
		{"Conversation/ReadYourWrites", testReadYourWrites},
		{"Conversation/List", testConversationList},
		{"Conversation/ListPagination", testConversationListPagination},
		{"Conversation/ListLarge", testConversationListLarge},
		{"Conversation/ConversationMembers", testConversationMembers},
		{"Conversation/Peers", testPeers},
		{"Conversation/IDs", testConversationIDs},
		{"Message/CreateAndLookup", testMessageCreateLookup},
		{"Message/Conflicts", testMessageConflicts},
		{"Message/Range", testMessageRange},
		{"Message/Edits", testMessageEdits},
		{"Message/Purge", testMessagePurge},
		{"Message/Redact", testMessageRedact},
		{"Message/BySender", testMessagesBySender},
		{"Message/CountBySender", testCountBySender},
		{"Message/CountUnread", testCountUnread},
		{"Message/Reactions", testReactions},
		{"Message/CreateMessages", testCreateMessages},
		{"Message/LastPos", testMessageLastPos},
		{"Message/Card", testMessageCard},
		{"Search/Visibility", testSearchVisibility},
		{"Search/Index", testSearchIndex},
		{"Search/DerivedWritesFollowTheUpdate", testDerivedWritesFollowTheUpdate},
		{"Update/CommittedInOrder", testCommittedInOrder},
		{"Search/Filters", testSearchFilters},
		{"Search/Relevance", testSearchRelevance},
		{"Search/Pagination", testSearchPagination},
		{"Search/Window", testSearchWindow},
		{"Search/Conversations", testSearchConversations},
		{"Message/Expired", testExpiredMessages},
		{"Message/RetentionCandidates", testRetentionCandidates},
		{"Message/Opens", testMessageOpens},
		{"Conversation/Timer", testConversationTimer},
		{"Retention/LegalHolds", testLegalHolds},
		{"Retention/Policies", testRetentionPolicies},
		{"Retention/Jobs", testRetentionJobs},
		{"Media/CreateAndAttach", testMediaCreateAttach},
		{"Media/OfMessages", testMediaOfMessages},
		{"Media/Collection", testMediaCollection},
		{"Media/Stickers", testStickers},
		{"Business/Agents", testAgents},
		{"Business/Teams", testTeams},
		{"Business/InboxItemRoundTrip", testInboxItemRoundTrip},
		{"Business/InboxItemAfterMiss", testInboxItemAfterMiss},
		{"Business/InboxPagination", testInboxPagination},
		{"Business/InboxFilters", testInboxFilters},
		{"Business/InboxOverdue", testInboxOverdue},
		{"Business/InboxLoads", testInboxLoads},
		{"Business/InboxScans", testInboxScans},
		{"Business/Notes", testNotes},
		{"Business/SavedReplies", testSavedReplies},
		{"Business/Contacts", testContacts},
		{"Campaign/Topics", testTopics},
		{"Campaign/Consents", testConsents},
		{"Campaign/Templates", testTemplates},
		{"Campaign/Segments", testSegments},
		{"Campaign/Campaigns", testCampaigns},
		{"Campaign/Activity", testCampaignActivity},
		{"Campaign/Sets", testCampaignSets},
		{"Campaign/PutRecipients", testPutRecipients},
		{"Campaign/PutReaches", testPutReaches},
		{"Conversation/AllocSeqs", testAllocSeqs},
		{"Conversation/AllocSeqsThenCreateMessages", testAllocSeqsThenCreateMessages},
		{"Chain/AppendEntries", testAppendChainEntries},
		{"Chain/Heads", testChainHeads},
		{"Business/Settings", testBusinessSettings},
		{"Business/Audit", testAudit},
		{"AuditLog/AppendAndList", testAuditLog},
		{"Channel/RoundTrip", testChannels},
		{"Channel/Work", testChannelWork},
		{"Channel/Messages", testChannelMessages},
		{"Channel/SecretsKeepKeys", testChannelSecretsKeepKeys},
		{"Channel/Health", testChannelHealth},
		{"Channel/Pause", testChannelPause},
		{"Channel/Optins", testChannelOptins},
		{"TwoFactor/RoundTrip", testTwoFactor},
		{"TwoFactor/LoginChallenges", testLoginChallenges},
		{"Webhook/RoundTrip", testWebhooks},
		{"Webhook/Queues", testDeliveryQueues},
		{"Webhook/ListAndReplay", testDeliveryListAndReplay},
		{"Webhook/Lookups", testWebhookLookups},
		{"Chain/Append", testChainAppend},
		{"Chain/Rollback", testChainRollback},
		{"Export/Jobs", testExportJobs},
		{"Export/Leases", testExportLeases},
		{"Locker/Exclusion", testLockerExclusion},
		{"Locker/Wait", testLockerWait},
		{"RateLimits/Buckets", testRateLimitsBuckets},
		{"Export/Memberships", testMemberships},
		{"Event/Append", testAppendEvent},
		{"Event/Positions", testPositions},
		{"Event/ChangesBefore", testChangesBefore},
		{"Event/SyncMessagesPages", testSyncMessagesPages},
		{"Event/SyncBacklog", testSyncBacklog},
		{"Message/LastMessages", testLastMessages},
		{"Business/AgentsAmong", testAgentsAmong},
		{"Business/AgentMembers", testAgentMembers},
		{"Tx/ErrorRollsBack", testErrorRollsBack},
		{"Tx/PanicRollsBack", testPanicRollsBack},
		{"Tx/BatchIsolation", testBatchIsolation},
		{"Tx/ViewSeesCommitted", testViewSeesCommitted},
		{"Keys/DataKeys", testDataKeys},
		{"Keys/SealedAtRest", testSealedAtRest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
	// The paths that write and read message text, again with encryption
	// at rest: the answers must not change.
	for _, tc := range tests {
		if sealedTests[tc.name] {
			t.Run("Sealed/"+tc.name, func(t *testing.T) { tc.fn(t, withKeyring(t, open(t))) })
		}
	}
}

var ctx = context.Background()

// t0 has nanoseconds so that a store that loses precision fails.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.UTC)

// at returns t0 plus sec seconds.
func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func ptr[T any](v T) *T { return &v }

// update runs fn in an Update and fails the test on error.
func update(t *testing.T, s parley.Store, fn func(tx parley.Tx) error) {
	t.Helper()
	if err := s.Update(ctx, fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a View and returns its result, failing the test on error.
func view[T any](t *testing.T, s parley.Store, fn func(tx parley.Tx) (T, error)) T {
	t.Helper()
	v, err := viewErr(s, fn)
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return v
}

// viewErr runs fn in a View and returns its result and error.
func viewErr[T any](s parley.Store, fn func(tx parley.Tx) (T, error)) (T, error) {
	var v T
	err := s.View(ctx, func(tx parley.Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v, err
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := parley.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

// wantNotFound fails unless the lookup returned ENotFound and a nil value.
func wantNotFound[T any](t *testing.T, s parley.Store, what string, fn func(tx parley.Tx) (*T, error)) {
	t.Helper()
	v, err := viewErr(s, fn)
	if v != nil {
		t.Errorf("%s: got %+v, want nil", what, v)
	}
	if parley.ErrorCode(err) != parley.ENotFound {
		t.Errorf("%s: error %v, want %s", what, err, parley.ENotFound)
	}
}

// wantEqual fails unless got and want are deeply equal.
func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %s\nwant %s", what, show(got), show(want))
	}
}

// show formats v, following pointers one level so that failures are readable.
func show(v any) string {
	rv := reflect.ValueOf(v)
	switch {
	case rv.Kind() == reflect.Pointer && !rv.IsNil():
		return fmt.Sprintf("&%+v", rv.Elem().Interface())
	case rv.Kind() == reflect.Slice:
		s := "["
		for i := range rv.Len() {
			if i > 0 {
				s += ", "
			}
			s += show(rv.Index(i).Interface())
		}
		return s + "]"
	}
	return fmt.Sprintf("%+v", v)
}

// errBoom is what failing update functions return.
var errBoom = errors.New("boom")

func newUser(id string) *parley.User {
	return &parley.User{
		ID: id, Handle: id, DisplayName: "User " + id, Bio: "bio of " + id,
		Kind: parley.KindPerson, DMPolicy: parley.PolicyOpen, PasswordHash: "hash-" + id,
		CreatedAt: at(0), UpdatedAt: at(0),
	}
}

// mkUsers creates users whose ids and handles are ids.
func mkUsers(t *testing.T, s parley.Store, ids ...string) {
	t.Helper()
	update(t, s, func(tx parley.Tx) error {
		for _, id := range ids {
			if err := tx.CreateUser(newUser(id)); err != nil {
				return err
			}
		}
		return nil
	})
}

func newConversation(id, createdBy string) *parley.Conversation {
	return &parley.Conversation{
		ID: id, Kind: parley.ConversationGroup, Title: "title " + id, CreatedBy: createdBy,
		CreatedAt: at(0), InvitePolicy: "members", LastActivityAt: at(0), MemberCount: 2,
	}
}

// mkConversation creates a group conversation.
func mkConversation(t *testing.T, s parley.Store, id, createdBy string) *parley.Conversation {
	t.Helper()
	c := newConversation(id, createdBy)
	update(t, s, func(tx parley.Tx) error { return tx.CreateConversation(c) })
	return c
}

func newMember(convID, userID string) *parley.Member {
	return &parley.Member{
		ConversationID: convID, UserID: userID, Role: parley.RoleMember,
		Status: parley.StatusActive, Folder: parley.FolderInbox,
		JoinedAt: at(0), UpdatedAt: at(0),
	}
}

// mkMessage allocates a sequence number and stores a text message.
func mkMessage(t *testing.T, s parley.Store, convID, sender, clientID, text string, when time.Time) *parley.Message {
	t.Helper()
	m := &parley.Message{
		ConversationID: convID, SenderID: sender, ClientID: clientID, Kind: parley.MessageText, Text: text, CreatedAt: when,
	}
	update(t, s, func(tx parley.Tx) error {
		seq, err := tx.AllocSeq(convID, when)
		if err != nil {
			return err
		}
		m.ID, m.Seq = fmt.Sprintf("%s-m%d", convID, seq), seq
		return tx.CreateMessage(m)
	})
	return m
}

func testPing(t *testing.T, s parley.Store) {
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}
