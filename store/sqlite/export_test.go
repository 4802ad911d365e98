package sqlite

import (
	"time"

	"github.com/parleyhq/parley"
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

// SearchCounts gives the parts probes read after their first and the
// searches splitLast split, so far.
func SearchCounts(db *DB) (probeParts, splits int64) {
	return db.probeParts.Load(), db.splits.Load()
}

// SetSearchSplit turns splitLast on (the default) or off.
func SetSearchSplit(db *DB, on bool) { db.noSplit = !on }

// SearchRares gives the searches that read a rare part's matches
// (rarePart) so far, and those of them that checked the matches one by
// one.
func SearchRares(db *DB) (plans, checked int64) { return db.rares.Load(), db.rareChecks.Load() }

// SetSearchRare turns rarePart on (the default) or off.
func SetSearchRare(db *DB, on bool) { db.noRare = !on }

// ForgetWriteCache empties the committer's cache from inside an update,
// as a full cache does when it starts over.
func ForgetWriteCache(t parley.Tx) { t.(*tx).db.cache.reset() }
