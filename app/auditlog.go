package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// Origin says where a call comes from, for the audit log. Transports put
// it in the context (WithOrigin): the HTTP API the client's address and
// User-Agent, the admin CLI AuditOperator as the actor.
type Origin struct {
	// ActorID, when set, is who acts whatever the call says (the admin
	// CLI sets parley.AuditOperator).
	ActorID   string
	Address   string
	UserAgent string
}

type originKey struct{}

// WithOrigin returns ctx carrying o.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginFrom returns the Origin in ctx (the zero Origin when none).
func OriginFrom(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	return o
}

// AuditEntry is what a feature records in the server-wide audit log; the
// time, origin, sequence number and hashes are filled in by audit.
type AuditEntry struct {
	// ActorID is who acted (a user id); the origin's actor, when set,
	// takes its place.
	ActorID    string
	Action     string
	TargetType string
	TargetID   string
	// Details are extra facts; never put secrets or message bodies here.
	Details map[string]string
}

// The audit actions recorded so far; docs/records.md lists them. Features
// add their own, named object.verb.
const (
	AuditLoginSuccess     = "login.success"
	AuditLoginFailure     = "login.failure"
	AuditLogoutEverywhere = "logout.everywhere"
	// AuditSessionRevoke: one device signed out from another.
	AuditSessionRevoke    = "session.revoke"
	AuditPasswordChange   = "password.change"
	AuditTwoFactorEnable  = "twofactor.enable"
	AuditTwoFactorDisable = "twofactor.disable"
	AuditRecoveryCodeUse  = "twofactor.recovery_code"
	// AuditRecoveryCodesRenew: a new set of recovery codes replaced the old.
	AuditRecoveryCodesRenew = "twofactor.recovery_codes_renew"
	AuditTokenCreate        = "token.create"
	AuditTokenRevoke        = "token.revoke"
	AuditUserCreate         = "user.create"
	AuditUserSuspend        = "user.suspend"
	AuditUserUnsuspend      = "user.unsuspend"
	AuditUserResetPassword  = "user.reset_password"
	AuditBusinessMember     = "business.member_put"
	// A business's team and settings, exports and campaigns: who may
	// read customers' conversations, the rules every send follows, data
	// leaving the server, and promotional messages going out.
	AuditBusinessMemberRemove = "business.member_remove"
	AuditBusinessSettings     = "business.settings"
	AuditExportStart          = "export.start"
	AuditCampaignStatus       = "campaign.status"
)

// Audit log limits: a row stays small whatever a client sends.
const (
	maxAuditField  = 256
	maxAuditDetail = 1024
)

// auditClip makes s valid UTF-8 of at most n bytes: what is hashed must survive
// the JSON round trip of the store and of exports unchanged.
func auditClip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// audit appends e to the server-wide audit log inside w's transaction, so
// that the row commits with the change it records (or not at all). Call
// it from any feature's write transaction:
//
//	if err := a.audit(w, AuditEntry{ActorID: actor.User.ID, Action: "user.ban", TargetType: "user", TargetID: u.ID}); err != nil {
//		return err
//	}
func (a *App) audit(w *writer, e AuditEntry) error {
	prev := parley.AuditGenesis
	var seq int64 = 1
	last, err := w.LastAuditRecord()
	if err == nil {
		prev, seq = last.Hash, last.Seq+1
	} else if !parley.IsNotFound(err) {
		return err
	}
	actor := e.ActorID
	if w.origin.ActorID != "" {
		actor = w.origin.ActorID
	}
	r := &parley.AuditRecord{Seq: seq, At: w.now, ActorID: auditClip(actor, maxAuditField), Action: auditClip(e.Action, maxAuditField),
		TargetType: auditClip(e.TargetType, maxAuditField), TargetID: auditClip(e.TargetID, maxAuditField),
		Details: map[string]string{}, Address: auditClip(w.origin.Address, maxAuditField),
		UserAgent: auditClip(w.origin.UserAgent, maxAuditField), PrevHash: prev}
	for k, v := range e.Details {
		r.Details[auditClip(k, maxAuditField)] = auditClip(v, maxAuditDetail)
	}
	r.Hash = r.ChainHash()
	return w.AppendAuditRecord(r)
}

// AuditRecordView is one row of the audit log as operators read and
// export it (one JSON line per row).
type AuditRecordView struct {
	Seq        int64             `json:"seq"`
	At         time.Time         `json:"at"`
	ActorID    string            `json:"actor_id"`
	Action     string            `json:"action"`
	TargetType string            `json:"target_type"`
	TargetID   string            `json:"target_id"`
	Details    map[string]string `json:"details"`
	Address    string            `json:"address"`
	UserAgent  string            `json:"user_agent"`
	PrevHash   string            `json:"prev_hash"`
	Hash       string            `json:"hash"`
}

func auditRecordView(r *parley.AuditRecord) *AuditRecordView {
	return &AuditRecordView{Seq: r.Seq, At: r.At, ActorID: r.ActorID, Action: r.Action, TargetType: r.TargetType,
		TargetID: r.TargetID, Details: r.Details, Address: r.Address, UserAgent: r.UserAgent,
		PrevHash: hex.EncodeToString(r.PrevHash), Hash: hex.EncodeToString(r.Hash)}
}

// Record returns the row the view shows, hashes decoded, for
// verification of an exported log.
func (v *AuditRecordView) Record() (*parley.AuditRecord, error) {
	prev, err := hex.DecodeString(v.PrevHash)
	if err != nil {
		return nil, fmt.Errorf("row %d: prev_hash: %w", v.Seq, err)
	}
	hash, err := hex.DecodeString(v.Hash)
	if err != nil {
		return nil, fmt.Errorf("row %d: hash: %w", v.Seq, err)
	}
	d := v.Details
	if d == nil {
		d = map[string]string{}
	}
	return &parley.AuditRecord{Seq: v.Seq, At: v.At.UTC(), ActorID: v.ActorID, Action: v.Action, TargetType: v.TargetType,
		TargetID: v.TargetID, Details: d, Address: v.Address, UserAgent: v.UserAgent, PrevHash: prev, Hash: hash}, nil
}

// AuditQuery selects rows of the audit log. Actor is a user id, a handle
// or "operator".
type AuditQuery struct {
	Actor, Action, Target string
	From, To              time.Time
	// After is the cursor: the seq of the last row of the previous page.
	After int64
	Limit int
}

// maxAuditPage caps one page of AuditLog.
const maxAuditPage = 1000

// AuditLog lists rows of the audit log in order, for the server's
// operators (the admin CLI) and admins; it returns the next cursor, 0 at
// the end.
func (a *App) AuditLog(ctx context.Context, q AuditQuery) ([]*AuditRecordView, int64, error) {
	if q.Limit <= 0 || q.Limit > maxAuditPage {
		q.Limit = maxAuditPage
	}
	if q.After < 0 {
		return nil, 0, parley.Invalid("after", "after is a row number (seq)")
	}
	out := []*AuditRecordView{}
	var next int64
	err := a.view(ctx, func(tx parley.Tx) error {
		f := parley.AuditRecordFilter{Action: q.Action, TargetID: q.Target, From: q.From, To: q.To, AfterSeq: q.After, Limit: q.Limit + 1}
		if f.ActorID = q.Actor; q.Actor != "" && q.Actor != parley.AuditOperator {
			// A handle names the same actor as its id.
			if u, err := tx.UserByHandle(strings.TrimPrefix(strings.ToLower(q.Actor), "@")); err == nil {
				f.ActorID = u.ID
			} else if !parley.IsNotFound(err) {
				return err
			}
		}
		rs, err := tx.AuditRecords(f)
		if err != nil {
			return err
		}
		if len(rs) > q.Limit {
			rs = rs[:q.Limit]
			next = rs[len(rs)-1].Seq
		}
		for _, r := range rs {
			out = append(out, auditRecordView(r))
		}
		return nil
	})
	return out, next, err
}

// AuditVerification is the result of checking the audit log's chain.
type AuditVerification struct {
	// Rows counts the rows checked; Head is the last good row's hash.
	Rows int64  `json:"rows"`
	Head string `json:"head"`
	OK   bool   `json:"ok"`
	// BrokenSeq is the first row that does not verify (0 when OK), and
	// Problem says why.
	BrokenSeq int64  `json:"broken_seq,omitempty"`
	Problem   string `json:"problem,omitempty"`
}

// AuditChecker checks rows of the audit log one by one, in order, from
// the first.
type AuditChecker struct {
	v    AuditVerification
	prev []byte
}

// NewAuditChecker returns a checker waiting for row 1.
func NewAuditChecker() *AuditChecker {
	return &AuditChecker{v: AuditVerification{OK: true, Head: hex.EncodeToString(parley.AuditGenesis)}, prev: parley.AuditGenesis}
}

// Check checks the next row and reports whether the chain still holds;
// after the first broken row it stays broken.
func (c *AuditChecker) Check(r *parley.AuditRecord) bool {
	if !c.v.OK {
		return false
	}
	want := c.v.Rows + 1
	fail := func(seq int64, format string, args ...any) bool {
		c.v.OK, c.v.BrokenSeq, c.v.Problem = false, seq, fmt.Sprintf(format, args...)
		return false
	}
	switch {
	case r.Seq < want:
		return fail(want, "row %d comes again after row %d (rows reordered or duplicated)", r.Seq, want-1)
	case r.Seq > want:
		return fail(want, "row %d is missing (the next row is %d)", want, r.Seq)
	case !bytes.Equal(r.PrevHash, c.prev):
		return fail(r.Seq, "row %d does not link to row %d: prev_hash differs from that row's hash", r.Seq, want-1)
	case !bytes.Equal(r.Hash, r.ChainHash()):
		return fail(r.Seq, "row %d was altered: its hash does not match its content", r.Seq)
	}
	c.prev = r.Hash
	c.v.Rows++
	c.v.Head = hex.EncodeToString(r.Hash)
	return true
}

// Result returns what the checks found so far.
func (c *AuditChecker) Result() *AuditVerification {
	v := c.v
	return &v
}

// VerifyAuditLog walks the whole audit log and checks its chain: the
// result names the first row that breaks it.
func (a *App) VerifyAuditLog(ctx context.Context) (*AuditVerification, error) {
	c := NewAuditChecker()
	err := a.view(ctx, func(tx parley.Tx) error {
		var after int64
		for {
			rs, err := tx.AuditRecords(parley.AuditRecordFilter{AfterSeq: after, Limit: 1000})
			if err != nil {
				return err
			}
			for _, r := range rs {
				if !c.Check(r) {
					return nil
				}
			}
			if len(rs) < 1000 {
				return nil
			}
			after = rs[len(rs)-1].Seq
		}
	})
	if err != nil {
		return nil, err
	}
	return c.Result(), nil
}

// requireAuditReader lets the server's administrators (PARLEY_ADMINS)
// read the audit log, from a signed-in device only.
func (a *App) requireAuditReader(actor *Actor) error {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return err
	}
	if !a.IsAdmin(actor) {
		return parley.Errorf(parley.EForbidden, "only the server's administrators read the audit log")
	}
	return nil
}

// AuditLogAs is AuditLog for a server administrator over the API.
func (a *App) AuditLogAs(ctx context.Context, actor *Actor, q AuditQuery) ([]*AuditRecordView, int64, error) {
	if err := a.requireAuditReader(actor); err != nil {
		return nil, 0, err
	}
	return a.AuditLog(ctx, q)
}

// VerifyAuditLogAs is VerifyAuditLog for a server administrator over the
// API.
func (a *App) VerifyAuditLogAs(ctx context.Context, actor *Actor) (*AuditVerification, error) {
	if err := a.requireAuditReader(actor); err != nil {
		return nil, err
	}
	return a.VerifyAuditLog(ctx)
}
