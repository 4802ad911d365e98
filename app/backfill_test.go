package app_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// TestBackfillChain builds history the way it was stored before the hash
// chain existed (schema 0013) — rows written through the store, with no
// chain entries — in a conversation with no chain at all and in one whose
// chain began after its first messages. Exports of both fail to verify
// (their messages are not in the chain); after BackfillChain they verify,
// and a second run appends nothing.
func TestBackfillChain(t *testing.T) {
	e := newRecordsApp(t)
	ctx := context.Background()
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	for _, p := range [][2]*app.Actor{{alice, bob}, {bob, alice}} {
		if err := e.a.Follow(ctx, p[0], p[1].User.Handle, true); err != nil {
			t.Fatal(err)
		}
	}
	at := e.clk.now().Add(-48 * 3600e9)
	// preChain stores a message as the server did before 0013: no entry.
	preChain := func(tx parley.Tx, conv, sender, text string) (*parley.Message, error) {
		seq, err := tx.AllocSeq(conv, at)
		if err != nil {
			return nil, err
		}
		m := &parley.Message{ID: fmt.Sprintf("%s-old%d", conv, seq), ConversationID: conv, Seq: seq, SenderID: sender,
			Kind: parley.MessageText, Text: text, CreatedAt: at}
		return m, tx.CreateMessage(m)
	}

	// An old group: no chain at all; an edited and an unsent message.
	const old = "oldgroup0000000000000000000"
	if err := e.db.Update(ctx, func(tx parley.Tx) error {
		c := &parley.Conversation{ID: old, Kind: parley.ConversationGroup, Title: "old times", CreatedBy: alice.User.ID,
			CreatedAt: at, InvitePolicy: "members", LastActivityAt: at, MemberCount: 2}
		if err := tx.CreateConversation(c); err != nil {
			return err
		}
		for _, m := range []*parley.Member{
			{ConversationID: old, UserID: alice.User.ID, Role: parley.RoleOwner, Status: parley.StatusActive, Folder: parley.FolderInbox, JoinedAt: at, UpdatedAt: at},
			{ConversationID: old, UserID: bob.User.ID, Role: parley.RoleMember, Status: parley.StatusActive, Folder: parley.FolderInbox, JoinedAt: at, UpdatedAt: at},
		} {
			if err := tx.PutMember(m); err != nil {
				return err
			}
		}
		if _, err := preChain(tx, old, alice.User.ID, "first words"); err != nil {
			return err
		}
		edited, err := preChain(tx, old, bob.User.ID, "typo")
		if err != nil {
			return err
		}
		if err := tx.AddMessageEdit(&parley.MessageEdit{MessageID: edited.ID, Text: "typo", EditedAt: at}); err != nil {
			return err
		}
		if err := tx.UpdateMessageText(edited.ID, "fixed", at); err != nil {
			return err
		}
		gone, err := preChain(tx, old, alice.User.ID, "regret")
		if err != nil {
			return err
		}
		return tx.PurgeMessage(gone.ID, at)
	}); err != nil {
		t.Fatal(err)
	}
	// A direct conversation whose chain began after its first messages.
	d, _, err := e.a.CreateDirect(ctx, alice, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.Update(ctx, func(tx parley.Tx) error {
		_, err := preChain(tx, d.ID, alice.User.ID, "before the chain")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.a.Send(ctx, bob, d.ID, app.SendInput{Text: "after the chain"}); err != nil {
		t.Fatal(err)
	}

	key := e.key.Public().(ed25519.PublicKey)
	for _, conv := range []string{old, d.ID} {
		_, zipBytes := e.export(t, bob, app.ExportInput{Scope: parley.ExportConversation, ConversationID: conv})
		rep := verify(t, zipBytes, key)
		if rep.OK || !strings.Contains(strings.Join(rep.Problems, "\n"), "is not in the chain") {
			t.Fatalf("before the backfill the export of %s verifies: %+v", conv, rep)
		}
	}

	var reports []app.ChainBackfill
	st, err := e.a.BackfillChain(ctx, func(p app.ChainBackfill) { reports = append(reports, p) })
	if err != nil {
		t.Fatal(err)
	}
	// old: create + first + (message, edit) for the edited one + (message,
	// unsend) for the unsent one = 6 entries, 3 messages; direct: 1.
	if st.Conversations != 2 || st.Backfilled != 2 || st.Messages != 4 || st.Entries != 7 {
		t.Fatalf("backfill %+v", st)
	}
	if len(reports) != 2 || reports[1] != st {
		t.Fatalf("progress reports %+v", reports)
	}
	for _, conv := range []string{old, d.ID} {
		_, zipBytes := e.export(t, bob, app.ExportInput{Scope: parley.ExportConversation, ConversationID: conv})
		if rep := verify(t, zipBytes, key); !rep.OK {
			t.Fatalf("after the backfill the export of %s fails: %v", conv, rep.Problems)
		}
	}
	again, err := e.a.BackfillChain(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Entries != 0 || again.Backfilled != 0 || again.Conversations != 2 {
		t.Fatalf("second backfill %+v", again)
	}
	// New messages chain as usual after a backfill.
	if _, _, err := e.a.Send(ctx, alice, old, app.SendInput{Text: "back again"}); err != nil {
		t.Fatal(err)
	}
	_, zipBytes := e.export(t, bob, app.ExportInput{Scope: parley.ExportConversation, ConversationID: old})
	if rep := verify(t, zipBytes, key); !rep.OK {
		t.Fatalf("after a new message: %v", rep.Problems)
	}
}
