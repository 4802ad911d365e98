package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/postgres"
	"github.com/parleyhq/parley/store/postgres/pgtest"
	"github.com/parleyhq/parley/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) parley.Store {
		return pgtest.Open(t, postgres.Options{})
	})
}

// openNodes opens n stores on one fresh database, as n Parley nodes would.
func openNodes(t *testing.T, n int) []*postgres.DB {
	t.Helper()
	dsn := pgtest.DSN(t)
	nodes := make([]*postgres.DB, n)
	for i := range nodes {
		db, err := postgres.Open(dsn, postgres.Options{MaxBatch: 32})
		if err != nil {
			t.Fatalf("Open node %d: %v", i, err)
		}
		t.Cleanup(func() { db.Close() })
		nodes[i] = db
	}
	return nodes
}

// TestNodesShareSequences sends from many goroutines through three stores
// on one database into a few conversations, while a reader follows the
// user's sync position the way a device does. Every conversation's
// sequence numbers must come out 1, 2, 3 … without gap or repeat, and the
// reader, which only ever asks for positions after the highest it saw,
// must see every message: a message committed after a higher position was
// already visible would be skipped for good.
func TestNodesShareSequences(t *testing.T) {
	const (
		nodes      = 3
		writers    = 8 // per node
		perWriter  = 40
		convs      = 4
		total      = nodes * writers * perWriter
		readerUser = "reader"
	)
	ctx := context.Background()
	dbs := openNodes(t, nodes)
	now := time.Unix(1700000000, 0).UTC()
	err := dbs[0].Update(ctx, func(tx parley.Tx) error {
		for _, id := range []string{readerUser, "sender"} {
			if err := tx.CreateUser(&parley.User{ID: id, Handle: id, Kind: parley.KindPerson,
				DMPolicy: parley.PolicyOpen, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		for c := range convs {
			id := fmt.Sprint("c", c)
			if err := tx.CreateConversation(&parley.Conversation{ID: id, Kind: parley.ConversationGroup,
				CreatedBy: "sender", CreatedAt: now, LastActivityAt: now}); err != nil {
				return err
			}
			if err := tx.PutMember(&parley.Member{ConversationID: id, UserID: readerUser, Role: parley.RoleMember,
				Status: parley.StatusActive, Folder: parley.FolderInbox, JoinedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	seen := map[string]bool{}
	readerDone := make(chan error, 1)
	go func() {
		var since int64
		for {
			stopping := false
			select {
			case <-stop:
				stopping = true
			default:
			}
			var got []*parley.Message
			err := dbs[2].View(ctx, func(tx parley.Tx) error {
				var err error
				got, err = tx.SyncMessages(readerUser, since, 100)
				return err
			})
			if err != nil {
				readerDone <- err
				return
			}
			for _, m := range got {
				if seen[m.ID] {
					readerDone <- fmt.Errorf("message %s delivered twice", m.ID)
					return
				}
				seen[m.ID] = true
				since = max(since, m.Pos)
			}
			if stopping && len(got) == 0 {
				readerDone <- nil
				return
			}
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, nodes*writers)
	for n := range nodes {
		for w := range writers {
			wg.Go(func() {
				for i := range perWriter {
					conv := fmt.Sprint("c", (n+w+i)%convs)
					id := fmt.Sprintf("m-%d-%d-%d", n, w, i)
					err := dbs[n].Update(ctx, func(tx parley.Tx) error {
						seq, err := tx.AllocSeq(conv, now)
						if err != nil {
							return err
						}
						return tx.CreateMessage(&parley.Message{ID: id, ConversationID: conv, Seq: seq,
							SenderID: "sender", ClientID: id, Kind: parley.MessageText, Text: "hi", CreatedAt: now})
					})
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		t.Fatalf("Update: %v", err)
	}
	if err := <-readerDone; err != nil {
		t.Fatalf("reader: %v", err)
	}
	if len(seen) != total {
		t.Errorf("the reader saw %d of %d messages: a position became visible after a higher one", len(seen), total)
	}

	count := 0
	for c := range convs {
		var ms []*parley.Message
		err := dbs[1].View(ctx, func(tx parley.Tx) error {
			var err error
			ms, err = tx.Messages(parley.MessageRange{ConversationID: fmt.Sprint("c", c), Limit: total})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range ms {
			if m.Seq != int64(i+1) {
				t.Fatalf("c%d: message %d has seq %d", c, i, m.Seq)
			}
			if i > 0 && m.Pos <= ms[i-1].Pos {
				t.Fatalf("c%d: seq %d has position %d, not after %d", c, m.Seq, m.Pos, ms[i-1].Pos)
			}
		}
		count += len(ms)
	}
	if count != total {
		t.Fatalf("%d messages stored, want %d", count, total)
	}
}

// TestUnstorableText: PostgreSQL's text holds no NUL and no invalid UTF-8,
// which hostile requests carry: a lookup by such a string finds nothing
// (as on SQLite) instead of failing, and text with them is stored with
// U+FFFD in their place.
func TestUnstorableText(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t, postgres.Options{})
	now := time.Unix(1700000000, 0).UTC()
	err := db.Update(ctx, func(tx parley.Tx) error {
		return tx.CreateUser(&parley.User{ID: "u1", Handle: "alice", DisplayName: "a\x00b\xffc", Kind: parley.KindPerson,
			DMPolicy: parley.PolicyOpen, CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		t.Fatalf("CreateUser with a NUL and invalid UTF-8: %v", err)
	}
	err = db.View(ctx, func(tx parley.Tx) error {
		if _, err := tx.UserByHandle("al\x00ice"); parley.ErrorCode(err) != parley.ENotFound {
			return fmt.Errorf("lookup by a handle with a NUL: %v, want not found", err)
		}
		if _, err := tx.UserByID("u1\xff"); parley.ErrorCode(err) != parley.ENotFound {
			return fmt.Errorf("lookup by invalid UTF-8: %v, want not found", err)
		}
		u, err := tx.UserByID("u1")
		if err != nil {
			return err
		}
		if u.DisplayName != "a\uFFFDb\uFFFDc" {
			return fmt.Errorf("display name %q", u.DisplayName)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCacheAcrossNodes: each node's committer caches memberships and
// blocks, so another node's write must reach it. Node A reads a pair
// (caching "not blocked"), node B blocks, and A's next write sees it.
func TestCacheAcrossNodes(t *testing.T) {
	ctx := context.Background()
	dbs := openNodes(t, 2)
	now := time.Unix(1700000000, 0).UTC()
	err := dbs[0].Update(ctx, func(tx parley.Tx) error {
		for _, id := range []string{"u1", "u2"} {
			if err := tx.CreateUser(&parley.User{ID: id, Handle: id, Kind: parley.KindPerson,
				DMPolicy: parley.PolicyOpen, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		if err := tx.CreateConversation(&parley.Conversation{ID: "c1", Kind: parley.ConversationDirect,
			CreatedBy: "u1", CreatedAt: now, LastActivityAt: now}); err != nil {
			return err
		}
		for _, id := range []string{"u1", "u2"} {
			if err := tx.PutMember(&parley.Member{ConversationID: "c1", UserID: id, Role: parley.RoleMember,
				Status: parley.StatusActive, Folder: parley.FolderInbox, JoinedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	peer := func(db *postgres.DB) (blocked bool, status parley.MemberStatus) {
		t.Helper()
		err := db.Update(ctx, func(tx parley.Tx) error {
			m, b, err := tx.Peer("c1", "u1", "u2")
			if err != nil {
				return err
			}
			blocked, status = b, m.Status
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return blocked, status
	}
	if blocked, _ := peer(dbs[0]); blocked {
		t.Fatal("blocked before any block")
	}
	err = dbs[1].Update(ctx, func(tx parley.Tx) error {
		if _, err := tx.SetBlock("u2", "u1", true, now); err != nil {
			return err
		}
		m, err := tx.Member("c1", "u2")
		if err != nil {
			return err
		}
		m.Status = parley.StatusLeft
		return tx.PutMember(m)
	})
	if err != nil {
		t.Fatal(err)
	}
	if blocked, status := peer(dbs[0]); !blocked || status != parley.StatusLeft {
		t.Fatalf("node A after node B's writes: blocked %v, peer status %q (a stale cache)", blocked, status)
	}
}

// TestNodesShareRateLimits takes tokens of a few buckets from many
// goroutines through three stores on one database, all at one instant,
// each call asking for every bucket in an order of its own: each bucket
// grants exactly its burst in total, whichever node asked, and no two
// calls deadlock (rows are locked in key order whatever the order asked).
func TestNodesShareRateLimits(t *testing.T) {
	const (
		nodes   = 3
		workers = 8 // per node
		tries   = 20
		burst   = 30
		keys    = 4
	)
	dbs := openNodes(t, nodes)
	now := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	granted := map[string]int{}
	var wg sync.WaitGroup
	for n := range nodes {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range tries {
					var reqs []parley.TokenRequest
					for k := range keys {
						j := (n + w + i + k) % keys
						if w%2 == 1 {
							j = keys - 1 - j
						}
						reqs = append(reqs, parley.TokenRequest{Key: fmt.Sprint("k", j), Want: 1, Every: time.Second, Burst: burst})
					}
					gs, err := dbs[n].TakeTokens(context.Background(), now, reqs)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					for k, g := range gs {
						granted[reqs[k].Key] += g.Granted
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	for k := range keys {
		if got := granted[fmt.Sprint("k", k)]; got != burst {
			t.Errorf("bucket k%d granted %d across %d nodes, want its burst %d", k, got, nodes, burst)
		}
	}
}
