package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/store/sqlite"
)

// The model-based property test (issue 13, item 8): seeded random
// sequences of send, edit, unsend, react, read, join, leave, remove,
// block and unblock by five people in one group and three direct
// conversations, run through package app on a real SQLite store and, step
// by step, against an in-memory model of the rules. After every step:
// success or refusal is what the model predicts; read ≤ delivered ≤ last
// sequence for every member, as the model says; histories hold exactly the
// sequences the model lets each person see, contiguous, with the model's
// text and no unsent content; sync hands nobody a message, marker or
// change of a conversation beyond what they may see, never unsent text,
// and no read or delivery marker across a block.
//
// PARLEY_MODEL_SEQS sets the number of sequences (default 200; 25 under
// -race, where the pure-Go SQLite is many times slower) and
// PARLEY_MODEL_OPS their length (default 50); PARLEY_MODEL_SEED replays
// one sequence. A failure prints the seed and the operations so far.

const mUsers = 5

type mMsg struct {
	id        string
	seq       int64
	sender    int
	text      string
	system    bool
	deleted   bool
	reactions map[int]map[string]bool
}

type mMember struct {
	status          parley.MemberStatus
	joined, left    int64
	read, delivered int64
}

func (m *mMember) canRead(seq int64) bool {
	if m == nil {
		return false
	}
	if m.status == parley.StatusActive {
		return seq > m.joined
	}
	return seq > m.joined && seq <= m.left
}

func (m *mMember) maxReadable(last int64) int64 {
	if m.status != parley.StatusActive {
		return min(last, m.left)
	}
	return last
}

type mConv struct {
	id      string
	group   bool
	pair    [2]int
	last    int64
	msgs    []*mMsg // msgs[seq-1]
	members map[int]*mMember
}

type model struct {
	convs   []*mConv
	blocks  map[[2]int]bool
	unsent  map[string]bool // texts that must never be seen again
	edited  map[string]bool // texts replaced by an edit (kept in edit history only)
	textSeq int
}

func (m *model) blocked(a, b int) bool { return m.blocks[[2]int{a, b}] || m.blocks[[2]int{b, a}] }

// mWorld is one sequence's people and conversations in the system.
type mWorld struct {
	t      *testing.T
	a      *app.App
	db     *sqlite.DB
	ctx    context.Context
	actors []*app.Actor
	handle []string
	m      *model
	owner  int // the group's owner in the system, -1 when none
	log    []string
	seed   uint64
	dirty  *mConv  // the conversation the last step touched
	pos    []int64 // each user's sync position
}

func (w *mWorld) fail(format string, args ...any) {
	w.t.Helper()
	w.t.Fatalf("seed %d, after %d operations:\n  %s\n%s", w.seed, len(w.log), strings.Join(w.log, "\n  "), fmt.Sprintf(format, args...))
}

func (w *mWorld) idx(userID string) int {
	for i, a := range w.actors {
		if a.User.ID == userID {
			return i
		}
	}
	return -1
}

func newModelWorld(t *testing.T, a *app.App, db *sqlite.DB, seq int, seed uint64) *mWorld {
	t.Helper()
	ctx := context.Background()
	w := &mWorld{t: t, a: a, db: db, ctx: ctx, seed: seed, m: &model{blocks: map[[2]int]bool{}, unsent: map[string]bool{}, edited: map[string]bool{}}}
	for i := range mUsers {
		h := fmt.Sprintf("m%d_%d", seq, i)
		auth, err := a.Register(ctx, app.Registration{Handle: h, Password: "model password"})
		if err != nil {
			t.Fatal(err)
		}
		actor, err := a.Authenticate(ctx, auth.Token)
		if err != nil {
			t.Fatal(err)
		}
		w.actors, w.handle = append(w.actors, actor), append(w.handle, actor.User.Handle)
	}
	for i := range mUsers {
		for j := range mUsers {
			if i != j {
				if err := a.Follow(ctx, w.actors[i], w.handle[j], true); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// The group: 0 owns it with 1 and 2; 3 and 4 may join later.
	g, _, err := a.CreateGroup(ctx, w.actors[0], app.GroupInput{Title: "model group", Members: []string{w.handle[1], w.handle[2]}})
	if err != nil {
		t.Fatal(err)
	}
	gc := &mConv{id: g.ID, group: true, members: map[int]*mMember{}}
	// Whatever creating the group wrote (system lines) is the model's start.
	gc.last = g.LastSeq
	for s := int64(1); s <= gc.last; s++ {
		gc.msgs = append(gc.msgs, &mMsg{seq: s, system: true, sender: 0})
	}
	for _, u := range []int{0, 1, 2} {
		// Where each starts is the store's; the model follows from there.
		var joined int64
		if err := db.View(ctx, func(tx parley.Tx) error {
			_, mb, err := tx.ConversationMember(g.ID, w.actors[u].User.ID)
			if err == nil {
				joined = mb.JoinedSeq
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		gc.members[u] = &mMember{status: parley.StatusActive, joined: joined}
	}
	w.m.convs = append(w.m.convs, gc)
	w.owner = 0
	for _, p := range [][2]int{{0, 1}, {1, 3}, {2, 4}} {
		c, _, err := a.CreateDirect(ctx, w.actors[p[0]], w.handle[p[1]])
		if err != nil {
			t.Fatal(err)
		}
		w.m.convs = append(w.m.convs, &mConv{id: c.ID, pair: p, last: c.LastSeq,
			members: map[int]*mMember{p[0]: {status: parley.StatusActive}, p[1]: {status: parley.StatusActive}}})
		if c.LastSeq != 0 {
			t.Fatalf("a new direct conversation starts at seq %d", c.LastSeq)
		}
	}
	// Learn the system message ids of the group and fix the sync positions.
	w.loadIDs(gc)
	w.pos = make([]int64, mUsers)
	for i := range mUsers {
		p, err := a.Sync(ctx, w.actors[i], app.SinceHead, 0)
		if err != nil {
			t.Fatal(err)
		}
		w.pos[i] = p.Next
	}
	return w
}

// loadIDs reads the ids of messages the model knows only by seq (system
// lines), as the store has them.
func (w *mWorld) loadIDs(c *mConv) {
	err := w.db.View(w.ctx, func(tx parley.Tx) error {
		msgs, err := tx.Messages(parley.MessageRange{ConversationID: c.id, AfterSeq: 0, Limit: 100000})
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if int(m.Seq) <= len(c.msgs) && c.msgs[m.Seq-1].id == "" {
				c.msgs[m.Seq-1].id = m.ID
			}
		}
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *mWorld) text() string {
	w.m.textSeq++
	return fmt.Sprintf("t%d-%d-%x", w.seed, w.m.textSeq, rand.Uint32())
}

// appendSystem adds a system line to the model, its id read back.
func (w *mWorld) appendSystem(c *mConv, actor int) {
	c.last++
	c.msgs = append(c.msgs, &mMsg{seq: c.last, system: true, sender: actor})
	w.loadIDs(c)
}

// step runs one random operation.
func (w *mWorld) step(r *rand.Rand) {
	m := w.m
	u := r.IntN(mUsers)
	c := m.convs[r.IntN(len(m.convs))]
	w.dirty = c
	me := c.members[u]
	active := me != nil && me.status == parley.StatusActive
	directBlocked := !c.group && m.blocked(c.pair[0], c.pair[1])
	pickMsg := func() *mMsg {
		if len(c.msgs) == 0 {
			return nil
		}
		// Mostly the sender's own messages, sometimes anyone's.
		if r.IntN(3) > 0 {
			var own []*mMsg
			for _, x := range c.msgs {
				if x.sender == u && !x.system {
					own = append(own, x)
				}
			}
			if len(own) > 0 {
				return own[r.IntN(len(own))]
			}
		}
		return c.msgs[r.IntN(len(c.msgs))]
	}
	check := func(op string, err error, want bool) {
		w.t.Helper()
		w.log = append(w.log, fmt.Sprintf("%s → %v (model: ok=%v)", op, err, want))
		if (err == nil) != want {
			w.fail("%s: system says %v, model says ok=%v", op, err, want)
		}
		if err != nil && parley.ErrorCode(err) == parley.EInternal {
			w.fail("%s: internal error %v", op, err)
		}
	}
	cname := func() string {
		if c.group {
			return "group"
		}
		return fmt.Sprintf("dm%d-%d", c.pair[0], c.pair[1])
	}
	switch k := r.IntN(100); {
	case k < 30: // send
		text := w.text()
		view, _, err := w.a.Send(w.ctx, w.actors[u], c.id, app.SendInput{ClientID: "c" + strconv.Itoa(w.m.textSeq), Text: text})
		want := active && !directBlocked
		check(fmt.Sprintf("u%d send %q to %s", u, text, cname()), err, want)
		if err == nil {
			c.last++
			if view.Seq != c.last {
				w.fail("send got seq %d, model %d", view.Seq, c.last)
			}
			c.msgs = append(c.msgs, &mMsg{id: view.ID, seq: view.Seq, sender: u, text: text, reactions: map[int]map[string]bool{}})
		}
	case k < 40: // edit
		x := pickMsg()
		if x == nil {
			return
		}
		text := w.text()
		_, err := w.a.Edit(w.ctx, w.actors[u], c.id, x.id, text)
		want := active && me.canRead(x.seq) && x.sender == u && !x.system && !directBlocked && !x.deleted
		check(fmt.Sprintf("u%d edit %s#%d to %q", u, cname(), x.seq, text), err, want)
		if err == nil {
			m.edited[x.text] = true
			x.text = text
		}
	case k < 48: // unsend
		x := pickMsg()
		if x == nil {
			return
		}
		err := w.a.Unsend(w.ctx, w.actors[u], c.id, x.id)
		want := active && me.canRead(x.seq) && x.sender == u && !x.system
		check(fmt.Sprintf("u%d unsend %s#%d", u, cname(), x.seq), err, want)
		if err == nil && !x.deleted {
			m.unsent[x.text] = true
			x.deleted, x.text, x.reactions = true, "", map[int]map[string]bool{}
		}
	case k < 60: // react
		x := pickMsg()
		if x == nil {
			return
		}
		emoji := []string{"👍", "❤️", "🎉"}[r.IntN(3)]
		on := r.IntN(3) > 0
		err := w.a.React(w.ctx, w.actors[u], c.id, x.id, emoji, on)
		want := active && me.canRead(x.seq) && !x.deleted && !x.system && !directBlocked
		check(fmt.Sprintf("u%d react %s %v on %s#%d", u, emoji, on, cname(), x.seq), err, want)
		if err == nil {
			if x.reactions[u] == nil {
				x.reactions[u] = map[string]bool{}
			}
			if on {
				x.reactions[u][emoji] = true
			} else {
				delete(x.reactions[u], emoji)
			}
		}
	case k < 72: // read
		seq := int64(r.IntN(int(c.last)+3)) + 1
		got, err := w.a.MarkRead(w.ctx, w.actors[u], c.id, seq)
		check(fmt.Sprintf("u%d read %s up to %d", u, cname(), seq), err, me != nil)
		if err == nil {
			me.read = max(me.read, min(seq, me.maxReadable(c.last)))
			me.delivered = max(me.delivered, me.read)
			if got != me.read {
				w.fail("read marker %d, model %d", got, me.read)
			}
		}
	case k < 80: // join: the owner adds someone to the group
		g := m.convs[0]
		w.dirty = g
		if w.owner < 0 || u == w.owner {
			return
		}
		res, err := w.a.AddMembers(w.ctx, w.actors[w.owner], g.id, []string{w.handle[u]})
		check(fmt.Sprintf("u%d adds u%d to the group", w.owner, u), err, true)
		gm := g.members[u]
		want := "added"
		switch {
		case gm != nil && gm.status == parley.StatusActive:
			want = "already_member"
		case m.blocked(w.owner, u):
			want = "refused"
		}
		if len(res) != 1 || res[0].Result != want {
			w.fail("add result %+v, model %s", res, want)
		}
		if want == "added" {
			g.members[u] = &mMember{status: parley.StatusActive, joined: g.last}
			w.appendSystem(g, w.owner)
		}
	case k < 86: // leave
		g := m.convs[0]
		w.dirty = g
		gm := g.members[u]
		err := w.a.Leave(w.ctx, w.actors[u], g.id)
		check(fmt.Sprintf("u%d leaves the group", u), err, gm != nil && gm.status == parley.StatusActive)
		if err == nil {
			w.appendSystem(g, u)
			gm.status, gm.left = parley.StatusLeft, g.last
			if u == w.owner {
				w.owner = w.findOwner(g)
			}
		}
	case k < 92: // remove: the owner removes someone
		g := m.convs[0]
		w.dirty = g
		if w.owner < 0 || u == w.owner {
			return
		}
		gm := g.members[u]
		err := w.a.RemoveMember(w.ctx, w.actors[w.owner], g.id, w.handle[u])
		check(fmt.Sprintf("u%d removes u%d from the group", w.owner, u), err, gm != nil && gm.status == parley.StatusActive)
		if err == nil {
			w.appendSystem(g, w.owner)
			gm.status, gm.left = parley.StatusRemoved, g.last
		}
	default: // block or unblock (and follow again, as before the block)
		v := (u + 1 + r.IntN(mUsers-1)) % mUsers
		if m.blocks[[2]int{u, v}] {
			err := w.a.Block(w.ctx, w.actors[u], w.handle[v], false)
			check(fmt.Sprintf("u%d unblocks u%d", u, v), err, true)
			delete(m.blocks, [2]int{u, v})
			for _, p := range [][2]int{{u, v}, {v, u}} {
				if err := w.a.Follow(w.ctx, w.actors[p[0]], w.handle[p[1]], true); err != nil && !m.blocked(p[0], p[1]) {
					w.fail("follow again: %v", err)
				}
			}
		} else {
			err := w.a.Block(w.ctx, w.actors[u], w.handle[v], true)
			check(fmt.Sprintf("u%d blocks u%d", u, v), err, true)
			m.blocks[[2]int{u, v}] = true
		}
	}
}

// findOwner reads the group's owner from the store after the owner left:
// the rules hand it to another active member, if any.
func (w *mWorld) findOwner(g *mConv) int {
	owner := -1
	err := w.db.View(w.ctx, func(tx parley.Tx) error {
		ms, err := tx.Members(g.id)
		if err != nil {
			return err
		}
		for _, mb := range ms {
			if mb.Role == parley.RoleOwner && mb.Status == parley.StatusActive {
				owner = w.idx(mb.UserID)
			}
		}
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
	anyActive := false
	for u, gm := range g.members {
		if gm.status == parley.StatusActive {
			anyActive = true
			if u == owner {
				return owner
			}
		}
	}
	if anyActive || owner != -1 {
		w.fail("after the owner left, the owner is u%d; the model wants an active member or none (any active: %v)", owner, anyActive)
	}
	return -1
}

// checkState compares the store, histories and sync with the model: for
// the conversation only when only (nil: all).
func (w *mWorld) checkState(only *mConv) {
	w.t.Helper()
	m := w.m
	convs := m.convs
	if only != nil {
		convs = []*mConv{only}
	}
	// Store: sequences contiguous, markers in order and as modelled.
	err := w.db.View(w.ctx, func(tx parley.Tx) error {
		for _, c := range convs {
			for u := range mUsers {
				conv, mb, err := tx.ConversationMember(c.id, w.actors[u].User.ID)
				mm := c.members[u]
				if mm == nil {
					if err == nil && mb.Status != parley.StatusDeclined {
						w.fail("u%d is a member of %s in the store, not in the model", u, c.id)
					}
					continue
				}
				if err != nil {
					return err
				}
				if conv.LastSeq != c.last {
					w.fail("%s last seq %d, model %d", c.id, conv.LastSeq, c.last)
				}
				if !(mb.ReadSeq <= mb.DeliveredSeq && mb.DeliveredSeq <= conv.LastSeq) {
					w.fail("u%d in %s: read %d, delivered %d, last %d", u, c.id, mb.ReadSeq, mb.DeliveredSeq, conv.LastSeq)
				}
				if mb.ReadSeq != mm.read || mb.Status != mm.status {
					w.fail("u%d in %s: read %d status %s, model read %d status %s", u, c.id, mb.ReadSeq, mb.Status, mm.read, mm.status)
				}
			}
			msgs, err := tx.Messages(parley.MessageRange{ConversationID: c.id, Limit: 100000})
			if err != nil {
				return err
			}
			if int64(len(msgs)) != c.last {
				w.fail("%s holds %d messages, last seq %d", c.id, len(msgs), c.last)
			}
			for i, x := range msgs {
				if x.Seq != int64(i+1) {
					w.fail("%s: seq %d at position %d: not contiguous", c.id, x.Seq, i+1)
				}
			}
		}
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
	// Histories as each person sees them.
	for _, c := range convs {
		for u := range mUsers {
			mm := c.members[u]
			after := int64(0)
			page, err := w.a.Messages(w.ctx, w.actors[u], c.id, app.HistoryQuery{AfterSeq: &after, Limit: 200})
			if mm == nil {
				if err == nil {
					w.fail("u%d, never a member, reads %s", u, c.id)
				}
				continue
			}
			if err != nil {
				w.fail("u%d reads %s: %v", u, c.id, err)
			}
			var want []int64
			for s := int64(1); s <= c.last; s++ {
				if mm.canRead(s) {
					want = append(want, s)
				}
			}
			var got []int64
			for _, v := range page.Items {
				got = append(got, v.Seq)
				x := c.msgs[v.Seq-1]
				if v.ID != x.id || (!x.system && v.Text != x.text) || v.Deleted != x.deleted {
					w.fail("u%d sees %s#%d as %q deleted=%v, model %q deleted=%v", u, c.id, v.Seq, v.Text, v.Deleted, x.text, x.deleted)
				}
				if m.unsent[v.Text] && v.Text != "" {
					w.fail("u%d sees unsent text %q", u, v.Text)
				}
				n := 0
				for _, rc := range v.Reactions {
					n += rc.Count
				}
				wantN := 0
				for _, es := range x.reactions {
					wantN += len(es)
				}
				if n != wantN {
					w.fail("u%d sees %d reactions on %s#%d, model %d", u, n, c.id, v.Seq, wantN)
				}
			}
			if !slices.Equal(got, want) {
				w.fail("u%d sees seqs %v of %s, model %v", u, got, c.id, want)
			}
		}
	}
	// Sync: what reached each person since the last check.
	for u := range mUsers {
		for {
			p, err := w.a.Sync(w.ctx, w.actors[u], w.pos[u], 0)
			if err != nil {
				w.fail("u%d sync: %v", u, err)
			}
			w.pos[u] = p.Next
			for _, e := range p.Events {
				w.checkEvent(u, e)
			}
			if !p.More {
				break
			}
		}
	}
}

func (w *mWorld) checkEvent(u int, e *app.SyncEvent) {
	w.t.Helper()
	var c *mConv
	for _, x := range w.m.convs {
		if x.id == e.ConversationID {
			c = x
		}
	}
	if c == nil {
		return // not a conversation event (profile, follows)
	}
	mm := c.members[u]
	if mm == nil {
		w.fail("u%d, never a member of %s, got %s", u, c.id, e.Type)
	}
	if e.Message != nil {
		if !mm.canRead(e.Message.Seq) {
			w.fail("u%d got %s of %s#%d beyond what they may see (%+v)", u, e.Type, c.id, e.Message.Seq, *mm)
		}
		if w.m.unsent[e.Message.Text] && e.Message.Text != "" {
			w.fail("u%d got unsent text %q in %s", u, e.Message.Text, e.Type)
		}
	}
	marker := e.Type == string(parley.EventRead) || e.Type == string(parley.EventDelivered)
	self := e.ActorID == w.actors[u].User.ID
	switch {
	case self:
	case marker:
		// Another member's marker: only while this one may see that far.
		if mm.status != parley.StatusActive && e.Seq > mm.left {
			w.fail("u%d got %s at seq %d of %s after leaving at %d", u, e.Type, e.Seq, c.id, mm.left)
		}
	case e.Seq > 0 && !mm.canRead(e.Seq):
		w.fail("u%d got %s at seq %d of %s beyond what they may see (%+v)", u, e.Type, e.Seq, c.id, *mm)
	}
	if marker && !c.group && !self && w.m.blocked(c.pair[0], c.pair[1]) {
		w.fail("u%d got %s from across a block in %s", u, e.Type, c.id)
	}
}

// TestModel runs the sequences.
func TestModel(t *testing.T) {
	def := 200
	if raceEnabled || testing.Short() {
		def = 25 // about 40 s under -race on a loaded 2-core machine
	}
	seqs, ops := envInt("PARLEY_MODEL_SEQS", def), envInt("PARLEY_MODEL_OPS", 50)
	dir := t.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		// fsync on tmpfs is free; the rules under test are the same.
		if d, err := os.MkdirTemp("/dev/shm", "parley-model-"); err == nil {
			dir = d
			t.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	db, err := sqlite.Open(filepath.Join(dir, "parley.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := app.New(db, app.Config{Password: cheap, SendPerConversation: 1e9, SendBurst: 1e9})
	base := uint64(envInt("PARLEY_MODEL_SEED", 0))
	if base != 0 {
		seqs = 1
	} else {
		base = rand.Uint64() >> 1
	}
	steps := 0
	for i := range seqs {
		seed := base + uint64(i)
		w := newModelWorld(t, a, db, i, seed)
		r := rand.New(rand.NewPCG(seed, 13))
		for range ops {
			before := len(w.log)
			w.step(r)
			if len(w.log) > before {
				steps++
				w.checkState(w.dirty)
			}
		}
		w.checkState(nil)
	}
	t.Logf("%d sequences × %d operations drawn (%d run and checked); first seed %d (replay one with PARLEY_MODEL_SEED)", seqs, ops, steps, base)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
