package storetest

import (
	"testing"

	"github.com/parleyhq/parley"
)

// auditRow returns row seq of a test log, chained to prev.
func auditRow(seq int64, prev *parley.AuditRecord, actor, action, target string, sec int) *parley.AuditRecord {
	r := &parley.AuditRecord{Seq: seq, At: at(sec), ActorID: actor, Action: action, TargetType: "user", TargetID: target,
		Details: map[string]string{"n": string(rune('a' + seq)), "quote": `"<&>"`}, Address: "203.0.113.7", UserAgent: "Firefox ✓"}
	r.PrevHash = parley.AuditGenesis
	if prev != nil {
		r.PrevHash = prev.Hash
	}
	r.Hash = r.ChainHash()
	return r
}

// testAuditLog: rows come back as stored, in Seq order, filtered and
// paged; a Seq is taken once; the last row is found.
func testAuditLog(t *testing.T, s parley.Store) {
	_, err := viewErr(s, func(tx parley.Tx) (*parley.AuditRecord, error) { return tx.LastAuditRecord() })
	wantCode(t, err, parley.ENotFound)

	r1 := auditRow(1, nil, "ann", "login.success", "ann", 0)
	r2 := auditRow(2, r1, "bob", "login.failure", "bob", 10)
	r3 := auditRow(3, r2, parley.AuditOperator, "user.suspend", "bob", 20)
	r4 := auditRow(4, r3, "ann", "token.create", "tok1", 30)
	r4.Details = nil // stored as no details
	update(t, s, func(tx parley.Tx) error {
		for _, r := range []*parley.AuditRecord{r1, r2} {
			if err := tx.AppendAuditRecord(r); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx parley.Tx) error {
		if err := tx.AppendAuditRecord(r3); err != nil {
			return err
		}
		return tx.AppendAuditRecord(r4)
	})
	err = s.Update(ctx, func(tx parley.Tx) error { return tx.AppendAuditRecord(auditRow(2, r1, "eve", "x", "y", 40)) })
	wantCode(t, err, parley.EConflict)

	last := view(t, s, func(tx parley.Tx) (*parley.AuditRecord, error) { return tx.LastAuditRecord() })
	want4 := *r4
	want4.Details = map[string]string{}
	wantEqual(t, "last row", last, &want4)

	seqs := func(f parley.AuditRecordFilter) []int64 {
		t.Helper()
		rs := view(t, s, func(tx parley.Tx) ([]*parley.AuditRecord, error) { return tx.AuditRecords(f) })
		out := []int64{}
		for _, r := range rs {
			out = append(out, r.Seq)
		}
		return out
	}
	all := view(t, s, func(tx parley.Tx) ([]*parley.AuditRecord, error) { return tx.AuditRecords(parley.AuditRecordFilter{}) })
	wantEqual(t, "all rows", all, []*parley.AuditRecord{r1, r2, r3, &want4})
	wantEqual(t, "by actor", seqs(parley.AuditRecordFilter{ActorID: "ann"}), []int64{1, 4})
	wantEqual(t, "by operator", seqs(parley.AuditRecordFilter{ActorID: parley.AuditOperator}), []int64{3})
	wantEqual(t, "by action", seqs(parley.AuditRecordFilter{Action: "login.failure"}), []int64{2})
	wantEqual(t, "by target", seqs(parley.AuditRecordFilter{TargetID: "bob"}), []int64{2, 3})
	wantEqual(t, "from", seqs(parley.AuditRecordFilter{From: at(10)}), []int64{2, 3, 4})
	wantEqual(t, "to (exclusive)", seqs(parley.AuditRecordFilter{To: at(20)}), []int64{1, 2})
	wantEqual(t, "first page", seqs(parley.AuditRecordFilter{Limit: 2}), []int64{1, 2})
	wantEqual(t, "next page", seqs(parley.AuditRecordFilter{Limit: 2, AfterSeq: 2}), []int64{3, 4})
	wantEqual(t, "filters combine", seqs(parley.AuditRecordFilter{ActorID: "ann", AfterSeq: 1, To: at(31)}), []int64{4})
	wantEqual(t, "none", seqs(parley.AuditRecordFilter{Action: "nothing"}), []int64{})
}
