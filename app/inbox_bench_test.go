package app_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/store/sqlite"
)

// BenchmarkInboxViews measures the first page (25 items, with contacts and
// last messages) of the views an agent opens most, in one business with
// 100,000 customer conversations and 50 agents: 60% resolved, 30% open,
// 10% pending; four in five assigned; one in a hundred (1,000 open ones)
// past its SLA. The data is written through the store (registering 100,000
// customers through argon2id would take the benchmark's whole budget),
// in the shapes the app writes. It reports p50 and p99 per view.
func BenchmarkInboxViews(b *testing.B) {
	const customers, agents = 100000, 50
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "parley.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	clock := &fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	a := app.New(db, app.Config{Password: cheap}, app.WithClock(clock.Now))
	ctx := context.Background()
	auth, err := a.Register(ctx, app.Registration{Handle: "bigshop", Password: "benchmark password", Kind: parley.KindBusiness})
	if err != nil {
		b.Fatal(err)
	}
	owner, _ := a.Authenticate(ctx, auth.Token)
	admin, _ := a.ActAs(ctx, owner, "bigshop")
	bizID := owner.User.ID
	var agentActors []*app.BusinessActor
	for i := range agents {
		h := fmt.Sprintf("agent%02d", i)
		au, err := a.Register(ctx, app.Registration{Handle: h, Password: "benchmark password"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.PutAgent(ctx, admin, h, app.AgentChange{}); err != nil {
			b.Fatal(err)
		}
		actor, _ := a.Authenticate(ctx, au.Token)
		ba, err := a.ActAs(ctx, actor, "bigshop")
		if err != nil {
			b.Fatal(err)
		}
		agentActors = append(agentActors, ba)
	}
	now := clock.Now()
	start := time.Now()
	const batch = 2000
	for lo := 0; lo < customers; lo += batch {
		err := db.Update(ctx, func(tx parley.Tx) error {
			for i := lo; i < min(lo+batch, customers); i++ {
				at := now.Add(-time.Duration(customers-i) * time.Minute)
				u := &parley.User{ID: fmt.Sprintf("cu%06d", i), Handle: fmt.Sprintf("customer%06d", i), DisplayName: fmt.Sprintf("Customer %d", i),
					Kind: parley.KindPerson, DMPolicy: parley.PolicyOpen, PasswordHash: "x", CreatedAt: at, UpdatedAt: at}
				if err := tx.CreateUser(u); err != nil {
					return err
				}
				c := &parley.Conversation{ID: fmt.Sprintf("cv%06d", i), Kind: parley.ConversationDirect, CreatedBy: u.ID, CreatedAt: at,
					DirectKey: u.ID + ":" + bizID, LastActivityAt: at, MemberCount: 2}
				if err := tx.CreateConversation(c); err != nil {
					return err
				}
				for _, id := range []string{u.ID, bizID} {
					if err := tx.PutMember(&parley.Member{ConversationID: c.ID, UserID: id, Role: parley.RoleMember, Status: parley.StatusActive,
						Folder: parley.FolderInbox, JoinedAt: at, UpdatedAt: at}); err != nil {
						return err
					}
				}
				seq, err := tx.AllocSeq(c.ID, at)
				if err != nil {
					return err
				}
				if err := tx.CreateMessage(&parley.Message{ID: fmt.Sprintf("m%06d", i), ConversationID: c.ID, Seq: seq, SenderID: u.ID,
					Kind: parley.MessageText, Text: "Hello, where is my order? It was due yesterday.", CreatedAt: at}); err != nil {
					return err
				}
				ct := &parley.Contact{BusinessID: bizID, ID: fmt.Sprintf("ct%06d", i), UserID: u.ID, Name: u.DisplayName, CreatedAt: at, UpdatedAt: at}
				if err := tx.PutContact(ct); err != nil {
					return err
				}
				it := &parley.InboxItem{ConversationID: c.ID, BusinessID: bizID, ContactID: ct.ID, Priority: "normal", OpenedAt: at,
					ActivityAt: at, UpdatedAt: at}
				switch r := i % 10; {
				case r < 6:
					it.Status = parley.InboxResolved
					it.ResolvedAt = &at
				case r < 9:
					it.Status = parley.InboxOpen
				default:
					it.Status = parley.InboxPending
				}
				if i%5 != 4 { // four in five assigned, spread over the agents
					it.AssigneeID = agentActors[(i/10)%agents].Agent.ID
				}
				due := at.Add(time.Hour)
				if i%100 == 7 { // one in a hundred (open ones) past its target
					due = now.Add(-time.Minute)
				} else if due.Before(now) {
					due = now.Add(time.Hour)
				}
				it.FirstDueAt = &due
				if err := tx.PutInboxItem(it); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d conversations in %v", customers, time.Since(start).Round(time.Millisecond))
	for _, view := range []string{"mine", "unassigned", "overdue", "all"} {
		b.Run(view, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ba := agentActors[i%agents]
				t0 := time.Now()
				page, err := a.Inbox(ctx, ba, app.InboxQuery{View: view})
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Items) != 25 {
					b.Fatalf("%s: %d items", view, len(page.Items))
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
