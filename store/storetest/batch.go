package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/parleyhq/parley"
)

// testDerivedWritesFollowTheUpdate checks the writes a store may make
// once per group-commit batch rather than per call — the conversation
// list's sort key and the search index — against the updates that cause
// them: an update reads its own (list and search inside the transaction),
// a failed update leaves none behind even when it shares a batch with
// updates that commit, and a message edited or unsent in the update that
// created it is indexed as it ends up.
func testDerivedWritesFollowTheUpdate(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a")
	for _, id := range []string{"c1", "c2", "c3"} {
		mkConversation(t, s, id, "a")
		putMember(t, s, id, "a", parley.StatusActive, 0, 0)
	}
	q := func(query string) parley.SearchFilter {
		return parley.SearchFilter{ViewerIDs: []string{"a"}, Query: query, Limit: 50}
	}
	otter := mkMessage(t, s, "c1", "a", "", "otter", at(10))
	walrus := mkMessage(t, s, "c2", "a", "", "walrus", at(20))
	mkMessage(t, s, "c3", "a", "", "seal", at(5))
	wantListOrder(t, s, "a", []listModel{{id: "c1", activity: 10}, {id: "c2", activity: 20}, {id: "c3", activity: 5}})

	send := func(tx parley.Tx, m *parley.Message) error {
		var err error
		if m.Seq, err = tx.AllocSeq(m.ConversationID, m.CreatedAt); err != nil {
			return err
		}
		return tx.CreateMessage(m)
	}
	refused := errors.New("refused")
	failed := &parley.Message{ID: "failed", ConversationID: "c1", SenderID: "a", Kind: parley.MessageText,
		Text: "narwhal", CreatedAt: at(30)}
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		failErr error
		okErrs  [8]error
		inTx    []string
		found   []string
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		failErr = s.Update(ctx, func(tx parley.Tx) error {
			inTx, found = nil, nil // a store may run fn more than once
			if err := send(tx, failed); err != nil {
				return err
			}
			rows, err := tx.Conversations(parley.ConversationFilter{UserID: "a", Folder: parley.FolderInbox})
			if err != nil {
				return err
			}
			inTx = listIDs(rows)
			hits, err := tx.SearchMessages(q("narwhal"))
			if err != nil {
				return err
			}
			for _, h := range hits {
				found = append(found, h.Message.ID)
			}
			return refused
		})
	}()
	// Updates that commit, in the same batch if the store batches.
	for i := range okErrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			okErrs[i] = s.Update(ctx, func(tx parley.Tx) error {
				return send(tx, &parley.Message{ID: "ok" + string(rune('a'+i)), ConversationID: "c3", SenderID: "a",
					Kind: parley.MessageText, Text: "beluga", CreatedAt: at(25)})
			})
		}()
	}
	close(start)
	wg.Wait()
	if !errors.Is(failErr, refused) {
		t.Fatalf("failing update: %v, want %v", failErr, refused)
	}
	for i, err := range okErrs {
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	// c3 and c2 follow in either order: the other updates may run before it or after.
	if len(inTx) != 3 || inTx[0] != "c1" {
		t.Errorf("list inside the failed update: %v, want c1 first", inTx)
	}
	wantEqual(t, "search inside the failed update", found, []string{"failed"})

	wantListOrder(t, s, "a", []listModel{{id: "c1", activity: 10}, {id: "c2", activity: 20}, {id: "c3", activity: 25}})
	wantFound(t, s, "failed update's message", q("narwhal"))
	wantFound(t, s, "committed beside it", q("beluga"), "oka", "okb", "okc", "okd", "oke", "okf", "okg", "okh")
	wantFound(t, s, "earlier", q("otter"), otter.ID)
	wantFound(t, s, "earlier, elsewhere", q("walrus"), walrus.ID)

	// Created and changed in one update: indexed as it ends up.
	edited := &parley.Message{ID: "edited", ConversationID: "c2", SenderID: "a", Kind: parley.MessageText,
		Text: "dolphin", CreatedAt: at(40)}
	unsent := &parley.Message{ID: "unsent", ConversationID: "c2", SenderID: "a", Kind: parley.MessageText,
		Text: "orca", CreatedAt: at(41)}
	update(t, s, func(tx parley.Tx) error {
		if err := send(tx, edited); err != nil {
			return err
		}
		if err := tx.UpdateMessageText(edited.ID, "porpoise", at(42)); err != nil {
			return err
		}
		if err := send(tx, unsent); err != nil {
			return err
		}
		return tx.PurgeMessage(unsent.ID, at(43))
	})
	wantFound(t, s, "text before the edit", q("dolphin"))
	wantFound(t, s, "text after the edit", q("porpoise"), edited.ID)
	wantFound(t, s, "unsent in the update that sent it", q("orca"))
	wantListOrder(t, s, "a", []listModel{{id: "c1", activity: 10}, {id: "c2", activity: 41}, {id: "c3", activity: 25}})

	// The index still follows later changes of all of them.
	again := mkMessage(t, s, "c1", "a", "", "narwhal again", at(50))
	wantFound(t, s, "sent again", q("narwhal"), again.ID)
	update(t, s, func(tx parley.Tx) error { return tx.PurgeMessage(edited.ID, at(51)) })
	update(t, s, func(tx parley.Tx) error { return tx.PurgeMessage(otter.ID, at(52)) })
	wantFound(t, s, "after unsending", q("porpoise"))
	wantFound(t, s, "after unsending the first", q("otter"))
	wantListOrder(t, s, "a", []listModel{{id: "c1", activity: 50}, {id: "c2", activity: 41}, {id: "c3", activity: 25}})
}

// testCommittedInOrder: the function of parley.WithCommitted runs once
// for each update that committed, before its Update returns, in commit
// order — for concurrent updates that share commits, the order of the
// sequence numbers they took — and never for one that failed.
func testCommittedInOrder(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a")
	mkConversation(t, s, "c1", "a")
	const n = 64
	var (
		mu    sync.Mutex
		order []int64
		wg    sync.WaitGroup
		start = make(chan struct{})
		fails = errors.New("refused")
	)
	for i := range n {
		wg.Go(func() {
			<-start
			var seq int64
			called := false
			ctx := parley.WithCommitted(ctx, func() {
				mu.Lock()
				defer mu.Unlock()
				if called {
					t.Errorf("update %d: called twice", i)
				}
				called = true
				order = append(order, seq)
			})
			err := s.Update(ctx, func(tx parley.Tx) error {
				var err error
				if seq, err = tx.AllocSeq("c1", at(i)); err != nil {
					return err
				}
				m := &parley.Message{ID: fmt.Sprint("m", i), ConversationID: "c1", SenderID: "a", Kind: parley.MessageText,
					Text: "x", Seq: seq, CreatedAt: at(i)}
				if err := tx.CreateMessage(m); err != nil {
					return err
				}
				if i%5 == 4 {
					return fails
				}
				return nil
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case i%5 == 4 && !errors.Is(err, fails):
				t.Errorf("update %d: %v, want refused", i, err)
			case i%5 == 4 && called:
				t.Errorf("update %d failed and its function ran", i)
			case i%5 != 4 && (err != nil || !called):
				t.Errorf("update %d: %v, function ran: %v (want nil, true)", i, err, called)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(order) != n-n/5 {
		t.Fatalf("%d functions ran, want %d", len(order), n-n/5)
	}
	for i := 1; i < len(order); i++ {
		if order[i] <= order[i-1] {
			t.Fatalf("functions ran out of commit order: %v", order)
		}
	}
}
