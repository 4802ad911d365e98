package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Export job states.
const (
	ExportQueued  = "queued"
	ExportRunning = "running"
	ExportDone    = "done"
	ExportFailed  = "failed"
)

// ExportRequest asks for a signed ZIP export of one conversation, of the
// whole account, or of every conversation of a business.
type ExportRequest struct {
	// Scope is "conversation", "account" or "business".
	Scope          string `json:"scope"`
	ConversationID string `json:"conversation_id,omitempty"`
	// Business, for a business admin, exports on the business's behalf:
	// one conversation (scope "conversation") or all of them ("business").
	Business string `json:"business,omitempty"`
}

// ExportJob is an export's progress; DownloadURL is set once it is done.
type ExportJob struct {
	ID             string     `json:"id"`
	Scope          string     `json:"scope"`
	ConversationID string     `json:"conversation_id,omitempty"`
	Business       string     `json:"business,omitempty"`
	State          string     `json:"state"`
	Done           int64      `json:"done"`
	Total          int64      `json:"total"`
	Error          string     `json:"error,omitempty"`
	Size           int64      `json:"size,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	FinishedAt     *time.Time `json:"finished_at,omitempty"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`
	DownloadURL    string     `json:"download_url,omitempty"`
}

// RecordsKey is the server's public key that signs exports.
type RecordsKey struct {
	Algorithm string `json:"algorithm"`
	// PublicKey is base64 (standard, padded), 32 bytes.
	PublicKey   string `json:"public_key"`
	Fingerprint string `json:"fingerprint"`
}

// StartExport queues an export job.
func (c *Client) StartExport(ctx context.Context, in ExportRequest) (*ExportJob, error) {
	var out ExportJob
	_, err := c.call(ctx, http.MethodPost, "/exports", nil, in, &out)
	return ret(&out, err)
}

// Exports lists the caller's export jobs.
func (c *Client) Exports(ctx context.Context) ([]ExportJob, error) {
	var out Page[ExportJob]
	_, err := c.call(ctx, http.MethodGet, "/exports", nil, nil, &out)
	return out.Items, err
}

// Export returns one export job.
func (c *Client) Export(ctx context.Context, id string) (*ExportJob, error) {
	var out ExportJob
	_, err := c.call(ctx, http.MethodGet, "/exports/"+esc(id), nil, nil, &out)
	return ret(&out, err)
}

// DownloadExport opens a finished export's ZIP through the job's signed
// DownloadURL (from Export, once State is ExportDone); the caller closes
// its Body. After ExpiresAt the server answers link_expired.
func (c *Client) DownloadExport(ctx context.Context, job *ExportJob) (*Download, error) {
	if job == nil || job.DownloadURL == "" {
		return nil, fmt.Errorf("parley: export %s has no download link yet (state %q)", jobID(job), jobState(job))
	}
	u := job.DownloadURL
	if strings.HasPrefix(u, "/") {
		u = c.root() + u
	}
	return c.downloadURL(ctx, u, "/exports/"+esc(job.ID)+"/download")
}

func jobID(j *ExportJob) string {
	if j == nil {
		return ""
	}
	return j.ID
}

func jobState(j *ExportJob) string {
	if j == nil {
		return ""
	}
	return j.State
}

// RecordsKey returns the public key that signs exports.
func (c *Client) RecordsKey(ctx context.Context) (*RecordsKey, error) {
	var out RecordsKey
	_, err := c.call(ctx, http.MethodGet, "/records/key", nil, nil, &out)
	return ret(&out, err)
}

// VerifyReport is the server's verdict on an export: OK only when it is
// complete, unaltered and consistently signed.
type VerifyReport struct {
	OK             bool   `json:"ok"`
	SignatureValid bool   `json:"signature_valid"`
	KeyFingerprint string `json:"key_fingerprint,omitempty"`
	// TrustedKey says whether this server's key signed the export.
	TrustedKey    bool                   `json:"trusted_key,omitempty"`
	Scope         string                 `json:"scope,omitempty"`
	Conversations []VerifiedConversation `json:"conversations"`
	// Problems each name their place, e.g. "conversation X: entry 17:
	// content hash mismatch for message Y".
	Problems []string `json:"problems"`
	// Truncated is set when more problems were found than listed.
	Truncated bool `json:"truncated,omitempty"`
}

// VerifiedConversation sums up one conversation of a verified export.
type VerifiedConversation struct {
	ID       string `json:"id"`
	Entries  int    `json:"entries"`
	Messages int    `json:"messages"`
	// Purged counts messages whose content was removed: their place and
	// hash are verified, not their text.
	Purged int  `json:"purged"`
	OK     bool `json:"ok"`
}

// VerifyExport sends an export ZIP (at most 1 GiB) to the server, which
// checks it against its hash chains and signature. A broken export is not
// an error: the report says where it breaks. r is streamed, read once.
func (c *Client) VerifyExport(ctx context.Context, r io.Reader) (*VerifyReport, error) {
	resp, err := c.send(ctx, http.MethodPost, c.endpoint("/exports/verify", nil), r, "application/zip")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out VerifyReport
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("parley: decode the verify report: %w", err)
	}
	return &out, nil
}
