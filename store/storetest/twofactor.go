package storetest

import (
	"testing"

	"github.com/parleyhq/parley"
)

// testTwoFactor: a second factor round-trips, is replaced whole, and is
// deleted; a missing one is ENotFound.
func testTwoFactor(t *testing.T, s parley.Store) {
	mkUsers(t, s, "ann", "bob")
	_, err := viewErr(s, func(tx parley.Tx) (*parley.TwoFactor, error) { return tx.TwoFactor("ann") })
	wantCode(t, err, parley.ENotFound)

	pending := &parley.TwoFactor{UserID: "ann", Secret: "sealed:abc", RecoveryCodes: [][]byte{}, CreatedAt: at(1)}
	update(t, s, func(tx parley.Tx) error { return tx.PutTwoFactor(pending) })
	got := view(t, s, func(tx parley.Tx) (*parley.TwoFactor, error) { return tx.TwoFactor("ann") })
	wantEqual(t, "pending", got, pending)

	confirmed := &parley.TwoFactor{UserID: "ann", Secret: "sealed:abc", ConfirmedAt: at(2), LastStep: 58000123,
		RecoveryCodes: [][]byte{{1, 2, 3}, {0xff, 0}}, CreatedAt: at(1)}
	update(t, s, func(tx parley.Tx) error { return tx.PutTwoFactor(confirmed) })
	got = view(t, s, func(tx parley.Tx) (*parley.TwoFactor, error) { return tx.TwoFactor("ann") })
	wantEqual(t, "confirmed", got, confirmed)
	_, err = viewErr(s, func(tx parley.Tx) (*parley.TwoFactor, error) { return tx.TwoFactor("bob") })
	wantCode(t, err, parley.ENotFound)

	other := &parley.TwoFactor{UserID: "bob", Secret: "sealed:def", RecoveryCodes: [][]byte{}, CreatedAt: at(3)}
	update(t, s, func(tx parley.Tx) error { return tx.PutTwoFactor(other) })
	ids := view(t, s, func(tx parley.Tx) ([]string, error) { return tx.TwoFactorUsers("", 10) })
	wantEqual(t, "TwoFactorUsers", ids, []string{"ann", "bob"})
	ids = view(t, s, func(tx parley.Tx) ([]string, error) { return tx.TwoFactorUsers("ann", 10) })
	wantEqual(t, "TwoFactorUsers after ann", ids, []string{"bob"})
	ids = view(t, s, func(tx parley.Tx) ([]string, error) { return tx.TwoFactorUsers("", 1) })
	wantEqual(t, "TwoFactorUsers limit 1", ids, []string{"ann"})
	update(t, s, func(tx parley.Tx) error { return tx.DeleteTwoFactor("bob") })

	update(t, s, func(tx parley.Tx) error { return tx.DeleteTwoFactor("ann") })
	_, err = viewErr(s, func(tx parley.Tx) (*parley.TwoFactor, error) { return tx.TwoFactor("ann") })
	wantCode(t, err, parley.ENotFound)
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.DeleteTwoFactor("ann") }), parley.ENotFound)
}

// testLoginChallenges: challenges round-trip, count attempts, are deleted
// one by one and when expired.
func testLoginChallenges(t *testing.T, s parley.Store) {
	mkUsers(t, s, "ann")
	c1 := &parley.LoginChallenge{TokenHash: []byte("hash-1"), UserID: "ann", Device: "laptop", CreatedAt: at(0), ExpiresAt: at(300)}
	c2 := &parley.LoginChallenge{TokenHash: []byte("hash-2"), UserID: "ann", Device: "phone", CreatedAt: at(100), ExpiresAt: at(400)}
	update(t, s, func(tx parley.Tx) error {
		if err := tx.PutLoginChallenge(c1); err != nil {
			return err
		}
		return tx.PutLoginChallenge(c2)
	})
	got := view(t, s, func(tx parley.Tx) (*parley.LoginChallenge, error) { return tx.LoginChallenge([]byte("hash-1")) })
	wantEqual(t, "challenge", got, c1)
	c1.Attempts = 2
	update(t, s, func(tx parley.Tx) error { return tx.PutLoginChallenge(c1) })
	got = view(t, s, func(tx parley.Tx) (*parley.LoginChallenge, error) { return tx.LoginChallenge([]byte("hash-1")) })
	wantEqual(t, "attempts counted", got, c1)

	update(t, s, func(tx parley.Tx) error {
		n, err := tx.DeleteExpiredLoginChallenges(at(299))
		wantEqual(t, "none expired yet", n, 0)
		return err
	})
	// Read-your-writes inside an Update, then committed.
	update(t, s, func(tx parley.Tx) error {
		n, err := tx.DeleteExpiredLoginChallenges(at(300))
		wantEqual(t, "expired at 300", n, 1)
		return err
	})
	_, err := viewErr(s, func(tx parley.Tx) (*parley.LoginChallenge, error) { return tx.LoginChallenge([]byte("hash-1")) })
	wantCode(t, err, parley.ENotFound)
	update(t, s, func(tx parley.Tx) error { return tx.DeleteLoginChallenge([]byte("hash-2")) })
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.DeleteLoginChallenge([]byte("hash-2")) }), parley.ENotFound)
}
