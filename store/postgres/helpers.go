package postgres

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/parleyhq/parley"
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
	return isPgCode(err, "23505")
}

// isPgCode reports whether err is a PostgreSQL error with that SQLSTATE.
func isPgCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// constraint returns the name of the constraint err broke, or "".
func constraint(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.ConstraintName
	}
	return ""
}

// rebound maps a query written with SQLite's placeholders to PostgreSQL's.
var rebound sync.Map

// rebind turns SQLite's placeholders into PostgreSQL's: ?N becomes $N,
// and a bare ? takes the number after the highest used so far, as in
// SQLite. Quoted strings are left alone. Results are memoized: queries
// are constants.
func rebind(q string) string {
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	max := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(q[i+1:], '\'')
			if j < 0 {
				b.WriteString(q[i:])
				i = len(q)
				continue
			}
			b.WriteString(q[i : i+j+2])
			i += j + 1
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n := max + 1
			if j > i+1 {
				n, _ = strconv.Atoi(q[i+1 : j])
			}
			if n > max {
				max = n
			}
			b.WriteString("$" + strconv.Itoa(n))
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	rebound.Store(q, out)
	return out
}

// pgArgs stores booleans as 0 and 1, as the SQLite schema did, and makes
// strings storable: PostgreSQL's text holds neither NUL characters nor
// invalid UTF-8, which SQLite keeps and a hostile request may carry (in a
// path, say). Both become U+FFFD, so a lookup by such a string finds
// nothing, as on SQLite, instead of failing, and text keeps its length.
func pgArgs(args []any) []any {
	var out []any
	for i, a := range args {
		var v any
		switch a := a.(type) {
		case bool:
			v = int64(0)
			if a {
				v = int64(1)
			}
		case string:
			if strings.IndexByte(a, 0) < 0 && utf8.ValidString(a) {
				continue
			}
			v = strings.ReplaceAll(strings.ToValidUTF8(a, "\uFFFD"), "\x00", "\uFFFD")
		default:
			continue
		}
		if out == nil {
			out = slices.Clone(args)
		}
		out[i] = v
	}
	if out == nil {
		return args
	}
	return out
}

// pgText is what pgArgs makes of a string argument, for strings sent in
// arrays.
func pgText(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// storageErr marks err as EStorageFull when the disk is full
// (PostgreSQL's disk_full, 53100, or ENOSPC from the operating system),
// keeping the cause in the chain for the log; anything else comes back
// unchanged.
func storageErr(err error) error {
	if err == nil || parley.ErrorCode(err) != parley.EInternal {
		return err
	}
	if isPgCode(err, "53100") {
		return fmt.Errorf("%w: %w", parley.Errorf(parley.EStorageFull, "the server's storage is full; nothing was stored, try again later"), err)
	}
	return parley.StorageFull(err)
}

// limitArg is the argument of a LIMIT: n, or NULL (no limit) when n <= 0,
// where SQLite's code wrote LIMIT -1.
func limitArg(n int) any {
	if n <= 0 {
		return nil
	}
	return n
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
// array bound to a single parameter and read back with
// json_array_elements_text: the
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
