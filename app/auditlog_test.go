package app_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// auditRows returns the whole audit log.
func auditRows(t *testing.T, a *app.App, s *shop) []*app.AuditRecordView {
	t.Helper()
	rows, next, err := a.AuditLog(s.ctx, app.AuditQuery{})
	if err != nil || next != 0 {
		t.Fatalf("audit log: next %d, %v", next, err)
	}
	return rows
}

func auditActions(rows []*app.AuditRecordView) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.Action)
	}
	return out
}

// TestAuditLogRecordsSecurityActions: logins, password changes, tokens and
// the operators' commands each leave one row, with who and from where,
// committed with the change; the chain verifies, also by the documented
// encoding re-implemented here.
func TestAuditLogRecordsSecurityActions(t *testing.T) {
	s := newShop(t)
	a := s.a
	before := len(auditRows(t, a, s))
	web := app.WithOrigin(s.ctx, app.Origin{Address: "203.0.113.9", UserAgent: "Firefox/130"})
	ops := app.WithOrigin(s.ctx, app.Origin{ActorID: parley.AuditOperator, Address: "local", UserAgent: "parley user suspend"})

	s.register("ann", "Ann", parley.KindPerson)
	if _, err := a.Login(web, "ann", "wrong password!", "laptop", "203.0.113.9"); parley.ErrorCode(err) != parley.EBadCredentials {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := a.Login(web, "nobody", "whatever123", "laptop", "203.0.113.9"); parley.ErrorCode(err) != parley.EBadCredentials {
		t.Fatalf("unknown handle: %v", err)
	}
	auth, err := a.Login(web, "ann", "correct horse battery", "laptop", "203.0.113.9")
	if err != nil {
		t.Fatal(err)
	}
	ann, err := a.Authenticate(web, auth.Token)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.CreateToken(web, ann, app.TokenInput{Name: "ci", Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeToken(web, ann, tok.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.ChangePassword(web, ann, "correct horse battery", "a new long passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.LogoutEverywhere(web, ann); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateAccount(ops, app.Registration{Handle: "bob", Password: "bobs long password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Suspend(ops, "bob", true); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Suspend(ops, "bob", false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.ResetPassword(ops, "bob", "another long password"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateTokenFor(ops, "bob", app.TokenInput{Name: "ops", Scopes: []string{"read"}}); err != nil {
		t.Fatal(err)
	}
	ba, err := a.AsBusiness(ops, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.PutAgent(ops, ba, "bob", app.AgentChange{}); err != nil {
		t.Fatal(err)
	}
	// A refused change leaves no row.
	if _, err := a.CreateAccount(ops, app.Registration{Handle: "bob", Password: "bobs long password"}); parley.ErrorCode(err) != parley.EHandleTaken {
		t.Fatalf("second bob: %v", err)
	}

	rows := auditRows(t, a, s)[before:]
	want := []string{app.AuditLoginFailure, app.AuditLoginFailure, app.AuditLoginSuccess, app.AuditTokenCreate, app.AuditTokenRevoke,
		app.AuditPasswordChange, app.AuditLogoutEverywhere, app.AuditUserCreate, app.AuditUserSuspend, app.AuditUserUnsuspend,
		app.AuditUserResetPassword, app.AuditTokenCreate, app.AuditBusinessMember}
	if got := auditActions(rows); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("actions\n got %v\nwant %v", got, want)
	}
	annID := ann.User.ID
	checks := []struct {
		i                       int
		actor, target, addr, ua string
		details                 map[string]string
	}{
		{0, annID, annID, "203.0.113.9", "Firefox/130", map[string]string{"handle": "ann", "reason": "password"}},
		{1, "", "", "203.0.113.9", "Firefox/130", map[string]string{"handle": "nobody", "reason": "password"}},
		{2, annID, auth.SessionID, "203.0.113.9", "Firefox/130", map[string]string{"device": "laptop"}},
		{3, annID, tok.ID, "203.0.113.9", "Firefox/130", map[string]string{"name": "ci", "scopes": "read", "user_id": annID}},
		{6, annID, annID, "203.0.113.9", "Firefox/130", map[string]string{"sessions_ended": "1"}},
		{8, parley.AuditOperator, rows[7].TargetID, "local", "parley user suspend", map[string]string{"handle": "bob"}},
	}
	for _, c := range checks {
		r := rows[c.i]
		if r.ActorID != c.actor || r.TargetID != c.target || r.Address != c.addr || r.UserAgent != c.ua {
			t.Errorf("row %d (%s): actor %q target %q from %q %q", c.i, r.Action, r.ActorID, r.TargetID, r.Address, r.UserAgent)
		}
		if d, _ := json.Marshal(r.Details); string(d) != mustJSON(c.details) {
			t.Errorf("row %d (%s): details %s, want %s", c.i, r.Action, d, mustJSON(c.details))
		}
		if !r.At.Equal(s.clock.Now()) {
			t.Errorf("row %d: at %v, want the app's clock %v", c.i, r.At, s.clock.Now())
		}
	}
	for _, r := range rows {
		if strings.Contains(mustJSON(r), "wrong password") || strings.Contains(mustJSON(r), "long password") {
			t.Fatalf("a password reached the audit log: %s", mustJSON(r))
		}
	}

	// Filters: by handle (the same actor as the id), action, target.
	byAnn, _, err := a.AuditLog(s.ctx, app.AuditQuery{Actor: "@ANN"})
	if err != nil || len(byAnn) != 6 { // failure, success, token ×2, password, logout
		t.Fatalf("by ann: %d rows, %v", len(byAnn), err)
	}
	ops1, next, err := a.AuditLog(s.ctx, app.AuditQuery{Actor: parley.AuditOperator, Limit: 2})
	if err != nil || len(ops1) != 2 || next != ops1[1].Seq {
		t.Fatalf("operator page: %d rows, next %d, %v", len(ops1), next, err)
	}
	ops2, _, err := a.AuditLog(s.ctx, app.AuditQuery{Actor: parley.AuditOperator, After: next})
	if err != nil || len(ops2) != 4 {
		t.Fatalf("operator rest: %d rows, %v", len(ops2), err)
	}
	fails, _, err := a.AuditLog(s.ctx, app.AuditQuery{Action: app.AuditLoginFailure})
	if err != nil || len(fails) != 2 {
		t.Fatalf("failures: %d rows, %v", len(fails), err)
	}

	v, err := a.VerifyAuditLog(s.ctx)
	all := auditRows(t, a, s)
	if err != nil || !v.OK || v.Rows != int64(len(all)) || v.Head != all[len(all)-1].Hash {
		t.Fatalf("verify: %+v, %v", v, err)
	}
	// A third party's check, from docs/records.md alone.
	prev := make([]byte, 32)
	for _, r := range all {
		if r.PrevHash != hex.EncodeToString(prev) {
			t.Fatalf("row %d: prev_hash %s", r.Seq, r.PrevHash)
		}
		prev = documentedHash(prev, r)
		if hex.EncodeToString(prev) != r.Hash {
			t.Fatalf("row %d: the documented encoding gives %x, the log says %s", r.Seq, prev, r.Hash)
		}
	}
}

// documentedHash computes a row's hash as docs/records.md describes it.
func documentedHash(prev []byte, r *app.AuditRecordView) []byte {
	var b bytes.Buffer
	b.Write(prev)
	b.WriteString("parley-audit-v1")
	binary.Write(&b, binary.BigEndian, uint64(r.Seq))
	binary.Write(&b, binary.BigEndian, r.At.UnixNano())
	str := func(s string) {
		binary.Write(&b, binary.BigEndian, uint32(len(s)))
		b.WriteString(s)
	}
	str(r.ActorID)
	str(r.Action)
	str(r.TargetType)
	str(r.TargetID)
	keys := []string{}
	for k := range r.Details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	binary.Write(&b, binary.BigEndian, uint32(len(keys)))
	for _, k := range keys {
		str(k)
		str(r.Details[k])
	}
	str(r.Address)
	str(r.UserAgent)
	h := sha256.Sum256(b.Bytes())
	return h[:]
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestAuditCheckerNamesTheBrokenRow: a changed byte, a dropped row, two
// rows swapped and a forged link are each caught at the first bad row.
func TestAuditCheckerNamesTheBrokenRow(t *testing.T) {
	s := newShop(t)
	for _, h := range []string{"ann", "bob", "cat", "dan"} {
		if _, err := s.a.CreateAccount(s.ctx, app.Registration{Handle: h, Password: "long enough password"}); err != nil {
			t.Fatal(err)
		}
	}
	views := auditRows(t, s.a, s)
	if len(views) < 4 {
		t.Fatalf("%d rows", len(views))
	}
	load := func() []*parley.AuditRecord {
		var out []*parley.AuditRecord
		for _, v := range auditRows(t, s.a, s) {
			// Through JSON, as an export is read back.
			var back app.AuditRecordView
			if err := json.Unmarshal([]byte(mustJSON(v)), &back); err != nil {
				t.Fatal(err)
			}
			r, err := back.Record()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	check := func(rs []*parley.AuditRecord) *app.AuditVerification {
		c := app.NewAuditChecker()
		for _, r := range rs {
			c.Check(r)
		}
		return c.Result()
	}
	if v := check(load()); !v.OK || v.Rows != int64(len(views)) {
		t.Fatalf("untouched: %+v", v)
	}
	n := len(views)
	tests := []struct {
		name   string
		tamper func(rs []*parley.AuditRecord) []*parley.AuditRecord
		broken int64
		says   string
	}{
		{"changed detail", func(rs []*parley.AuditRecord) []*parley.AuditRecord {
			rs[2].Details["handle"] = "mallory"
			return rs
		}, 3, "altered"},
		{"changed actor", func(rs []*parley.AuditRecord) []*parley.AuditRecord {
			rs[n-1].ActorID = "someone"
			return rs
		}, int64(n), "altered"},
		{"flipped hash byte", func(rs []*parley.AuditRecord) []*parley.AuditRecord {
			rs[1].Hash[0] ^= 1
			return rs
		}, 2, "altered"},
		{"dropped row", func(rs []*parley.AuditRecord) []*parley.AuditRecord {
			return append(rs[:1], rs[2:]...)
		}, 2, "missing"},
		{"swapped rows", func(rs []*parley.AuditRecord) []*parley.AuditRecord {
			rs[1], rs[2] = rs[2], rs[1]
			return rs
		}, 2, "missing"},
		{"re-hashed forgery", func(rs []*parley.AuditRecord) []*parley.AuditRecord {
			rs[1].Action = "nothing.happened"
			rs[1].Hash = rs[1].ChainHash() // consistent row, but row 3 links to the old hash
			return rs
		}, 3, "does not link"},
	}
	for _, tc := range tests {
		v := check(tc.tamper(load()))
		if v.OK || v.BrokenSeq != tc.broken || !strings.Contains(v.Problem, tc.says) {
			t.Errorf("%s: %+v, want broken at %d (%s)", tc.name, v, tc.broken, tc.says)
		}
	}
}

// TestAuditLogRecordsBusinessActions: a business admin's settings, a team
// member's removal, an export of a customer conversation and a campaign
// started and cancelled each leave one row, with who did it and to what.
func TestAuditLogRecordsBusinessActions(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := newShopConfig(t, app.Config{Records: app.RecordsConfig{Dir: t.TempDir(), Key: key}})
	t.Cleanup(s.a.StopExports)
	s.agent("ann", "Ann", false)
	offers := s.topic("Offers", "JOIN")
	tp := s.template("Sale", "Hi {{contact.first_name}}, sale today", offers.ID)
	cust, conv := s.customer("Cust One")
	s.say(cust, conv, "join")
	before := len(auditRows(t, s.a, s))

	s.settings(func(st *app.BusinessSettings) { st.AutoAssign = app.AssignRoundRobin })
	if err := s.a.RemoveAgent(s.ctx, s.admin, "ann"); err != nil {
		t.Fatal(err)
	}
	ex, err := s.a.StartExport(s.ctx, s.biz, app.ExportInput{Scope: parley.ExportConversation, ConversationID: conv, Business: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.a.CreateCampaign(s.ctx, s.admin, app.CampaignInput{Name: "Spring", Template: tp.ID, Segment: app.Segment{Topics: []string{offers.ID}}, Rate: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{parley.CampaignRunning, parley.CampaignCancelled} {
		if _, err := s.a.SetCampaignStatus(s.ctx, s.admin, c.ID, app.CampaignChange{Status: st}); err != nil {
			t.Fatal(err)
		}
	}
	rows := auditRows(t, s.a, s)[before:]
	want := []string{app.AuditBusinessSettings, app.AuditBusinessMemberRemove, app.AuditExportStart, app.AuditCampaignStatus, app.AuditCampaignStatus}
	if got := auditActions(rows); !slices.Equal(got, want) {
		t.Fatalf("actions %v, want %v", got, want)
	}
	bizID := s.biz.User.ID
	for i, r := range rows {
		if r.ActorID == "" {
			t.Errorf("row %d (%s) has no actor", i, r.Action)
		}
	}
	if rows[0].TargetID != bizID || !strings.Contains(rows[0].Details["settings"], "round_robin") {
		t.Errorf("settings row %+v", rows[0])
	}
	if rows[1].TargetID != bizID || rows[1].Details["handle"] != "ann" {
		t.Errorf("removal row %+v", rows[1])
	}
	if rows[2].TargetID != ex.ID || rows[2].Details["conversation_id"] != conv || rows[2].Details["business_id"] != bizID {
		t.Errorf("export row %+v", rows[2])
	}
	if rows[3].TargetID != c.ID || rows[3].Details["requested"] != parley.CampaignRunning || rows[3].Details["status"] == "" || rows[4].Details["status"] != parley.CampaignCancelled {
		t.Errorf("campaign rows %+v %+v", rows[3], rows[4])
	}
	if _, err := s.a.VerifyAuditLog(s.ctx); err != nil {
		t.Fatalf("the chain does not verify: %v", err)
	}
}
