package postgres_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/postgres"
	"github.com/parleyhq/parley/store/postgres/pgtest"
)

// BenchmarkSegmentCount counts segments over 1,000,000 contacts of one
// business, as store/sqlite's benchmark of the same name does and with
// the same contacts (every other one labelled vip, one in three
// tier=gold, 80% opted in to the topic, activity spread over 100 days),
// written by generate_series instead of a million PutContact calls.
// Needs PARLEY_TEST_POSTGRES; run with -run '^$' -bench SegmentCount
// -benchtime=3x (BENCHMARKS.md).
func BenchmarkSegmentCount(b *testing.B) {
	dsn := pgtest.DSN(b)
	db, err := postgres.Open(dsn, postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := db.Update(ctx, func(tx parley.Tx) error {
		return tx.CreateUser(&parley.User{ID: "biz", Handle: "biz", Kind: parley.KindBusiness, CreatedAt: t0})
	}); err != nil {
		b.Fatal(err)
	}
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	day := int64(24 * time.Hour)
	for _, q := range []string{
		`INSERT INTO contacts (business_id, id, name, attributes, labels, created_at, updated_at)
			SELECT 'biz', id, id, CASE WHEN i % 3 = 0 THEN '{"city":"Oslo","tier":"gold"}' ELSE '{"city":"Oslo"}' END,
				CASE WHEN i % 2 = 0 THEN '["vip"]' ELSE '' END, $1, $1
			FROM (SELECT i, 'c' || lpad(i::text, 7, '0') AS id FROM generate_series(0, 999999) i) s`,
		`INSERT INTO contact_tags (business_id, kind, name, value, contact_id)
			SELECT 'biz', 'l', 'vip', '', 'c' || lpad(i::text, 7, '0') FROM generate_series(0, 999999, 2) i
			UNION ALL SELECT 'biz', 'a', 'city', 'Oslo', 'c' || lpad(i::text, 7, '0') FROM generate_series(0, 999999) i
			UNION ALL SELECT 'biz', 'a', 'tier', 'gold', 'c' || lpad(i::text, 7, '0') FROM generate_series(0, 999999, 3) i`,
		`INSERT INTO consents (business_id, contact_id, topic_id, opted_in, channel, at)
			SELECT 'biz', 'c' || lpad(i::text, 7, '0'), 'offers', 1, 'api', $1 FROM generate_series(0, 999999) i WHERE i % 5 != 0`,
		`INSERT INTO contact_reach (business_id, contact_id, last_inbound_at)
			SELECT 'biz', 'c' || lpad(i::text, 7, '0'), $1 + (i % 100) * $2::bigint FROM generate_series(0, 999999) i`,
		`VACUUM ANALYZE`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, t0.UnixNano())
		}
		if strings.Contains(q, "$2") {
			args = append(args, day)
		}
		if _, err := raw.ExecContext(ctx, q, args...); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	for _, bc := range []struct {
		name string
		f    parley.SegmentFilter
	}{
		{"all", parley.SegmentFilter{}},
		{"topic", parley.SegmentFilter{Topics: []string{"offers"}}},
		{"label", parley.SegmentFilter{Labels: []string{"vip"}}},
		{"topic+label", parley.SegmentFilter{Topics: []string{"offers"}, Labels: []string{"vip"}}},
		{"label+attribute+active", parley.SegmentFilter{Labels: []string{"vip"}, Attributes: []parley.AttributeCondition{{Key: "tier", Value: "gold"}},
			ActiveSince: t0.Add(50 * 24 * time.Hour)}},
	} {
		bc.f.BusinessID = "biz"
		b.Run(bc.name, func(b *testing.B) {
			var count int
			for range b.N {
				if err := db.View(ctx, func(tx parley.Tx) error {
					var err error
					count, err = tx.CountSegment(bc.f)
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(count), "contacts")
		})
	}
}
