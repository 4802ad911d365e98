package parley

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"time"
)

// AuditRecord is one row of the server-wide audit log: who did what, to
// what, when and from where. The log is append-only and hash-chained: Hash
// is ChainHash of the row, and PrevHash the Hash of the row before it
// (AuditGenesis for the first), so that changing, removing or reordering a
// row breaks every hash after it. docs/records.md ("Audit log") defines
// the encoding for verifiers outside Parley.
//
// The business inbox keeps its own, separate InboxAudit.
type AuditRecord struct {
	// Seq numbers the rows 1, 2, 3 … without gaps.
	Seq int64
	At  time.Time
	// ActorID is the user who acted, AuditOperator for the server's
	// operators (the admin CLI), or "" for an anonymous caller (a failed
	// login with an unknown handle).
	ActorID string
	// Action is a stable name such as "login.success" (docs/records.md
	// lists them).
	Action string
	// TargetType and TargetID name what the action was about ("user",
	// "token", "session", "business" …); both may be empty.
	TargetType string
	TargetID   string
	// Details are extra facts as strings; never secrets.
	Details map[string]string
	// Address is the client's IP address (or "local" for the admin CLI);
	// UserAgent its User-Agent header or device name.
	Address   string
	UserAgent string
	PrevHash  []byte
	Hash      []byte
}

// AuditOperator is the ActorID of actions taken by the server's operators
// through the admin CLI.
const AuditOperator = "operator"

// AuditGenesis is the PrevHash of the first row: 32 zero bytes.
var AuditGenesis = make([]byte, sha256.Size)

// auditDomain starts every encoded row, so that a row's hash cannot be
// mistaken for any other hash Parley computes.
const auditDomain = "parley-audit-v1"

// ChainHash returns SHA-256(PrevHash || encoding of the row), the row's
// Hash. The encoding (docs/records.md) is: the bytes "parley-audit-v1",
// Seq as a big-endian uint64, At as big-endian int64 nanoseconds since the
// Unix epoch, then ActorID, Action, TargetType, TargetID, the number of
// Details as a big-endian uint32 followed by each key and value in
// byte-wise key order, Address and UserAgent — every string as a
// big-endian uint32 byte length and its UTF-8 bytes.
func (r *AuditRecord) ChainHash() []byte {
	h := sha256.New()
	h.Write(r.PrevHash)
	var buf []byte
	buf = append(buf, auditDomain...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(r.Seq))
	buf = binary.BigEndian.AppendUint64(buf, uint64(r.At.UnixNano()))
	str := func(s string) {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
		buf = append(buf, s...)
	}
	str(r.ActorID)
	str(r.Action)
	str(r.TargetType)
	str(r.TargetID)
	keys := make([]string, 0, len(r.Details))
	for k := range r.Details {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(keys)))
	for _, k := range keys {
		str(k)
		str(r.Details[k])
	}
	str(r.Address)
	str(r.UserAgent)
	h.Write(buf)
	return h.Sum(nil)
}

// AuditLogTx stores the server-wide audit log. The store keeps rows as
// given: the application numbers and hashes them.
type AuditLogTx interface {
	// AppendAuditRecord inserts r; EConflict when a row with r.Seq exists.
	AppendAuditRecord(r *AuditRecord) error
	// LastAuditRecord returns the row with the highest Seq, or ENotFound
	// when the log is empty.
	LastAuditRecord() (*AuditRecord, error)
	// AuditRecords lists rows in Seq order that match f.
	AuditRecords(f AuditRecordFilter) ([]*AuditRecord, error)
}

// AuditRecordFilter selects rows of the audit log; zero fields match all.
type AuditRecordFilter struct {
	ActorID  string
	Action   string
	TargetID string
	// From and To bound At: From <= At < To.
	From, To time.Time
	// AfterSeq is the last Seq of the previous page.
	AfterSeq int64
	// Limit caps the rows returned (0: the store's default, 1000).
	Limit int
}
