package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// The set writes of the campaign worker: each does what its single-row
// twin does for every row, refuses a row twice, and a missing row fails
// it so that the caller's transaction leaves nothing behind.

// testAllocSeqs: AllocSeqs takes the next number of each conversation,
// moves its activity (the conversation list follows), keeps AllocSeq in
// step within the transaction, and refuses repeats and unknown ids.
func testAllocSeqs(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u", "o")
	var model []listModel
	update(t, s, func(tx parley.Tx) error {
		for i := range 4 {
			id := fmt.Sprintf("c%d", i)
			c := newConversation(id, "o")
			c.ListFromConversation = i == 3 // a large group, listed from its row
			if err := tx.CreateConversation(c); err != nil {
				return err
			}
			if _, err := tx.AllocSeq(id, at(i)); err != nil {
				return err
			}
			for _, uid := range []string{"o", "u"} {
				if err := tx.PutMember(newMember(id, uid)); err != nil {
					return err
				}
			}
			model = append(model, listModel{id: id, activity: i})
		}
		_, err := tx.AllocSeq("c0", at(0)) // c0 is at 2
		return err
	})
	wantListOrder(t, s, "u", model)

	var got map[string]int64
	var after int64
	update(t, s, func(tx parley.Tx) error {
		var err error
		if got, err = tx.AllocSeqs([]string{"c0", "c1", "c3"}, at(10)); err != nil {
			return err
		}
		after, err = tx.AllocSeq("c1", at(11)) // after a set write, in the same transaction
		return err
	})
	wantEqual(t, "numbers taken", got, map[string]int64{"c0": 3, "c1": 2, "c3": 2})
	if after != 3 {
		t.Fatalf("AllocSeq after AllocSeqs: %d, want 3", after)
	}
	for id, want := range map[string]struct {
		seq int64
		at  time.Time
	}{"c0": {3, at(10)}, "c1": {3, at(11)}, "c2": {1, at(2)}, "c3": {2, at(10)}} {
		c := view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.ConversationByID(id) })
		if c.LastSeq != want.seq || !c.LastActivityAt.Equal(want.at) {
			t.Fatalf("%s: last seq %d at %v, want %d at %v", id, c.LastSeq, c.LastActivityAt, want.seq, want.at)
		}
	}
	model[0].activity, model[1].activity, model[3].activity = 10, 11, 10
	wantListOrder(t, s, "u", model)

	update(t, s, func(tx parley.Tx) error {
		m, err := tx.AllocSeqs(nil, at(12))
		if err == nil && len(m) != 0 {
			err = fmt.Errorf("no ids gave %v", m)
		}
		return err
	})
	for _, tc := range []struct {
		ids  []string
		code string
	}{{[]string{"c0", "c2", "c0"}, parley.EInvalid}, {[]string{"c2", "nope"}, parley.ENotFound}} {
		err := s.Update(ctx, func(tx parley.Tx) error {
			_, err := tx.AllocSeqs(tc.ids, at(20))
			return err
		})
		wantCode(t, err, tc.code)
	}
	// The failed transactions took nothing.
	c := view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.ConversationByID("c2") })
	if c.LastSeq != 1 || !c.LastActivityAt.Equal(at(2)) {
		t.Fatalf("c2 after failed AllocSeqs: %d at %v", c.LastSeq, c.LastActivityAt)
	}
	update(t, s, func(tx parley.Tx) error {
		seq, err := tx.AllocSeq("c2", at(21))
		if err == nil && seq != 2 {
			err = fmt.Errorf("c2 next %d, want 2", seq)
		}
		return err
	})
}

// testPutRecipients: PutRecipients saves what PutRecipient saves of each
// row, touches no other row, and refuses repeats and missing recipients.
func testPutRecipients(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz")
	update(t, s, func(tx parley.Tx) error {
		for _, id := range []string{"k1", "k2"} {
			if err := tx.CreateCampaign(&parley.Campaign{ID: id, BusinessID: "biz", Name: id, TemplateID: "p1", TopicID: "t1", Segment: `{}`,
				Status: parley.CampaignRunning, Rate: 10, CreatedBy: "a1", CreatedAt: at(1), UpdatedAt: at(1)}); err != nil {
				return err
			}
			if _, err := tx.AddRecipients(id, []string{"c1", "c2", "c3"}, at(2)); err != nil {
				return err
			}
		}
		return nil
	})
	rs := []*parley.CampaignRecipient{
		{CampaignID: "k1", ContactID: "c1", State: parley.RecipientSent, MessageID: "m1", UpdatedAt: at(5)},
		{CampaignID: "k1", ContactID: "c3", State: parley.RecipientPending, Reason: parley.EQuietHours, NotBefore: at(60), UpdatedAt: at(5)},
		{CampaignID: "k2", ContactID: "c2", State: parley.RecipientSkipped, Reason: parley.ENoConsent, UpdatedAt: at(6)},
	}
	update(t, s, func(tx parley.Tx) error { return tx.PutRecipients(rs) })
	update(t, s, func(tx parley.Tx) error { return tx.PutRecipients(nil) })
	all := []string{"c1", "c2", "c3"}
	untouched := func(k, c string) *parley.CampaignRecipient {
		return &parley.CampaignRecipient{CampaignID: k, ContactID: c, State: parley.RecipientPending, UpdatedAt: at(2)}
	}
	wantEqual(t, "k1", view(t, s, func(tx parley.Tx) (map[string]*parley.CampaignRecipient, error) { return tx.RecipientsOf("k1", all) }),
		map[string]*parley.CampaignRecipient{"c1": rs[0], "c2": untouched("k1", "c2"), "c3": rs[1]})
	wantEqual(t, "k2", view(t, s, func(tx parley.Tx) (map[string]*parley.CampaignRecipient, error) { return tx.RecipientsOf("k2", all) }),
		map[string]*parley.CampaignRecipient{"c1": untouched("k2", "c1"), "c2": rs[2], "c3": untouched("k2", "c3")})
	// The states' indexes follow: c3 waits, c2 alone is due now.
	due := view(t, s, func(tx parley.Tx) ([]*parley.CampaignRecipient, error) { return tx.DueRecipients("k1", at(10), 10) })
	wantEqual(t, "due", due, []*parley.CampaignRecipient{untouched("k1", "c2")})

	later := &parley.CampaignRecipient{CampaignID: "k1", ContactID: "c2", State: parley.RecipientFailed, Reason: "x", UpdatedAt: at(9)}
	for _, tc := range []struct {
		rs   []*parley.CampaignRecipient
		code string
	}{
		{[]*parley.CampaignRecipient{later, later}, parley.EInvalid},
		{[]*parley.CampaignRecipient{later, {CampaignID: "k1", ContactID: "nobody", State: parley.RecipientSent, UpdatedAt: at(9)}}, parley.ENotFound},
	} {
		wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.PutRecipients(tc.rs) }), tc.code)
	}
	got := view(t, s, func(tx parley.Tx) (*parley.CampaignRecipient, error) { return tx.Recipient("k1", "c2") })
	wantEqual(t, "after failed writes", got, untouched("k1", "c2"))
}

// testPutReaches: PutReaches inserts new rows and replaces existing ones
// as PutReach does, and refuses repeats and unknown businesses.
func testPutReaches(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2")
	old := &parley.Reach{BusinessID: "biz", ContactID: "c1", LastInboundAt: at(1), Promos: []time.Time{at(1)}}
	update(t, s, func(tx parley.Tx) error { return tx.PutReach(old) })
	rs := []*parley.Reach{
		{BusinessID: "biz", ContactID: "c1", LastInboundAt: at(3), Promos: []time.Time{at(1), at(4)}},
		{BusinessID: "biz", ContactID: "c2", StoppedAt: ptr(at(5))},
		{BusinessID: "biz2", ContactID: "c1", LastInboundAt: at(6), Promos: []time.Time{at(6)}},
	}
	update(t, s, func(tx parley.Tx) error { return tx.PutReaches(rs) })
	update(t, s, func(tx parley.Tx) error { return tx.PutReaches(nil) })
	for _, want := range rs {
		got := view(t, s, func(tx parley.Tx) (*parley.Reach, error) { return tx.Reach(want.BusinessID, want.ContactID) })
		single := *want
		update(t, s, func(tx parley.Tx) error { return tx.PutReach(&single) })
		wantEqual(t, "reach "+want.BusinessID+"/"+want.ContactID, got,
			view(t, s, func(tx parley.Tx) (*parley.Reach, error) { return tx.Reach(want.BusinessID, want.ContactID) }))
		if !got.LastInboundAt.Equal(want.LastInboundAt) || len(got.Promos) != len(want.Promos) || (got.StoppedAt == nil) != (want.StoppedAt == nil) {
			t.Fatalf("reach %s/%s: %+v, want %+v", want.BusinessID, want.ContactID, got, want)
		}
	}
	again := &parley.Reach{BusinessID: "biz", ContactID: "c1", LastInboundAt: at(9)}
	for _, tc := range []struct {
		rs   []*parley.Reach
		code string
	}{
		{[]*parley.Reach{again, again}, parley.EInvalid},
		{[]*parley.Reach{again, {BusinessID: "nobody", ContactID: "c1"}}, parley.ENotFound},
	} {
		wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.PutReaches(tc.rs) }), tc.code)
	}
	if got := view(t, s, func(tx parley.Tx) (*parley.Reach, error) { return tx.Reach("biz", "c1") }); !got.LastInboundAt.Equal(at(3)) {
		t.Fatalf("after failed writes: %+v", got)
	}
}

// testAppendChainEntries: entries of several conversations, two of one,
// in one call; the heads follow; an index that exists is a conflict and
// the transaction keeps nothing of the call.
func testAppendChainEntries(t *testing.T, s parley.Store) {
	var first *parley.ChainEntry
	update(t, s, func(tx parley.Tx) error {
		var err error
		first, err = appendNext(tx, "c1", parley.ChainCreate, at(0))
		return err
	})
	a2 := chainEntry("c1", parley.ChainMessage, 1, first.Hash, at(1))
	a3 := chainEntry("c1", parley.ChainMessage, 2, a2.Hash, at(1))
	b1 := chainEntry("c2", parley.ChainMessage, 0, "", at(1))
	update(t, s, func(tx parley.Tx) error {
		if err := tx.AppendChainEntries([]*parley.ChainEntry{a2, b1, a3}); err != nil {
			return err
		}
		// The heads in the same transaction, then one more entry.
		idx, head, err := tx.ChainHead("c1")
		if err == nil && (idx != 3 || head != a3.Hash) {
			err = fmt.Errorf("head of c1 in the transaction: %d %s", idx, head)
		}
		return err
	})
	update(t, s, func(tx parley.Tx) error { return tx.AppendChainEntries(nil) })
	wantEqual(t, "c1", view(t, s, func(tx parley.Tx) ([]*parley.ChainEntry, error) { return tx.ChainEntries("c1", 0, 10) }),
		[]*parley.ChainEntry{first, a2, a3})
	wantEqual(t, "c2", view(t, s, func(tx parley.Tx) ([]*parley.ChainEntry, error) { return tx.ChainEntries("c2", 0, 10) }),
		[]*parley.ChainEntry{b1})

	c3 := chainEntry("c3", parley.ChainMessage, 0, "", at(2))
	taken := chainEntry("c1", parley.ChainEdit, 2, a2.Hash, at(2))
	err := s.Update(ctx, func(tx parley.Tx) error { return tx.AppendChainEntries([]*parley.ChainEntry{c3, taken}) })
	wantCode(t, err, parley.EConflict)
	if got := view(t, s, func(tx parley.Tx) ([]*parley.ChainEntry, error) { return tx.ChainEntries("c3", 0, 10) }); len(got) != 0 {
		t.Fatalf("a failed call left %d entries", len(got))
	}
	update(t, s, func(tx parley.Tx) error {
		idx, head, err := tx.ChainHead("c1")
		if err == nil && (idx != 3 || head != a3.Hash) {
			err = fmt.Errorf("head of c1 after the conflict: %d %s", idx, head)
		}
		return err
	})
}

// testAllocSeqsThenCreateMessages: the campaign worker's way of storing a
// chunk, AllocSeqs then CreateMessages, leaves each conversation's last
// position at the newest position of its messages (also with a second
// message of a conversation in the same call, stored before the first,
// and a message of a conversation whose number came from AllocSeq), every
// position distinct.
func testAllocSeqsThenCreateMessages(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a")
	for _, id := range []string{"c1", "c2", "c3"} {
		mkConversation(t, s, id, "a")
	}
	msg := func(id, conv string, seq int64) *parley.Message {
		return &parley.Message{ID: id, ConversationID: conv, Seq: seq, SenderID: "a", ClientID: "k" + id,
			Kind: parley.MessageText, Text: "text of " + id, CreatedAt: at(int(seq))}
	}
	var ms []*parley.Message
	update(t, s, func(tx parley.Tx) error {
		seqs, err := tx.AllocSeqs([]string{"c2", "c1"}, at(5))
		if err != nil {
			return err
		}
		seq3, err := tx.AllocSeq("c3", at(5))
		if err != nil {
			return err
		}
		// c1's second message is numbered after the set allocation and
		// stored before the first.
		seq1b, err := tx.AllocSeq("c1", at(6))
		if err != nil {
			return err
		}
		ms = []*parley.Message{msg("m1b", "c1", seq1b), msg("m3", "c3", seq3), msg("m1", "c1", seqs["c1"]), msg("m2", "c2", seqs["c2"])}
		return tx.CreateMessages(ms)
	})
	seen := map[int64]string{}
	newest := map[string]int64{}
	for _, m := range ms {
		if other, dup := seen[m.Pos]; dup || m.Pos <= 0 {
			t.Fatalf("position %d of %s (also %q)", m.Pos, m.ID, other)
		}
		seen[m.Pos] = m.ID
		newest[m.ConversationID] = max(newest[m.ConversationID], m.Pos)
		wantEqual(t, "stored "+m.ID, view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(m.ID) }), m)
	}
	for conv, want := range newest {
		c := view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.ConversationByID(conv) })
		wantEqual(t, "last position of "+conv, c.LastPos, want)
	}
}

// testChainHeads: ChainHeads answers what ChainHead answers for each
// conversation — the zero head for one without entries — in a view and
// in an update, also for entries appended earlier in the same
// transaction.
func testChainHeads(t *testing.T, s parley.Store) {
	var a1, b1 *parley.ChainEntry
	update(t, s, func(tx parley.Tx) error {
		var err error
		if a1, err = appendNext(tx, "c1", parley.ChainCreate, at(0)); err != nil {
			return err
		}
		b1, err = appendNext(tx, "c2", parley.ChainCreate, at(0))
		return err
	})
	ids := []string{"c1", "c2", "c3"}
	heads := func(tx parley.Tx) (map[string]parley.ChainHead, error) { return tx.ChainHeads(ids) }
	one := func(tx parley.Tx) (map[string]parley.ChainHead, error) {
		out := map[string]parley.ChainHead{}
		for _, id := range ids {
			idx, hash, err := tx.ChainHead(id)
			if err != nil {
				return nil, err
			}
			out[id] = parley.ChainHead{Index: idx, Hash: hash}
		}
		return out, nil
	}
	want := map[string]parley.ChainHead{"c1": {Index: 1, Hash: a1.Hash}, "c2": {Index: 1, Hash: b1.Hash}, "c3": {}}
	wantEqual(t, "ChainHead one by one", view(t, s, one), want)
	wantEqual(t, "ChainHeads in a view", view(t, s, heads), want)
	a2 := chainEntry("c1", parley.ChainMessage, 1, a1.Hash, at(1))
	c1 := chainEntry("c3", parley.ChainMessage, 0, "", at(1))
	want2 := map[string]parley.ChainHead{"c1": {Index: 2, Hash: a2.Hash}, "c2": {Index: 1, Hash: b1.Hash}, "c3": {Index: 1, Hash: c1.Hash}}
	update(t, s, func(tx parley.Tx) error {
		got, err := tx.ChainHeads(ids)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("ChainHeads in an update:\n got %s\nwant %s", show(got), show(want))
		}
		if err := tx.AppendChainEntries([]*parley.ChainEntry{a2, c1}); err != nil {
			return err
		}
		if got, err = tx.ChainHeads(ids); err != nil {
			return err
		}
		if !reflect.DeepEqual(got, want2) {
			return fmt.Errorf("ChainHeads after appending:\n got %s\nwant %s", show(got), show(want2))
		}
		return nil
	})
	wantEqual(t, "ChainHeads after the update", view(t, s, heads), want2)
	wantEqual(t, "ChainHeads of none", view(t, s, func(tx parley.Tx) (map[string]parley.ChainHead, error) { return tx.ChainHeads(nil) }),
		map[string]parley.ChainHead{})
}
