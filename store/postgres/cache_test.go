package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/postgres"
	"github.com/parleyhq/parley/store/postgres/pgtest"
)

// commits records the CommitInfo of a node's batches.
type commits struct {
	mu    sync.Mutex
	infos []postgres.CommitInfo
}

func (c *commits) add(i postgres.CommitInfo) {
	c.mu.Lock()
	c.infos = append(c.infos, i)
	c.mu.Unlock()
}

func (c *commits) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.infos)
}

// most returns the reported batch with the greatest key, waiting (up to
// 10 s) for one whose key reaches least: the committer reports a batch
// after answering it, and earlier batches (a seed) may be reported late.
func (c *commits) most(key func(postgres.CommitInfo) int64, least int64) postgres.CommitInfo {
	var got postgres.CommitInfo
	for deadline := time.Now().Add(10 * time.Second); key(got) < least && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		c.mu.Lock()
		for _, i := range c.infos {
			if key(i) > key(got) {
				got = i
			}
		}
		c.mu.Unlock()
	}
	return got
}

// after returns the info of the first batch after the first n; the
// committer reports a batch after answering it, so it may come a little
// after the Update returned.
func (c *commits) after(t *testing.T, n int) postgres.CommitInfo {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		c.mu.Lock()
		if len(c.infos) > n {
			i := c.infos[n]
			c.mu.Unlock()
			return i
		}
		c.mu.Unlock()
	}
	t.Fatal("the batch was never reported")
	return postgres.CommitInfo{}
}

// seedDirect makes users a and b and their direct conversation id.
func seedDirect(t *testing.T, db *postgres.DB, id, a, b string) {
	t.Helper()
	now := time.Unix(1700000000, 0).UTC()
	err := db.Update(context.Background(), func(tx parley.Tx) error {
		for _, u := range []string{a, b} {
			if err := tx.CreateUser(&parley.User{ID: u, Handle: u, Kind: parley.KindPerson,
				DMPolicy: parley.PolicyOpen, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		if err := tx.CreateConversation(&parley.Conversation{ID: id, Kind: parley.ConversationDirect,
			CreatedBy: a, CreatedAt: now, LastActivityAt: now}); err != nil {
			return err
		}
		for _, u := range []string{a, b} {
			if err := tx.PutMember(&parley.Member{ConversationID: id, UserID: u, Role: parley.RoleMember,
				Status: parley.StatusActive, Folder: parley.FolderInbox, JoinedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// send appends one message from sender to conv the way app.Send does:
// membership and peer lookups (served by the committer cache when warm),
// a seq, the message.
func send(db *postgres.DB, conv, sender, peer, clientID string) (int64, error) {
	var seq int64
	err := db.Update(context.Background(), func(tx parley.Tx) error {
		if _, _, err := tx.ConversationMember(conv, sender); err != nil {
			return err
		}
		if _, blocked, err := tx.Peer(conv, sender, peer); err != nil {
			return err
		} else if blocked {
			return parley.Errorf(parley.EForbidden, "blocked")
		}
		var err error
		if seq, err = tx.AllocSeq(conv, time.Now()); err != nil {
			return err
		}
		return tx.CreateMessage(&parley.Message{ID: fmt.Sprintf("m-%s-%d", conv, seq), ConversationID: conv, Seq: seq,
			SenderID: sender, ClientID: clientID, Kind: parley.MessageText, Text: "hi", CreatedAt: time.Now().UTC()})
	})
	return seq, err
}

// TestCacheSurvivesOtherNodes: a write of another node drops from a node's
// committer cache only what it changed (cache_changes), not everything,
// and what it changed is read again.
func TestCacheSurvivesOtherNodes(t *testing.T) {
	dsn := pgtest.DSN(t)
	var seen [2]commits
	dbs := make([]*postgres.DB, 2)
	for i := range dbs {
		db, err := postgres.Open(dsn, postgres.Options{OnCommit: seen[i].add})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	a, b := dbs[0], dbs[1]
	seedDirect(t, a, "c1", "u1", "u2")
	seedDirect(t, a, "c2", "u3", "u4")
	// A warms its cache with c1; B then sends into c2 twice.
	for i := range 2 {
		if _, err := send(a, "c1", "u1", "u2", ""); err != nil {
			t.Fatalf("A send %d: %v", i, err)
		}
	}
	for i := range 2 {
		if _, err := send(b, "c2", "u3", "u4", ""); err != nil {
			t.Fatalf("B send %d: %v", i, err)
		}
	}
	n := seen[0].count()
	seq, err := send(a, "c1", "u1", "u2", "")
	if err != nil {
		t.Fatal(err)
	}
	if seq != 3 {
		t.Fatalf("A's third send into c1 got seq %d, want 3", seq)
	}
	if got := seen[0].after(t, n); got.CacheReset || got.CacheDropped != 2 {
		t.Fatalf("A's batch after B's two: reset %v, %d keys dropped; want no reset and c2 dropped by each of B's batches", got.CacheReset, got.CacheDropped)
	}
	// B now writes into c1 (a send and a block): A must see both.
	if seq, err := send(b, "c1", "u2", "u1", ""); err != nil || seq != 4 {
		t.Fatalf("B's send into c1: seq %d, %v; want 4", seq, err)
	}
	n = seen[0].count()
	if seq, err := send(a, "c1", "u1", "u2", ""); err != nil || seq != 5 {
		t.Fatalf("A's send after B's: seq %d, %v; want 5 (a stale cached last_seq gives 4)", seq, err)
	}
	// A had c1's row and both members cached. B's send changed the row
	// and no member: A's batch put the row back from what it read with
	// the lock, kept the members, and ran no statement for either.
	if got := seen[0].after(t, n); got.CacheReset || got.CacheRefreshed != 1 || got.RefreshReads != 0 {
		t.Fatalf("A's send after B's: reset %v, %d entries refreshed in %d extra reads; want c1's row in none",
			got.CacheReset, got.CacheRefreshed, got.RefreshReads)
	}
	// A row put back from the lock's round trip (pgx's own rows) reads as
	// the statements read it: B changes the row's every field it can.
	err = b.Update(context.Background(), func(tx parley.Tx) error {
		c, err := tx.ConversationByID("c1")
		if err != nil {
			return err
		}
		c.Title, c.InvitePolicy, c.DisappearAfter = "renamed", "admins", 90*time.Second
		c.LastActivityAt = time.Unix(1700000500, 123000).UTC()
		if err := tx.UpdateConversation(c); err != nil {
			return err
		}
		return tx.SetListFromConversation("c1", true)
	})
	if err != nil {
		t.Fatal(err)
	}
	var cached, stored *parley.Conversation
	err = a.View(context.Background(), func(tx parley.Tx) error {
		var err error
		stored, err = tx.ConversationByID("c1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	n = seen[0].count()
	err = a.Update(context.Background(), func(tx parley.Tx) error {
		var err error
		if cached, err = tx.ConversationByID("c1"); err != nil {
			return err
		}
		_, err = tx.AllocSeq("c1", time.Now()) // a write, so that the batch commits
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := seen[0].after(t, n); got.CacheRefreshed != 1 || got.RefreshReads != 0 {
		t.Fatalf("A's batch after B's update of c1: %d entries refreshed in %d extra reads; want the row in none", got.CacheRefreshed, got.RefreshReads)
	}
	if fmt.Sprintf("%+v", *cached) != fmt.Sprintf("%+v", *stored) {
		t.Fatalf("c1 put back from the lock's round trip:\n%+v\nstored:\n%+v", *cached, *stored)
	}
	// What a refresh puts back is what B wrote: a member's changed row and
	// a chain head that moved, after A cached the old ones.
	hash := func(b byte) string { return strings.Repeat(fmt.Sprintf("%02x", b), 32) }
	var idx0 int64
	err = a.Update(context.Background(), func(tx parley.Tx) error {
		var err error
		if _, err = tx.Member("c1", "u2"); err != nil {
			return err
		}
		idx0, _, err = tx.ChainHead("c1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(context.Background(), func(tx parley.Tx) error {
		m, err := tx.Member("c1", "u2")
		if err != nil {
			return err
		}
		m.Folder, m.ReadSeq = parley.FolderArchived, 5
		if err := tx.PutMember(m); err != nil {
			return err
		}
		return tx.AppendChainEntry(&parley.ChainEntry{ConversationID: "c1", Index: idx0 + 1, Kind: "message",
			MessageID: "m-x", Seq: 5, ActorID: "u2", At: time.Unix(1700000100, 0), PrevHash: hash(1), Hash: hash(2)})
	})
	if err != nil {
		t.Fatal(err)
	}
	n = seen[0].count()
	err = a.Update(context.Background(), func(tx parley.Tx) error {
		m, err := tx.Member("c1", "u2")
		if err != nil {
			return err
		}
		if m.Folder != parley.FolderArchived || m.ReadSeq != 5 {
			return fmt.Errorf("A reads u2's member row as folder %q, read_seq %d after B's change", m.Folder, m.ReadSeq)
		}
		idx, h, err := tx.ChainHead("c1")
		if err != nil {
			return err
		}
		if idx != idx0+1 || h != hash(2) {
			return fmt.Errorf("A reads c1's chain head as %d %q after B appended %d", idx, h, idx0+1)
		}
		// A write, so that the batch commits and is reported.
		_, err = tx.AllocSeq("c1", time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The row and chain head came with the lock, the members (B changed
	// one) in one more read.
	if got := seen[0].after(t, n); got.CacheRefreshed < 3 || got.RefreshReads != 1 {
		t.Fatalf("A's batch after B's member and chain changes refreshed %d entries in %d extra reads; want the row, the chain head and the members in one",
			got.CacheRefreshed, got.RefreshReads)
	}
	err = b.Update(context.Background(), func(tx parley.Tx) error {
		_, err := tx.SetBlock("u2", "u1", true, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := send(a, "c1", "u1", "u2", ""); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("A's send after B's block: %v, want the block seen", err)
	}
}

// TestCacheResetPastRing: a node that finds more of other nodes' batches
// since its last commit than cache_changes holds drops its whole cache.
func TestCacheResetPastRing(t *testing.T) {
	dsn := pgtest.DSN(t)
	var seen commits
	a, err := postgres.Open(dsn, postgres.Options{OnCommit: seen.add})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	seedDirect(t, a, "c1", "u1", "u2")
	seedDirect(t, a, "c2", "u3", "u4")
	if _, err := send(a, "c1", "u1", "u2", ""); err != nil {
		t.Fatal(err)
	}
	for i := range 260 { // more than the ring's 256 slots, one batch each
		if _, err := send(b, "c2", "u3", "u4", ""); err != nil {
			t.Fatalf("B send %d: %v", i, err)
		}
	}
	n := seen.count()
	if _, err := send(a, "c1", "u1", "u2", ""); err != nil {
		t.Fatal(err)
	}
	if !seen.after(t, n).CacheReset {
		t.Fatal("A kept its cache although cache_changes no longer held every batch since its last commit")
	}
}

// TestQueuedClientIDConflict: sends of one batch are inserted together at
// the flush, so a client id used twice in one batch (a client retrying
// before its first answer) surfaces there; the committer runs the batch
// again and exactly one send wins, the others get EConflict.
func TestQueuedClientIDConflict(t *testing.T) {
	db := pgtest.Open(t, postgres.Options{})
	seedDirect(t, db, "c1", "u1", "u2")
	const n = 24
	var wins, conflicts atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cid := "dup"
			if i%3 == 0 {
				cid = fmt.Sprint("own-", i)
			}
			_, err := send(db, "c1", "u1", "u2", cid)
			switch {
			case err == nil:
				if cid == "dup" {
					wins.Add(1)
				}
			case parley.ErrorCode(err) == parley.EConflict && cid == "dup":
				conflicts.Add(1)
			default:
				errs <- fmt.Errorf("send %d (%s): %v", i, cid, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if wins.Load() != 1 || conflicts.Load() != n-n/3-1 {
		t.Fatalf("client id used %d times: %d stored, %d conflicts; want 1 and %d", n-n/3, wins.Load(), conflicts.Load(), n-n/3-1)
	}
	// Seqs stay gap-free: the conflicting sends gave theirs back.
	err := db.View(context.Background(), func(tx parley.Tx) error {
		ms, err := tx.Messages(parley.MessageRange{ConversationID: "c1", Limit: 100})
		if err != nil {
			return err
		}
		if len(ms) != n/3+1 {
			return fmt.Errorf("%d messages stored, want %d", len(ms), n/3+1)
		}
		for i, m := range ms {
			if m.Seq != int64(i+1) {
				return fmt.Errorf("message %d has seq %d", i, m.Seq)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLockWaitReported: a batch that waits for another node's batch to
// release the positions lock reports the wait (CommitInfo.Lock, the
// parley_store_lock_wait_seconds metric): at least the time it was seen
// waiting in pg_stat_activity while the other batch held the lock.
func TestLockWaitReported(t *testing.T) {
	a, b, seen, watch := twoNodes(t)

	free, bDone := holdPositions(t, b, "c2")
	aDone := sendBehindLock(t, a, watch, "")
	// A's committer is seen waiting for the row lock, then B holds on a
	// little longer.
	seenWaiting := time.Now()
	time.Sleep(20 * time.Millisecond)
	heldFor := time.Since(seenWaiting)
	free()
	if err := <-bDone; err != nil {
		t.Fatal(err)
	}
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	// The send's batch is the one of A's that waited: of all A's batches
	// (its report may come a little after the send returned), the one
	// that reports the longest wait. Not the longest batch: A's first
	// batch (the seed) can take longer than the wait on a busy machine
	// under -race, and it waited for no lock.
	got := seen.most(func(i postgres.CommitInfo) int64 { return int64(i.Lock) }, int64(heldFor))
	if got.Lock < heldFor || got.Lock > got.Duration {
		t.Fatalf("A's batch that waited longest (%v in all) reported a lock wait of %v; it waited at least %v", got.Duration, got.Lock, heldFor)
	}
}

// holdPositions starts a batch of b that holds the positions lock until
// free is called; free runs in any case before b closes (cleanups run
// last first), so that a failing test ends instead of hanging. The
// batch's result comes on done.
func holdPositions(t *testing.T, b *postgres.DB, conv string) (free func(), done chan error) {
	t.Helper()
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	free = func() { once.Do(func() { close(release) }) }
	t.Cleanup(free)
	done = make(chan error, 1)
	go func() {
		done <- b.Update(context.Background(), func(tx parley.Tx) error {
			close(held)
			<-release
			_, err := tx.AllocSeq(conv, time.Now())
			return err
		})
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("the batch ended before holding the lock: %v", err)
	}
	return free, done
}

// sendBehindLock starts a send into c1 through a while another node's
// batch holds the positions lock, and returns once a's batch is seen
// waiting for it; the send's result comes on the channel.
func sendBehindLock(t *testing.T, a *postgres.DB, watch *sql.DB, clientID string) chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := send(a, "c1", "u1", "u2", clientID)
		done <- err
	}()
	waitForLockWaiter(t, watch)
	return done
}

// waitForLockWaiter returns once a committer is seen waiting for the
// positions lock.
func waitForLockWaiter(t *testing.T, watch *sql.DB) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		var waiting int
		if err := watch.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%FROM positions WHERE id = 1 FOR UPDATE%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no batch was seen waiting for the positions lock")
		}
	}
}

// TestSendsJoinWhileWaiting: sends that come while a node's batch waits
// for the positions lock join that batch once it holds the lock, rather
// than waiting for the next one; all of them commit, in order.
func TestSendsJoinWhileWaiting(t *testing.T) {
	a, b, seen, watch := twoNodes(t)

	free, bDone := holdPositions(t, b, "c2")
	first := sendBehindLock(t, a, watch, "first")
	const more = 5
	var wg sync.WaitGroup
	errs := make([]error, more)
	for i := range more {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = send(a, "c1", "u1", "u2", fmt.Sprintf("more-%d", i))
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); a.Queued() < more; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sends queued behind the waiting batch", a.Queued(), more)
		}
	}
	free()
	if err := <-bDone; err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	// The committer reports a batch after answering it, and the seed's
	// report may come late too: look for the biggest batch.
	got := seen.most(func(i postgres.CommitInfo) int64 { return int64(i.Updates) }, 2)
	if got.Updates != 1+more || got.Joined != more {
		t.Fatalf("the batch that waited for the lock committed %d updates, %d of which joined; want %d and %d", got.Updates, got.Joined, 1+more, more)
	}
	wantLastSeq(t, a, "c1", 1+more)
}

// TestCommitterSurvivesLostConnection: when the database ends the
// committer's connection, the batch that finds it dead fails (nothing of
// it is committed), the connection is dropped, and the next batch commits
// on a new one with the sequence numbers continuing.
func TestCommitterSurvivesLostConnection(t *testing.T) {
	db, _, _, watch := twoNodes(t)
	acked := 0
	for round := range 3 {
		if _, err := send(db, "c1", "u1", "u2", ""); err != nil {
			t.Fatalf("round %d: send before the cut: %v", round, err)
		}
		acked++
		var cut int
		if err := watch.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`).Scan(&cut); err != nil {
			t.Fatal(err)
		}
		if cut == 0 {
			t.Fatal("no connection of the store was cut")
		}
		failed := 0
		for {
			// The first send after the cut finds the committer's
			// connection dead and fails; the next commits.
			_, err := send(db, "c1", "u1", "u2", "")
			if err == nil {
				if failed == 0 {
					t.Fatalf("round %d: the first send after the cut succeeded: the cut missed the committer", round)
				}
				acked++
				break
			}
			if failed++; failed > 2 {
				t.Fatalf("round %d: %d sends failed after the cut, the last: %v", round, failed, err)
			}
		}
	}
	wantLastSeq(t, db, "c1", acked)
}

// TestCommitFailures: a batch whose position cannot be saved, and one
// whose COMMIT PostgreSQL refuses (a deferred constraint), both fail
// every update of the batch, commit nothing and leave no transaction
// open; the next batch commits with the sequence numbers continuing.
func TestCommitFailures(t *testing.T) {
	db, _, seen, watch := twoNodes(t)
	// Switches in the test's own database: the statement that saves the
	// position writes cache_changes, so a trigger there fails it at once
	// ("save") or at the COMMIT ("commit", deferred).
	if _, err := watch.Exec(`CREATE TABLE test_fail (mode text);
		CREATE FUNCTION test_fail_now() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF EXISTS (SELECT 1 FROM test_fail WHERE mode = TG_ARGV[0]) THEN
				RAISE EXCEPTION 'test: % refused', TG_ARGV[0];
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER fail_save BEFORE INSERT OR UPDATE ON cache_changes
			FOR EACH ROW EXECUTE FUNCTION test_fail_now('save');
		CREATE CONSTRAINT TRIGGER fail_commit AFTER INSERT OR UPDATE ON cache_changes
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_fail_now('commit')`); err != nil {
		t.Fatal(err)
	}
	acked := 0
	for _, mode := range []string{"save", "commit"} {
		if _, err := send(db, "c1", "u1", "u2", ""); err != nil {
			t.Fatalf("%s: send before: %v", mode, err)
		}
		acked++
		if _, err := watch.Exec(`INSERT INTO test_fail VALUES ($1)`, mode); err != nil {
			t.Fatal(err)
		}
		n := seen.count()
		if _, err := send(db, "c1", "u1", "u2", "refused-"+mode); err == nil {
			t.Fatalf("%s: the send succeeded although its batch could not commit", mode)
		}
		want := map[string]string{"save": "save_position", "commit": "commit"}[mode]
		if got := seen.after(t, n); got.FailedAt != want || got.Failed != got.Updates {
			t.Fatalf("%s: the batch reported failed at %q, %d of %d updates failed; want %q, all", mode, got.FailedAt, got.Failed, got.Updates, want)
		}
		var open int
		if err := watch.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND state LIKE 'idle in transaction%'`).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open != 0 {
			t.Fatalf("%s: %d connections left idle in a transaction", mode, open)
		}
		if _, err := watch.Exec(`DELETE FROM test_fail`); err != nil {
			t.Fatal(err)
		}
		if _, err := send(db, "c1", "u1", "u2", ""); err != nil {
			t.Fatalf("%s: send after: %v", mode, err)
		}
		acked++
	}
	wantLastSeq(t, db, "c1", acked)
	err := db.View(context.Background(), func(tx parley.Tx) error {
		for _, mode := range []string{"save", "commit"} {
			if _, err := tx.MessageByClientID("c1", "u1", "refused-"+mode); !parley.IsNotFound(err) {
				return fmt.Errorf("the refused %s batch's message: %v, want none", mode, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// twoNodes opens two stores on one fresh database, A reporting its
// batches to seen, and a plain connection to watch them; c1 (u1, u2) and
// c2 (u3, u4) are seeded.
func twoNodes(t *testing.T) (a, b *postgres.DB, seen *commits, watch *sql.DB) {
	t.Helper()
	dsn := pgtest.DSN(t)
	seen = &commits{}
	a, err := postgres.Open(dsn, postgres.Options{OnCommit: seen.add})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err = postgres.Open(dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	watch, err = sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watch.Close() })
	seedDirect(t, a, "c1", "u1", "u2")
	seedDirect(t, b, "c2", "u3", "u4")
	return a, b, seen, watch
}

// wantLastSeq fails the test unless conv's last seq is n.
func wantLastSeq(t *testing.T, db *postgres.DB, conv string, n int) {
	t.Helper()
	err := db.View(context.Background(), func(tx parley.Tx) error {
		c, err := tx.ConversationByID(conv)
		if err != nil {
			return err
		}
		if c.LastSeq != int64(n) {
			return fmt.Errorf("%s's last seq is %d after %d acknowledged sends", conv, c.LastSeq, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
