package app

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/records"
)

// RecordsConfig configures exports and their signatures.
type RecordsConfig struct {
	// Dir is where export ZIPs are written (built, and kept unless Files
	// is set); exports are off when empty.
	Dir string
	// Files, when set, keeps finished export ZIPs (under the job id)
	// instead of Dir: a store every node shares, so that a node serves
	// the download of an export another node built.
	Files parley.BlobStore
	// Key signs export manifests (and, derived from it, download links).
	Key ed25519.PrivateKey
	// LinkTTL is how long a finished export can be downloaded (default 24 h).
	LinkTTL time.Duration
	// MaxRunning caps exports built at once on this node (default 2);
	// MaxPending caps one user's unfinished exports (default 3).
	MaxRunning int
	MaxPending int
	// ProgressEvery is how many messages pass between two saves of a
	// job's progress (default 500).
	ProgressEvery int
}

func (c *RecordsConfig) setDefaults() {
	if c.LinkTTL <= 0 {
		c.LinkTTL = 24 * time.Hour
	}
	if c.MaxRunning <= 0 {
		c.MaxRunning = 2
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 3
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 500
	}
}

// exportState runs export jobs in the background.
type exportState struct {
	once    sync.Once
	slots   chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	linkKey []byte
}

func (a *App) exports() *exportState {
	a.exp.once.Do(func() {
		a.exp.slots = make(chan struct{}, a.cfg.Records.MaxRunning)
		a.exp.ctx, a.exp.cancel = context.WithCancel(context.Background())
		if len(a.cfg.Records.Key) == ed25519.PrivateKeySize {
			sum := sha256.Sum256(append([]byte("parley export links\n"), a.cfg.Records.Key.Seed()...))
			a.exp.linkKey = sum[:]
		}
	})
	return &a.exp
}

// StopExports cancels the exports being built and waits for them; a
// cancelled job fails with "interrupted". The server calls it on shutdown.
func (a *App) StopExports() {
	e := a.exports()
	e.cancel()
	e.wg.Wait()
}

// RecordsKey returns the public key that signs exports (nil when none).
func (a *App) RecordsKey() ed25519.PublicKey {
	if len(a.cfg.Records.Key) != ed25519.PrivateKeySize {
		return nil
	}
	return a.cfg.Records.Key.Public().(ed25519.PublicKey)
}

// ExportInput asks for an export.
type ExportInput struct {
	// Scope is parley.ExportConversation, parley.ExportAccount or
	// parley.ExportBusiness.
	Scope          string
	ConversationID string
	// Business is the handle of a business whose conversation (scope
	// conversation) or conversations (scope business) an admin of it
	// exports.
	Business string
}

// ExportView is an export job as its owner sees it.
type ExportView struct {
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
	// DownloadURL is a path with a signed expiry, set while the export
	// can be downloaded. It works without a bearer token (a browser can
	// follow it), so it is shown to the owner only.
	DownloadURL string `json:"download_url,omitempty"`
}

func (a *App) exportView(j *parley.ExportJob, business string) *ExportView {
	v := &ExportView{ID: j.ID, Scope: j.Scope, ConversationID: j.ConversationID, Business: business, State: j.State,
		Done: j.Done, Total: j.Total, Error: j.Error, Size: j.Size, CreatedAt: j.CreatedAt}
	if !j.FinishedAt.IsZero() {
		v.FinishedAt = &j.FinishedAt
	}
	if j.State == parley.ExportDone && !j.ExpiresAt.IsZero() {
		v.ExpiresAt = &j.ExpiresAt
		if a.clock().Before(j.ExpiresAt) {
			exp := strconv.FormatInt(j.ExpiresAt.Unix(), 10)
			v.DownloadURL = "/api/v1/exports/" + j.ID + "/download?expires=" + exp + "&sig=" + a.linkSig(j.ID, exp)
		}
	}
	return v
}

// linkSig signs a download link: HMAC-SHA256 of the job id and the expiry.
func (a *App) linkSig(id, expires string) string {
	m := hmac.New(sha256.New, a.exports().linkKey)
	m.Write([]byte(id + "\n" + expires))
	return hex.EncodeToString(m.Sum(nil))
}

func (a *App) exportsEnabled() error {
	if a.cfg.Records.Dir == "" || len(a.cfg.Records.Key) != ed25519.PrivateKeySize {
		return parley.Errorf(parley.EForbidden, "exports are not enabled on this server")
	}
	return nil
}

// StartExport queues an export and starts building it. A member may
// export a conversation they belong to (as far as they may read it) or
// their whole account; an admin of a business may export the business's
// conversations (Business set).
func (a *App) StartExport(ctx context.Context, actor *Actor, in ExportInput) (*ExportView, error) {
	if err := a.exportsEnabled(); err != nil {
		return nil, err
	}
	job := &parley.ExportJob{ID: newID(), OwnerID: actor.User.ID, Scope: in.Scope, State: parley.ExportQueued,
		LeaseUntil: a.clock().Add(ExportLease)}
	switch in.Scope {
	case parley.ExportConversation:
		if in.ConversationID == "" {
			return nil, parley.Invalid("conversation_id", "a conversation export names its conversation")
		}
		job.ConversationID = in.ConversationID
	case parley.ExportAccount:
		if in.ConversationID != "" || in.Business != "" {
			return nil, parley.Invalid("scope", "an account export takes no conversation_id or business")
		}
	case parley.ExportBusiness:
		if in.Business == "" {
			return nil, parley.Invalid("business", "a business export names its business (its handle)")
		}
		if in.ConversationID != "" {
			return nil, parley.Invalid("conversation_id", "a business export takes every conversation of the business: no conversation_id")
		}
	default:
		return nil, parley.Invalid("scope", "scope is conversation, account or business")
	}
	err := a.update(ctx, func(w *writer) error {
		job.CreatedAt = w.now
		viewer := actor.User.ID
		if in.Business != "" {
			ba, err := actAs(w, actor, in.Business)
			if err != nil {
				return err
			}
			if ba.Role != parley.AgentRoleAdmin {
				return parley.Errorf(parley.EForbidden, "only an admin of the business may export its conversations")
			}
			viewer, job.BusinessID = ba.Business.ID, ba.Business.ID
		}
		if job.ConversationID != "" {
			if _, _, err := membership(w, job.ConversationID, viewer); err != nil {
				return err
			}
		}
		jobs, err := w.ExportJobs(actor.User.ID, 50)
		if err != nil {
			return err
		}
		pending := 0
		for _, j := range jobs {
			if j.State == parley.ExportQueued || j.State == parley.ExportRunning {
				pending++
			}
		}
		if pending >= a.cfg.Records.MaxPending {
			return &parley.Error{Code: parley.ERateLimited, Message: "you have exports still running; wait for them to finish", RetryAfter: 10 * time.Second}
		}
		if err := w.CreateExportJob(job); err != nil {
			return err
		}
		return a.audit(w, AuditEntry{ActorID: actor.User.ID, Action: AuditExportStart, TargetType: "export", TargetID: job.ID,
			Details: map[string]string{"scope": string(job.Scope), "conversation_id": job.ConversationID, "business_id": job.BusinessID}})
	})
	if err != nil {
		return nil, err
	}
	view := a.exportView(job, in.Business)
	e := a.exports()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		a.runExport(e.ctx, job)
	}()
	return view, nil
}

// Export returns one of the actor's export jobs; others' are not found.
func (a *App) Export(ctx context.Context, actor *Actor, id string) (*ExportView, error) {
	var v *ExportView
	err := a.view(ctx, func(tx parley.Tx) error {
		j, err := tx.ExportJobByID(id)
		if err != nil || j.OwnerID != actor.User.ID {
			if err == nil || parley.IsNotFound(err) {
				return parley.Errorf(parley.ENotFound, "export not found")
			}
			return err
		}
		v = a.exportView(j, businessHandle(tx, j.BusinessID))
		return nil
	})
	return v, err
}

// Exports lists the actor's export jobs, newest first.
func (a *App) Exports(ctx context.Context, actor *Actor) ([]*ExportView, error) {
	out := []*ExportView{}
	err := a.view(ctx, func(tx parley.Tx) error {
		jobs, err := tx.ExportJobs(actor.User.ID, 50)
		if err != nil {
			return err
		}
		out = out[:0]
		for _, j := range jobs {
			out = append(out, a.exportView(j, businessHandle(tx, j.BusinessID)))
		}
		return nil
	})
	return out, err
}

func businessHandle(tx parley.Tx, id string) string {
	if id == "" {
		return ""
	}
	if u, err := tx.UserByID(id); err == nil {
		return u.Handle
	}
	return ""
}

// OpenExport checks a download link (job id, expiry, signature) and
// opens the finished ZIP. Links past their expiry, or with a signature
// that does not match, are refused alike.
func (a *App) OpenExport(ctx context.Context, id, expires, sig string) (parley.BlobFile, *ExportView, error) {
	if err := a.exportsEnabled(); err != nil {
		return nil, nil, err
	}
	refused := parley.Errorf(parley.ELinkExpired, "this download link is not valid or has expired; ask for the export again")
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || len(id) > 64 || !hmac.Equal([]byte(a.linkSig(id, expires)), []byte(sig)) {
		return nil, nil, refused
	}
	if !a.clock().Before(time.Unix(exp, 0)) {
		return nil, nil, refused
	}
	var j *parley.ExportJob
	err = a.view(ctx, func(tx parley.Tx) error {
		var err error
		j, err = tx.ExportJobByID(id)
		return err
	})
	if parley.IsNotFound(err) {
		return nil, nil, refused
	} else if err != nil {
		return nil, nil, err
	}
	if j.State != parley.ExportDone || j.ExpiresAt.Unix() != exp {
		return nil, nil, refused
	}
	f, err := a.openExportFile(ctx, j)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, parley.ErrBlobNotFound) {
		return nil, nil, refused
	} else if err != nil {
		return nil, nil, err
	}
	return f, a.exportView(j, ""), nil
}

// VerifyExport checks an export ZIP against this server's key.
func (a *App) VerifyExport(r io.ReaderAt, size int64) (*records.Report, error) {
	rep, err := records.Verify(r, size, records.Options{TrustedKey: a.RecordsKey()})
	if err != nil {
		return nil, parley.Invalid("file", "the upload is not a ZIP file")
	}
	return rep, nil
}

// CleanExports deletes the files and rows of exports past their expiry
// and, with interrupted set, fails the queued and running jobs whose lease
// ran out (their node stopped or was cut off; see ExportLease) — never a
// job a live node, this one or another, is still building.
func (a *App) CleanExports(ctx context.Context, interrupted bool) (int, error) {
	if a.cfg.Records.Dir == "" {
		return 0, nil
	}
	var jobs []*parley.ExportJob
	err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		jobs, err = tx.ExportJobsExpiredBefore(a.clock(), interrupted, 500)
		return err
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, j := range jobs {
		if j.State == parley.ExportQueued || j.State == parley.ExportRunning {
			// Its lease ran out: the node building it stopped. (A live
			// node's jobs, this one's or another's, are never listed.)
			j.State, j.Error, j.FinishedAt = parley.ExportFailed, "interrupted by a server restart; ask for the export again", a.clock()
			os.Remove(filepath.Join(a.cfg.Records.Dir, j.ID+".zip.tmp"))
			if err := a.update(ctx, func(w *writer) error { return w.UpdateExportJob(j) }); err != nil {
				return n, err
			}
			continue
		}
		if j.File != "" {
			if err := a.removeExportFile(ctx, j); err != nil {
				return n, err
			}
		}
		if err := a.update(ctx, func(w *writer) error { return w.DeleteExportJob(j.ID) }); err != nil && !parley.IsNotFound(err) {
			return n, err
		}
		n++
	}
	return n, nil
}

// saveJob stores a job's progress or outcome; a queued or running job's
// lease is renewed with it.
func (a *App) saveJob(j *parley.ExportJob) error {
	cp := *j
	if cp.State == parley.ExportQueued || cp.State == parley.ExportRunning {
		cp.LeaseUntil = a.clock().Add(ExportLease)
	}
	return a.update(context.Background(), func(w *writer) error { return w.UpdateExportJob(&cp) })
}

// ExportLease is how long a queued or running export stays this node's
// without a renewal; the node renews it every ExportLease/4 while the job
// waits or runs. Cleanup (CleanExports) fails only unfinished jobs whose
// lease ran out, so a node starting or cleaning up never fails another
// live node's exports.
const ExportLease = 2 * time.Minute

// keepLease renews a job's lease until stop is closed.
func (a *App) keepLease(id string, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(ExportLease / 4)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		err := a.update(context.Background(), func(w *writer) error { return w.RenewExportLease(id, w.now.Add(ExportLease)) })
		if parley.IsNotFound(err) {
			return // finished, or deleted
		} else if err != nil {
			a.log.Warn("export lease", "job", id, "err", err)
		}
	}
}

// runExport builds a job's ZIP and records the outcome.
func (a *App) runExport(ctx context.Context, j *parley.ExportJob) {
	stop, stopped := make(chan struct{}), make(chan struct{})
	go a.keepLease(j.ID, stop, stopped)
	// The keeper stops before the outcome is saved. (A late renewal could
	// not undo it anyway: RenewExportLease touches unfinished jobs only,
	// and only their lease.)
	halt := func() { close(stop); <-stopped }
	e := a.exports()
	select {
	case e.slots <- struct{}{}:
		defer func() { <-e.slots }()
	case <-ctx.Done():
		halt()
		j.State, j.Error, j.FinishedAt = parley.ExportFailed, "interrupted; ask for the export again", a.clock()
		a.saveJob(j)
		return
	}
	j.State = parley.ExportRunning
	if err := a.saveJob(j); err != nil {
		halt()
		a.log.Error("export", "job", j.ID, "err", err)
		return
	}
	err := a.buildExport(ctx, j)
	halt()
	j.FinishedAt = a.clock()
	if err != nil {
		j.State = parley.ExportFailed
		var pe *parley.Error
		switch {
		case errors.As(err, &pe):
			j.Error = pe.Message
		case ctx.Err() != nil:
			j.Error = "interrupted; ask for the export again"
		default:
			j.Error = "the export failed; ask for it again"
			a.log.Error("export failed", "job", j.ID, "err", err)
		}
	} else {
		j.State, j.ExpiresAt = parley.ExportDone, j.FinishedAt.Add(a.cfg.Records.LinkTTL)
	}
	if err := a.saveJob(j); err != nil {
		a.log.Error("export", "job", j.ID, "err", err)
	}
}

// buildExport writes the ZIP to a temporary file and renames it into
// place once it is complete.
func (a *App) buildExport(ctx context.Context, j *parley.ExportJob) (err error) {
	if err := os.MkdirAll(a.cfg.Records.Dir, 0o700); err != nil {
		return err
	}
	tmp := filepath.Join(a.cfg.Records.Dir, j.ID+".zip.tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := a.writeExport(ctx, j, f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	j.File, j.Size = j.ID+".zip", st.Size()
	if a.cfg.Records.Files == nil {
		return os.Rename(tmp, filepath.Join(a.cfg.Records.Dir, j.File))
	}
	defer os.Remove(tmp)
	f, err = os.Open(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	return a.cfg.Records.Files.Put(ctx, j.ID, f)
}

// osFile is an export ZIP in Records.Dir as a parley.BlobFile.
type osFile struct {
	*os.File
	size int64
	mod  time.Time
}

func (f *osFile) Size() int64        { return f.size }
func (f *osFile) ModTime() time.Time { return f.mod }

// openExportFile opens a finished job's ZIP, from Records.Files or Dir.
func (a *App) openExportFile(ctx context.Context, j *parley.ExportJob) (parley.BlobFile, error) {
	if a.cfg.Records.Files != nil {
		return a.cfg.Records.Files.Open(ctx, j.ID)
	}
	f, err := os.Open(filepath.Join(a.cfg.Records.Dir, filepath.Base(j.File)))
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &osFile{File: f, size: st.Size(), mod: st.ModTime()}, nil
}

// removeExportFile deletes an expired job's ZIP; a missing one is fine.
func (a *App) removeExportFile(ctx context.Context, j *parley.ExportJob) error {
	if a.cfg.Records.Files != nil {
		return a.cfg.Records.Files.Delete(ctx, j.ID)
	}
	if err := os.Remove(filepath.Join(a.cfg.Records.Dir, filepath.Base(j.File))); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// exportError is a failure the owner may read.
func exportError(format string, args ...any) error {
	return &parley.Error{Code: parley.EConflict, Message: fmt.Sprintf(format, args...)}
}
