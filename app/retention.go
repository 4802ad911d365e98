package app

import (
	"context"
	"strconv"
	"time"

	"github.com/parleyhq/parley"
)

// RetentionConfig is the server's retention policy: how long each kind of
// conversation keeps its messages (0: for ever). A business may set its
// own policy for its customer conversations; where both apply, the first
// rule due purges.
type RetentionConfig struct {
	// Direct, Group and Customer purge messages that long after they were
	// sent, in direct (person to person), group and customer (a business's
	// inbox) conversations.
	Direct   time.Duration
	Group    time.Duration
	Customer time.Duration
	// CustomerResolved purges a resolved customer conversation's messages
	// that long after it was resolved.
	CustomerResolved time.Duration
}

func (r RetentionConfig) any() bool {
	return r.Direct > 0 || r.Group > 0 || r.Customer > 0 || r.CustomerResolved > 0
}

// RetentionBatch is how many messages a retention job scans per transaction.
const RetentionBatch = 500

// RetentionJobView is a retention run and its progress.
type RetentionJobView struct {
	ID          string     `json:"id"`
	DryRun      bool       `json:"dry_run"`
	State       string     `json:"state"`
	Scanned     int64      `json:"scanned"`
	Purged      int64      `json:"purged"`
	HeldSkipped int64      `json:"held_skipped"`
	Error       string     `json:"error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
}

func jobView(j *parley.RetentionJob) *RetentionJobView {
	return &RetentionJobView{ID: j.ID, DryRun: j.DryRun, State: j.State, Scanned: j.Scanned, Purged: j.Purged,
		HeldSkipped: j.HeldSkipped, Error: j.Error, CreatedAt: j.CreatedAt, FinishedAt: j.FinishedAt}
}

// RetentionPolicyView is a business's policy for its customer
// conversations, in days (0: not by that rule).
type RetentionPolicyView struct {
	MaxAgeDays           int `json:"max_age_days"`
	AfterResolutionDays  int `json:"after_resolution_days"`
	ServerMaxAgeDays     int `json:"server_max_age_days"`
	ServerAfterResolDays int `json:"server_after_resolution_days"`
}

const day = 24 * time.Hour

// maxRetentionDays bounds a policy (100 years).
const maxRetentionDays = 36500

// RetentionPolicy returns the business's policy and the server's for
// customer conversations (admins of the business).
func (a *App) RetentionPolicy(ctx context.Context, ba *BusinessActor) (*RetentionPolicyView, error) {
	if err := ba.requireAdmin(); err != nil {
		return nil, err
	}
	v := &RetentionPolicyView{ServerMaxAgeDays: int(a.cfg.Retention.Customer / day), ServerAfterResolDays: int(a.cfg.Retention.CustomerResolved / day)}
	err := a.view(ctx, func(tx parley.Tx) error {
		ps, err := tx.RetentionPolicies(ba.Business.ID)
		for _, p := range ps {
			if p.Kind == parley.RetentionCustomer {
				v.MaxAgeDays, v.AfterResolutionDays = int(p.MaxAge/day), int(p.AfterResolution/day)
			}
		}
		return err
	})
	return v, err
}

// SetRetentionPolicy sets the business's policy for its customer
// conversations (admins); zero days in both rules removes it.
func (a *App) SetRetentionPolicy(ctx context.Context, ba *BusinessActor, maxAgeDays, afterResolutionDays int) (*RetentionPolicyView, error) {
	if err := ba.requireAdmin(); err != nil {
		return nil, err
	}
	if maxAgeDays < 0 || maxAgeDays > maxRetentionDays {
		return nil, parley.Invalid("max_age_days", "max_age_days is 0 (off) to %d", maxRetentionDays)
	}
	if afterResolutionDays < 0 || afterResolutionDays > maxRetentionDays {
		return nil, parley.Invalid("after_resolution_days", "after_resolution_days is 0 (off) to %d", maxRetentionDays)
	}
	err := a.update(ctx, func(w *writer) error {
		if err := a.audit(w, AuditEntry{ActorID: ba.agentID(), Action: AuditRetentionPolicy, TargetType: "business", TargetID: ba.Business.ID,
			Details: map[string]string{"max_age_days": strconv.Itoa(maxAgeDays), "after_resolution_days": strconv.Itoa(afterResolutionDays)}}); err != nil {
			return err
		}
		if maxAgeDays == 0 && afterResolutionDays == 0 {
			return w.DeleteRetentionPolicy(ba.Business.ID, parley.RetentionCustomer)
		}
		return w.PutRetentionPolicy(&parley.RetentionPolicy{BusinessID: ba.Business.ID, Kind: parley.RetentionCustomer,
			MaxAge: time.Duration(maxAgeDays) * day, AfterResolution: time.Duration(afterResolutionDays) * day,
			UpdatedBy: ba.agentID(), UpdatedAt: w.now})
	})
	if err != nil {
		return nil, err
	}
	return a.RetentionPolicy(ctx, ba)
}

// StartRetention queues a retention run over every conversation (the
// server's administrators); RunRetentionJobs runs it.
func (a *App) StartRetention(ctx context.Context, by string, dryRun bool) (*RetentionJobView, error) {
	return a.startJob(ctx, "", operator(by), dryRun)
}

// StartBusinessRetention queues a retention run over the business's
// customer conversations (admins of the business).
func (a *App) StartBusinessRetention(ctx context.Context, ba *BusinessActor, dryRun bool) (*RetentionJobView, error) {
	if err := ba.requireAdmin(); err != nil {
		return nil, err
	}
	return a.startJob(ctx, ba.Business.ID, ba.agentID(), dryRun)
}

func (a *App) startJob(ctx context.Context, businessID, by string, dryRun bool) (*RetentionJobView, error) {
	var j *parley.RetentionJob
	err := a.update(ctx, func(w *writer) error {
		j = &parley.RetentionJob{ID: newID(), BusinessID: businessID, DryRun: dryRun, State: parley.JobRunning,
			CreatedBy: by, CreatedAt: w.now}
		if err := w.CreateRetentionJob(j); err != nil {
			return err
		}
		if dryRun {
			return nil // counts only: nothing to answer for
		}
		return a.audit(w, AuditEntry{ActorID: by, Action: AuditRetentionRun, TargetType: "retention_job", TargetID: j.ID,
			Details: map[string]string{"business": businessID}})
	})
	if err != nil {
		return nil, err
	}
	select {
	case a.retentionWake <- struct{}{}:
	default:
	}
	return jobView(j), nil
}

// RetentionJob returns a run started by the business (admins).
func (a *App) BusinessRetentionJob(ctx context.Context, ba *BusinessActor, id string) (*RetentionJobView, error) {
	if err := ba.requireAdmin(); err != nil {
		return nil, err
	}
	var v *RetentionJobView
	err := a.view(ctx, func(tx parley.Tx) error {
		j, err := tx.RetentionJob(id)
		if parley.IsNotFound(err) || (err == nil && j.BusinessID != ba.Business.ID) {
			return parley.Errorf(parley.ENotFound, "retention job not found")
		} else if err != nil {
			return err
		}
		v = jobView(j)
		return nil
	})
	return v, err
}

// RetentionJob returns any run (the admin CLI).
func (a *App) RetentionJob(ctx context.Context, id string) (*RetentionJobView, error) {
	var v *RetentionJobView
	err := a.view(ctx, func(tx parley.Tx) error {
		j, err := tx.RetentionJob(id)
		if err == nil {
			v = jobView(j)
		}
		return err
	})
	return v, err
}

// RunRetentionJobs runs every queued or interrupted run to its end, oldest
// first. A run commits its progress (cursor and counts) with each batch's
// purges, so after a crash it resumes where it stopped.
func (a *App) RunRetentionJobs(ctx context.Context) error {
	// One runner at a time: the background loop and an operator's run.
	a.retentionMu.Lock()
	defer a.retentionMu.Unlock()
	var jobs []*parley.RetentionJob
	if err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		jobs, err = tx.RunningRetentionJobs()
		return err
	}); err != nil {
		return err
	}
	for _, j := range jobs {
		if err := a.runJob(ctx, j); err != nil {
			if ctx.Err() != nil {
				return err
			}
			a.log.Error("retention job", "job", j.ID, "err", err)
			j.State, j.Error = parley.JobFailed, "internal error"
			now := a.clock()
			j.FinishedAt = &now
			if err := a.update(ctx, func(w *writer) error { return w.UpdateRetentionJob(j) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// retentionRules are the policies in force during one run.
type retentionRules struct {
	cfg        RetentionConfig
	businesses map[string]*parley.RetentionPolicy
	cutoff     time.Time // no message created after it is due under any rule
}

func (a *App) loadRules(tx parley.Tx, now time.Time) (*retentionRules, error) {
	r := &retentionRules{cfg: a.cfg.Retention, businesses: map[string]*parley.RetentionPolicy{}}
	ps, err := tx.RetentionPolicies("")
	if err != nil {
		return nil, err
	}
	shortest := time.Duration(0)
	consider := func(d time.Duration) {
		if d > 0 && (shortest == 0 || d < shortest) {
			shortest = d
		}
	}
	for _, p := range ps {
		if p.Kind == parley.RetentionCustomer {
			r.businesses[p.BusinessID] = p
			consider(p.MaxAge)
			consider(p.AfterResolution)
		}
	}
	for _, d := range []time.Duration{r.cfg.Direct, r.cfg.Group, r.cfg.Customer, r.cfg.CustomerResolved} {
		consider(d)
	}
	if shortest == 0 {
		return r, nil // nothing is ever due
	}
	r.cutoff = now.Add(-shortest)
	return r, nil
}

// due reports whether a message of conversation c (with its inbox item,
// nil for other conversations) is past its retention at now.
func (r *retentionRules) due(m *parley.Message, c *parley.Conversation, it *parley.InboxItem, now time.Time) bool {
	olderThan := func(d time.Duration) bool { return d > 0 && m.CreatedAt.Before(now.Add(-d)) }
	resolvedBefore := func(d time.Duration) bool {
		return d > 0 && it.Status == parley.InboxResolved && it.ResolvedAt != nil &&
			it.ResolvedAt.Before(now.Add(-d)) && !m.CreatedAt.After(*it.ResolvedAt)
	}
	switch {
	case c.Kind == parley.ConversationGroup:
		return olderThan(r.cfg.Group)
	case it == nil:
		return olderThan(r.cfg.Direct)
	}
	if olderThan(r.cfg.Customer) || resolvedBefore(r.cfg.CustomerResolved) {
		return true
	}
	p := r.businesses[it.BusinessID]
	return p != nil && (olderThan(p.MaxAge) || resolvedBefore(p.AfterResolution))
}

// runJob runs one retention job to its end.
func (a *App) runJob(ctx context.Context, job *parley.RetentionJob) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var keys []string
		var done bool
		var j *parley.RetentionJob
		err := a.update(ctx, func(w *writer) error {
			j2 := *job // the store may run this more than once
			j, keys, done = &j2, nil, false
			rules, err := a.loadRules(w, w.now)
			if err != nil {
				return err
			}
			var msgs []*parley.Message
			if !rules.cutoff.IsZero() {
				if msgs, err = w.RetentionCandidates(j.Cursor, rules.cutoff, RetentionBatch); err != nil {
					return err
				}
			}
			holds, err := loadHolds(w)
			if err != nil {
				return err
			}
			convs := map[string]*parley.Conversation{}
			items := map[string]*parley.InboxItem{}
			var gone []string
			for _, m := range msgs {
				j.Cursor = m.Pos
				c, ok := convs[m.ConversationID]
				if !ok {
					if c, err = w.ConversationByID(m.ConversationID); err != nil {
						return err
					}
					convs[c.ID] = c
					it, err := w.InboxItem(c.ID)
					if err != nil && !parley.IsNotFound(err) {
						return err
					}
					items[c.ID] = it
				}
				it := items[c.ID]
				if j.BusinessID != "" && (it == nil || it.BusinessID != j.BusinessID) {
					continue // another's conversation: not this run's
				}
				j.Scanned++
				if !rules.due(m, c, it, w.now) {
					continue
				}
				if held, err := holds.held(w, c.ID); err != nil {
					return err
				} else if held {
					j.HeldSkipped++
					continue
				}
				j.Purged++
				if j.DryRun {
					continue
				}
				if err := w.PurgeMessage(m.ID, w.now); err != nil {
					return err
				}
				if err := w.event(&parley.Event{Type: parley.EventMessageExpired, ConversationID: c.ID, MessageID: m.ID, Seq: m.Seq,
					Data: mustJSON(map[string]string{"reason": "retention"})}); err != nil {
					return err
				}
				gone = append(gone, m.ID)
			}
			if len(msgs) < RetentionBatch {
				done = true
				j.State, j.FinishedAt = parley.JobDone, &w.now
			}
			if keys, err = deleteAttachments(w, gone); err != nil {
				return err
			}
			return w.UpdateRetentionJob(j)
		})
		if err != nil {
			return err
		}
		*job = *j
		if _, err := a.dropBlobs(ctx, keys); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// RunRetention starts a server-wide run every interval (when the server
// or a business has a policy) and runs queued runs as they come, until
// ctx ends. Runs interrupted by a restart resume at once.
func (a *App) RunRetention(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	run := func() {
		if err := a.RunRetentionJobs(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("retention", "err", err)
		}
	}
	run()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.retentionWake:
			run()
		case <-t.C:
			if ok, err := a.hasRetention(ctx); err != nil {
				a.log.Warn("retention", "err", err)
				continue
			} else if !ok {
				continue
			}
			if _, err := a.startJob(ctx, "", operator("schedule"), false); err != nil && ctx.Err() == nil {
				a.log.Warn("retention", "err", err)
			}
			run()
		}
	}
}

// hasRetention reports whether any policy is in force.
func (a *App) hasRetention(ctx context.Context) (bool, error) {
	if a.cfg.Retention.any() {
		return true, nil
	}
	var n int
	err := a.view(ctx, func(tx parley.Tx) error {
		ps, err := tx.RetentionPolicies("")
		n = len(ps)
		return err
	})
	return n > 0, err
}

// StartRetentionAs queues a server-wide run for a server administrator
// over the API.
func (a *App) StartRetentionAs(ctx context.Context, actor *Actor, dryRun bool) (*RetentionJobView, error) {
	if err := a.requireHoldAdmin(actor); err != nil {
		return nil, err
	}
	return a.StartRetention(ctx, actor.User.Handle, dryRun)
}

// RetentionJobAs returns a server-wide run for a server administrator.
func (a *App) RetentionJobAs(ctx context.Context, actor *Actor, id string) (*RetentionJobView, error) {
	if err := a.requireHoldAdmin(actor); err != nil {
		return nil, err
	}
	var v *RetentionJobView
	err := a.view(ctx, func(tx parley.Tx) error {
		j, err := tx.RetentionJob(id)
		if parley.IsNotFound(err) || (err == nil && j.BusinessID != "") {
			return parley.Errorf(parley.ENotFound, "retention job not found")
		} else if err != nil {
			return err
		}
		v = jobView(j)
		return nil
	})
	return v, err
}
