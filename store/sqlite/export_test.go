package sqlite

import (
	"time"

	"github.com/parleyhq/parley/sealed/sealedtest"
)

// TestKeyring gives the external tests a keyring.
var TestKeyring = sealedtest.Ring

// SetSearchVisitCost sets what a search takes a visit of a conversation
// to cost, for both kinds of query (search.go, visitCosts): 1 ns stops
// every probe after its first part, an hour lets it read to its end.
func SetSearchVisitCost(db *DB, d time.Duration) {
	db.visitCost[0].Store(int64(d))
	db.visitCost[1].Store(int64(d))
}
