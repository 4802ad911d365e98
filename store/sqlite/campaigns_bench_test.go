package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/sqlite"
)

// BenchmarkSegmentCount counts segments over 1,000,000 contacts of one
// business (every other one labelled vip, one in three tier=gold, 80%
// opted in to the topic, activity spread over 100 days), as
// POST …/segments/count does. Setup takes a while; run with
// -run '^$' -bench SegmentCount -benchtime=10x (BENCHMARKS.md).
//
// PARLEY_BENCH_SEGMENT_DB names a database file to keep between runs: it
// is built when it does not exist and reused (migrations applied on open)
// when it does.
func BenchmarkSegmentCount(b *testing.B) {
	const n = 1_000_000
	path, reuse := os.Getenv("PARLEY_BENCH_SEGMENT_DB"), false
	if path == "" {
		path = filepath.Join(b.TempDir(), "parley.db")
	} else if _, err := os.Stat(path); err == nil {
		reuse = true
	}
	db := openAt(b, path)
	defer db.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if !reuse {
		buildSegmentContacts(b, db, n, t0)
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

// buildSegmentContacts stores BenchmarkSegmentCount's n contacts of
// business "biz".
func buildSegmentContacts(b *testing.B, db *sqlite.DB, n int, t0 time.Time) {
	ctx := context.Background()
	if err := db.Update(ctx, func(tx parley.Tx) error {
		return tx.CreateUser(&parley.User{ID: "biz", Handle: "biz", Kind: parley.KindBusiness, CreatedAt: t0})
	}); err != nil {
		b.Fatal(err)
	}
	const batch = 5000
	for start := 0; start < n; start += batch {
		if err := db.Update(ctx, func(tx parley.Tx) error {
			for i := start; i < start+batch; i++ {
				id := fmt.Sprintf("c%07d", i)
				c := &parley.Contact{BusinessID: "biz", ID: id, Name: id, Attributes: map[string]string{"city": "Oslo"}, CreatedAt: t0, UpdatedAt: t0}
				if i%2 == 0 {
					c.Labels = []string{"vip"}
				}
				if i%3 == 0 {
					c.Attributes["tier"] = "gold"
				}
				if err := tx.PutContact(c); err != nil {
					return err
				}
				if i%5 != 0 {
					if err := tx.PutConsent(&parley.Consent{BusinessID: "biz", ContactID: id, TopicID: "offers", OptedIn: true, Channel: "api", At: t0}); err != nil {
						return err
					}
				}
				if err := tx.PutReach(&parley.Reach{BusinessID: "biz", ContactID: id, LastInboundAt: t0.Add(time.Duration(i%100) * 24 * time.Hour)}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}
