package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/parleyhq/parley"
)

func testUserCreateLookup(t *testing.T, s parley.Store) {
	u := newUser("u1")
	u.Kind, u.DMPolicy = parley.KindBot, parley.PolicyFollowing
	u.UpdatedAt = at(5)
	update(t, s, func(tx parley.Tx) error { return tx.CreateUser(u) })

	got := view(t, s, func(tx parley.Tx) (*parley.User, error) { return tx.UserByID("u1") })
	wantEqual(t, "UserByID", got, u)
	got = view(t, s, func(tx parley.Tx) (*parley.User, error) { return tx.UserByHandle("u1") })
	wantEqual(t, "UserByHandle", got, u)
}

func testUserHandleTaken(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u1")
	dup := newUser("u2")
	dup.Handle = "u1"
	err := s.Update(ctx, func(tx parley.Tx) error { return tx.CreateUser(dup) })
	wantCode(t, err, parley.EHandleTaken)

	// Same id, new handle: a conflict, not a taken handle.
	again := newUser("u1")
	again.Handle = "other"
	err = s.Update(ctx, func(tx parley.Tx) error { return tx.CreateUser(again) })
	wantCode(t, err, parley.EConflict)

	wantNotFound(t, s, "UserByID(u2)", func(tx parley.Tx) (*parley.User, error) { return tx.UserByID("u2") })
	got := view(t, s, func(tx parley.Tx) (*parley.User, error) { return tx.UserByHandle("u1") })
	wantEqual(t, "first user", got, newUser("u1"))
}

func testUserNotFound(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u1")
	wantNotFound(t, s, "UserByID", func(tx parley.Tx) (*parley.User, error) { return tx.UserByID("nope") })
	wantNotFound(t, s, "UserByHandle", func(tx parley.Tx) (*parley.User, error) { return tx.UserByHandle("nope") })
	wantNotFound(t, s, "UserByID(empty)", func(tx parley.Tx) (*parley.User, error) { return tx.UserByID("") })
}

func testUserUpdate(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u1", "u2")
	u := newUser("u1")
	u.Handle, u.DisplayName, u.Bio = "renamed", "New Name", "new bio"
	u.Kind, u.DMPolicy, u.PasswordHash = parley.KindBusiness, parley.PolicyClosed, "newhash"
	u.WarnPhone = true
	u.UpdatedAt = at(60)
	u.CreatedAt = at(999) // ignored
	update(t, s, func(tx parley.Tx) error { return tx.UpdateUser(u) })

	want := *u
	want.CreatedAt = at(0)
	got := view(t, s, func(tx parley.Tx) (*parley.User, error) { return tx.UserByHandle("renamed") })
	wantEqual(t, "updated user", got, &want)
	wantNotFound(t, s, "old handle", func(tx parley.Tx) (*parley.User, error) { return tx.UserByHandle("u1") })

	taken := want
	taken.Handle = "u2"
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.UpdateUser(&taken) }), parley.EHandleTaken)
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.UpdateUser(newUser("gone")) }), parley.ENotFound)
	got = view(t, s, func(tx parley.Tx) (*parley.User, error) { return tx.UserByID("u1") })
	wantEqual(t, "user after failed updates", got, &want)
}

func testUsersByIDs(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a", "b", "c")
	cases := []struct {
		name string
		ids  []string
		want []string
	}{
		{"none", nil, nil},
		{"some", []string{"a", "c"}, []string{"a", "c"}},
		{"missing and duplicates", []string{"b", "x", "b", "", "a"}, []string{"a", "b"}},
		{"many", manyIDs(1203, "c", "a"), []string{"a", "c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := view(t, s, func(tx parley.Tx) (map[string]*parley.User, error) { return tx.UsersByIDs(tc.ids) })
			var keys []string
			for k, u := range got {
				if u == nil || u.ID != k {
					t.Fatalf("entry %q holds %+v", k, u)
				}
				wantEqual(t, "user "+k, u, newUser(k))
				keys = append(keys, k)
			}
			slices.Sort(keys)
			wantEqual(t, "ids", keys, tc.want)
		})
	}
}

// manyIDs returns n ids that do not exist, with real placed at the start,
// the middle and the end.
func manyIDs(n int, real ...string) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("missing-%d", i)
	}
	for i, id := range real {
		ids[(n-1)*i/max(1, len(real)-1)] = id
	}
	return ids
}

func newSession(id, userID string, created int) *parley.Session {
	return &parley.Session{
		ID: id, UserID: userID, TokenHash: []byte("hash-" + id), Device: "device " + id,
		CreatedAt: at(created), LastUsedAt: at(created), Kind: parley.SessionDevice,
	}
}

func sessionIDs(ss []*parley.Session) []string {
	ids := []string{}
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	return ids
}

func testSessionToken(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u1")
	exp := at(500)
	tok := &parley.Session{ID: "t1", UserID: "u1", TokenHash: []byte("hash-t1"), CreatedAt: at(1), LastUsedAt: at(1),
		Kind: parley.SessionToken, Name: "deploy bot", Scopes: []string{"read", "messages:write"}, ExpiresAt: &exp}
	update(t, s, func(tx parley.Tx) error { return tx.CreateSession(tok) })
	got := view(t, s, func(tx parley.Tx) (*parley.Session, error) { return tx.SessionByTokenHash([]byte("hash-t1")) })
	wantEqual(t, "token round trip", got, tok)
	// A session created without a kind is a device.
	dev := &parley.Session{ID: "d1", UserID: "u1", TokenHash: []byte("hash-d1"), CreatedAt: at(2), LastUsedAt: at(2)}
	update(t, s, func(tx parley.Tx) error { return tx.CreateSession(dev) })
	got = view(t, s, func(tx parley.Tx) (*parley.Session, error) { return tx.SessionByTokenHash([]byte("hash-d1")) })
	if got.Kind != parley.SessionDevice || got.Scopes != nil || got.ExpiresAt != nil {
		t.Fatalf("default session: %+v", got)
	}
}

func testSessionCreateLookup(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u1")
	sess := newSession("s1", "u1", 1)
	update(t, s, func(tx parley.Tx) error { return tx.CreateSession(sess) })
	got := view(t, s, func(tx parley.Tx) (*parley.Session, error) { return tx.SessionByTokenHash([]byte("hash-s1")) })
	wantEqual(t, "SessionByTokenHash", got, sess)
	wantNotFound(t, s, "unknown hash", func(tx parley.Tx) (*parley.Session, error) {
		return tx.SessionByTokenHash([]byte("nope"))
	})

	dup := newSession("s2", "u1", 2)
	dup.TokenHash = sess.TokenHash
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.CreateSession(dup) }), parley.EConflict)
}

func testSessionListTouch(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u1", "u2")
	update(t, s, func(tx parley.Tx) error {
		for i, id := range []string{"s2", "s1", "s3"} {
			if err := tx.CreateSession(newSession(id, "u1", []int{2, 1, 3}[i])); err != nil {
				return err
			}
		}
		return tx.CreateSession(newSession("other", "u2", 9))
	})
	list := view(t, s, func(tx parley.Tx) ([]*parley.Session, error) { return tx.Sessions("u1") })
	wantEqual(t, "Sessions newest first", sessionIDs(list), []string{"s3", "s2", "s1"})
	wantEqual(t, "Sessions[0]", list[0], newSession("s3", "u1", 3))
	list = view(t, s, func(tx parley.Tx) ([]*parley.Session, error) { return tx.Sessions("nobody") })
	if len(list) != 0 {
		t.Fatalf("Sessions(nobody) = %v", sessionIDs(list))
	}

	update(t, s, func(tx parley.Tx) error { return tx.TouchSession("s1", at(100)) })
	got := view(t, s, func(tx parley.Tx) (*parley.Session, error) { return tx.SessionByTokenHash([]byte("hash-s1")) })
	want := newSession("s1", "u1", 1)
	want.LastUsedAt = at(100)
	wantEqual(t, "touched session", got, want)
}

func testSessionDelete(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u1", "u2")
	update(t, s, func(tx parley.Tx) error {
		for i, id := range []string{"s1", "s2", "s3", "s4"} {
			if err := tx.CreateSession(newSession(id, "u1", i)); err != nil {
				return err
			}
		}
		return tx.CreateSession(newSession("other", "u2", 9))
	})
	sessions := func(user string) []string {
		t.Helper()
		return sessionIDs(view(t, s, func(tx parley.Tx) ([]*parley.Session, error) { return tx.Sessions(user) }))
	}

	// Another user's session cannot be deleted.
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.DeleteSession("u2", "s1") }), parley.ENotFound)
	update(t, s, func(tx parley.Tx) error { return tx.DeleteSession("u1", "s1") })
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.DeleteSession("u1", "s1") }), parley.ENotFound)
	wantNotFound(t, s, "deleted session", func(tx parley.Tx) (*parley.Session, error) {
		return tx.SessionByTokenHash([]byte("hash-s1"))
	})
	wantEqual(t, "after DeleteSession", sessions("u1"), []string{"s4", "s3", "s2"})

	var n int
	update(t, s, func(tx parley.Tx) error {
		var err error
		n, err = tx.DeleteSessionsExcept("u1", "s3")
		return err
	})
	wantEqual(t, "DeleteSessionsExcept count", n, 2)
	wantEqual(t, "after DeleteSessionsExcept", sessions("u1"), []string{"s3"})
	wantEqual(t, "other user untouched", sessions("u2"), []string{"other"})

	update(t, s, func(tx parley.Tx) error {
		var err error
		n, err = tx.DeleteSessionsExcept("u1", "")
		return err
	})
	wantEqual(t, "DeleteSessionsExcept(all) count", n, 1)
	wantEqual(t, "after DeleteSessionsExcept(all)", sessions("u1"), []string{})
}

func testFollow(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a", "b", "c")
	steps := []struct {
		from, to string
		on, want bool
	}{
		{"a", "b", true, true},
		{"a", "b", true, false},
		{"a", "c", true, true},
		{"b", "a", true, true},
		{"c", "a", true, true},
		{"c", "a", false, true},
		{"c", "a", false, false},
		{"b", "c", false, false},
	}
	for i, st := range steps {
		var changed bool
		update(t, s, func(tx parley.Tx) error {
			var err error
			changed, err = tx.SetFollow(st.from, st.to, st.on, at(i))
			return err
		})
		if changed != st.want {
			t.Fatalf("step %d SetFollow(%s, %s, %v) changed = %v, want %v", i, st.from, st.to, st.on, changed, st.want)
		}
	}
	follows := map[[2]string]bool{{"a", "b"}: true, {"a", "c"}: true, {"b", "a"}: true}
	for _, from := range []string{"a", "b", "c"} {
		for _, to := range []string{"a", "b", "c"} {
			got := view(t, s, func(tx parley.Tx) (bool, error) { return tx.IsFollowing(from, to) })
			if got != follows[[2]string{from, to}] {
				t.Errorf("IsFollowing(%s, %s) = %v", from, to, got)
			}
		}
	}
	counts := map[string][2]int{"a": {1, 2}, "b": {1, 1}, "c": {1, 0}, "nobody": {0, 0}}
	for id, want := range counts {
		got := view(t, s, func(tx parley.Tx) ([2]int, error) {
			followers, following, err := tx.FollowCounts(id)
			return [2]int{followers, following}, err
		})
		wantEqual(t, "FollowCounts("+id+")", got, want)
	}
}

func testBlock(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a", "b", "c", "d")
	steps := []struct {
		from, to string
		on, want bool
	}{
		{"a", "c", true, true},
		{"a", "b", true, true},
		{"a", "b", true, false},
		{"a", "d", true, true},
		{"a", "c", false, true},
		{"a", "c", false, false},
		{"a", "c", true, true},
		{"b", "a", false, false},
	}
	for i, st := range steps {
		var changed bool
		update(t, s, func(tx parley.Tx) error {
			var err error
			changed, err = tx.SetBlock(st.from, st.to, st.on, at(i))
			return err
		})
		if changed != st.want {
			t.Fatalf("step %d SetBlock(%s, %s, %v) changed = %v, want %v", i, st.from, st.to, st.on, changed, st.want)
		}
	}
	for _, c := range []struct {
		from, to string
		want     bool
	}{{"a", "b", true}, {"b", "a", false}, {"a", "c", true}, {"c", "a", false}, {"b", "c", false}} {
		got := view(t, s, func(tx parley.Tx) (bool, error) { return tx.IsBlocked(c.from, c.to) })
		if got != c.want {
			t.Errorf("IsBlocked(%s, %s) = %v, want %v", c.from, c.to, got, c.want)
		}
	}
	for _, c := range []struct {
		a, b string
		want bool
	}{{"a", "b", true}, {"b", "a", true}, {"c", "a", true}, {"b", "c", false}, {"c", "b", false}} {
		got := view(t, s, func(tx parley.Tx) (bool, error) { return tx.BlockedEither(c.a, c.b) })
		if got != c.want {
			t.Errorf("BlockedEither(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	got := view(t, s, func(tx parley.Tx) ([]string, error) { return tx.Blocked("a") })
	wantEqual(t, "Blocked newest first", got, []string{"c", "d", "b"})
	got = view(t, s, func(tx parley.Tx) ([]string, error) { return tx.Blocked("b") })
	if len(got) != 0 {
		t.Fatalf("Blocked(b) = %v", got)
	}
	// BlocksAmong: both directions, only the ids asked about.
	among := func(user string, others ...string) map[string]bool {
		return view(t, s, func(tx parley.Tx) (map[string]bool, error) { return tx.BlocksAmong(user, others) })
	}
	wantEqual(t, "BlocksAmong(a)", among("a", "b", "c", "d", "a", "nobody"), map[string]bool{"b": true, "c": true, "d": true})
	wantEqual(t, "BlocksAmong(a) some", among("a", "d", "d"), map[string]bool{"d": true})
	wantEqual(t, "BlocksAmong(b), blocked by a", among("b", "a", "c", "d"), map[string]bool{"a": true})
	wantEqual(t, "BlocksAmong(c), blocked by a", among("c", "b", "d"), map[string]bool{})
	wantEqual(t, "BlocksAmong none", among("a"), map[string]bool{})
}

func testReport(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a", "b")
	r := &parley.Report{
		ID: "r1", ReporterID: "a", TargetUserID: "b", ConversationID: "c1", MessageID: "m1",
		Reason: "spam", Detail: "buy now", CreatedAt: at(1),
	}
	update(t, s, func(tx parley.Tx) error { return tx.CreateReport(r) })
	update(t, s, func(tx parley.Tx) error {
		return tx.CreateReport(&parley.Report{ID: "r2", ReporterID: "a", TargetUserID: "b", Reason: "other", CreatedAt: at(2)})
	})
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.CreateReport(r) }), parley.EConflict)
}

func testUsersByOwner(t *testing.T, s parley.Store) {
	mkUsers(t, s, "owner", "other")
	update(t, s, func(tx parley.Tx) error {
		for i, id := range []string{"bot2", "bot1"} {
			u := newUser(id)
			u.Kind, u.OwnerID, u.CreatedAt = parley.KindBot, "owner", at(10+i)
			if err := tx.CreateUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	got := view(t, s, func(tx parley.Tx) ([]*parley.User, error) { return tx.UsersByOwner("owner") })
	if len(got) != 2 || got[0].ID != "bot2" || got[1].ID != "bot1" || got[0].OwnerID != "owner" {
		t.Fatalf("UsersByOwner: %+v", got)
	}
	// Updates keep the owner.
	got[0].DisplayName = "renamed"
	got[0].OwnerID = "other"
	update(t, s, func(tx parley.Tx) error { return tx.UpdateUser(got[0]) })
	u := view(t, s, func(tx parley.Tx) (*parley.User, error) { return tx.UserByID("bot2") })
	if u.OwnerID != "owner" || u.DisplayName != "renamed" {
		t.Fatalf("after update: %+v", u)
	}
	for _, owner := range []string{"other", ""} {
		if got := view(t, s, func(tx parley.Tx) ([]*parley.User, error) { return tx.UsersByOwner(owner) }); len(got) != 0 {
			t.Fatalf("UsersByOwner(%q): %+v", owner, got)
		}
	}
}
