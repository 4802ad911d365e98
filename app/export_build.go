package app

import (
	"context"
	"errors"
	"io"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/records"
)

// exportPage is how many messages an export reads at a time.
const exportPage = 500

// writeExport writes a job's ZIP to out: every conversation of the job
// as its viewer (the owner, or the business an admin exported for) may
// read it, with its chain segment, media, and the signed manifest.
func (a *App) writeExport(ctx context.Context, j *parley.ExportJob, out io.Writer) error {
	viewer := j.OwnerID
	if j.BusinessID != "" {
		viewer = j.BusinessID
	}
	var owner, business *parley.User
	var convs []string
	err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		if owner, err = tx.UserByID(j.OwnerID); err != nil {
			return err
		}
		if j.BusinessID != "" {
			if business, err = tx.UserByID(j.BusinessID); err != nil {
				return err
			}
			// The admin may have lost the role since asking.
			if owner.ID != business.ID {
				ag, err := tx.Agent(business.ID, owner.ID)
				if parley.IsNotFound(err) || (err == nil && (!ag.Active || ag.Role != parley.AgentRoleAdmin)) {
					return exportError("you are no longer an admin of @%s", business.Handle)
				} else if err != nil {
					return err
				}
			}
		}
		var members []*parley.Member
		if j.Scope == parley.ExportConversation {
			_, m, err := membership(tx, j.ConversationID, viewer)
			if parley.IsNotFound(err) {
				return exportError("the conversation is no longer yours to export")
			} else if err != nil {
				return err
			}
			members = []*parley.Member{m}
		} else if members, err = tx.Memberships(viewer); err != nil {
			return err
		}
		j.Total, convs = 0, nil
		for _, m := range members {
			if m.Status == parley.StatusDeclined {
				continue
			}
			c, err := tx.ConversationByID(m.ConversationID)
			if err != nil {
				return err
			}
			convs = append(convs, c.ID)
			j.Total += max(0, m.MaxReadable(c.LastSeq)-m.JoinedSeq)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := a.saveJob(j); err != nil {
		return err
	}
	man := records.Manifest{CreatedAt: a.clock(), Scope: j.Scope, Exporter: person(owner)}
	if business != nil {
		p := person(business)
		man.Business = &p
	}
	w := records.NewWriter(out, man)
	if j.Scope == parley.ExportAccount {
		err := w.AddJSON(records.AccountPath, records.Account{ID: owner.ID, Handle: owner.Handle, DisplayName: owner.DisplayName,
			Bio: owner.Bio, Kind: string(owner.Kind), DMPolicy: string(owner.DMPolicy), CreatedAt: owner.CreatedAt})
		if err != nil {
			return err
		}
	}
	saved := j.Done
	for _, id := range convs {
		err := a.exportConversation(ctx, w, viewer, id, func(n int) {
			j.Done += int64(n)
			if j.Done-saved >= int64(a.cfg.Records.ProgressEvery) {
				saved = j.Done
				if err := a.saveJob(j); err != nil {
					a.log.Warn("export progress", "job", j.ID, "err", err)
				}
			}
		})
		if err != nil {
			return err
		}
	}
	return w.Close(a.cfg.Records.Key)
}

func person(u *parley.User) records.Person {
	if accountGone(u) {
		return records.Person{ID: u.ID, DisplayName: DeletedAccountName}
	}
	return records.Person{ID: u.ID, Handle: u.Handle, DisplayName: u.DisplayName}
}

// segment returns the part of a conversation's chain that a member's
// view covers: from their joining (the start, for members from the
// creation on) to their leaving, or the head.
func segment(entries []*parley.ChainEntry, m *parley.Member) []*parley.ChainEntry {
	start, end := 0, len(entries)
	if m.JoinedSeq > 0 {
		// The entries after the last message they may not read.
		for i, e := range entries {
			if e.Kind == parley.ChainMessage && e.Seq == m.JoinedSeq {
				start = i + 1
			}
		}
	}
	switch {
	case m.Departed():
		for i := len(entries) - 1; i >= start; i-- {
			e := entries[i]
			if (e.Kind == parley.ChainLeave || e.Kind == parley.ChainRemove) && e.SubjectID == m.UserID {
				end = i + 1
				break
			}
		}
	case m.Status == parley.StatusPending && m.LeftSeq > 0:
		// An invitation's preview ends at LeftSeq.
		for i, e := range entries {
			if e.Kind == parley.ChainMessage && e.Seq == m.LeftSeq {
				end = i + 1
			}
		}
	}
	if start > end {
		start = end
	}
	return entries[start:end]
}

// exportConversation adds one conversation, read in one snapshot.
func (a *App) exportConversation(ctx context.Context, w *records.Writer, viewer, convID string, progress func(int)) error {
	return a.view(ctx, func(tx parley.Tx) error {
		c, me, err := membership(tx, convID, viewer)
		if err != nil {
			return err
		}
		var all []*parley.ChainEntry
		for after := int64(0); ; {
			page, err := tx.ChainEntries(convID, after, 5000)
			if err != nil {
				return err
			}
			all = append(all, page...)
			if len(page) < 5000 {
				break
			}
			after = page[len(page)-1].Index
		}
		seg := segment(all, me)
		editsIn := map[string]int{}
		for _, e := range seg {
			if e.Kind == parley.ChainEdit {
				editsIn[e.MessageID]++
			}
		}
		users := map[string]*parley.User{}
		lookup := func(ids []string) error {
			var need []string
			for _, id := range ids {
				if _, ok := users[id]; !ok && id != "" {
					need = append(need, id)
				}
			}
			if len(need) == 0 {
				return nil
			}
			found, err := tx.UsersByIDs(need)
			for id, u := range found {
				users[id] = u
			}
			return err
		}
		who := func(id string) records.Person {
			if u := users[id]; u != nil {
				return person(u)
			}
			return records.Person{ID: id}
		}
		hidden := func(senderID string) bool { return hiddenFor(users[senderID], viewer) }
		rc := &records.Conversation{ID: c.ID, Kind: string(c.Kind), Title: c.Title, CreatedAt: c.CreatedAt, Members: []records.Member{},
			Messages: []records.Message{}}
		members, err := tx.Members(c.ID)
		if err != nil {
			return err
		}
		ids := []string{viewer}
		for _, m := range members {
			ids = append(ids, m.UserID)
		}
		if err := lookup(ids); err != nil {
			return err
		}
		rc.Viewer = who(viewer)
		former := me.Departed()
		if former {
			// As the conversation was when they went: the title of their
			// departure's system message, nobody who joined after.
			last, err := tx.Messages(parley.MessageRange{ConversationID: c.ID, MinSeq: me.LeftSeq, MaxSeq: me.LeftSeq, Limit: 1})
			if err != nil {
				return err
			}
			if len(last) == 1 {
				if d, ok := departedState(last[0]); ok {
					rc.Title = d.Title
				}
			}
		}
		for _, m := range members {
			if former && m.UserID != viewer && m.JoinedSeq >= me.LeftSeq {
				continue
			}
			if m.Status != parley.StatusDeclined {
				rc.Members = append(rc.Members, records.Member{Person: who(m.UserID), Role: string(m.Role), Status: string(m.Status), JoinedAt: m.JoinedAt})
			}
		}
		maxSeq := me.MaxReadable(c.LastSeq)
		for after := me.JoinedSeq; after < maxSeq; {
			if err := ctx.Err(); err != nil {
				return err
			}
			page, err := tx.Messages(parley.MessageRange{ConversationID: c.ID, AfterSeq: after, MaxSeq: maxSeq, Limit: exportPage})
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			after = page[len(page)-1].Seq
			// Past its expiry but not yet reaped: gone for the export
			// too, unless a legal hold keeps it.
			if page, err = hideExpired(tx, page); err != nil {
				return err
			}
			if err := a.exportMessages(ctx, tx, w, rc, page, editsIn, lookup, who, hidden); err != nil {
				return err
			}
			progress(len(page))
		}
		entries := make([]records.Entry, len(seg))
		for i, e := range seg {
			entries[i] = records.EntryOf(e)
		}
		return w.AddConversation(rc, entries)
	})
}

// exportMessages adds a page of messages to rc and their media to the ZIP.
// Removed messages keep their place without content; a message edited
// after the viewer's range ends is shown as it was then.
func (a *App) exportMessages(ctx context.Context, tx parley.Tx, w *records.Writer, rc *records.Conversation, page []*parley.Message,
	editsIn map[string]int, lookup func([]string) error, who func(string) records.Person, hidden func(string) bool) error {
	var live, senders []string
	for _, m := range page {
		senders = append(senders, m.SenderID)
		if m.DeletedAt == nil {
			live = append(live, m.ID)
		}
	}
	if err := lookup(senders); err != nil {
		return err
	}
	media, err := tx.MediaOfMessages(live)
	if err != nil {
		return err
	}
	for _, m := range page {
		rm := records.Message{ID: m.ID, Seq: m.Seq, Sender: who(m.SenderID), AgentID: m.AgentID, Kind: string(m.Kind),
			CreatedAt: m.CreatedAt, DeletedAt: m.DeletedAt}
		if m.DeletedAt != nil {
			rm.Purged = true
			rc.Messages = append(rc.Messages, rm)
			continue
		}
		if m.RedactedAt != nil {
			// Redacted: the content is gone; the chain's redact entry
			// says when and holds the redacted content's hash.
			rm.Purged, rm.Redacted, rm.RedactedAt = true, true, m.RedactedAt
			rc.Messages = append(rc.Messages, rm)
			continue
		}
		if hidden(m.SenderID) {
			// Hidden by a moderator: out of the export like a purged
			// message; the chain keeps its place and content hash.
			rm.Purged, rm.Hidden = true, true
			rc.Messages = append(rc.Messages, rm)
			continue
		}
		rm.Text, rm.ReplyTo, rm.Data, rm.System, rm.EditedAt = m.Text, m.ReplyTo, m.Data, m.System, m.EditedAt
		if m.EditedAt != nil {
			edits, err := tx.MessageEdits(m.ID)
			if err != nil {
				return err
			}
			for _, e := range edits {
				rm.Versions = append(rm.Versions, records.Version{Text: e.Text, ReplacedAt: e.EditedAt})
			}
			if k := editsIn[m.ID]; k < len(rm.Versions) {
				// Edited after the viewer's range: as it read at its end.
				rm.Text = rm.Versions[k].Text
				rm.Versions = rm.Versions[:k]
				rm.EditedAt = nil
				if k > 0 {
					rm.EditedAt = &rm.Versions[k-1].ReplacedAt
				}
			}
		}
		for _, md := range media[m.ID] {
			path := records.MediaPath(md.BlobKey, md.ContentType)
			rm.Attachments = append(rm.Attachments, records.Attachment{SHA256: md.BlobKey, ContentType: md.ContentType, Size: md.Size, File: path})
			if w.HasMedia(path) {
				continue
			}
			if err := a.exportBlob(ctx, w, path, md.BlobKey); err != nil {
				return err
			}
		}
		rc.Messages = append(rc.Messages, rm)
	}
	return nil
}

func (a *App) exportBlob(ctx context.Context, w *records.Writer, path, key string) error {
	if a.blobs == nil {
		return exportError("media storage is not available")
	}
	f, err := a.blobs.Open(ctx, key)
	if errors.Is(err, parley.ErrBlobNotFound) {
		return exportError("the file %s of an attachment is missing on the server", key)
	} else if err != nil {
		return err
	}
	defer f.Close()
	return w.Add(path, func(out io.Writer) error {
		_, err := io.Copy(out, f)
		return err
	})
}
