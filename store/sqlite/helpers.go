package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	sqlite3 "modernc.org/sqlite"
)

// Extended result codes of SQLite for unique and primary-key violations.
const (
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

// toNanos converts t to what is stored: nanoseconds since the Unix epoch.
// The zero time is stored as 0 so that it survives a round trip.
func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	// UnixNano is undefined past 2262; clamp so that a far-future time (a
	// mute "for ever") stays far in the future instead of wrapping around.
	if t.After(maxTime) {
		return maxTime.UnixNano()
	}
	return t.UnixNano()
}

// maxTime is the latest time the store keeps exactly.
var maxTime = time.Unix(0, math.MaxInt64).UTC()

// fromNanos is the inverse of toNanos; times come back in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// toNullNanos stores a nil time as NULL.
func toNullNanos(t *time.Time) any {
	if t == nil {
		return nil
	}
	return toNanos(*t)
}

// fromNullNanos is the inverse of toNullNanos.
func fromNullNanos(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

// nullString stores "" as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var se *sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqliteConstraintUnique, sqliteConstraintPrimaryKey:
			return true
		}
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// sqliteFull is SQLite's primary result code for a full disk or a
// database that reached its size limit.
const sqliteFull = 13

// storageErr marks err as EStorageFull when the disk is full (SQLite's
// SQLITE_FULL, or ENOSPC from the operating system), keeping the cause in
// the chain for the log; anything else comes back unchanged.
func storageErr(err error) error {
	if err == nil || parley.ErrorCode(err) != parley.EInternal {
		return err
	}
	var se *sqlite3.Error
	if (errors.As(err, &se) && se.Code()&0xff == sqliteFull) || strings.Contains(err.Error(), "database or disk is full") {
		return fmt.Errorf("%w: %w", parley.Errorf(parley.EStorageFull, "the server's storage is full; nothing was stored, try again later"), err)
	}
	return parley.StorageFull(err)
}

// notFound returns the ENotFound error for a kind of thing.
func notFound(what string) error {
	return parley.Errorf(parley.ENotFound, "%s not found", what)
}

// rowErr maps sql.ErrNoRows to ENotFound and wraps anything else.
func rowErr(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(what)
	}
	return fmt.Errorf("load %s: %w", what, err)
}

// mustAffect returns ENotFound when res touched no row.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("rows affected: %w", err)
	}
	if n == 0 {
		return notFound(what)
	}
	return nil
}

// affected reports whether res touched any row.
func affected(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("rows affected: %w", err)
	}
	return n > 0, nil
}

// uniqueIDs returns ids without duplicates and empty strings, in order.
func uniqueIDs(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// idList encodes ids, without duplicates or empty strings, as one JSON
// array bound to a single parameter and read back with json_each: the
// statement text stays the same whatever the count, so it is prepared once
// and reused instead of parsed on every call.
func idList(ids []string) string {
	b, _ := json.Marshal(uniqueIDs(ids))
	return string(b)
}

// queryAll runs q and scans every row with scan; what names the list in
// errors. The result is never nil.
func queryAll[T any](t *tx, what string, scan func(scanner) (*T, error), q string, args ...any) ([]*T, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	out := []*T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
