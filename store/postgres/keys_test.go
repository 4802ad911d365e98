package postgres_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/sealed"
	"github.com/parleyhq/parley/store/postgres"
	"github.com/parleyhq/parley/store/postgres/pgtest"
)

// TestResealIndexesCopiedRows: a sealed message whose search column is
// empty — as migrate-data leaves it, copying rows from SQLite — is found
// by search again once ResealMessages has run.
func TestResealIndexesCopiedRows(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	db, err := postgres.Open(dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, _, _ := sealed.GenerateMasterKey()
	k, _ := sealed.NewDataKey(m, 1)
	ring, _ := sealed.NewKeyring(m, []sealed.WrappedKey{k})
	db.SetKeyring(ring)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err = db.Update(ctx, func(tx parley.Tx) error {
		if err := tx.CreateUser(&parley.User{ID: "u1", Handle: "ann", Kind: parley.KindPerson, CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateConversation(&parley.Conversation{ID: "c1", Kind: parley.ConversationGroup, CreatedBy: "u1", CreatedAt: now, LastActivityAt: now}); err != nil {
			return err
		}
		if err := tx.PutMember(&parley.Member{ConversationID: "c1", UserID: "u1", Role: parley.RoleOwner, Status: parley.StatusActive, JoinedAt: now}); err != nil {
			return err
		}
		seq, err := tx.AllocSeq("c1", now)
		if err != nil {
			return err
		}
		return tx.CreateMessage(&parley.Message{ID: "m1", ConversationID: "c1", Seq: seq, SenderID: "u1", Kind: parley.MessageText, Text: "lighthouse keeper", CreatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	found := func() int {
		var hits []parley.SearchHit
		if err := db.View(ctx, func(tx parley.Tx) error {
			var err error
			hits, err = tx.SearchMessages(parley.SearchFilter{ViewerIDs: []string{"u1"}, Query: "lighthouse", Limit: 10})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return len(hits)
	}
	if found() != 1 {
		t.Fatal("a sealed message is not found before the copy is simulated")
	}
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE messages SET search = NULL`); err != nil {
		t.Fatal(err)
	}
	if found() != 0 {
		t.Fatal("found with an empty search column")
	}
	if err := db.Update(ctx, func(tx parley.Tx) error {
		_, _, err := tx.ResealMessages(0, 100)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if found() != 1 {
		t.Fatal("ResealMessages did not index the sealed message")
	}
}
