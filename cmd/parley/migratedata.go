package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/server"
	"github.com/parleyhq/parley/store/postgres"
	"github.com/parleyhq/parley/store/sqlite"
)

// migrateDataCmd is parley migrate-data --from sqlite:PATH --to
// postgres://…: it copies every table of a stopped embedded installation
// into an empty PostgreSQL database, then checks that every table holds
// as many rows on both sides and that the audit log's hash chain still
// verifies on PostgreSQL.
func migrateDataCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate-data", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the SQLite database: sqlite:PATH (stop parley serve first)")
	to := fs.String("to", "", "the empty PostgreSQL database: postgres://USER:PASSWORD@HOST/DB")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: parley migrate-data --from sqlite:/var/lib/parley/parley.db --to postgres://parley:secret@db/parley")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	path := strings.TrimPrefix(strings.TrimPrefix(*from, "sqlite:"), "//")
	if !strings.HasPrefix(*from, "sqlite:") || path == "" {
		return usagef("--from must be sqlite:PATH")
	}
	if !server.IsPostgresURL(*to) {
		return usagef("--to must be a postgres:// URL")
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("migrate-data: %w", err)
	}
	// Both schemas up to date first: the source through its own
	// migrations (a no-op on a database this build already served), the
	// target created from this build's.
	src, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		return fmt.Errorf("migrate-data: open %s: %w", path, err)
	}
	if err := src.Close(); err != nil {
		return err
	}
	dst, err := postgres.Open(*to, postgres.Options{})
	if err != nil {
		return fmt.Errorf("migrate-data: open PostgreSQL: %w", err)
	}
	if err := dst.Close(); err != nil {
		return err
	}
	in, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := pgx.Connect(ctx, *to)
	if err != nil {
		return fmt.Errorf("migrate-data: %w", err)
	}
	defer out.Close(context.Background())
	if err := copyAll(ctx, in, out, stdout); err != nil {
		return fmt.Errorf("migrate-data: %w", err)
	}
	// The planner's statistics of the copied tables, before the first
	// node starts: COPY does not gather them, and autovacuum's analyze
	// comes a minute or more later. Until then a table's statistics say
	// it is (nearly) empty, and queries over millions of rows get plans
	// for a few hundred — a sequential scan where an index belongs (see
	// PostgreSQL's "Populating a Database": run ANALYZE afterwards). The
	// copy has committed: a failure here is only a warning.
	tables, err := copyOrder(ctx, out)
	if err == nil {
		err = analyzeTables(ctx, out, tables)
	}
	if err != nil {
		fmt.Fprintf(stdout, "statistics: ANALYZE failed (%v); run ANALYZE on the database before starting the nodes\n", err)
	} else {
		fmt.Fprintf(stdout, "statistics: %d tables analyzed\n", len(tables))
	}

	// The copy as the server will read it: the audit chain recomputed
	// from the rows in PostgreSQL.
	st, err := postgres.Open(*to, postgres.Options{NoMigrate: true})
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := app.New(st, app.Config{}).VerifyAuditLog(ctx)
	if err != nil {
		return fmt.Errorf("migrate-data: verify the audit log: %w", err)
	}
	if !v.OK {
		return fmt.Errorf("migrate-data: the audit log's chain breaks at row %d on PostgreSQL: %s", v.BrokenSeq, v.Problem)
	}
	fmt.Fprintf(stdout, "audit log: %d rows, chain verified\n", v.Rows)
	convs, entries, err := verifyChains(ctx, out, st, stdout)
	if err != nil {
		return fmt.Errorf("migrate-data: %w", err)
	}
	fmt.Fprintf(stdout, "hash chains: %d conversations, %d entries, every chain verified\n", convs, entries)
	var keys []*parley.DataKey
	if err := st.View(ctx, func(tx parley.Tx) error {
		var err error
		keys, err = tx.DataKeys()
		return err
	}); err != nil {
		return fmt.Errorf("migrate-data: %w", err)
	}
	if len(keys) > 0 {
		// Encrypted message text was copied as it is; the search index
		// of PostgreSQL can only be built from its plaintext.
		fmt.Fprintln(stdout, "encrypted data: start with the same PARLEY_ENCRYPTION_KEY, then run parley keys reseal once to index encrypted messages for search")
	}
	fmt.Fprintln(stdout, "done: point PARLEY_DATABASE_URL at the PostgreSQL database and start parley serve")
	return nil
}

// verifyChains recomputes every conversation's hash chain from the rows
// as PostgreSQL holds them: each entry follows the one before (index and
// previous hash) and hashes to its stored hash. It names the first entry
// that does not.
func verifyChains(ctx context.Context, out *pgx.Conn, st parley.Store, stdout io.Writer) (convs, entries int64, err error) {
	rows, err := out.Query(ctx, `SELECT DISTINCT conversation_id FROM chain_entries ORDER BY conversation_id`)
	if err != nil {
		return 0, 0, fmt.Errorf("hash chains: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	p := newProgress(stdout, "hash chains", "conversations verified", int64(len(ids)))
	for _, id := range ids {
		p.add(1)
		var index int64
		prev := parley.ChainGenesis
		for {
			var page []*parley.ChainEntry
			if err := st.View(ctx, func(tx parley.Tx) error {
				var err error
				page, err = tx.ChainEntries(id, index, 1000)
				return err
			}); err != nil {
				return convs, entries, err
			}
			for _, e := range page {
				switch {
				case e.Index != index+1:
					return convs, entries, fmt.Errorf("hash chain of conversation %s: entry %d follows entry %d", id, e.Index, index)
				case e.PrevHash != prev:
					return convs, entries, fmt.Errorf("hash chain of conversation %s breaks at entry %d: it does not name the entry before", id, e.Index)
				case e.ComputeHash() != e.Hash:
					return convs, entries, fmt.Errorf("hash chain of conversation %s breaks at entry %d: its hash does not match", id, e.Index)
				}
				index, prev = e.Index, e.Hash
				entries++
			}
			if len(page) < 1000 {
				break
			}
		}
		convs++
	}
	return convs, entries, nil
}

// analyzeTables gathers the planner's statistics of tables (no time
// limit: ANALYZE samples a bounded number of rows per table).
func analyzeTables(ctx context.Context, out *pgx.Conn, tables []string) error {
	if _, err := out.Exec(ctx, `SET statement_timeout = 0`); err != nil {
		return err
	}
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = pgx.Identifier{t}.Sanitize()
	}
	_, err := out.Exec(ctx, `ANALYZE `+strings.Join(names, ", "))
	return err
}

// copyAll copies every table of PostgreSQL's schema, parents before the
// tables that refer to them, in one transaction, and compares counts.
func copyAll(ctx context.Context, in *sql.DB, out *pgx.Conn, stdout io.Writer) error {
	tables, err := copyOrder(ctx, out)
	if err != nil {
		return err
	}
	tx, err := out.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	var n int64
	if err := tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM messages)`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return errors.New("the PostgreSQL database already holds users or messages; migrate into an empty one")
	}
	// The migrations seeded the positions row; the source's replaces it.
	if _, err := tx.Exec(ctx, `DELETE FROM positions`); err != nil {
		return err
	}
	for _, table := range tables {
		cols, err := copyColumns(ctx, tx, in, table)
		if err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		var want int64
		if err := in.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&want); err != nil {
			return fmt.Errorf("%s: count: %w", table, err)
		}
		rows, err := in.QueryContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+table)
		if err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		p := newProgress(stdout, table, "rows copied", want)
		src := &sqlRows{rows: rows, vals: make([]any, len(cols)), progress: p}
		copied, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, src)
		rows.Close()
		if err == nil {
			err = src.err
		}
		if err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		var got int64
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&got); err != nil {
			return fmt.Errorf("%s: count: %w", table, err)
		}
		if got != want || copied != want {
			return fmt.Errorf("%s: %d rows in SQLite, %d copied, %d in PostgreSQL", table, want, copied, got)
		}
		fmt.Fprintf(stdout, "%-24s %10d rows copied and counted\n", table, got)
	}
	// Identity columns go on after the highest copied value.
	ids, err := tx.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return err
	}
	var idCols [][2]string
	for ids.Next() {
		var t, c string
		if err := ids.Scan(&t, &c); err != nil {
			return err
		}
		idCols = append(idCols, [2]string{t, c})
	}
	if err := ids.Err(); err != nil {
		return err
	}
	for _, tc := range idCols {
		t, c := pgx.Identifier{tc[0]}.Sanitize(), pgx.Identifier{tc[1]}.Sanitize()
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX(`+c+`) FROM `+t+`), 0) + 1, false)`,
			tc[0], tc[1]); err != nil {
			return fmt.Errorf("%s.%s: %w", tc[0], tc[1], err)
		}
	}
	return tx.Commit(ctx)
}

// copyOrder lists PostgreSQL's tables with every table after those its
// foreign keys point to. cache_changes and rate_limits are left out: the
// first is PostgreSQL's own ring of which rows each write batch changed,
// for the other nodes' caches, the second the nodes' shared rate-limit
// buckets; SQLite has neither and a fresh cluster starts them empty.
func copyOrder(ctx context.Context, out *pgx.Conn) ([]string, error) {
	rows, err := out.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
		AND table_name NOT IN ('schema_migrations', 'cache_changes', 'rate_limits')
		ORDER BY table_name`)
	if err != nil {
		return nil, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	rows, err = out.Query(ctx, `SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
		WHERE c.contype = 'f' AND c.conrelid != c.confrelid`)
	if err != nil {
		return nil, err
	}
	parents := map[string][]string{}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			return nil, err
		}
		parents[child] = append(parents[child], parent)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var order []string
	done := map[string]bool{}
	var visit func(t string, depth int) error
	visit = func(t string, depth int) error {
		if done[t] {
			return nil
		}
		if depth > len(tables) {
			return fmt.Errorf("foreign keys form a cycle at %s", t)
		}
		for _, p := range parents[t] {
			if err := visit(p, depth+1); err != nil {
				return err
			}
		}
		done[t] = true
		order = append(order, t)
		return nil
	}
	for _, t := range tables {
		if err := visit(t, 0); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// copyColumns lists the columns to copy into a table: those PostgreSQL
// lets us write (not generated, not always-identity) and SQLite has.
func copyColumns(ctx context.Context, tx pgx.Tx, in *sql.DB, table string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'
		  AND COALESCE(identity_generation, '') != 'ALWAYS' ORDER BY ordinal_position`, table)
	if err != nil {
		return nil, err
	}
	pgCols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	srows, err := in.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, err
	}
	defer srows.Close()
	var have []string
	for srows.Next() {
		var c string
		if err := srows.Scan(&c); err != nil {
			return nil, err
		}
		have = append(have, c)
	}
	if err := srows.Err(); err != nil {
		return nil, err
	}
	if len(have) == 0 {
		return nil, errors.New("missing in SQLite: is the source from an older build?")
	}
	var cols []string
	for _, c := range pgCols {
		if slices.Contains(have, c) {
			cols = append(cols, c)
		}
	}
	return cols, nil
}

// sqlRows feeds database/sql rows to pgx's COPY.
type sqlRows struct {
	rows     *sql.Rows
	vals     []any
	err      error
	progress *progress
}

func (r *sqlRows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	r.progress.add(1)
	return true
}

func (r *sqlRows) Values() ([]any, error) {
	ptrs := make([]any, len(r.vals))
	for i := range r.vals {
		ptrs[i] = &r.vals[i]
	}
	if err := r.rows.Scan(ptrs...); err != nil {
		r.err = err
		return nil, err
	}
	return r.vals, nil
}

func (r *sqlRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

// progressEvery is how often a long step says how far it is.
var progressEvery = 5 * time.Second

// progress says, every progressEvery, how far a step of total items is:
// "messages  1200000 of 10000000 rows copied (12 %)". A step done within
// the first interval says nothing of it.
type progress struct {
	w           io.Writer
	name, what  string
	total, done int64
	last        time.Time
}

func newProgress(w io.Writer, name, what string, total int64) *progress {
	return &progress{w: w, name: name, what: what, total: total, last: time.Now()}
}

func (p *progress) add(n int64) {
	p.done += n
	if p.done%1024 != 0 && p.done != p.total {
		return // the clock is read every 1,024 items
	}
	if now := time.Now(); now.Sub(p.last) >= progressEvery {
		p.last = now
		pct := 100.0
		if p.total > 0 {
			pct = 100 * float64(p.done) / float64(p.total)
		}
		fmt.Fprintf(p.w, "  %-22s %10d of %d %s (%.0f %%)\n", p.name, p.done, p.total, p.what, pct)
	}
}
